"""The member registry: scoped search, the member page, leaving/removal, and the Excel export.

Search takes what an officer types: a name without diacritics ("nguyen van an" finds "Nguyễn Văn An",
"dang" finds "Đặng"), an ID number (9 or 12 digits, spaces and dots ignored), a member code (12 digits) or a
Vpoint code ("VP…"). Every read is limited to the units the user sees (``accounts.scope_unit_ids``) and
sorted the Vietnamese way by ``Member.sort_key`` (given name, then full name).

Nothing here imports Flask; nothing here commits.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Integer, Select, and_, any_, bindparam, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, joinedload

from engine import accounts, audit, clock, orgtree
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.humantasks import Page
from engine.members.models import MEMBER_STATUSES, Member, MemberEvent
from engine.membercodes import SERIAL_DIGITS
from engine.models import OrgUnit, User
from engine.uploads import Upload, find, parse_reference
from engine.vntext import fold, nfc

COUNT_CAP = 10_000  # counts stop here: "hơn 10.000" instead of a COUNT(*) over a million rows
MAX_PER_PAGE = 200
WIDE_SCOPE = 200  # units; above this the capped count avoids the per-unit index (see _Filter)
STATUS_LABELS = {"active": "Đang sinh hoạt", "left": "Đã ra khỏi tổ chức công đoàn", "removed": "Đã bị xóa tên"}
LEAVING_KINDS = {"left": "Ra khỏi tổ chức công đoàn", "removed": "Xóa tên đoàn viên"}
EVENT_LABELS = {"registered": "Kết nạp / đăng ký đoàn viên", "transferred": "Chuyển sinh hoạt",
                "updated": "Cập nhật thông tin", **LEAVING_KINDS}
_SEPARATORS = re.compile(r"[\s.\-]")
_VPOINT = re.compile(r"^VP(\d{1,%d})$" % SERIAL_DIGITS, re.IGNORECASE)


@dataclass
class SearchPage(Page[Member]):
    """A page of members; ``capped`` when there are more than ``total`` (= COUNT_CAP) matches."""

    capped: bool = False


@dataclass
class RegistryView:
    """What the registry page shows: the filter, the units to choose from, and one page of members."""

    page: SearchPage
    units: list[OrgUnit]
    query: str
    unit_id: int | None
    status: str


# ===================================================================================== search
def _like_words(text: str) -> str:
    """'nguyen van' → '%nguyen%van%' (LIKE wildcards in the input are escaped)."""
    words = [w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for w in fold(text).split()]
    return "%" + "%".join(words) + "%"


def match_condition(query: str) -> Any | None:
    """The WHERE condition for what the user typed (None: no text filter)."""
    text = nfc(query)
    if not text:
        return None
    compact = _SEPARATORS.sub("", text)
    if compact.isdigit() and len(compact) in (9, 12):
        return or_(Member.id_number == compact, Member.member_code == compact) if len(compact) == 12 \
            else Member.id_number == compact
    vpoint = _VPOINT.match(compact)
    if vpoint:
        return Member.vpoint_code == "VP" + vpoint.group(1).zfill(SERIAL_DIGITS)
    # The pattern is rendered into the SQL text: a server-side prepared statement reused with another pattern
    # would get a generic plan, and "LIKE $1" cannot use the trigram index.
    return Member.name_fold.like(bindparam("name_like", _like_words(text), literal_execute=True), escape="\\")


def _unit_filter(session: Session, user: User, unit_id: int | None) -> set[int] | None:
    """Unit ids the results may come from (None: all units, administrators only)."""
    scope = accounts.scope_unit_ids(session, user)
    if unit_id is None:
        return scope
    orgtree.get_unit(session, unit_id)
    if scope is not None and unit_id not in scope:
        raise Forbidden("Bạn không có quyền xem đoàn viên của đơn vị này")
    chosen = orgtree.descendant_ids(session, {unit_id})
    return chosen if scope is None else chosen & scope


def _check_status(status: str | None) -> str | None:
    if status in (None, "", "all"):
        return None
    if status not in MEMBER_STATUSES:
        raise InvalidInput("Trạng thái không hợp lệ", field_errors={"status": "Trạng thái không hợp lệ"})
    return status


@dataclass
class _Filter:
    units: set[int] | None  # None: every unit (administrators)
    status: str | None
    text: Any | None
    postgresql: bool

    def conditions(self, steer_away_from_unit_index: bool = False) -> list[Any]:
        """WHERE terms. On PostgreSQL the unit ids go as one array parameter (not a thousand bind parameters).
        ``steer_away_from_unit_index``: for a capped count over a wide scope, hide unit_id/status from the
        planner's index choice (``unit_id + 0``): walking ix_members_status_unit for ~1,000 units with random
        heap reads took 350-650 ms at 1M members where the trigram index or a scan that stops at the cap takes
        40-60 ms."""
        terms: list[Any] = []
        steer = steer_away_from_unit_index and self.postgresql and self.units is not None \
            and len(self.units) > WIDE_SCOPE
        if self.units is not None:
            unit_col = Member.unit_id + 0 if steer else Member.unit_id
            if not self.units:
                terms.append(Member.id.is_(None))
            elif self.postgresql:
                terms.append(unit_col == any_(bindparam("scope_units", sorted(self.units), type_=ARRAY(Integer))))
            else:
                terms.append(unit_col.in_(sorted(self.units)))
        if self.status is not None:
            terms.append((Member.status + "" if steer else Member.status) == self.status)
        if self.text is not None:
            terms.append(self.text)
        return terms


def _filter(session: Session, user: User, query: str, unit_id: int | None, status: str | None) -> _Filter:
    return _Filter(_unit_filter(session, user, unit_id), _check_status(status), match_condition(query),
                   session.get_bind().dialect.name == "postgresql")


def members_query(session: Session, user: User, query: str = "", unit_id: int | None = None,
                  status: str | None = "active", columns: tuple[Any, ...] | None = None) -> Select[Any]:
    """The scoped, filtered, ordered SELECT behind search and export (``columns``: what to select)."""
    stmt = select(*columns) if columns else select(Member)
    flt = _filter(session, user, query, unit_id, status)
    return stmt.where(and_(*flt.conditions())).order_by(Member.sort_key, Member.id)


def search(session: Session, user: User, query: str = "", unit_id: int | None = None,
           status: str | None = "active", page: int = 1, per_page: int = 50) -> SearchPage:
    """One page of the members the user sees that match; the total is counted up to COUNT_CAP."""
    page = max(1, page)
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    flt = _filter(session, user, query, unit_id, status)
    capped_ids = select(Member.id).where(and_(*flt.conditions(True))).limit(COUNT_CAP + 1).subquery()
    found = session.scalar(select(func.count()).select_from(capped_ids)) or 0
    items: list[Member] = []
    if found > (page - 1) * per_page:
        items = list(session.scalars(select(Member).where(and_(*flt.conditions()))
                                     .options(joinedload(Member.unit)).order_by(Member.sort_key, Member.id)
                                     .limit(per_page).offset((page - 1) * per_page)))
    return SearchPage(items, min(found, COUNT_CAP), page, per_page, capped=found > COUNT_CAP)


def units_in_scope(session: Session, user: User) -> list[OrgUnit]:
    """Units the user may filter by (open units in scope, by code)."""
    stmt = select(OrgUnit).where(OrgUnit.merged_into_id.is_(None)).order_by(OrgUnit.code)
    scope = accounts.scope_unit_ids(session, user)
    if scope is not None:
        stmt = stmt.where(OrgUnit.id.in_(sorted(scope)))
    return list(session.scalars(stmt))


def registry_view(session: Session, user: User, query: str = "", unit_id: int | None = None,
                  status: str | None = "active", page: int = 1, per_page: int = 50) -> RegistryView:
    """Everything the registry page needs, in one call."""
    result = search(session, user, query, unit_id, status, page, per_page)
    return RegistryView(result, units_in_scope(session, user), nfc(query), unit_id, status or "")


# ===================================================================================== one member
def get_member(session: Session, user: User, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound("Không tìm thấy đoàn viên", member_id=member_id)
    if not accounts.in_scope(session, user, member.unit_id):
        raise Forbidden("Bạn không có quyền xem đoàn viên này")
    return member


def history(session: Session, member: Member) -> list[MemberEvent]:
    """The member's events, newest first, with actor and unit loaded."""
    return list(session.scalars(select(MemberEvent).where(MemberEvent.member_id == member.id)
                                .options(joinedload(MemberEvent.actor), joinedload(MemberEvent.unit))
                                .order_by(MemberEvent.at.desc(), MemberEvent.id.desc())))


@dataclass
class MemberView:
    member: Member
    events: list[MemberEvent]
    can_record_leaving: bool


def member_view(session: Session, user: User, member_id: int) -> MemberView:
    member = get_member(session, user, member_id)
    return MemberView(member, history(session, member),
                      member.status == "active" and may_record_leaving(session, user, member))


def photo(session: Session, user: User, member_id: int, upload_dir: str) -> Upload:
    """The stored photo file of a member the user sees (NotFound when there is none)."""
    member = get_member(session, user, member_id)
    parsed = parse_reference(member.photo_ref)
    if parsed is None:
        raise NotFound("Đoàn viên chưa có ảnh", member_id=member_id)
    return find(upload_dir, parsed[0], [member.photo_ref or ""])


# ===================================================================================== leaving / removal
def may_record_leaving(session: Session, user: User, member: Member) -> bool:
    """The member's grassroots officer, the upper reviewer of the unit above, or an administrator."""
    if user.is_admin:
        return True
    unit = orgtree.get_unit(session, member.unit_id)
    pairs = set(accounts.role_pairs(session, user))
    return ("grassroots_officer", unit.id) in pairs or (
        unit.parent_id is not None and ("upper_reviewer", unit.parent_id) in pairs)


def parse_vn_date(value: str | date | None) -> date | None:
    """dd/mm/yyyy (or yyyy-mm-dd); None when empty; ValueError when unreadable."""
    if value is None or isinstance(value, date):
        return value
    text = value.strip()
    if not text:
        return None
    if "/" in text:
        parts = text.split("/")
        if len(parts) != 3 or not all(p.strip().isdigit() for p in parts):
            raise ValueError(text)
        day, month, year = (int(p) for p in parts)
        if year < 1900:
            raise ValueError(text)
        return date(year, month, day)
    return date.fromisoformat(text)


def today() -> date:
    return clock.now().astimezone(clock.VN_TZ).date()


def record_leaving(session: Session, user: User, member_id: int, kind: str, reason: str,
                   on: date | str | None) -> Member:
    """Record that an active member left the union ("left") or was removed ("removed"). Everything is checked
    first (nothing is written on bad input); the member code stays with the member and is never reused."""
    member = get_member(session, user, member_id)
    if not may_record_leaving(session, user, member):
        raise Forbidden("Chỉ cán bộ công đoàn cơ sở của đoàn viên hoặc công đoàn cấp trên trực tiếp "
                        "được ghi nhận đoàn viên ra khỏi tổ chức")
    errors: dict[str, str] = {}
    if member.status != "active":
        errors["_form"] = "Đoàn viên không còn sinh hoạt; không thể ghi nhận thêm"
    if kind not in LEAVING_KINDS:
        errors["kind"] = "Chọn hình thức: ra khỏi tổ chức hoặc xóa tên"
    reason = nfc(reason)
    if not reason:
        errors["reason"] = "Vui lòng nhập lý do"
    elif len(reason) > 2000:
        errors["reason"] = "Lý do quá dài (tối đa 2000 ký tự)"
    when: date | None = None
    try:
        when = parse_vn_date(on)
    except ValueError:
        errors["date"] = "Ngày không hợp lệ (định dạng dd/mm/yyyy)"
    else:
        if when is None:
            errors["date"] = "Vui lòng nhập ngày"
        elif when > today():
            errors["date"] = "Ngày không được sau ngày hôm nay"
        elif member.joined_on is not None and when < member.joined_on:
            errors["date"] = "Ngày không được trước ngày vào công đoàn"
    if errors:
        raise InvalidInput(errors.get("_form", "Thông tin chưa hợp lệ"), field_errors=errors)
    assert when is not None
    now = clock.now()
    member.status = kind
    member.status_reason = reason
    member.status_date = when
    member.updated_at = now
    session.add(MemberEvent(member_id=member.id, kind=kind, unit_id=member.unit_id, at=now, effective=when,
                            actor_id=user.id, details={"reason": reason}))
    audit.record(session, f"member_{kind}", user.id, entity="member", entity_id=member.id,
                 member_code=member.member_code, unit_id=member.unit_id, reason=reason, effective=when)
    session.flush()
    return member


def export_xlsx(session: Session, user: User, query: str = "", unit_id: int | None = None,
                status: str | None = "active") -> bytes:
    """The registry as an .xlsx workbook (see engine.members.export)."""
    from engine.members.export import export_xlsx as build

    return build(session, user, query, unit_id, status)
