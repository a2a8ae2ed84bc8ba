"""Check an uploaded member list (the template of ``template.py``) and its photos; pure, no database.

``check_workbook`` returns a Report of normalised rows and problems (Vietnamese messages);
``error_workbook`` returns the upload with the bad cells coloured and commented plus a "Lỗi" sheet.
"""
from __future__ import annotations

import io
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePath
from typing import Callable

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils.datetime import from_excel

from engine import idnumbers, vntext
from engine.members import reference, xlsxread
from engine.members.template import COLUMNS, EXAMPLE_STT, HEADER_KEYS, HEADERS, REQUIRED, SHEET_NAME, header_key

MAX_PHOTO_BYTES = 1024 * 1024
PHOTO_ASPECT = (0.6, 0.75)  # width / height of a 2x3 portrait
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ERROR_SHEET = "Lỗi"
RED = PatternFill("solid", fgColor="FFC7CE")
YELLOW = PatternFill("solid", fgColor="FFEB9C")
FORMULA_CHARS = ("=", "+", "-", "@")
ENUM_KEYS = ("gioi_tinh", "dan_toc", "ton_giao", "hoc_van", "chuyen_mon", "ly_luan_ct")
PHOTO_KEY = "anh"


@dataclass
class Problem:
    row: int | None  # Excel row number (None: file-level or photo problem)
    column_key: str | None  # a key of template.COLUMNS, "anh" for photos, None
    severity: str  # "error" | "warning"
    message_vi: str
    column: int | None = None  # 1-based column, for columns that have no key (extra columns)


@dataclass
class MemberRow:
    row: int
    stt: str = ""
    ho_ten: str = ""
    ngay_sinh: date | None = None
    gioi_tinh: str = ""
    so_dinh_danh: str = ""
    loai_giay_to: str | None = None  # "CCCD" | "CMND"
    dan_toc: str = ""
    ton_giao: str = ""
    hoc_van: str = ""
    chuyen_mon: str = ""
    ly_luan_ct: str = ""
    nghe_nghiep: str = ""
    ngay_vao_cd: date | None = None
    dien_thoai: str = ""
    email: str = ""
    ghi_chu: str = ""
    anh: str | None = None  # the photo's file name


@dataclass
class Report:
    rows: list[MemberRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    fatal: str | None = None
    sheet_name: str | None = None
    columns: dict[str, int] = field(default_factory=dict)  # key → 1-based column
    header_row: int | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return self.fatal is None and not self.errors


def _open(data: bytes, **kwargs):  # noqa: ANN202
    return load_workbook(io.BytesIO(data), **kwargs)


def _fatal_for_bytes(data: bytes) -> str | None:
    if not data:
        return "Tệp tải lên rỗng."
    if data[:8] == OLE_MAGIC:
        if "EncryptionInfo".encode("utf-16-le") in data or "EncryptedPackage".encode("utf-16-le") in data:
            return ("Tệp Excel được đặt mật khẩu nên không đọc được; hãy gỡ mật khẩu "
                    "(File > Info > Protect Workbook > Encrypt with Password) rồi tải lên lại.")
        return "Tệp ở định dạng Excel 97-2003 (.xls); hãy mở bằng Excel và lưu lại dạng .xlsx rồi tải lên lại."
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return "Tệp không phải là tệp Excel .xlsx hoặc đã bị hỏng; hãy dùng mẫu danh sách đoàn viên (.xlsx)."
    return None


def file_problem(data: bytes) -> str | None:
    """A file-level problem (not an .xlsx, password-protected, damaged), checked before anything is stored."""
    fatal = _fatal_for_bytes(data)
    if fatal:
        return fatal
    try:
        _open(data, read_only=True).close()
    except Exception:  # noqa: BLE001 - any parse failure of a damaged file
        return "Tệp Excel bị hỏng, không đọc được; hãy mở bằng Excel, lưu lại dạng .xlsx rồi tải lên lại."
    return None


def _pick_sheet(wb):  # noqa: ANN001, ANN202
    for ws in wb.worksheets:
        if vntext.fold(ws.title) == vntext.fold(SHEET_NAME):
            return ws
    return wb.worksheets[0]


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _has_formulas(data: bytes) -> bool:
    """Whether any worksheet holds a formula (an ``<f>`` element), without parsing the workbook."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with archive.open(name) as stream:
                    tail = b""
                    while chunk := stream.read(1 << 20):
                        block = tail + chunk
                        if b"<f>" in block or b"<f " in block or b":f>" in block or b":f " in block:
                            return True
                        tail = block[-8:]
    return False


def _sheet_index(titles: list[str]) -> int:
    return next((i for i, t in enumerate(titles) if vntext.fold(t) == vntext.fold(SHEET_NAME)), 0)


def _read_values(data: bytes) -> tuple[list[tuple], set[tuple[int, int]], str]:
    """(rows of values, formula cell positions, sheet title): the fast reader, else openpyxl."""
    try:
        sheet = xlsxread.read_sheet(data, _sheet_index)
        return sheet.rows, sheet.formulas, sheet.title
    except xlsxread.UnsupportedWorkbook:
        pass
    wb = _open(data, read_only=True, data_only=True)
    ws = _pick_sheet(wb)
    ws.reset_dimensions()
    values = [tuple(r) for r in ws.iter_rows(values_only=True)]
    formulas: set[tuple[int, int]] = set()
    if _has_formulas(data):  # a second pass only for workbooks that hold formulas
        fwb = _open(data, read_only=True, data_only=False)
        fws = fwb[ws.title]
        fws.reset_dimensions()
        formulas = {(c.row, c.column) for r in fws.iter_rows() for c in r if getattr(c, "data_type", None) == "f"}
        fwb.close()
    wb.close()
    return values, formulas, ws.title


def check_workbook(data: bytes, photos: dict[str, bytes] | None = None,
                   existing_ids: set[str] | frozenset[str] = frozenset(), today: date | None = None,
                   progress: Callable[[int, int], None] | None = None) -> Report:
    """Check every row and photo; ``progress(done_rows, total_rows)`` is called every 1,000 rows."""
    report = Report()
    report.fatal = _fatal_for_bytes(data)
    if report.fatal:
        return report
    try:
        values, formulas, report.sheet_name = _read_values(data)
    except Exception:  # noqa: BLE001 - any parse failure of a damaged file
        report.fatal = "Tệp Excel bị hỏng, không đọc được; hãy mở bằng Excel, lưu lại dạng .xlsx rồi tải lên lại."
        return report
    if not any(not _blank(v) for r in values for v in r):
        report.fatal = f"Trang \"{report.sheet_name}\" không có dữ liệu."
        return report
    if not _read_header(values, report):
        return report
    _check_rows(values, formulas, report, today or date.today(), progress)
    _check_duplicates(report, existing_ids)
    if photos is not None:
        _check_photos(photos, report)
    report.problems.sort(key=lambda p: (p.row or 0, p.column or report.columns.get(p.column_key or "", 99)))
    return report


def _read_header(values: list[tuple], report: Report) -> bool:
    best, best_row = 0, None
    for idx, row in enumerate(values[:10]):
        hits = sum(1 for v in row if not _blank(v) and HEADER_KEYS.get(header_key(v)))
        if hits > best:
            best, best_row = hits, idx
    if best_row is None:
        report.fatal = ("Không tìm thấy dòng tiêu đề của mẫu danh sách đoàn viên; hãy dùng đúng mẫu "
                        "và không đổi tên các cột.")
        return False
    report.header_row = best_row + 1
    unknown = []
    for col, value in enumerate(values[best_row], start=1):
        if _blank(value):
            continue
        key = HEADER_KEYS.get(header_key(value))
        if key is None:
            unknown.append((col, vntext.nfc(str(value))))
        elif key in report.columns:
            report.problems.append(Problem(report.header_row, None, "warning",
                                           f"Cột \"{HEADERS[key]}\" xuất hiện hai lần; chỉ dùng cột đầu tiên.", col))
        else:
            report.columns[key] = col
    missing = [h for k, h in COLUMNS if k not in report.columns]
    if missing:
        message = "Thiếu cột (hoặc cột đã bị đổi tên): " + ", ".join(f"\"{h}\"" for h in missing) + "."
        if unknown:
            message += " Cột không nhận ra: " + ", ".join(f"\"{h}\"" for _, h in unknown) + "."
        report.fatal = message + " Hãy dùng đúng mẫu danh sách đoàn viên."
        return False
    for col, header in unknown:
        report.problems.append(Problem(report.header_row, None, "warning",
                                       f"Cột \"{header}\" không có trong mẫu, dữ liệu cột này bị bỏ qua.", col))
    return True


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y")
    return vntext.nfc(str(value))


def _check_rows(values: list[tuple], formulas: set[tuple[int, int]], report: Report, today: date,
                progress: Callable[[int, int], None] | None = None) -> None:
    total = len(values) - report.header_row
    for idx in range(report.header_row, len(values)):
        row_no = idx + 1
        if progress is not None and (idx - report.header_row) % 1000 == 999:
            progress(idx - report.header_row + 1, total)
        raw = {k: (values[idx][c - 1] if c - 1 < len(values[idx]) else None) for k, c in report.columns.items()}
        if all(_blank(v) for k, v in raw.items() if k != "stt"):
            continue
        if vntext.fold(_text(raw["stt"])) == EXAMPLE_STT.lower():
            continue
        member = MemberRow(row=row_no, stt=_text(raw["stt"]))
        problems: list[Problem] = []

        def add(key: str, message: str, severity: str = "error") -> None:
            problems.append(Problem(row_no, key, severity, message))  # noqa: B023

        done = set()
        for key, col in report.columns.items():
            if (row_no, col) in formulas and raw[key] is None:
                add(key, "Ô chứa công thức nhưng không có giá trị; hãy sao chép và dán dạng giá trị (Paste Values).")
                done.add(key)
            elif _blank(raw[key]) and key in REQUIRED:
                add(key, f"Thiếu {HEADERS[key].split(' (')[0]}.")
                done.add(key)
        if "ho_ten" not in done:
            member.ho_ten = _text(raw["ho_ten"])
            encoding = vntext.legacy_encoding(member.ho_ten)
            if encoding:
                add("ho_ten", f"Họ tên bị gõ bằng bảng mã cũ {encoding}; hãy chuyển sang Unicode "
                              "(ví dụ bằng Unikey: Công cụ chuyển mã) rồi nhập lại.")
        for key in ENUM_KEYS:
            if key in done or _blank(raw[key]):
                continue
            if key == "hoc_van" and isinstance(raw[key], datetime):
                add(key, "Excel đã đổi trình độ học vấn thành ngày tháng; hãy định dạng cột là Văn bản "
                         "và nhập lại dạng 12/12.")
                continue
            value = reference.canonical(key, raw[key])
            if value is None:
                add(key, f"{HEADERS[key]} \"{_text(raw[key])}\" không có trong danh mục; hãy chọn trong danh sách.")
            else:
                setattr(member, key, value)
        for key in ("ngay_sinh", "ngay_vao_cd"):
            if key not in done and not _blank(raw[key]):
                parsed, message = _date(raw[key])
                if message:
                    add(key, message)
                setattr(member, key, parsed)
        _check_dates(member, today, add)
        if "so_dinh_danh" not in done:
            result = idnumbers.check(raw["so_dinh_danh"], member.gioi_tinh or None,
                                     member.ngay_sinh.year if member.ngay_sinh else None)
            member.so_dinh_danh, member.loai_giay_to = result.value, result.kind
            for message in result.errors:
                add("so_dinh_danh", message)
            for message in result.warnings:
                add("so_dinh_danh", message, "warning")
        if "dien_thoai" not in done and not _blank(raw["dien_thoai"]):
            member.dien_thoai, message = _phone(raw["dien_thoai"])
            if message:
                add("dien_thoai", message)
        if "email" not in done and not _blank(raw["email"]):
            member.email = _text(raw["email"])
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}", member.email):
                add("email", f"Email \"{member.email}\" không đúng định dạng (ví dụ: ten@example.vn).")
        for key in ("nghe_nghiep", "ghi_chu"):
            if key not in done:
                setattr(member, key, _text(raw[key]))
                if getattr(member, key).startswith(FORMULA_CHARS[0::3]):
                    add(key, "Ô bắt đầu bằng dấu '=' hoặc '@' được giữ nguyên dạng văn bản, không tính công thức.",
                        "warning")
        report.rows.append(member)
        report.problems.extend(problems)


def _date(value: object) -> tuple[date | None, str | None]:
    if isinstance(value, datetime):
        return value.date(), None
    if isinstance(value, date):
        return value, None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 10000 <= value < 2958466:
            return from_excel(value).date(), None
        return None, f"Ngày \"{_text(value)}\" không hợp lệ; hãy nhập đủ ngày tháng năm dạng dd/mm/yyyy."
    text = _text(value)
    match = re.fullmatch(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})", text)
    if match:
        try:
            return date(int(match[3]), int(match[2]), int(match[1])), None
        except ValueError:
            pass
    return None, f"Ngày \"{text}\" không hợp lệ; hãy nhập dạng dd/mm/yyyy (ví dụ 15/03/1990)."


def _years(start: date, end: date) -> int:
    return end.year - start.year - ((end.month, end.day) < (start.month, start.day))


def _check_dates(member: MemberRow, today: date, add) -> None:  # noqa: ANN001
    birth, joined = member.ngay_sinh, member.ngay_vao_cd
    if birth:
        if birth > today:
            add("ngay_sinh", "Ngày sinh sau ngày hôm nay.")
        else:
            age = _years(birth, today)
            if age < 15 or age > 80:
                add("ngay_sinh", f"Tuổi {age} bất thường (đoàn viên thường từ 15 đến 80 tuổi); hãy kiểm tra "
                                 "ngày sinh.", "warning")
    if joined and joined > today:
        add("ngay_vao_cd", "Ngày vào công đoàn sau ngày hôm nay.")
    elif joined and birth and birth <= today and _years(birth, joined) < 15:
        add("ngay_vao_cd", "Ngày vào công đoàn khi chưa đủ 15 tuổi; hãy kiểm tra ngày sinh và ngày vào "
                           "công đoàn.", "warning")


def _phone(value: object) -> tuple[str, str | None]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        digits = str(int(value)) if float(value).is_integer() else _text(value)
        if len(digits) == 9 and digits.isdigit():
            return digits, (f"Số điện thoại {digits} có 9 chữ số: Excel đã làm mất số 0 ở đầu (có thể là 0{digits});"
                            " hãy định dạng cột là Văn bản và nhập lại.")
        return digits, "Số điện thoại phải gồm 10 chữ số, bắt đầu bằng 0; hãy nhập dạng Văn bản."
    text = re.sub(r"[\s.\-()]", "", _text(value))
    if text.startswith("+84"):
        text = "0" + text[3:]
    elif text.startswith("84") and len(text) == 11:
        text = "0" + text[2:]
    if re.fullmatch(r"0\d{9}", text):
        return text, None
    if re.fullmatch(r"[1-9]\d{8}", text):
        return text, f"Số điện thoại {text} thiếu số 0 ở đầu (có thể là 0{text})."
    return text, f"Số điện thoại \"{_text(value)}\" phải gồm 10 chữ số, bắt đầu bằng 0."


def _check_duplicates(report: Report, existing_ids: set[str] | frozenset[str]) -> None:
    by_id: dict[str, list[MemberRow]] = defaultdict(list)
    by_name: dict[tuple[str, date], list[MemberRow]] = defaultdict(list)
    for member in report.rows:
        if member.so_dinh_danh:
            by_id[member.so_dinh_danh].append(member)
        if member.ho_ten and member.ngay_sinh:
            by_name[(vntext.tone_key(member.ho_ten), member.ngay_sinh)].append(member)
    for number, members in by_id.items():
        if len(members) > 1:
            for m in members:
                others = ", ".join(str(o.row) for o in members if o is not m)
                report.problems.append(Problem(m.row, "so_dinh_danh", "error",
                                               f"Số CCCD/CMND {number} bị trùng với dòng {others}."))
        if number in existing_ids:
            for m in members:
                report.problems.append(Problem(m.row, "so_dinh_danh", "error",
                                               f"Số CCCD/CMND {number} đã có trong danh sách đoàn viên của hệ thống."))
    for members in by_name.values():
        if len(members) > 1 and len({m.so_dinh_danh for m in members}) > 1:
            for m in members:
                others = ", ".join(str(o.row) for o in members if o is not m)
                report.problems.append(Problem(m.row, "ho_ten", "warning",
                                               f"Trùng họ tên và ngày sinh với dòng {others}; hãy kiểm tra "
                                               "có phải một người khai hai lần không."))


def _check_photos(photos: dict[str, bytes], report: Report) -> None:
    from PIL import Image

    rows_by_id = {m.so_dinh_danh: m for m in report.rows if m.so_dinh_danh}
    seen: set[str] = set()
    for name, content in sorted(photos.items()):
        base = PurePath(name.replace("\\", "/")).name
        stem, _, ext = base.rpartition(".")
        stem = re.sub(r"[\s.]", "", stem)

        def add(message: str, severity: str = "error", row: int | None = None) -> None:
            report.problems.append(Problem(row, PHOTO_KEY, severity, f"Ảnh {base}: {message}"))  # noqa: B023

        if ext.lower() not in ("jpg", "jpeg", "png") or not stem.isdigit():
            add("tên tệp phải là số CCCD/CMND, đuôi .jpg, .jpeg hoặc .png (ví dụ 079190012345.jpg).")
            continue
        member = rows_by_id.get(stem)
        row = member.row if member else None
        if member is None:
            add("không có đoàn viên nào trong danh sách có số CCCD/CMND này.", "warning")
        elif stem in seen:
            add("đoàn viên này đã có ảnh khác; chỉ giữ một ảnh.", "warning", row)
            continue
        else:
            seen.add(stem)  # a bad photo is reported as bad, not also as missing
        if len(content) > MAX_PHOTO_BYTES:
            add(f"dung lượng {len(content) / 1024 / 1024:.1f} MB vượt quá 1 MB.", row=row)
            continue
        try:
            image = Image.open(io.BytesIO(content))
            width, height = image.size  # read from the header, before verify() consumes the image
            image.verify()
        except Exception:  # noqa: BLE001 - anything Pillow cannot decode
            add("không phải là tệp ảnh hợp lệ.", row=row)
            continue
        if member is None:
            continue
        member.anh = base
        if height == 0 or not PHOTO_ASPECT[0] <= width / height <= PHOTO_ASPECT[1]:
            add(f"kích thước {width}x{height} không phải ảnh dọc cỡ 2x3 (tỉ lệ rộng:cao khoảng 2:3).",
                "warning", row)
    if photos:
        for member in report.rows:
            if member.so_dinh_danh and member.anh is None and member.so_dinh_danh not in seen:
                report.problems.append(Problem(member.row, PHOTO_KEY, "error",
                                               f"Thiếu ảnh {member.so_dinh_danh}.jpg của đoàn viên này."))


def _set_text(cell, value: object) -> None:  # noqa: ANN001
    """Write a value so that text starting with '=' stays text, never a formula."""
    cell.value = value
    if isinstance(value, str) and cell.data_type == "f":
        cell.data_type = "s"


def error_workbook(data: bytes, report: Report) -> bytes:
    try:
        wb = _open(data)
        ws = wb[report.sheet_name] if report.sheet_name in (wb.sheetnames if report.sheet_name else []) \
            else _pick_sheet(wb)
    except Exception:  # noqa: BLE001 - the upload itself is unreadable: a workbook with the list only
        wb = Workbook()
        wb.remove(wb.active)
        ws = None
    for sheet in wb.worksheets:  # neutralise every formula-like cell of the upload
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith(FORMULA_CHARS)):
                    value = cell.value if isinstance(cell.value, str) else str(cell.value)
                    cell.value = value
                    cell.data_type = "s"
    if ws is not None:
        by_cell: dict[tuple[int, int], list[Problem]] = defaultdict(list)
        for p in report.problems:
            col = p.column or report.columns.get(p.column_key or "")
            if p.row and col:
                by_cell[(p.row, col)].append(p)
        for (row, col), problems in by_cell.items():
            cell = ws.cell(row=row, column=col)
            is_error = any(p.severity == "error" for p in problems)
            cell.fill = RED if is_error else YELLOW
            text = "\n".join(("Lỗi: " if p.severity == "error" else "Cảnh báo: ") + p.message_vi for p in problems)
            comment = Comment(text, "Kiểm tra danh sách")
            comment.width, comment.height = 320, 40 + 40 * len(problems)
            cell.comment = comment
    if ERROR_SHEET in wb.sheetnames:
        wb.remove(wb[ERROR_SHEET])
    out_ws = wb.create_sheet(ERROR_SHEET, 0)
    for col, header in enumerate(("Dòng", "Cột", "Mức độ", "Nội dung"), start=1):
        out_ws.cell(row=1, column=col, value=header).font = Font(bold=True)
    lines = [(None, "", "Lỗi", report.fatal)] if report.fatal else []
    headers = {**HEADERS, PHOTO_KEY: "Ảnh"}
    for p in report.problems:
        column = headers.get(p.column_key or "", "")
        if not column and p.column and ws is not None and report.header_row:
            column = str(ws.cell(row=report.header_row, column=p.column).value or "")
        lines.append((p.row, column, "Lỗi" if p.severity == "error" else "Cảnh báo", p.message_vi))
    for r, line in enumerate(lines, start=2):
        for c, value in enumerate(line, start=1):
            cell = out_ws.cell(row=r, column=c)
            _set_text(cell, value)
            if c > 1 and line[2] == "Lỗi":
                cell.fill = RED
    for letter, width in zip("ABCD", (8, 26, 10, 100), strict=True):
        out_ws.column_dimensions[letter].width = width
    out_ws.freeze_panes = "A2"
    wb.active = 0
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
