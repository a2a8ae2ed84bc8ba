"""Yearly member targets per unit (chỉ tiêu) and progress against them.

A target says how many members a unit (with everything below it) should register, or have their data
updated, in a year, by a deadline. It is set by the level above: an administrator, or a leader, manager or
upper-level reviewer of any unit above the target's unit.

``progress`` is computed in SQL over the whole tree at once (recursive CTEs for the subtrees, GROUP BY
month) and returned as ``TargetProgress`` rows: a stable shape that dashboards (KPI, emulation score) reuse.
"""
from __future__ import annotations

from engine.i18n import N_

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Mapping

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.accounts import in_scope, role_pairs
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.members.models import Member, MemberEvent, MemberTarget
from engine.models import OrgUnit
from engine.orgtree import ancestors, get_unit, unit_by_code

TARGET_KINDS: dict[str, str] = {
    "registered": N_("Đoàn viên kết nạp/đăng ký mới"),
    "updated": N_("Đoàn viên được cập nhật dữ liệu"),
}
SETTER_ROLES = frozenset({"leader", "manager", "upper_reviewer"})
MAX_TARGET = 10_000_000


@dataclass(frozen=True)
class TargetProgress:
    """Progress of one unit against one target. ``done`` counts the unit and every unit below it.

    ``by_month[i]`` is the count in month i+1 (Vietnam time). For "registered" the months add up to
    ``done``; for "updated" each month counts distinct members updated that month, and ``done`` the
    distinct members over the year (a member updated twice counts once)."""

    target_id: int
    unit_id: int
    unit_code: str
    unit_name: str
    unit_kind: str
    year: int
    kind: str
    target: int
    done: int
    percent: float
    by_month: tuple[int, ...]
    deadline: date
    overdue: bool

    @property
    def met(self) -> bool:
        return self.done >= self.target


# ----------------------------------------------------------------------------------------- setting
def may_set_target(session: Session, user: Any, unit: OrgUnit) -> bool:
    """Administrators, or a leader/manager/upper reviewer of a unit above ``unit``."""
    if user.is_admin:
        return True
    above = {u.id for u in ancestors(session, unit)}
    return any(role in SETTER_ROLES and unit_id in above for role, unit_id in role_pairs(session, user))


def _parse_int(value: Any, field: str, errors: dict[str, str], low: int, high: int, message: str) -> int | None:
    if isinstance(value, bool):
        value = None
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        errors[field] = message
        return None
    if not low <= number <= high:
        errors[field] = message
        return None
    return number


def _parse_deadline(value: Any, errors: dict[str, str]) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    if not text:
        errors["deadline"] = "Bắt buộc"
        return None
    try:
        return datetime.strptime(text, "%d/%m/%Y").date() if "/" in text else date.fromisoformat(text)
    except ValueError:
        errors["deadline"] = "Ngày không hợp lệ (dd/mm/yyyy)"
        return None


def set_target(session: Session, user: Any, unit_id: int, year: Any, kind: str, target: Any,
               deadline: Any) -> MemberTarget:
    """Create or change the (unit, year, kind) target; audited. Raises InvalidInput (nothing written),
    NotFound or Forbidden."""
    unit = get_unit(session, unit_id)
    if not may_set_target(session, user, unit):
        raise Forbidden("Chỉ công đoàn cấp trên của đơn vị (lãnh đạo, quản lý, cán bộ xét duyệt) hoặc quản trị "
                        "được giao chỉ tiêu")
    errors: dict[str, str] = {}
    if unit.merged_into_id is not None or unit.valid_to is not None:
        errors["unit_code"] = "Đơn vị đã hợp nhất hoặc giải thể"
    if kind not in TARGET_KINDS:
        errors["kind"] = "Loại chỉ tiêu không hợp lệ"
    year_no = _parse_int(year, "year", errors, 2000, 2100, "Năm không hợp lệ")
    amount = _parse_int(target, "target", errors, 1, MAX_TARGET, "Chỉ tiêu phải là số nguyên dương")
    due = _parse_deadline(deadline, errors)
    if due is not None and year_no is not None and not year_no <= due.year <= year_no + 1:
        errors["deadline"] = f"Hạn phải trong năm {year_no} hoặc năm sau"
    if errors:
        raise InvalidInput("Chỉ tiêu không hợp lệ", field_errors=errors)
    row = session.scalar(select(MemberTarget).where(MemberTarget.unit_id == unit.id, MemberTarget.year == year_no,
                                                    MemberTarget.kind == kind))
    before = {"target": row.target, "deadline": row.deadline} if row is not None else {}
    if row is None:
        row = MemberTarget(unit_id=unit.id, year=year_no, kind=kind)
        session.add(row)
    row.target, row.deadline, row.set_by_id, row.updated_at = amount, due, user.id, clock.now()
    session.flush()
    audit.record(session, "member_target_set", user.id, None, "member_target", row.id, unit=unit.code,
                 year=year_no, kind=kind, change=audit.data_change(before, {"target": amount, "deadline": due}))
    return row


def set_target_from_form(session: Session, user: Any, form: Mapping[str, Any]) -> MemberTarget:
    """``set_target`` from a web form (all strings; the unit given by its code)."""
    code = str(form.get("unit_code") or "").strip()
    unit = unit_by_code(session, code) if code else None
    if unit is None:
        raise InvalidInput("Chỉ tiêu không hợp lệ",
                           field_errors={"unit_code": "Không tìm thấy đơn vị" if code else "Bắt buộc"})
    return set_target(session, user, unit.id, form.get("year"), str(form.get("kind") or ""), form.get("target"),
                      form.get("deadline"))


# ----------------------------------------------------------------------------------------- progress
def month_bounds(year: int) -> list[datetime]:
    """13 instants: the start of each month of ``year`` in Vietnam time, then the start of the next year."""
    return [datetime(year + (m // 12), m % 12 + 1, 1, tzinfo=clock.VN_TZ) for m in range(13)]


def _month_case(column: Any, bounds: list[datetime]) -> Any:
    return case(*[(column < bounds[m + 1], m + 1) for m in range(12)], else_=None)


def _subtree(root_ids: list[int]) -> Any:
    """Recursive CTE (unit_id) of the given units and every unit below them."""
    base = select(OrgUnit.id.label("unit_id")).where(OrgUnit.id.in_(root_ids)).cte("scope_units", recursive=True)
    return base.union(select(OrgUnit.id).where(OrgUnit.parent_id == base.c.unit_id))


def _filters(year: int, roots: list[int] | None, kind: str | None) -> list[Any]:
    filters = [MemberTarget.year == year]
    if kind is not None:
        filters.append(MemberTarget.kind == kind)
    if roots is not None:
        filters.append(MemberTarget.unit_id.in_(select(_subtree(roots).c.unit_id)))
    return filters


def _below(filters: list[Any]) -> Any:
    """Recursive CTE (root_id, unit_id): each target's unit paired with itself and every unit below it."""
    base = (select(MemberTarget.unit_id.label("root_id"), MemberTarget.unit_id.label("unit_id"))
            .where(*filters).distinct().cte("below", recursive=True))
    return base.union(select(base.c.root_id, OrgUnit.id).where(OrgUnit.parent_id == base.c.unit_id))


def _registered(session: Session, below: Any, bounds: list[datetime]) -> tuple[dict, dict]:
    rows = (select(below.c.root_id.label("root_id"), _month_case(Member.approved_at, bounds).label("month"))
            .join(below, Member.unit_id == below.c.unit_id)
            .where(Member.approved_at >= bounds[0], Member.approved_at < bounds[12]).subquery())
    months: dict[int, dict[int, int]] = defaultdict(dict)
    totals: dict[int, int] = defaultdict(int)
    for root, month, count in session.execute(select(rows.c.root_id, rows.c.month, func.count())
                                              .group_by(rows.c.root_id, rows.c.month)):
        months[root][int(month)] = count
        totals[root] += count
    return months, totals


def _updated(session: Session, below: Any, bounds: list[datetime]) -> tuple[dict, dict]:
    rows = (select(below.c.root_id.label("root_id"), MemberEvent.member_id.label("member_id"),
                   _month_case(MemberEvent.at, bounds).label("month"))
            .join(below, MemberEvent.unit_id == below.c.unit_id)
            .where(MemberEvent.kind == "updated", MemberEvent.at >= bounds[0], MemberEvent.at < bounds[12])
            .subquery())
    months: dict[int, dict[int, int]] = defaultdict(dict)
    for root, month, count in session.execute(select(rows.c.root_id, rows.c.month,
                                                     func.count(rows.c.member_id.distinct()))
                                              .group_by(rows.c.root_id, rows.c.month)):
        months[root][int(month)] = count
    totals = dict(session.execute(select(rows.c.root_id, func.count(rows.c.member_id.distinct()))
                                  .group_by(rows.c.root_id)).all())
    return months, totals


def progress(session: Session, user: Any, year: int, unit_id: int | None = None,
             kind: str | None = None) -> list[TargetProgress]:
    """Targets of ``year`` for the units the user may see (or ``unit_id`` and the units below it), with
    what was done: members approved that year ("registered") or members with an "updated" event that year,
    in the unit or below it. Sorted by unit code, then kind."""
    if kind is not None and kind not in TARGET_KINDS:
        raise InvalidInput("Loại chỉ tiêu không hợp lệ", field_errors={"kind": "Loại chỉ tiêu không hợp lệ"})
    if unit_id is not None:
        get_unit(session, unit_id)
        if not in_scope(session, user, unit_id):
            raise Forbidden("Bạn không có quyền xem chỉ tiêu của đơn vị này")
        roots: list[int] | None = [unit_id]
    else:
        roots = None if user.is_admin else sorted({u for _, u in role_pairs(session, user)})
        if roots == []:
            return []
    filters = _filters(year, roots, kind)
    targets = session.execute(select(MemberTarget, OrgUnit.code, OrgUnit.name, OrgUnit.kind)
                              .join(OrgUnit, OrgUnit.id == MemberTarget.unit_id).where(*filters)
                              .order_by(OrgUnit.code, MemberTarget.kind)).all()
    if not targets:
        return []
    bounds = month_bounds(year)
    kinds = {row.kind for row, *_ in targets}
    counted = {
        "registered": _registered(session, _below(filters + [MemberTarget.kind == "registered"]), bounds)
        if "registered" in kinds else ({}, {}),
        "updated": _updated(session, _below(filters + [MemberTarget.kind == "updated"]), bounds)
        if "updated" in kinds else ({}, {}),
    }
    today = clock.today()
    result = []
    for row, code, name, unit_kind in targets:
        months, totals = counted[row.kind]
        done = int(totals.get(row.unit_id, 0))
        result.append(TargetProgress(
            target_id=row.id, unit_id=row.unit_id, unit_code=code, unit_name=name, unit_kind=unit_kind,
            year=row.year, kind=row.kind, target=row.target, done=done,
            percent=round(done * 100.0 / row.target, 1) if row.target else 0.0,
            by_month=tuple(int(months.get(row.unit_id, {}).get(m, 0)) for m in range(1, 13)),
            deadline=row.deadline, overdue=today > row.deadline and done < row.target))
    return result


def get_target(session: Session, user: Any, target_id: int) -> MemberTarget:
    row = session.get(MemberTarget, target_id)
    if row is None:
        raise NotFound("Không tìm thấy chỉ tiêu", target_id=target_id)
    if not in_scope(session, user, row.unit_id):
        raise Forbidden("Bạn không có quyền xem chỉ tiêu của đơn vị này")
    return row


def progress_xlsx(rows: list[TargetProgress]) -> bytes:
    """The progress rows as an Excel workbook (one row per unit and kind, one column per month)."""
    from io import BytesIO

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Chỉ tiêu"
    sheet.append(["Mã đơn vị", "Tên đơn vị", "Năm", "Loại chỉ tiêu", "Chỉ tiêu", "Đã đạt", "Tỷ lệ (%)",
                  *[f"T{m}" for m in range(1, 13)], "Hạn", "Quá hạn"])
    for row in rows:
        sheet.append([row.unit_code, row.unit_name, row.year, TARGET_KINDS.get(row.kind, row.kind), row.target,
                      row.done, row.percent, *row.by_month, row.deadline.strftime("%d/%m/%Y"),
                      "Có" if row.overdue else ""])
    out = BytesIO()
    book.save(out)
    return out.getvalue()
