"""Member-list benchmarks: import + validate a 10,000-row workbook with 10,000 photos, and approve it.

- ``member_import_10k``: the platform's validation service (every row and photo checked, duplicates
  against the registry, rows staged, photos stored), committed on SQLite, against a raw openpyxl
  read-only parse of the same workbook. Target ratio ≤ 2.
- ``member_approve_10k``: approving the staged list (codes allocated, 10,000 members, events, the
  approved workbook) committed on SQLite; target < 10 s. Baseline: sqlite3 ``executemany`` of the
  same member rows (the floor of writing them).

Run alone: ``PYTHONPATH=. .venv/bin/python benchmarks/members_import.py [--quick]``.
"""
from __future__ import annotations

import gc
import io
import json
import random
import sqlite3
import sys
import tempfile
import time
import zipfile
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from openpyxl import Workbook, load_workbook  # noqa: E402
from PIL import Image  # noqa: E402
from sqlalchemy import select  # noqa: E402

from engine import clock, uploads  # noqa: E402
from engine.db import Base, make_engine, make_sessionmaker  # noqa: E402
from engine.members import approval, lists  # noqa: E402
from engine.members.models import Member, MemberList  # noqa: E402
from engine.members.template import COLUMNS, SHEET_NAME  # noqa: E402
from engine.models import OrgUnit, ProcessInstance, ProcessVersion, User  # noqa: E402
from engine.services import ServiceContext, apart_writer  # noqa: E402

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = {"Nam": ["Văn", "Hữu", "Đức", "Minh", "Quang", "Thành"], "Nữ": ["Thị", "Ngọc", "Thu", "Thanh", "Kim"]}
GIVEN = {"Nam": ["An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khoa", "Long", "Nam", "Phúc", "Quân", "Tuấn"],
         "Nữ": ["Anh", "Chi", "Dung", "Hà", "Hằng", "Hoa", "Hương", "Lan", "Mai", "Ngân", "Thảo", "Thủy"]}
PROVINCES = ["001", "031", "048", "052", "079", "092", "038", "040"]
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)


def make_rows(n: int, seed: int = 7) -> list[list[Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        sex = rng.choice(["Nam", "Nữ"])
        year = rng.randint(1966, 2006)
        century_sex = (0 if year < 2000 else 2) + (1 if sex == "Nữ" else 0)
        cccd = f"{rng.choice(PROVINCES)}{century_sex}{year % 100:02d}{i:06d}"
        name = f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE[sex])} {rng.choice(GIVEN[sex])}"
        birth = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{year}"
        values = {"stt": i + 1, "ho_ten": name, "ngay_sinh": birth,
                  "gioi_tinh": sex, "so_dinh_danh": cccd, "dan_toc": "Kinh", "ton_giao": "Không",
                  "hoc_van": "12/12", "chuyen_mon": "Đại học", "ly_luan_ct": "Sơ cấp", "nghe_nghiep": "Công nhân",
                  "ngay_vao_cd": f"01/06/{min(max(year + 20, 2015), 2025)}",
                  "dien_thoai": f"09{rng.randint(0, 99999999):08d}",
                  "email": "", "ghi_chu": ""}
        rows.append([values[k] for k, _ in COLUMNS])
    return rows


def make_workbook(rows: list[list[Any]]) -> bytes:
    """Saved like Excel saves (shared strings), not openpyxl's write-only inline strings."""
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_NAME
    ws.append([h for _, h in COLUMNS])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def make_photos_zip(rows: list[list[Any]]) -> bytes:
    img = io.BytesIO()
    Image.new("RGB", (120, 180), (210, 190, 170)).save(img, "JPEG", quality=70)
    content = img.getvalue()
    id_col = [k for k, _ in COLUMNS].index("so_dinh_danh")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for row in rows:
            archive.writestr(f"{row[id_col]}.jpg", content)
    return out.getvalue()


def raw_parse(data: bytes) -> int:
    """The baseline: openpyxl read-only, every cell value of the sheet."""
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    count = sum(1 for _ in wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    return count


class Fixture:
    """An SQLite database with one grassroots union and a registration instance row."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.upload_dir = folder / "uploads"
        self.engine = make_engine(f"sqlite:///{folder / 'bench.db'}")
        Base.metadata.create_all(self.engine)
        self.sessions = make_sessionmaker(self.engine)
        with self.sessions() as session:
            province = OrgUnit(code="P", name="LĐLĐ tỉnh", kind="provincial_federation")
            session.add(province)
            session.flush()
            unit = OrgUnit(code="P.1", name="CĐCS Công ty Dệt", kind="grassroots", parent_id=province.id)
            user = User(username="u", full_name="Cán bộ", password_hash="x")
            session.add_all([unit, user])
            session.flush()
            version = ProcessVersion(process_id="member_registration", content_hash="b" * 64, name="x",
                                     source_path="x", spec_json="{}", bpmn_xml="")
            session.add(version)
            session.flush()
            instance = ProcessInstance(version_id=version.id, process_id="member_registration",
                                       subject_unit_id=unit.id, started_by_id=user.id, created_at=NOW,
                                       updated_at=NOW)
            session.add(instance)
            session.commit()
            self.instance_id, self.user_id = instance.id, user.id

    def context(self, session) -> ServiceContext:  # noqa: ANN001
        instance = session.get(ProcessInstance, self.instance_id)
        return ServiceContext(session, instance, self.upload_dir, self.user_id, apart_writer(session))

    def store(self, name: str, content: bytes) -> str:
        return uploads.store(self.upload_dir, "f", name, io.BytesIO(content), 500 * 1024 * 1024).reference


def timed(fn) -> tuple[float, Any]:  # noqa: ANN001
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run(quick: bool = False) -> list[dict[str, Any]]:
    n = 1_000 if quick else 10_000
    rows = make_rows(n)
    workbook, photos = make_workbook(rows), make_photos_zip(rows)
    previous = clock.install(clock.FrozenClock(NOW))
    try:
        with tempfile.TemporaryDirectory(prefix="bench-members-") as tmp:
            fixture = Fixture(Path(tmp))
            book_ref, photo_ref = fixture.store("ds.xlsx", workbook), fixture.store("anh.zip", photos)

            def platform_import() -> dict[str, Any]:
                with fixture.sessions() as session:
                    ctx = fixture.context(session)
                    received = lists.receive(ctx, book_ref, [photo_ref], "Danh sách 10.000")
                    result = lists.validate(ctx, received["list_id"], today=date(2026, 3, 2))
                    session.commit()
                    return result

            raw_parse(workbook)  # warm caches (imports, files)
            baseline_times, platform_times = [], []
            for _ in range(1 if not quick else 2):
                baseline_times.append(timed(lambda: raw_parse(workbook))[0])
            import_s, outcome = timed(platform_import)
            baseline_times.append(timed(lambda: raw_parse(workbook))[0])
            platform_times.append(import_s)
            assert outcome["ok"] and outcome["rows"] == n, outcome
            baseline_s = min(baseline_times)

            with fixture.sessions() as session:
                list_id = session.scalar(select(MemberList.id))

            def platform_approve() -> dict[str, Any]:
                with fixture.sessions() as session:
                    result = approval.approve(fixture.context(session), list_id, [])
                    session.commit()
                    return result

            approve_s, approved = timed(platform_approve)
            with fixture.sessions() as session:
                members = session.scalars(select(Member).order_by(Member.id)).all()
                member_rows = [(m.serial + 10_000_000, m.member_code + "x", m.vpoint_code + "x", m.unit_id,
                                m.full_name, m.name_fold, m.sort_key, m.id_number + "x") for m in members]
            raw = sqlite3.connect(str(Path(tmp) / "bench.db"))

            def baseline_insert() -> None:
                raw.executemany("INSERT INTO members (serial, member_code, vpoint_code, unit_id, full_name, name_fold,"
                                " sort_key, id_number, sex, id_kind, ethnicity, religion, education, qualification,"
                                " politics, occupation, phone, email, note, status, approved_at, updated_at) "
                                "VALUES (?,?,?,?,?,?,?,?,'','','','','','','','','','','','active',"
                                "'2026-03-02','2026-03-02')", member_rows)
                raw.commit()

            approve_baseline_s, _ = timed(baseline_insert)
            raw.close()
            fixture.engine.dispose()
    finally:
        clock.install(previous)
    return [
        {"name": "member_import_10k" if not quick else "member_import_1k", "platform_s": round(import_s, 3),
         "baseline_s": round(baseline_s, 3), "ratio": round(import_s / baseline_s, 2), "target": "ratio <= 2",
         "met": import_s / baseline_s <= 2, "rows": n, "photos": n,
         "workbook_mb": round(len(workbook) / 1e6, 2), "photos_zip_mb": round(len(photos) / 1e6, 2),
         "baseline": "openpyxl read_only parse of every row"},
        {"name": "member_approve_10k" if not quick else "member_approve_1k", "platform_s": round(approve_s, 3),
         "baseline_s": round(approve_baseline_s, 3), "ratio": round(approve_s / approve_baseline_s, 2),
         "target": "platform_s < 10", "met": approve_s < 10, "members": approved["approved"],
         "baseline": "sqlite3 executemany of the same member rows"},
    ]


if __name__ == "__main__":
    for line in run(quick="--quick" in sys.argv):
        print(json.dumps(line, ensure_ascii=False), flush=True)
