"""Excel export of the member registry (the same scope and filter as the search page).

Rows are streamed from one query (``yield_per``) into a write-only openpyxl workbook. Every text cell is
written as text: a name or note starting with = + - @ never becomes a formula (CSV/Excel injection).
"""
from __future__ import annotations

import io
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.orm import Session

from engine.members.models import Member
from engine.members.registry import STATUS_LABELS, members_query
from engine.models import OrgUnit, User

HEADERS = ("STT", "Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD/CMND", "Mã đoàn viên", "Mã Vpoint", "Đơn vị",
           "Trạng thái", "Ngày vào công đoàn", "Điện thoại", "Email")
WIDTHS = (7, 28, 12, 9, 16, 15, 16, 40, 26, 14, 14, 28)
COLUMNS = (Member.full_name, Member.birth_date, Member.sex, Member.id_number, Member.member_code,
           Member.vpoint_code, OrgUnit.name, Member.status, Member.joined_on, Member.phone, Member.email)
SHEET_TITLE = "Đoàn viên"
BATCH = 2000


def _date(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def _text(ws: Worksheet, value: Any) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value="" if value is None else str(value))
    cell.data_type = "s"  # never a formula, never a number (ID numbers keep their leading zeros)
    return cell


def export_xlsx(session: Session, user: User, query: str = "", unit_id: int | None = None,
                status: str | None = "active") -> bytes:
    """The scoped, filtered members as an .xlsx file (bytes), in Vietnamese order."""
    stmt = members_query(session, user, query, unit_id, status, columns=COLUMNS).join(
        OrgUnit, OrgUnit.id == Member.unit_id)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(SHEET_TITLE)
    for index, width in enumerate(WIDTHS):
        ws.column_dimensions[chr(ord("A") + index)].width = width
    ws.freeze_panes = "A2"
    header = []
    for title in HEADERS:
        cell = _text(ws, title)
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(header)
    rows = session.execute(stmt.execution_options(yield_per=BATCH))
    for number, (name, born, sex, id_number, code, vpoint, unit, state, joined, phone, email) in enumerate(
            rows, start=1):
        ws.append([number, _text(ws, name), _text(ws, _date(born)), _text(ws, sex), _text(ws, id_number),
                   _text(ws, code), _text(ws, vpoint), _text(ws, unit), _text(ws, STATUS_LABELS.get(state, state)),
                   _text(ws, _date(joined)), _text(ws, phone), _text(ws, email)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
