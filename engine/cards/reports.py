"""Card reports: the fee ledger (per unit, per batch, per year), the linked-card list for VietinBank, the
linked-card summary for the levels above, and the per-unit report; each with an Excel export.

Every query is limited to the user's scope and aggregates in SQL (GROUP BY); the exports stream into
write-only workbooks where every text cell is written as text (a name "=cmd" never becomes a formula, an ID
number keeps its leading zeros) and money is a whole number of VND with the format ``#,##0``.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Iterable, Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from engine.accounts import scope_unit_ids
from engine.cards.fees import PAYER_LABELS
from engine.cards.models import CardBatch, CardItem, CardRequest, FeeEntry
from engine.cards.views import FEE_KIND_LABELS, ITEM_STATUS_LABELS
from engine.clock import VN_TZ
from engine.errors import Forbidden
from engine.members.models import Member
from engine.models import OrgUnit, User
from engine.orgtree import descendant_ids

MONEY = "#,##0"
LEDGER_ROWS_SHOWN = 500
BATCH = 2000
PENDING_REQUEST = ("submitted", "forwarded", "rendering", "ready")


# ===================================================================================== shared
def _year_range(year: int) -> tuple[datetime, datetime]:
    """[1 January, next 1 January) in Vietnam, as aware datetimes."""
    return datetime(year, 1, 1, tzinfo=VN_TZ), datetime(year + 1, 1, 1, tzinfo=VN_TZ)


def _units(session: Session, user: User, unit_id: int | None) -> set[int] | None:
    """The unit ids a report covers: the user's scope, narrowed to ``unit_id`` and everything below it."""
    scope = scope_unit_ids(session, user)
    if unit_id is None:
        return scope
    if scope is not None and unit_id not in scope:
        raise Forbidden("Bạn không có quyền xem đơn vị này")
    below = descendant_ids(session, {unit_id})
    return below if scope is None else below & scope


def _vn_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(VN_TZ).date()
    return value.strftime("%d/%m/%Y")


def _text(ws: Worksheet, value: Any) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value="" if value is None else str(value))
    cell.data_type = "s"  # never a formula, never a number
    return cell


def _money(ws: Worksheet, amount: int, bold: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=int(amount or 0))
    cell.number_format = MONEY
    if bold:
        cell.font = Font(bold=True)
    return cell


def _sheet(wb: Workbook, title: str, headers: Sequence[str], widths: Sequence[int]) -> Worksheet:
    ws = wb.create_sheet(title)
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A2"
    header = []
    for title_text in headers:
        cell = _text(ws, title_text)
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(header)
    return ws


def _save(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ===================================================================================== fee ledger
@dataclass
class FeeRow:
    created_at: datetime
    unit_code: str
    unit_name: str
    member_code: str
    full_name: str
    kind: str
    payer: str
    amount: int
    batch_id: int | None
    request_id: int
    note: str


@dataclass
class FeeLedger:
    rows: list[FeeRow]
    count: int
    total: int
    by_payer: dict[str, int]  # payer → VND
    count_by_payer: dict[str, int]
    unit_id: int | None = None
    batch_id: int | None = None
    year: int | None = None
    units: list[tuple[int, str, str]] = field(default_factory=list)  # (id, code, name) to filter by

    @property
    def truncated(self) -> bool:
        return self.count > len(self.rows)


def _ledger_filter(session: Session, user: User, unit_id: int | None, batch_id: int | None,
                   year: int | None) -> list[Any]:
    units = _units(session, user, unit_id)
    conditions: list[Any] = []
    if units is not None:
        if unit_id is None:  # the province also sees the fees of every batch it printed
            printed = select(CardBatch.id).where(CardBatch.province_id.in_(units))
            conditions.append(or_(FeeEntry.unit_id.in_(units), FeeEntry.batch_id.in_(printed)))
        else:
            conditions.append(FeeEntry.unit_id.in_(units))
    if batch_id is not None:
        conditions.append(FeeEntry.batch_id == batch_id)
    if year is not None:
        start, end = _year_range(year)
        conditions += [FeeEntry.created_at >= start, FeeEntry.created_at < end]
    return conditions


def _ledger_rows(conditions: list[Any]) -> Select:
    return (select(FeeEntry.created_at, OrgUnit.code, OrgUnit.name, Member.member_code, Member.full_name,
                   FeeEntry.kind, FeeEntry.payer, FeeEntry.amount, FeeEntry.batch_id, CardItem.request_id,
                   FeeEntry.note)
            .join(OrgUnit, OrgUnit.id == FeeEntry.unit_id).join(Member, Member.id == FeeEntry.member_id)
            .join(CardItem, CardItem.id == FeeEntry.item_id).where(*conditions)
            .order_by(FeeEntry.created_at, FeeEntry.id))


def fee_ledger(session: Session, user: User, unit_id: int | None = None, batch_id: int | None = None,
               year: int | None = None, limit: int = LEDGER_ROWS_SHOWN) -> FeeLedger:
    """The fee entries in scope (first ``limit`` rows) and the totals by payer over all of them."""
    conditions = _ledger_filter(session, user, unit_id, batch_id, year)
    totals = session.execute(select(FeeEntry.payer, func.count(), func.coalesce(func.sum(FeeEntry.amount), 0))
                             .where(*conditions).group_by(FeeEntry.payer)).all()
    rows = [FeeRow(*row) for row in session.execute(_ledger_rows(conditions).limit(limit))]
    charged = select(FeeEntry.unit_id).distinct()
    if scope_unit_ids(session, user) is not None:
        charged = charged.where(*_ledger_filter(session, user, None, None, None))
    units = list(session.execute(select(OrgUnit.id, OrgUnit.code, OrgUnit.name).where(OrgUnit.id.in_(charged))
                                 .order_by(OrgUnit.code)))
    return FeeLedger(rows, sum(n for _, n, _ in totals), sum(int(a) for _, _, a in totals),
                     {p: int(a) for p, _, a in totals}, {p: n for p, n, _ in totals}, unit_id, batch_id, year, units)


FEE_HEADERS = ("STT", "Ngày ghi", "Mã đơn vị", "Đơn vị", "Mã đoàn viên", "Họ và tên", "Khoản", "Người trả",
               "Số tiền (VND)", "Lô in", "Đề nghị số", "Ghi chú")
FEE_WIDTHS = (7, 12, 16, 40, 15, 28, 16, 26, 15, 8, 10, 40)


def fee_ledger_xlsx(session: Session, user: User, unit_id: int | None = None, batch_id: int | None = None,
                    year: int | None = None) -> bytes:
    conditions = _ledger_filter(session, user, unit_id, batch_id, year)
    wb = Workbook(write_only=True)
    ws = _sheet(wb, "Sổ phí thẻ", FEE_HEADERS, FEE_WIDTHS)
    by_payer: dict[str, int] = {}
    rows = session.execute(_ledger_rows(conditions).execution_options(yield_per=BATCH))
    for number, (at, code, unit, member_code, name, kind, payer, amount, batch, request, note) in enumerate(
            rows, start=1):
        by_payer[payer] = by_payer.get(payer, 0) + int(amount)
        ws.append([number, _text(ws, _vn_date(at)), _text(ws, code), _text(ws, unit), _text(ws, member_code),
                   _text(ws, name), _text(ws, FEE_KIND_LABELS.get(kind, kind)),
                   _text(ws, PAYER_LABELS.get(payer, payer)), _money(ws, amount), batch, request, _text(ws, note)])
    ws.append([])
    for payer, amount in sorted(by_payer.items()):
        ws.append([None, None, None, None, None, None, _text(ws, "Cộng"), _text(ws, PAYER_LABELS.get(payer, payer)),
                   _money(ws, amount, bold=True)])
    ws.append([None, None, None, None, None, None, _text(ws, "Tổng cộng"), None,
               _money(ws, sum(by_payer.values()), bold=True)])
    return _save(wb)


# ===================================================================================== linked cards
def _linked_conditions(session: Session, user: User, unit_id: int | None, batch_id: int | None) -> list[Any]:
    units = _units(session, user, unit_id)
    conditions: list[Any] = [CardItem.card_type == "linked"]
    if units is not None:
        conditions.append(CardRequest.unit_id.in_(units) if unit_id is not None else
                          or_(CardRequest.unit_id.in_(units), CardRequest.province_id.in_(units)))
    if batch_id is not None:
        conditions.append(CardItem.batch_id == batch_id)
    return conditions


VIETINBANK_HEADERS = ("STT", "Họ và tên", "Ngày sinh", "Số CCCD", "Mã đoàn viên", "Mã Vpoint", "Đơn vị",
                      "Điện thoại", "Trạng thái thẻ", "Nhận lương qua VietinBank", "Ngày đề nghị")
VIETINBANK_WIDTHS = (7, 28, 12, 16, 15, 16, 40, 14, 16, 14, 12)


def vietinbank_xlsx(session: Session, user: User, unit_id: int | None = None, batch_id: int | None = None) -> bytes:
    """The members who chose a linked (VietinBank ATM) card, for the bank."""
    stmt = (select(Member.full_name, Member.birth_date, Member.id_number, Member.member_code, Member.vpoint_code,
                   OrgUnit.name, Member.phone, CardItem.status, CardItem.vietinbank_payroll, CardRequest.request_date)
            .join(CardRequest, CardRequest.id == CardItem.request_id).join(Member, Member.id == CardItem.member_id)
            .join(OrgUnit, OrgUnit.id == CardRequest.unit_id)
            .where(*_linked_conditions(session, user, unit_id, batch_id))
            .order_by(OrgUnit.code, Member.sort_key, CardItem.id))
    wb = Workbook(write_only=True)
    ws = _sheet(wb, "Thẻ liên kết VietinBank", VIETINBANK_HEADERS, VIETINBANK_WIDTHS)
    for number, (name, born, id_number, code, vpoint, unit, phone, status, payroll, on) in enumerate(
            session.execute(stmt.execution_options(yield_per=BATCH)), start=1):
        ws.append([number, _text(ws, name), _text(ws, _vn_date(born)), _text(ws, id_number), _text(ws, code),
                   _text(ws, vpoint), _text(ws, unit), _text(ws, phone),
                   _text(ws, ITEM_STATUS_LABELS.get(status, status)), _text(ws, "Có" if payroll else "Không"),
                   _text(ws, _vn_date(on))])
    return _save(wb)


@dataclass
class LinkedRow:
    unit_id: int
    unit_code: str
    unit_name: str
    by_status: dict[str, int] = field(default_factory=dict)
    payroll: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


@dataclass
class LinkedSummary:
    rows: list[LinkedRow]
    by_status: dict[str, int]
    payroll: int

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def linked_summary(session: Session, user: User, unit_id: int | None = None) -> LinkedSummary:
    """Linked cards by unit and by status (how many the bank must issue, how many are free for payroll)."""
    result = session.execute(
        select(CardRequest.unit_id, OrgUnit.code, OrgUnit.name, CardItem.status, func.count(),
               func.sum(case((CardItem.vietinbank_payroll.is_(True), 1), else_=0)))
        .join(CardRequest, CardRequest.id == CardItem.request_id).join(OrgUnit, OrgUnit.id == CardRequest.unit_id)
        .where(*_linked_conditions(session, user, unit_id, None))
        .group_by(CardRequest.unit_id, OrgUnit.code, OrgUnit.name, CardItem.status)
        .order_by(OrgUnit.code)).all()
    rows: dict[int, LinkedRow] = {}
    totals: dict[str, int] = {}
    for unit, code, name, status, count, payroll in result:
        row = rows.setdefault(unit, LinkedRow(unit, code, name))
        row.by_status[status] = row.by_status.get(status, 0) + count
        row.payroll += int(payroll or 0)
        totals[status] = totals.get(status, 0) + count
    return LinkedSummary(list(rows.values()), totals, sum(r.payroll for r in rows.values()))


# ===================================================================================== per-unit report
@dataclass
class UnitRow:
    unit_id: int
    unit_code: str
    unit_name: str
    requested: int = 0  # cards asked for
    pending: int = 0  # asked for, the request still on its way (submitted/forwarded/rendering/ready)
    returned: int = 0  # in a request sent back to the CĐCS (its items are set aside)
    printed: int = 0  # printed (delivered ones included)
    delivered: int = 0
    skipped: int = 0  # left out of a batch (no photo, no code, ...), returned requests not counted
    member_fees: int = 0  # VND charged to members
    province_fees: int = 0  # VND funded by the province/city


@dataclass
class UnitReport:
    rows: list[UnitRow]
    total: UnitRow
    year: int | None = None


COUNT_FIELDS = ("requested", "pending", "returned", "printed", "delivered", "skipped")


def _count(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def unit_report(session: Session, user: User, year: int | None = None) -> UnitReport:
    """Per unit in scope: cards requested, pending, returned, printed, delivered, skipped, and the fees
    charged to members and funded by the province (two GROUP BY queries)."""
    scope = scope_unit_ids(session, user)
    items = (select(CardRequest.unit_id, func.count(),
                    _count(CardItem.status.in_(("requested",)) & CardRequest.status.in_(PENDING_REQUEST)),
                    _count(CardRequest.status == "returned"),
                    _count(CardItem.status.in_(("printed", "delivered"))), _count(CardItem.status == "delivered"),
                    _count((CardItem.status == "skipped") & (CardRequest.status != "returned")))
             .join(CardRequest, CardRequest.id == CardItem.request_id).group_by(CardRequest.unit_id))
    fees = select(FeeEntry.unit_id, _fee_sum("member"), _fee_sum("province")).group_by(FeeEntry.unit_id)
    if scope is not None:
        items = items.where(CardRequest.unit_id.in_(scope))
        fees = fees.where(FeeEntry.unit_id.in_(scope))
    if year is not None:
        items = items.where(CardRequest.request_date >= date(year, 1, 1),
                            CardRequest.request_date < date(year + 1, 1, 1))
        start, end = _year_range(year)
        fees = fees.where(FeeEntry.created_at >= start, FeeEntry.created_at < end)
    counts = {unit: values for unit, *values in session.execute(items)}
    money = {unit: values for unit, *values in session.execute(fees)}
    ids = set(counts) | set(money)
    names = {uid: (code, name) for uid, code, name in session.execute(
        select(OrgUnit.id, OrgUnit.code, OrgUnit.name).where(OrgUnit.id.in_(ids)))} if ids else {}
    rows = []
    for uid in ids:
        code, name = names.get(uid, ("", ""))
        row = UnitRow(uid, code, name)
        for key, value in zip(COUNT_FIELDS, counts.get(uid, ()), strict=False):
            setattr(row, key, int(value or 0))
        member_fees, province_fees = money.get(uid, (0, 0))
        row.member_fees, row.province_fees = int(member_fees or 0), int(province_fees or 0)
        rows.append(row)
    rows.sort(key=lambda r: r.unit_code)
    total = UnitRow(0, "", "Tổng cộng")
    for key in COUNT_FIELDS + ("member_fees", "province_fees"):
        setattr(total, key, sum(getattr(r, key) for r in rows))
    return UnitReport(rows, total, year)


def _fee_sum(payer: str) -> Any:
    return func.coalesce(func.sum(case((FeeEntry.payer == payer, FeeEntry.amount), else_=0)), 0)


@dataclass
class CardReports:
    """The report page: the per-unit report and the linked-card summary."""

    units: UnitReport
    linked: LinkedSummary


def card_reports(session: Session, user: User, year: int | None = None) -> CardReports:
    return CardReports(unit_report(session, user, year), linked_summary(session, user))


UNIT_HEADERS = ("STT", "Mã đơn vị", "Đơn vị", "Thẻ đề nghị", "Đang chờ in", "Bị trả lại", "Đã in", "Đã giao",
                "Không in được", "Phí đoàn viên nộp (VND)", "LĐLĐ tỉnh/TP chi (VND)")
UNIT_WIDTHS = (7, 16, 44, 12, 12, 12, 10, 10, 14, 20, 20)


def _unit_cells(ws: Worksheet, row: UnitRow, bold: bool = False) -> list[Any]:
    return [_text(ws, row.unit_code), _text(ws, row.unit_name), *(getattr(row, key) for key in COUNT_FIELDS),
            _money(ws, row.member_fees, bold), _money(ws, row.province_fees, bold)]


def unit_report_xlsx(session: Session, user: User, year: int | None = None) -> bytes:
    report = unit_report(session, user, year)
    wb = Workbook(write_only=True)
    ws = _sheet(wb, "Báo cáo in thẻ", UNIT_HEADERS, UNIT_WIDTHS)
    for number, row in enumerate(report.rows, start=1):
        ws.append([number, *_unit_cells(ws, row)])
    ws.append([None, *_unit_cells(ws, report.total, bold=True)])
    _append_linked(wb, linked_summary(session, user).rows)
    return _save(wb)


def _append_linked(wb: Workbook, rows: Iterable[LinkedRow]) -> None:
    """A second sheet: the linked-card summary, one row per unit."""
    statuses = tuple(ITEM_STATUS_LABELS)
    ws = _sheet(wb, "Thẻ liên kết", ("Mã đơn vị", "Đơn vị", *ITEM_STATUS_LABELS.values(), "Tổng",
                                     "Lương qua VietinBank"), (16, 44, 10, 10, 10, 14, 10, 20))
    for row in rows:
        ws.append([_text(ws, row.unit_code), _text(ws, row.unit_name),
                   *(row.by_status.get(s, 0) for s in statuses), row.total, row.payroll])

