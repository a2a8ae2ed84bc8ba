"""The fast worksheet reader returns what openpyxl returns (values, dates, formulas), or hands over."""
from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from engine.members import xlsxread
from engine.members.template import build_template
from tests.members.member_helpers import good_rows, make_workbook


def openpyxl_cells(data: bytes, title: str) -> tuple[dict[tuple[int, int], object], set[tuple[int, int]]]:
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    ws = wb[title]
    ws.reset_dimensions()
    values = {(r, c): v for r, row in enumerate(ws.iter_rows(values_only=True), start=1)
              for c, v in enumerate(row, start=1) if v is not None}
    fwb = load_workbook(io.BytesIO(data), read_only=True)
    fws = fwb[title]
    fws.reset_dimensions()
    formulas = {(c.row, c.column) for row in fws.iter_rows() for c in row if getattr(c, "data_type", None) == "f"}
    return values, formulas


def fast_cells(data: bytes, index: int = 0) -> tuple[dict[tuple[int, int], object], set[tuple[int, int]], str]:
    sheet = xlsxread.read_sheet(data, lambda titles: index)
    values = {(r, c): v for r, row in enumerate(sheet.rows, start=1) for c, v in enumerate(row, start=1)
              if v is not None}
    return values, sheet.formulas, sheet.title


def mixed_workbook() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Danh sách đoàn viên"
    ws["A1"], ws["B1"], ws["C1"] = "Họ và tên", 12, 1.5
    ws["A2"] = datetime(1990, 3, 15)
    ws["B2"] = True
    ws["C2"] = "=B1*2"  # a formula without a cached value
    ws["A5"] = "079190012345"
    ws["D5"] = 79190012345  # an ID Excel turned into a number
    ws["E7"] = CellRichText([TextBlock(InlineFont(b=True), "Nguyễn "), "Thị Thủy"])
    ws["F7"] = "=cmd|' /C calc'!A0"
    ws["G9"] = 1e20
    ws.cell(row=12, column=3).number_format = "dd/mm/yyyy"
    ws.cell(row=12, column=3).value = 32874
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.mark.parametrize("build", [lambda: make_workbook(good_rows()), build_template, mixed_workbook])
def test_same_values_and_formulas_as_openpyxl(build):
    data = build()
    fast, fast_formulas, title = fast_cells(data)
    slow, slow_formulas = openpyxl_cells(data, title)
    assert fast == slow
    assert fast_formulas == slow_formulas


def test_dates_rich_text_and_numbers_are_typed_like_openpyxl():
    values, formulas, title = fast_cells(mixed_workbook())
    assert title == "Danh sách đoàn viên"
    assert values[(2, 1)] == datetime(1990, 3, 15) and values[(12, 3)] == datetime(1990, 1, 1)
    assert values[(1, 2)] == 12 and isinstance(values[(1, 2)], int) and values[(1, 3)] == 1.5
    assert values[(5, 4)] == 79190012345 and values[(5, 1)] == "079190012345"
    assert values[(7, 5)] == "Nguyễn Thị Thủy" and values[(2, 2)] is True
    assert formulas == {(2, 3), (7, 6)}


def test_a_damaged_file_is_handed_to_openpyxl():
    with pytest.raises(xlsxread.UnsupportedWorkbook):
        xlsxread.read_sheet(b"PK\x03\x04 not really a zip", lambda titles: 0)
