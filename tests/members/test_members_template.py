"""The member declaration template: headers, drop-downs, text-formatted ID/phone columns."""
from __future__ import annotations

import io

from openpyxl import load_workbook

from engine.members import reference
from engine.members.template import COLUMNS, LISTS_SHEET, SHEET_NAME, build_template, column_letter
from engine.members.workbook import check_workbook


def test_reference_lists() -> None:
    assert len(reference.ETHNIC_GROUPS) == 54 and len(set(reference.ETHNIC_GROUPS)) == 54
    assert reference.ETHNIC_GROUPS[0] == "Kinh"
    assert reference.canonical("dan_toc", "khmer") == "Khơ-me"
    assert reference.canonical("ton_giao", "hoà hảo") == "Hòa Hảo"
    assert reference.canonical("hoc_van", 12) == "12/12"
    assert reference.canonical("gioi_tinh", "NỮ") == "Nữ"
    assert reference.canonical("chuyen_mon", "dai hoc") == "Đại học"
    assert reference.canonical("dan_toc", "Martian") is None


def test_template_reads_back() -> None:
    data = build_template()
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames[0] == SHEET_NAME and "Hướng dẫn" in wb.sheetnames
    ws = wb[SHEET_NAME]
    assert [c.value for c in ws[1]] == [h for _, h in COLUMNS]
    assert all(c.font.bold for c in ws[1])
    assert ws.freeze_panes == "A2"
    for key in ("so_dinh_danh", "dien_thoai"):
        letter = column_letter(key)
        assert ws[f"{letter}2"].number_format == "@" and ws[f"{letter}2001"].number_format == "@"
    assert ws["A2"].value == "VD"
    validations = {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation}
    for key in reference.LISTS:
        letter = column_letter(key)
        formula = validations[f"{letter}2:{letter}2001"]
        assert formula.startswith(f"'{LISTS_SHEET}'!")
    lists = wb[LISTS_SHEET]
    assert lists.sheet_state == "hidden"
    ethnic = [c.value for c in lists["B"][1:] if c.value]
    assert ethnic == reference.ETHNIC_GROUPS
    help_text = " ".join(str(c.value) for c in wb["Hướng dẫn"]["A"] if c.value)
    assert "1 MB" in help_text and ".jpg" in help_text and "dd/mm/yyyy" in help_text


def test_empty_template_has_no_rows_and_no_problems() -> None:
    report = check_workbook(build_template())
    assert report.fatal is None
    assert report.rows == [] and report.problems == []
