"""check_workbook / error_workbook: one test per rule, each bad value gives exactly the expected problem."""
from __future__ import annotations

import io
import zipfile
from datetime import datetime

import pytest
from member_helpers import TODAY, good_rows, make_image, make_workbook
from openpyxl import Workbook, load_workbook

from engine.members.template import COLUMNS, SHEET_NAME, build_template, column_letter
from engine.members.workbook import check_workbook, error_workbook


def check(rows, **kwargs):  # noqa: ANN001, ANN201
    return check_workbook(make_workbook(rows), today=TODAY, **kwargs)


def only(report, severity="error"):  # noqa: ANN001, ANN201
    found = [p for p in report.problems if p.severity == severity]
    assert len(found) == 1, [(p.row, p.column_key, p.message_vi) for p in report.problems]
    return found[0]


def with_row(index: int, **changes):  # noqa: ANN201
    rows = good_rows()
    rows[index].update(changes)
    return rows


def test_good_workbook_has_no_problems() -> None:
    report = check(good_rows())
    assert report.fatal is None and report.problems == [] and report.ok
    assert [m.row for m in report.rows] == [2, 3, 4, 5, 6]
    first = report.rows[0]
    assert first.ngay_sinh.isoformat() == "1990-03-15" and first.loai_giay_to == "CCCD"
    assert report.rows[4].dan_toc == "Ê-đê"


def test_values_are_normalised() -> None:
    rows = with_row(0, ho_ten="  Nguye\u0302\u0303n   Văn An ", dan_toc="kinh", ton_giao="phat giao",
                    chuyen_mon="DAI HOC", ngay_sinh=datetime(1990, 3, 15), dien_thoai="091 234.5678")
    report = check(rows)
    assert report.problems == []
    member = report.rows[0]
    assert member.ho_ten == "Nguyễn Văn An" and member.dan_toc == "Kinh" and member.ton_giao == "Phật giáo"
    assert member.chuyen_mon == "Đại học" and member.dien_thoai == "0912345678"


@pytest.mark.parametrize("key", ["ho_ten", "ngay_sinh", "gioi_tinh", "so_dinh_danh", "dan_toc", "ngay_vao_cd"])
def test_required_fields(key: str) -> None:
    problem = only(check(with_row(1, **{key: None})))
    assert (problem.row, problem.column_key) == (3, key) and "Thiếu" in problem.message_vi


@pytest.mark.parametrize("name,encoding", [("NguyÔn V¨n An", "TCVN3"), ("Nguyeãn Vaên An", "VNI")])
def test_legacy_encoded_name(name: str, encoding: str) -> None:
    problem = only(check(with_row(0, ho_ten=name)))
    assert (problem.row, problem.column_key) == (2, "ho_ten") and encoding in problem.message_vi


@pytest.mark.parametrize("value", ["1990", "31/02/1990", "15-March-1990"])
def test_bad_date(value: str) -> None:
    problem = only(check(with_row(0, ngay_sinh=value)))
    assert (problem.row, problem.column_key) == (2, "ngay_sinh") and "dd/mm/yyyy" in problem.message_vi


def test_text_and_excel_dates_both_accepted() -> None:
    report = check(with_row(2, ngay_sinh="20-7-2001", ngay_vao_cd=datetime(2022, 8, 1)))
    assert report.problems == [] and report.rows[2].ngay_vao_cd.isoformat() == "2022-08-01"


@pytest.mark.parametrize("birth,number", [("01/01/1940", "079040012345"), ("01/01/2012", "079212012345")])
def test_implausible_age_is_a_warning(birth: str, number: str) -> None:
    report = check(with_row(0, ngay_sinh=birth, so_dinh_danh=number, ngay_vao_cd="01/06/2015"))
    age_warnings = [p for p in report.warnings if p.column_key == "ngay_sinh"]
    assert len(age_warnings) == 1 and age_warnings[0].row == 2 and "Tuổi" in age_warnings[0].message_vi
    assert not report.errors


def test_join_before_fifteen_is_a_warning() -> None:
    problem = only(check(with_row(2, ngay_vao_cd="01/08/2010")), "warning")
    assert (problem.row, problem.column_key) == (4, "ngay_vao_cd") and not check(
        with_row(2, ngay_vao_cd="01/08/2010")).errors


@pytest.mark.parametrize("key,value", [("gioi_tinh", "Khác"), ("dan_toc", "Martian"), ("ton_giao", "Jedi"),
                                       ("hoc_van", "13/12"), ("chuyen_mon", "Giỏi"), ("ly_luan_ct", "Rất cao")])
def test_enum_outside_reference_list(key: str, value: str) -> None:
    report = check(with_row(3, **{key: value}))
    problem = only(report)
    assert (problem.row, problem.column_key) == (5, key) and "danh mục" in problem.message_vi


@pytest.mark.parametrize("value,hint", [(912345678, "0912345678"), ("12345", "10 chữ số"),
                                        ("0912 345 67", "10 chữ số")])
def test_bad_phone(value: object, hint: str) -> None:
    problem = only(check(with_row(0, dien_thoai=value)))
    assert (problem.row, problem.column_key) == (2, "dien_thoai") and hint in problem.message_vi


def test_phone_plus84_is_normalised() -> None:
    report = check(with_row(0, dien_thoai="+84 912 345 678"))
    assert report.problems == [] and report.rows[0].dien_thoai == "0912345678"


@pytest.mark.parametrize("value", ["an@", "an.example.vn", "an @x.vn"])
def test_bad_email(value: str) -> None:
    problem = only(check(with_row(4, email=value)))
    assert (problem.row, problem.column_key) == (6, "email")


@pytest.mark.parametrize("number,sex,text", [
    ("079190012345", "Nam", "giới tính"),  # digit 4 says female
    ("079085012345", "Nam", "năm sinh"),  # says 1985, row says 1990
    ("12345", "Nam", "12 chữ số"),
    ("999090012345", "Nam", "Mã tỉnh"),
])
def test_id_errors_passed_through(number: str, sex: str, text: str) -> None:
    problem = only(check(with_row(0, so_dinh_danh=number, gioi_tinh=sex)))
    assert (problem.row, problem.column_key) == (2, "so_dinh_danh") and text in problem.message_vi


def test_id_as_number_that_lost_its_zero() -> None:
    problem = only(check(with_row(0, so_dinh_danh=79090012345)))
    assert problem.column_key == "so_dinh_danh" and "số 0" in problem.message_vi


def test_cmnd_is_a_warning() -> None:
    problem = only(check(with_row(0, so_dinh_danh="123456789")), "warning")
    assert (problem.row, problem.column_key) == (2, "so_dinh_danh") and "CMND" in problem.message_vi
    assert not check(with_row(0, so_dinh_danh="123456789")).errors


def test_duplicate_id_in_file_flags_both_rows() -> None:
    rows = with_row(3, so_dinh_danh="079090012345", gioi_tinh="Nam", ngay_sinh="01/01/1990")
    report = check(rows)
    assert [(p.row, p.column_key) for p in report.errors] == [(2, "so_dinh_danh"), (5, "so_dinh_danh")]
    assert not report.warnings


def test_existing_id() -> None:
    problem = only(check(good_rows(), existing_ids={"001185004321"}))
    assert (problem.row, problem.column_key) == (3, "so_dinh_danh") and "đã có" in problem.message_vi


def test_same_name_tone_placement_and_birth_date_is_a_warning() -> None:
    rows = good_rows()
    rows[1].update(ho_ten="Trần Thị Thuỷ")
    rows[3].update(ho_ten="trần thị thủy", ngay_sinh="02/11/1985", so_dinh_danh="052185009999")
    report = check(rows)
    assert not report.errors
    assert [(p.row, p.column_key) for p in report.warnings] == [(3, "ho_ten"), (5, "ho_ten")]


def test_example_and_blank_rows_are_skipped() -> None:
    rows = good_rows()
    rows.insert(0, {"stt": "VD", "ho_ten": "Ví dụ", "so_dinh_danh": "bad"})
    rows.insert(3, {"stt": 99})
    report = check(rows)
    assert report.problems == [] and len(report.rows) == 5


def test_formula_cell_without_cached_value_is_an_error() -> None:
    problem = only(check(with_row(0, nghe_nghiep="=CONCAT(\"a\",\"b\")")))
    assert (problem.row, problem.column_key) == (2, "nghe_nghiep") and "công thức" in problem.message_vi


def test_formula_injection_stays_text_in_error_workbook() -> None:
    wb = load_workbook(io.BytesIO(make_workbook(with_row(0, gioi_tinh="X"))))
    ws = wb[SHEET_NAME]
    cell = ws[f"{column_letter('ghi_chu')}2"]
    cell.value, cell.data_type = '=HYPERLINK("http://evil","x")', "s"  # typed as text, not a formula
    out = io.BytesIO()
    wb.save(out)
    data = out.getvalue()
    report = check_workbook(data, today=TODAY)
    assert report.rows[0].ghi_chu == '=HYPERLINK("http://evil","x")'
    assert [p.column_key for p in report.problems] == ["gioi_tinh", "ghi_chu"]
    result = load_workbook(io.BytesIO(error_workbook(data, report)))
    ws = result[SHEET_NAME]
    injected = ws[f"{column_letter('ghi_chu')}2"]
    assert injected.value == '=HYPERLINK("http://evil","x")' and injected.data_type == "s"
    bad = ws[f"{column_letter('gioi_tinh')}2"]
    assert bad.fill.fgColor.rgb.endswith("FFC7CE") and "danh mục" in bad.comment.text
    assert injected.fill.fgColor.rgb.endswith("FFEB9C")
    errors = result["Lỗi"]
    listed = [[c.value for c in r] for r in errors.iter_rows(min_row=2)]
    assert [2, "Giới tính", "Lỗi"] == listed[0][:3]
    with zipfile.ZipFile(io.BytesIO(error_workbook(data, report))) as z:
        sheets = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
    assert "<f>" not in sheets


def test_real_formula_is_written_back_as_text() -> None:
    data = make_workbook(with_row(0, nghe_nghiep="=1+1"))
    report = check_workbook(data, today=TODAY)
    ws = load_workbook(io.BytesIO(error_workbook(data, report)))[SHEET_NAME]
    cell = ws[f"{column_letter('nghe_nghiep')}2"]
    assert cell.value == "=1+1" and cell.data_type == "s"


def test_photos_all_rules() -> None:
    rows = good_rows()
    photos = {
        "079090012345.JPG": make_image(),  # fine
        "anh/001185004321.png": make_image(fmt="PNG", width=300, height=200),  # landscape
        "048201000777.jpg": b"not an image at all",
        "052175009999.jpeg": b"\xff" * (1024 * 1024 + 1),  # oversized
        "111111111111.jpg": make_image(),  # nobody has this ID
    }  # 066095001234 (row 6) has no photo
    report = check(rows, photos=photos)
    got = sorted((p.row or 0, p.severity, p.message_vi.split(":")[0]) for p in report.problems)
    assert got == [(0, "warning", "Ảnh 111111111111.jpg"), (3, "warning", "Ảnh 001185004321.png"),
                   (4, "error", "Ảnh 048201000777.jpg"), (5, "error", "Ảnh 052175009999.jpeg"),
                   (6, "error", "Thiếu ảnh 066095001234.jpg của đoàn viên này.")]
    assert all(p.column_key == "anh" for p in report.problems)
    assert "1 MB" in next(p for p in report.problems if p.row == 5).message_vi
    assert "không phải là tệp ảnh" in next(p for p in report.problems if p.row == 4).message_vi
    assert report.rows[0].anh == "079090012345.JPG"


def test_no_photos_given_means_no_missing_photo_errors() -> None:
    assert check(good_rows(), photos={}).problems == [] and check(good_rows()).problems == []


def test_random_bytes_and_corrupt_file_are_fatal() -> None:
    assert "không phải là tệp Excel" in check_workbook(bytes(range(256)) * 10).fatal
    data = make_workbook(good_rows())
    corrupt = data[:len(data) // 2]
    assert check_workbook(corrupt).fatal
    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.namelist():
            dst.writestr(item, b"<garbage" if item.endswith("sheet1.xml") else src.read(item))
    assert "hỏng" in check_workbook(broken.getvalue()).fatal


def test_password_protected_and_xls_are_fatal() -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100
    assert "mật khẩu" in check_workbook(ole + "EncryptionInfo".encode("utf-16-le")).fatal
    assert ".xls" in check_workbook(ole).fatal


def test_empty_sheet_is_fatal() -> None:
    wb = Workbook()
    out = io.BytesIO()
    wb.save(out)
    assert "không có dữ liệu" in check_workbook(out.getvalue()).fatal


def test_renamed_header_is_fatal_and_named() -> None:
    headers = [h for _, h in COLUMNS]
    headers[5] = "Sắc tộc"
    report = check_workbook(make_workbook(good_rows(), headers))
    assert "\"Dân tộc\"" in report.fatal and "Sắc tộc" in report.fatal and report.rows == []
    out = load_workbook(io.BytesIO(error_workbook(make_workbook(good_rows(), headers), report)))
    assert "Dân tộc" in out["Lỗi"]["D2"].value


def test_headers_accent_and_case_insensitive_extra_column_warns() -> None:
    headers = [h.upper() for _, h in COLUMNS]
    headers[1] = "ho va ten"
    headers.append("Ghi chú thêm")
    report = check_workbook(make_workbook(good_rows(), headers), today=TODAY)
    assert report.fatal is None and not report.errors
    warning = only(report, "warning")
    assert warning.row == 1 and warning.column == 16 and "Ghi chú thêm" in warning.message_vi


def test_template_example_row_passes() -> None:
    assert check_workbook(build_template(), today=TODAY).problems == []
