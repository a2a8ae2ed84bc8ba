"""Sample member lists for the demo and for trying the platform as a new user: a filled template with a
few typical mistakes, the corrected one, 2x3 photos, and approved demo members for some units."""
from __future__ import annotations

import io
import random
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timezone

from openpyxl import load_workbook
from PIL import Image, ImageDraw
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import vntext
from engine.membercodes import member_code, vpoint_code
from engine.members.approval import allocate_serials
from engine.members.models import Member, MemberEvent
from engine.members.template import COLUMNS, FIRST_DATA_ROW, SHEET_NAME, build_template
from engine.orgtree import unit_by_code

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = {"Nam": ["Văn", "Hữu", "Đức", "Minh", "Quang", "Thành", "Công"],
          "Nữ": ["Thị", "Ngọc", "Thu", "Thanh", "Kim", "Thị Thu", "Thị Ngọc"]}
GIVEN = {"Nam": ["An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khoa", "Long", "Nam", "Phúc", "Quân", "Tuấn", "Vũ"],
         "Nữ": ["Anh", "Ánh", "Chi", "Dung", "Hà", "Hằng", "Hoa", "Hường", "Lan", "Mai", "Thảo", "Thủy", "Yến"]}
JOBS = ["Giáo viên", "Công nhân may", "Kế toán", "Nhân viên văn phòng", "Kỹ sư", "Bảo vệ", "Tổ trưởng sản xuất"]
PROVINCES = ["052", "001", "079", "048", "051", "054"]  # Bình Định first: the demo province


@dataclass
class SampleFiles:
    with_mistakes: bytes
    corrected: bytes
    photos_zip: bytes
    mistakes: list[str]


def sample_rows(count: int = 30, seed: int = 2026) -> list[dict[str, str]]:
    """Valid, varied rows: CCCD digits agree with sex and birth year."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        sex = "Nữ" if i % 2 else "Nam"
        year = rng.randint(1970, 2003)
        digit = (0 if year < 2000 else 2) + (1 if sex == "Nữ" else 0)
        rows.append({
            "stt": str(i + 1), "ho_ten": f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE[sex])} {rng.choice(GIVEN[sex])}",
            "ngay_sinh": f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{year}", "gioi_tinh": sex,
            "so_dinh_danh": f"{PROVINCES[i % len(PROVINCES)]}{digit}{year % 100:02d}{seed % 97:02d}{i:04d}",
            "dan_toc": "Kinh" if i % 7 else "Ba Na", "ton_giao": "Không" if i % 5 else "Phật giáo",
            "hoc_van": "12/12", "chuyen_mon": "Đại học" if i % 3 else "Cao đẳng", "ly_luan_ct": "Sơ cấp",
            "nghe_nghiep": rng.choice(JOBS), "ngay_vao_cd": f"01/{rng.randint(1, 12):02d}/{max(year + 20, 2012)}",
            "dien_thoai": f"09{rng.randint(10000000, 99999999)}", "email": "", "ghi_chu": "",
        })
    return rows


def _with_mistakes(rows: list[dict[str, object]]) -> tuple[list[dict[str, object]], list[str]]:
    bad = [dict(r) for r in rows]
    if len(bad) < 15:  # too short a list to carry the five mistakes
        return bad, []
    bad[2]["so_dinh_danh"] = int(str(bad[2]["so_dinh_danh"]))  # Excel dropped the leading zero
    bad[5]["ngay_sinh"] = "31/02/1990"
    bad[8]["dan_toc"] = ""
    bad[11]["so_dinh_danh"] = bad[10]["so_dinh_danh"]  # the same person twice
    bad[14]["dien_thoai"] = int(str(bad[14]["dien_thoai"]))  # the phone lost its 0
    return bad, [f"dòng {FIRST_DATA_ROW + 2 + 1}: số CCCD mất số 0 ở đầu", f"dòng {FIRST_DATA_ROW + 5 + 1}: ngày 31/02",
                 f"dòng {FIRST_DATA_ROW + 8 + 1}: thiếu dân tộc", f"dòng {FIRST_DATA_ROW + 11 + 1}: trùng CCCD",
                 f"dòng {FIRST_DATA_ROW + 14 + 1}: điện thoại mất số 0"]


def fill_template(rows: list[dict[str, object]]) -> bytes:
    """The real template (drop-downs, text ID column) with the rows below the example row."""
    wb = load_workbook(io.BytesIO(build_template()))
    ws = wb[SHEET_NAME]
    first = FIRST_DATA_ROW + 1  # the grey example row stays where it is
    for r, row in enumerate(rows):
        for c, (key, _header) in enumerate(COLUMNS, start=1):
            value = row.get(key)
            if value not in (None, ""):
                ws.cell(row=first + r, column=c, value=value)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def portrait(seed: int) -> bytes:
    """A 2x3 portrait placeholder (a silhouette on a coloured background), as JPEG."""
    rng = random.Random(seed)
    img = Image.new("RGB", (240, 360), (rng.randint(170, 230), rng.randint(190, 235), rng.randint(200, 240)))
    draw = ImageDraw.Draw(img)
    shade = (rng.randint(60, 110),) * 3
    draw.ellipse((75, 60, 165, 170), fill=shade)
    draw.ellipse((35, 180, 205, 420), fill=shade)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80)
    return out.getvalue()


def photos_zip(rows: list[dict[str, object]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for i, row in enumerate(rows):
            archive.writestr(f"anh_2x3/{row['so_dinh_danh']}.jpg", portrait(i))
    return out.getvalue()


def sample_files(count: int = 30) -> SampleFiles:
    rows = sample_rows(count)
    bad, mistakes = _with_mistakes(rows)
    return SampleFiles(fill_template(bad), fill_template(rows), photos_zip(rows), mistakes)


def seed_members(session: Session, unit_code: str, count: int, seed: int) -> int:
    """Approved demo members for a unit that has none (idempotent)."""
    unit = unit_by_code(session, unit_code)
    if unit is None or session.scalar(select(func.count()).select_from(Member).where(Member.unit_id == unit.id)):
        return 0
    now = datetime.now(timezone.utc)
    rows = sample_rows(count, seed)
    for serial, row in zip(allocate_serials(session, count), rows, strict=True):
        birth = datetime.strptime(row["ngay_sinh"], "%d/%m/%Y").date()
        joined = datetime.strptime(row["ngay_vao_cd"], "%d/%m/%Y").date()
        member = Member(serial=serial, member_code=member_code(serial), vpoint_code=vpoint_code(serial),
                        unit_id=unit.id, full_name=row["ho_ten"], name_fold=vntext.fold(row["ho_ten"]),
                        sort_key=vntext.name_sort_bytes(row["ho_ten"]), birth_date=birth, sex=row["gioi_tinh"],
                        id_number=row["so_dinh_danh"], id_kind="CCCD", ethnicity=row["dan_toc"],
                        religion=row["ton_giao"], education=row["hoc_van"], qualification=row["chuyen_mon"],
                        politics=row["ly_luan_ct"], occupation=row["nghe_nghiep"], joined_on=min(joined, date.today()),
                        phone=row["dien_thoai"], status="active", approved_at=now, updated_at=now)
        session.add(member)
        session.flush()
        session.add(MemberEvent(member_id=member.id, kind="registered", unit_id=unit.id, at=now,
                                details={"member_code": member.member_code, "demo": True}))
    return count
