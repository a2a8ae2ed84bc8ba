"""The Excel template a grassroots union (CĐCS) fills in to declare its members."""
from __future__ import annotations

import io
import re

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from engine.members import reference
from engine.vntext import fold

SHEET_NAME = "Danh sách đoàn viên"
LISTS_SHEET = "Danh mục"
HELP_SHEET = "Hướng dẫn"
EXAMPLE_STT = "VD"  # the grey example row; the importer skips rows whose STT is VD
DATA_ROWS = 2000
FIRST_DATA_ROW = 2

# (internal key, header) in the fixed column order of the template.
COLUMNS: list[tuple[str, str]] = [
    ("stt", "STT"),
    ("ho_ten", "Họ và tên"),
    ("ngay_sinh", "Ngày sinh (dd/mm/yyyy)"),
    ("gioi_tinh", "Giới tính"),
    ("so_dinh_danh", "Số CCCD/CMND"),
    ("dan_toc", "Dân tộc"),
    ("ton_giao", "Tôn giáo"),
    ("hoc_van", "Trình độ học vấn"),
    ("chuyen_mon", "Trình độ chuyên môn"),
    ("ly_luan_ct", "Lý luận chính trị"),
    ("nghe_nghiep", "Nghề nghiệp/Chức vụ"),
    ("ngay_vao_cd", "Ngày vào công đoàn (dd/mm/yyyy)"),
    ("dien_thoai", "Điện thoại"),
    ("email", "Email"),
    ("ghi_chu", "Ghi chú"),
]
HEADERS = dict(COLUMNS)
REQUIRED = ("ho_ten", "ngay_sinh", "gioi_tinh", "so_dinh_danh", "dan_toc", "ngay_vao_cd")
TEXT_COLUMNS = ("so_dinh_danh", "hoc_van", "dien_thoai")  # formatted "@" so Excel keeps leading zeros
DATE_COLUMNS = ("ngay_sinh", "ngay_vao_cd")
WIDTHS = {"stt": 6, "ho_ten": 26, "ngay_sinh": 14, "gioi_tinh": 9, "so_dinh_danh": 16, "dan_toc": 12,
          "ton_giao": 14, "hoc_van": 10, "chuyen_mon": 14, "ly_luan_ct": 12, "nghe_nghiep": 22,
          "ngay_vao_cd": 16, "dien_thoai": 14, "email": 26, "ghi_chu": 24}
EXAMPLE = {"stt": EXAMPLE_STT, "ho_ten": "Nguyễn Thị Thủy", "ngay_sinh": "15/03/1990", "gioi_tinh": "Nữ",
           "so_dinh_danh": "079190012345", "dan_toc": "Kinh", "ton_giao": "Không", "hoc_van": "12/12",
           "chuyen_mon": "Đại học", "ly_luan_ct": "Sơ cấp", "nghe_nghiep": "Kế toán",
           "ngay_vao_cd": "01/06/2015", "dien_thoai": "0912345678", "email": "thuy.nt@example.vn",
           "ghi_chu": "Dòng ví dụ (STT = VD) - không được nhập vào hệ thống"}
HELP = [
    "HƯỚNG DẪN KÊ KHAI DANH SÁCH ĐOÀN VIÊN",
    "",
    f"1. Nhập mỗi đoàn viên một dòng trên trang \"{SHEET_NAME}\", từ dòng 3 trở đi. Không đổi tên, "
    "không xóa, không đổi thứ tự các cột tiêu đề.",
    f"2. Dòng màu xám có STT = \"{EXAMPLE_STT}\" là dòng ví dụ; phần mềm bỏ qua dòng này.",
    "3. Bắt buộc: Họ và tên, Ngày sinh, Giới tính, Số CCCD/CMND, Dân tộc, Ngày vào công đoàn.",
    "4. Ngày tháng nhập theo dạng dd/mm/yyyy, ví dụ 15/03/1990.",
    "5. Số CCCD (12 chữ số) hoặc CMND (9 chữ số) và số điện thoại phải nhập dạng Văn bản (Text) để giữ "
    "số 0 ở đầu; các cột này đã được định dạng sẵn, khi dán dữ liệu hãy dùng \"Dán giá trị\" (Paste Values).",
    "6. Giới tính, Dân tộc, Tôn giáo, Trình độ học vấn, chuyên môn, lý luận chính trị: chọn trong danh sách thả xuống.",
    "7. Họ tên gõ bằng Unicode (không dùng bảng mã TCVN3/ABC hay VNI).",
    "8. Điện thoại: 10 chữ số, bắt đầu bằng 0.",
    "9. Không dùng công thức trong các ô; chỉ nhập giá trị.",
    "",
    "ẢNH ĐOÀN VIÊN",
    "- Ảnh chân dung cỡ 2x3 (ảnh dọc, tỉ lệ rộng:cao khoảng 2:3), định dạng .jpg hoặc .png.",
    "- Dung lượng mỗi ảnh không quá 1 MB.",
    "- Tên tệp ảnh là số CCCD/CMND của đoàn viên, ví dụ: 079190012345.jpg",
]
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
EXAMPLE_FILL = PatternFill("solid", fgColor="D9D9D9")


def header_key(text: object) -> str:
    """How a header is recognised: accent/case-insensitive, without the '(dd/mm/yyyy)' hint."""
    folded = re.sub(r"\(.*?\)", " ", fold(str(text) if text is not None else ""))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", folded).split())


HEADER_ALIASES = {"so tt": "stt", "tt": "stt", "ho ten": "ho_ten", "so cccd": "so_dinh_danh",
                  "so cmnd cccd": "so_dinh_danh", "cccd cmnd": "so_dinh_danh", "so dinh danh": "so_dinh_danh",
                  "dien thoai": "dien_thoai", "so dien thoai": "dien_thoai", "e mail": "email",
                  "nghe nghiep chuc vu": "nghe_nghiep", "ngay vao cong doan": "ngay_vao_cd"}
HEADER_KEYS = {**HEADER_ALIASES, **{header_key(h): k for k, h in COLUMNS}}


def column_letter(key: str) -> str:
    return get_column_letter([k for k, _ in COLUMNS].index(key) + 1)


def build_template() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_NAME
    _lists_sheet(wb)
    last = FIRST_DATA_ROW + DATA_ROWS - 1
    for col, (key, header) in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=col, value=header)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(col)].width = WIDTHS[key]
        if key in TEXT_COLUMNS:
            for row in range(FIRST_DATA_ROW, last + 1):
                ws.cell(row=row, column=col).number_format = "@"
    ws.row_dimensions[1].height = 32
    ws.freeze_panes = "A2"
    for col, (key, _) in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=FIRST_DATA_ROW, column=col, value=EXAMPLE[key])
        cell.fill = EXAMPLE_FILL
        cell.font = Font(italic=True, color="595959")
    for list_col, list_key in enumerate(reference.LISTS, start=1):
        values = reference.LISTS[list_key]
        letter = get_column_letter(list_col)
        source = f"{quote_sheetname(LISTS_SHEET)}!${letter}$2:${letter}${len(values) + 1}"
        dv = DataValidation(type="list", formula1=source, allow_blank=True, showErrorMessage=True,
                            errorTitle="Giá trị không hợp lệ",
                            error=f"Hãy chọn {HEADERS[list_key]} trong danh sách.")
        target = column_letter(list_key)
        dv.add(f"{target}{FIRST_DATA_ROW}:{target}{last}")
        ws.add_data_validation(dv)
    help_ws = wb.create_sheet(HELP_SHEET, 1)
    help_ws.column_dimensions["A"].width = 120
    for row, line in enumerate(HELP, start=1):
        cell = help_ws.cell(row=row, column=1, value=line)
        cell.alignment = Alignment(wrap_text=True)
        if line.isupper():
            cell.font = Font(bold=True)
    wb.active = 0
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _lists_sheet(wb: Workbook) -> None:
    ws = wb.create_sheet(LISTS_SHEET)
    for col, list_key in enumerate(reference.LISTS, start=1):
        ws.cell(row=1, column=col, value=HEADERS[list_key]).font = Font(bold=True)
        for row, value in enumerate(reference.LISTS[list_key], start=2):
            ws.cell(row=row, column=col, value=value).number_format = "@"
        ws.column_dimensions[get_column_letter(col)].width = 22
    ws.sheet_state = "hidden"
