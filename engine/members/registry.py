"""The member registry: scoped search, the member page, leaving/removal, and the Excel export.

Search takes what an officer types: a name without diacritics ("nguyen van an" finds "Nguyễn Văn An",
"dang" finds "Đặng"; every word typed starts a word of the name, in that order: "vo thi" finds "Võ Thị Hoa" and
"Võ Văn Thịnh", "an" finds "An"/"Ánh" but not "Văn"), an ID number (9 or 12 digits, spaces and dots ignored), a
member code (12 digits) or a Vpoint code ("VP…"). Every read is limited to the units the user sees
(``accounts.scope_unit_ids``; a whole province is one ``Member.province_id`` equality) and sorted the
Vietnamese way by ``Member.sort_key`` (given name, then full name). On PostgreSQL a name search chooses its plan
per query (``_search_names``); with many matches its count may only say "hơn 1.000".

Nothing here imports Flask; nothing here commits.
"""
from __future__ import annotations

from engine.i18n import N_

import bisect
import json
import re
import time
from dataclasses import dataclass
from operator import itemgetter
from datetime import date
from typing import Any, Iterable

from sqlalchemy import Integer, Select, and_, any_, bindparam, func, literal_column, or_, select, update
from sqlalchemy import text as sa_text
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
PROBE = 1_000  # PostgreSQL name search: above this many matches the count may say "hơn 1.000"
WALK_PROBE = 50_000  # PostgreSQL name search: members walked in sort order before trying the trigram index
GIN_DIRECT = 4_000  # … unless the planner expects at most this many matches: then read them all through it
WALK_FIRST = 40_000  # … and only when it expects at least this many
MAX_PER_PAGE = 200
# Rough PostgreSQL costs (µs) at 1M members, used to choose a plan per query (benchmarks/members_search.py):
GIN_ROW_US = 4.5    # one more candidate read through the trigram index (bitmap heap fetch + recheck)
WALK_ROW_US = 0.12  # one entry of ix_members_province_sort walked in Vietnamese order (index-only)
WALK_BUDGET_US = 35_000  # a walk expected to cost less is taken anyway: its cost is predictable, the other's
#                         depends on how many candidates the trigram index returns in the wrong word order
STATUS_LABELS = {"active": N_("Đang sinh hoạt"), "left": N_("Đã ra khỏi tổ chức công đoàn"),
                 "removed": N_("Đã bị xóa tên")}
LEAVING_KINDS = {"left": N_("Ra khỏi tổ chức công đoàn"), "removed": N_("Xóa tên đoàn viên")}
EVENT_LABELS = {"registered": N_("Kết nạp / đăng ký đoàn viên"), "transferred": N_("Chuyển sinh hoạt"),
                "updated": N_("Cập nhật thông tin"), **LEAVING_KINDS}
_SEPARATORS = re.compile(r"[\s.\-]")
_VPOINT = re.compile(r"^VP(\d{1,%d})$" % SERIAL_DIGITS, re.IGNORECASE)
_HISTOGRAM_TTL_S = 600.0
_histogram: dict[str, Any] = {"at": -1e9, "bounds": []}


@dataclass
class SearchPage(Page[Member]):
    """A page of members; ``capped`` when there are more than ``total`` matches ("hơn …"): the count stops at
    COUNT_CAP, and a PostgreSQL name search with many matches only states the PROBE matches it has read."""

    capped: bool = False
    known: int = 0  # matches known to exist (more than ``total`` when capped): how far the pages go

    @property
    def pages(self) -> int:
        return max(super().pages, (self.known + self.per_page - 1) // self.per_page)


@dataclass
class RegistryView:
    """What the registry page shows: the filter, the units to choose from, and one page of members."""

    page: SearchPage
    units: list[OrgUnit]
    query: str
    unit_id: int | None
    status: str


# ===================================================================================== provinces
def province_of(session: Session, unit_id: int | None) -> int | None:
    """The first-level federation of a unit (its top-most ancestor that is not the confederation; itself for a
    provincial federation); None for the confederation. ``Member.province_id`` holds this for the member's
    unit."""
    return Member.province_for(session.connection(), unit_id)


def sync_member_unit(session: Session, member: Member) -> None:
    """Keep ``member.province_id`` right after ``member.unit_id`` changed (the ORM flush does it too; this is for
    code that wants it at once)."""
    member.province_id = province_of(session, member.unit_id)


def sync_provinces(session: Session, unit_ids: Iterable[int] | None = None) -> int:
    """Recompute ``members.province_id`` for the members of the given units and everything below them (all
    members when None). Call after the org tree changes above grassroots level (``orgtree.move_unit`` /
    ``merge_units``) or after bulk UPDATEs of ``members.unit_id``. Returns the number of members changed."""
    units = {row.id: (row.parent_id, row.kind) for row in session.execute(select(
        OrgUnit.id, OrgUnit.parent_id, OrgUnit.kind))}
    wanted = None if unit_ids is None else orgtree.descendant_ids(session, set(unit_ids))

    def top(unit_id: int) -> int | None:
        found, node, seen = None, unit_id, set()
        while node is not None and node in units and node not in seen:
            seen.add(node)
            if units[node][1] != "confederation":
                found = node
            node = units[node][0]
        return found

    groups: dict[int | None, list[int]] = {}
    for unit_id in units if wanted is None else wanted:
        groups.setdefault(top(unit_id), []).append(unit_id)
    changed = 0
    for province_id, members_units in groups.items():
        for start in range(0, len(members_units), 500):
            chunk = members_units[start:start + 500]
            result = session.execute(
                update(Member).where(Member.unit_id.in_(chunk),
                                     or_(Member.province_id.is_(None), Member.province_id != province_id)
                                     if province_id is not None else Member.province_id.is_not(None))
                .values(province_id=province_id).execution_options(synchronize_session="fetch"))
            changed += result.rowcount or 0
    return changed


# ===================================================================================== search
def _escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like_words(text: str) -> str:
    """'nguyen van' → '% nguyen% van%': every word starts a word of the name, in order (matched against
    ``Member.name_words``, the folded name with a leading space). LIKE wildcards in the input are escaped."""
    return "%" + "".join(" " + _escape(w) + "%" for w in fold(text).split())


def _name_like(pattern: str, indexable: bool = True) -> Any:
    # The pattern is rendered into the SQL text: a server-side prepared statement reused with another pattern
    # would get a generic plan, and "LIKE $1" cannot use the trigram index. ``indexable=False`` hides the
    # condition from the trigram index so that the planner walks the sort order: under another collation than
    # the index's the LIKE is not indexable (and "C" is the cheapest to test; no copy as with ``|| ''``).
    column = Member.name_words if indexable else Member.name_words.collate("C")
    return column.like(bindparam("name_like", pattern, literal_execute=True), escape="\\")


def match_condition(query: str, indexable: bool = True) -> Any | None:
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
    return _name_like(_like_words(text), indexable)


def _is_name_query(query: str) -> bool:
    """True when ``match_condition`` searches names (not an ID number, member code or Vpoint code)."""
    text = nfc(query)
    compact = _SEPARATORS.sub("", text)
    return bool(text) and not (compact.isdigit() and len(compact) in (9, 12)) and not _VPOINT.match(compact)


@dataclass
class _Scope:
    units: set[int] | None      # None: every unit (administrators), or not listed when ``whole``
    provinces: set[int] | None  # first-level federations holding every unit of ``units`` (None: not known)
    whole: bool                 # ``units`` is exactly the provinces' subtrees: province_id alone decides


def _scope(session: Session, user: User, unit_id: int | None) -> _Scope:
    """Unit ids the results may come from, and the provinces they lie in. Scopes are whole subtrees: those of
    the user's role units (``accounts.scope_unit_ids``), or of the chosen unit."""
    if unit_id is None:
        if user.is_admin:
            return _Scope(None, None, False)
        roots = {u for _, u in accounts.role_pairs(session, user)}
        provinces = {province_of(session, r) for r in roots}
        if roots and None not in provinces and provinces <= roots:  # whole provinces: no need to list units
            return _Scope(None, provinces, True)  # type: ignore[arg-type]
        units = accounts.scope_unit_ids(session, user) or set()
    else:
        orgtree.get_unit(session, unit_id)
        scope = accounts.scope_unit_ids(session, user)
        if scope is not None and unit_id not in scope:
            raise Forbidden("Bạn không có quyền xem đoàn viên của đơn vị này")
        roots, units = {unit_id}, orgtree.descendant_ids(session, {unit_id})
        units = units if scope is None else units & scope
        provinces = {province_of(session, unit_id)}
    if not roots or None in provinces:
        return _Scope(units, None, False)
    return _Scope(units, provinces, provinces <= roots)  # type: ignore[arg-type]


def _check_status(status: str | None) -> str | None:
    if status in (None, "", "all"):
        return None
    if status not in MEMBER_STATUSES:
        raise InvalidInput("Trạng thái không hợp lệ", field_errors={"status": "Trạng thái không hợp lệ"})
    return status


@dataclass
class _Filter:
    scope: _Scope
    status: str | None
    query: str
    postgresql: bool

    def conditions(self, text: bool = True, indexable: bool = True, steer: bool = False) -> list[Any]:
        """WHERE terms. On PostgreSQL the unit ids go as one array parameter (not a thousand bind parameters);
        a scope made of whole provinces is one ``province_id`` equality that ix_members_province_sort serves.
        ``steer``: keep province/status away from the planner's index choice (the trigram index is wanted)."""
        terms: list[Any] = []
        scope = self.scope
        if scope.provinces is not None:
            column = Member.province_id + 0 if steer else Member.province_id
            terms.append(column == next(iter(scope.provinces)) if len(scope.provinces) == 1
                         else column.in_(sorted(scope.provinces)))
        if scope.units is not None and not scope.whole:
            if not scope.units:
                terms.append(Member.id.is_(None))
            elif self.postgresql:
                terms.append(Member.unit_id == any_(bindparam("scope_units", sorted(scope.units),
                                                              type_=ARRAY(Integer))))
            else:
                terms.append(Member.unit_id.in_(sorted(scope.units)))
        if self.status is not None:
            terms.append((Member.status + "" if steer else Member.status) == self.status)
        if text:
            condition = match_condition(self.query, indexable)
            if condition is not None:
                terms.append(condition)
        return terms


def _filter(session: Session, user: User, query: str, unit_id: int | None, status: str | None) -> _Filter:
    status = _check_status(status)
    return _Filter(_scope(session, user, unit_id), status, query, session.get_bind().dialect.name == "postgresql")


def members_query(session: Session, user: User, query: str = "", unit_id: int | None = None,
                  status: str | None = "active", columns: tuple[Any, ...] | None = None) -> Select[Any]:
    """The scoped, filtered, ordered SELECT behind search and export (``columns``: what to select)."""
    stmt = select(*columns) if columns else select(Member)
    flt = _filter(session, user, query, unit_id, status)
    return stmt.where(and_(*flt.conditions())).order_by(Member.sort_key, Member.id)


def _members(session: Session, ids: list[int]) -> list[Member]:
    """The members with these ids (units loaded), in the given order."""
    if not ids:
        return []
    found = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(ids))
                                              .options(joinedload(Member.unit)))}
    return [found[i] for i in ids if i in found]


def search(session: Session, user: User, query: str = "", unit_id: int | None = None,
           status: str | None = "active", page: int = 1, per_page: int = 50) -> SearchPage:
    """One page of the members the user sees that match, in Vietnamese order; the total is counted up to
    COUNT_CAP (on PostgreSQL a name search with more than PROBE matches may only say "more than PROBE")."""
    page = max(1, page)
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    flt = _filter(session, user, query, unit_id, status)
    if flt.postgresql and _is_name_query(query):
        return _search_names(session, flt, page, per_page)
    capped_ids = select(Member.id).where(and_(*flt.conditions())).limit(COUNT_CAP + 1).subquery()
    found = session.scalar(select(func.count()).select_from(capped_ids)) or 0
    items: list[Member] = []
    if found > (page - 1) * per_page:
        items = list(session.scalars(select(Member).where(and_(*flt.conditions()))
                                     .options(joinedload(Member.unit)).order_by(Member.sort_key, Member.id)
                                     .limit(per_page).offset((page - 1) * per_page)))
    return SearchPage(items, min(found, COUNT_CAP), page, per_page, capped=found > COUNT_CAP, known=found)


def _block(ctid: Any) -> int:
    return int(str(ctid).strip("()").split(",")[0])


def _sort_key_histogram(session: Session) -> list[bytes]:
    """PostgreSQL's histogram of members.sort_key (cached for a while): where a key falls in the sort order."""
    now = time.monotonic()
    if now - _histogram["at"] > _HISTOGRAM_TTL_S:
        text = session.scalar(sa_text("SELECT histogram_bounds::text FROM pg_stats WHERE schemaname = "
                                      "current_schema() AND tablename = 'members' AND attname = 'sort_key'"))
        bounds = []
        for item in (text or "").strip("{}").split(","):
            item = item.strip().strip('"').replace("\\\\", "\\")
            if item.startswith("\\x"):
                bounds.append(bytes.fromhex(item[2:]))
        _histogram.update(at=now, bounds=bounds)
    return _histogram["bounds"]


def _estimated_matches(session: Session, pattern: str) -> float:
    """The planner's estimate of how many members' names match (it samples the column's statistics; close
    enough to choose a plan, even though its own plan choice for the whole query was poor)."""
    plan = session.execute(sa_text("EXPLAIN (FORMAT JSON) SELECT 1 FROM members WHERE name_words LIKE :pattern "
                                   "ESCAPE '\\'").bindparams(bindparam("pattern", pattern, literal_execute=True))
                           ).scalar()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return float(plan[0]["Plan"]["Plan Rows"])


def _search_names(session: Session, flt: _Filter, page: int, per_page: int) -> SearchPage:
    """Name search on PostgreSQL. The planner, guessing how many rows a trigram pattern matches, picked badly
    both ways, so the plan is chosen here, per query:

    * few matches (the planner's row estimate for the pattern alone): read them all through the trigram index
      and sort them here (exact count);
    * many: walk the province's members in Vietnamese order (ix_members_province_sort, index-only), testing
      each name, for at most WALK_PROBE entries: common names fill the page there ("hơn PROBE" once PROBE
      matched), a small province is read whole (exact count);
    * otherwise read up to PROBE matches through the trigram index (table order: a fair sample); if there are
      more, the sample bounds the page (its ``offset + per_page``-th key is at or after the page's last
      member) and tells how many match (how far into the table the probe reached), and the cheaper of "read
      every match through the trigram index" (exact count up to COUNT_CAP) and "walk the sort order up to the
      bound" ("hơn PROBE") is run."""
    offset = (page - 1) * per_page
    need = offset + per_page
    probe_limit = max(1, min(PROBE, COUNT_CAP))
    pattern = _like_words(flt.query)
    walkable = flt.status is not None and flt.scope.provinces is not None and len(flt.scope.provinces) == 1

    def note(plan: str, result: SearchPage) -> SearchPage:
        session.info["member_search_plan"] = plan  # which plan answered (tests, benchmarks)
        return result

    def finish(rows: list[Any], plan: str) -> SearchPage:
        """The page from every match read (sorted here); above COUNT_CAP they are only some of the matches (in
        table order): they bound the page, which is then read in order."""
        rows.sort(key=itemgetter(1, 0))
        if len(rows) <= COUNT_CAP:
            ids = [r[0] for r in rows[offset:offset + per_page]]
            return note(plan, SearchPage(_members(session, ids), len(rows), page, per_page, known=len(rows)))
        terms = flt.conditions(indexable=not walkable)
        if need <= len(rows):
            terms.append(Member.sort_key <= rows[need - 1][1])
        stmt = select(Member.id).where(and_(*terms)).order_by(Member.sort_key, Member.id).offset(offset) \
            .limit(per_page)
        ids = [r.id for r in (serial(stmt) if walkable else session.execute(stmt))]
        return note(plan + "+ordered", SearchPage(_members(session, ids), COUNT_CAP, page, per_page, capped=True,
                                                  known=len(rows)))

    def many(plan: str, ids: list[int], known: int) -> SearchPage:
        """More matches than counted: "hơn PROBE" (or less when fewer are known), paging as far as known."""
        total = probe_limit if known > probe_limit else max(0, known - 1)
        return note(plan, SearchPage(_members(session, ids), total, page, per_page, capped=True, known=known))

    def gin_rows(limit: int, with_ctid: bool = False) -> list[Any]:
        columns = [Member.id, Member.sort_key] + ([literal_column("members.ctid")] if with_ctid else [])
        stmt = select(*columns).where(and_(*flt.conditions(steer=True))).limit(limit)
        return [tuple(r) for r in session.connection().execute(stmt).all()]  # plain rows: thousands, no ORM

    def serial(stmt: Any) -> list[Any]:
        session.execute(sa_text("SET LOCAL max_parallel_workers_per_gather = 0"))  # a parallel walk was slower
        try:
            return list(session.execute(stmt))
        finally:
            session.execute(sa_text("RESET max_parallel_workers_per_gather"))

    estimated = _estimated_matches(session, pattern)
    if not walkable or estimated <= GIN_DIRECT:
        return finish(gin_rows(COUNT_CAP + 1), plan="trigram")
    walked_to, hits = None, []
    if estimated >= WALK_FIRST:
        first = (select(Member.id, Member.sort_key, Member.name_words).where(and_(*flt.conditions(text=False)))
                 .order_by(Member.sort_key, Member.id).limit(WALK_PROBE).subquery())
        hit = first.c.name_words.like(bindparam("name_like", pattern, literal_execute=True), escape="\\")
        wanted = max(need, probe_limit) + 1
        hits = [(r.id, r.sort_key) for r in serial(select(first.c.id, first.c.sort_key).where(hit)
                                                   .order_by(first.c.sort_key, first.c.id).limit(wanted))]
        if len(hits) == wanted:
            return many("walk-probe", [r[0] for r in hits[offset:need]], len(hits))
        walked_to = session.scalar(select(Member.sort_key).where(and_(*flt.conditions(text=False)))
                                   .order_by(Member.sort_key, Member.id).offset(WALK_PROBE - 1).limit(1))
        if walked_to is None:  # the whole scope was walked
            return finish(hits, plan="walk-all")
    # One pass through the trigram index, read in two steps (a server-side cursor): PROBE + 1 rows first.
    stmt = (select(Member.id, Member.sort_key, literal_column("members.ctid")).where(and_(*flt.conditions(steer=True)))
            .limit(COUNT_CAP + 1).execution_options(stream_results=True, max_row_buffer=COUNT_CAP + 1))
    cursor = session.connection().execute(stmt)
    try:
        sample = [tuple(r) for r in cursor.fetchmany(probe_limit + 1)]
        if len(sample) <= probe_limit:
            return finish(sample, plan="trigram-probe")
        if need <= len(hits):  # the first walk found the page; the trigram probe says there are more than PROBE
            return many("walk-probe+trigram-probe", [r[0] for r in hits[offset:need]], max(len(hits), len(sample)))
        blocks = session.scalar(sa_text("SELECT greatest(1, pg_relation_size('members') / "
                                        "current_setting('block_size')::int)")) or 1
        first_block, last_block = _block(sample[0][2]), _block(sample[-1][2])
        reach = (last_block - first_block if last_block >= first_block else blocks - first_block + last_block) + 1
        in_scope = len(sample) * blocks / max(1, reach)  # (a seq scan may have started mid-table)
        ordered = sorted(sample, key=itemgetter(1, 0))
        bound = ordered[need - 1][1] if need <= len(ordered) else None
        rows_total = session.scalar(sa_text("SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = "
                                            "'members'::regclass")) or 0
        rows_total = max(rows_total, in_scope)  # (no statistics yet: reltuples is -1)
        histogram = _sort_key_histogram(session)
        if histogram and bound is not None:
            span = bisect.bisect_right(histogram, bound) - bisect.bisect_left(histogram, walked_to or b"") + 1
            walk_cost = max(1, span) / len(histogram) * rows_total * WALK_ROW_US
        else:
            walk_cost = rows_total * WALK_ROW_US
        # rows still to read through the trigram index: the planner's estimate counts the index's candidates
        # (before the order of the words is checked), and reading stops at COUNT_CAP matches
        candidates = max(1.0, max(estimated, in_scope) * (min(in_scope, COUNT_CAP) - len(sample)) / in_scope)
        if walk_cost > WALK_BUDGET_US and candidates * GIN_ROW_US < walk_cost:
            return finish(sample + [tuple(r) for r in cursor.fetchall()], plan="trigram-all")
    finally:
        cursor.close()
    terms = flt.conditions(indexable=False)
    if bound is not None:
        terms.append(Member.sort_key <= bound)
    ids = [r[0] for r in hits]  # every match up to ``walked_to``
    if walked_to is not None:
        terms.append(Member.sort_key >= walked_to)
    seen = set(ids)
    ids += [r.id for r in serial(select(Member.id).where(and_(*terms)).order_by(Member.sort_key, Member.id)
                                 .limit(need + 2)) if r.id not in seen]
    if bound is None and len(ids) <= need:  # the walk reached the end: the count is known
        return note("walk", SearchPage(_members(session, ids[offset:need]), len(ids), page, per_page))
    return many("walk", ids[offset:need], max(len(sample), len(ids)))


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
