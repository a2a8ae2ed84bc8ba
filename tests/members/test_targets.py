"""Targets (chỉ tiêu) and progress against them, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select

from engine import accounts
from engine.errors import Forbidden, InvalidInput
from engine.members import targets
from engine.members.models import Member, MemberEvent, MemberTarget
from engine.models import AuditEntry
from tests.conftest import PASSWORD

UTC = timezone.utc
_serial = iter(range(1, 100_000))


def add_member(session, unit_id: int, approved_at: datetime) -> Member:
    serial = next(_serial)
    member = Member(serial=serial, member_code=f"DV{serial:07d}", vpoint_code=f"VP{serial:08d}", unit_id=unit_id,
                    full_name=f"Đoàn viên {serial}", name_fold=f"doan vien {serial}", sort_key=b"x",
                    id_number=f"{serial:012d}", approved_at=approved_at)
    session.add(member)
    session.flush()
    return member


def add_event(session, member: Member, kind: str, at: datetime) -> None:
    session.add(MemberEvent(member_id=member.id, kind=kind, unit_id=member.unit_id, at=at))


@pytest.fixture
def data(sessions, org, frozen_clock):
    """Members approved at various times (Vietnam year boundaries included) and "updated" events."""
    with sessions() as session:
        g1, g1b, g2 = org.units["G1"], org.units["G1B"], org.units["G2"]
        add_member(session, g1, datetime(2026, 1, 15, 3, tzinfo=UTC))
        add_member(session, g1, datetime(2025, 12, 31, 17, 30, tzinfo=UTC))  # 1 Jan 2026 00:30 in Vietnam
        add_member(session, g1, datetime(2025, 12, 31, 16, 0, tzinfo=UTC))  # 31 Dec 2025 23:00 in Vietnam
        add_member(session, g1, datetime(2026, 3, 1, 2, tzinfo=UTC))
        add_member(session, g1, datetime(2026, 3, 1, 9, tzinfo=UTC))
        a = add_member(session, g1b, datetime(2026, 3, 10, 2, tzinfo=UTC))
        b = add_member(session, g1b, datetime(2024, 5, 5, 2, tzinfo=UTC))
        add_member(session, g2, datetime(2026, 2, 1, 2, tzinfo=UTC))
        add_member(session, g2, datetime(2027, 1, 1, 2, tzinfo=UTC))
        add_event(session, a, "updated", datetime(2026, 3, 20, 2, tzinfo=UTC))
        add_event(session, a, "updated", datetime(2026, 4, 2, 2, tzinfo=UTC))
        add_event(session, b, "updated", datetime(2026, 4, 3, 2, tzinfo=UTC))
        add_event(session, b, "updated", datetime(2025, 4, 3, 2, tzinfo=UTC))  # another year
        add_event(session, b, "transfer_in", datetime(2026, 4, 3, 2, tzinfo=UTC))  # another kind
        reviewer_d1, reviewer_c2 = org.user(session, "reviewer_d1"), org.user(session, "reviewer_c2")
        targets.set_target(session, reviewer_d1, g1, 2026, "registered", 3, date(2026, 10, 30))
        targets.set_target(session, reviewer_d1, g1b, 2026, "updated", 2, "30/10/2026")
        targets.set_target(session, org.user(session, "admin"), org.units["D1"], 2026, "registered", "10",
                           "2026-10-30")
        targets.set_target(session, reviewer_c2, g2, 2026, "registered", 5, date(2026, 2, 28))
        targets.set_target(session, reviewer_c2, g2, 2025, "registered", 7, date(2025, 12, 31))
        session.commit()
    return org


def by_key(rows) -> dict:
    return {(r.unit_code, r.kind): r for r in rows}


def test_progress_counts_by_month_over_the_subtree(sessions, data, frozen_clock):
    org = data
    with sessions() as session:
        rows = targets.progress(session, org.user(session, "admin"), 2026)
        assert [(r.unit_code, r.kind) for r in rows] == [
            ("D1", "registered"), ("G1", "registered"), ("G1B", "updated"), ("G2", "registered")]
        rows = by_key(rows)
        d1 = rows[("D1", "registered")]
        assert (d1.target, d1.done, d1.percent, d1.overdue) == (10, 5, 50.0, False)
        assert d1.by_month == (2, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        assert d1.deadline == date(2026, 10, 30) and d1.year == 2026 and d1.unit_id == org.units["D1"]
        g1 = rows[("G1", "registered")]
        assert (g1.done, g1.percent, g1.met, g1.by_month[:3]) == (4, 133.3, True, (2, 0, 2))
        updated = rows[("G1B", "updated")]
        assert (updated.done, updated.by_month[2], updated.by_month[3], sum(updated.by_month)) == (2, 1, 2, 3)
        g2 = rows[("G2", "registered")]
        assert (g2.done, g2.by_month[1], g2.overdue) == (1, 1, True)  # deadline 28/02 passed, 1 < 5
        old = targets.progress(session, org.user(session, "admin"), 2025)
        assert [(r.unit_code, r.done, r.overdue) for r in old] == [("G2", 0, True)]
        only_updated = targets.progress(session, org.user(session, "admin"), 2026, kind="updated")
        assert [(r.unit_code, r.kind) for r in only_updated] == [("G1B", "updated")]


def test_progress_is_limited_to_the_users_scope(sessions, data):
    org = data
    with sessions() as session:
        def codes(username: str, **kw) -> list[str]:
            return [r.unit_code for r in targets.progress(session, org.user(session, username), 2026, **kw)]

        assert codes("reviewer_d1") == ["D1", "G1", "G1B"]
        assert codes("lead_g1") == ["G1"]
        assert codes("reviewer_c2") == ["G2"]
        assert codes("reviewer_p2") == ["G2"]
        assert codes("reviewer_d1", unit_id=org.units["G1"]) == ["G1"]
        assert codes("admin", unit_id=org.units["P2"]) == ["G2"]
        with pytest.raises(Forbidden):
            targets.progress(session, org.user(session, "reviewer_d1"), 2026, unit_id=org.units["G2"])
        nobody = accounts.create_user(session, "nobody", "Không Vai Trò", PASSWORD)
        assert targets.progress(session, nobody, 2026) == []
        with pytest.raises(InvalidInput):
            targets.progress(session, org.user(session, "admin"), 2026, kind="other")


@pytest.mark.parametrize("username, unit, allowed", [
    ("reviewer_d1", "G1", True), ("reviewer_d1", "G1B", True), ("printer_p1", "G1", False),
    ("lead_g1", "G1", False), ("staff_g1", "G1", False), ("officer_g1", "G1", False),
    ("reviewer_d1", "G2", False), ("reviewer_d1", "D1", False), ("reviewer_p2", "G2", True),
    ("reviewer_p2", "C2", True), ("admin", "P1", True),
])
def test_who_may_set_a_target(sessions, org, username, unit, allowed):
    with sessions() as session:
        user = org.user(session, username)
        if allowed:
            row = targets.set_target(session, user, org.units[unit], 2026, "registered", 4, date(2026, 10, 30))
            assert (row.unit_id, row.target, row.set_by_id) == (org.units[unit], 4, user.id)
        else:
            with pytest.raises(Forbidden):
                targets.set_target(session, user, org.units[unit], 2026, "registered", 4, date(2026, 10, 30))
            assert session.scalar(select(func.count()).select_from(MemberTarget)) == 0


def test_set_target_upserts_and_audits(sessions, org, frozen_clock):
    with sessions() as session:
        reviewer = org.user(session, "reviewer_d1")
        first = targets.set_target(session, reviewer, org.units["G1"], 2026, "registered", 10, date(2026, 10, 30))
        second = targets.set_target(session, reviewer, org.units["G1"], "2026", "registered", "12", "15/11/2026")
        other = targets.set_target(session, reviewer, org.units["G1"], 2026, "updated", 8, date(2026, 10, 30))
        session.commit()
        assert first.id == second.id != other.id
        assert (second.target, second.deadline) == (12, date(2026, 11, 15))
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "member_target_set")
                                  .order_by(AuditEntry.id)).all()
        assert len(entries) == 3 and entries[0].actor_id == reviewer.id
        assert entries[1].details["change"]["target"] == {"old": 10, "new": 12}
        assert entries[1].details["change"]["deadline"] == {"old": "2026-10-30", "new": "2026-11-15"}


@pytest.mark.parametrize("year, kind, target, deadline, field", [
    (2026, "registered", 0, "2026-10-30", "target"),
    (2026, "registered", -3, "2026-10-30", "target"),
    (2026, "registered", "mười", "2026-10-30", "target"),
    (2026, "registered", "", "2026-10-30", "target"),
    (2026, "other", 5, "2026-10-30", "kind"),
    (2026, "registered", 5, "31/02/2026", "deadline"),
    (2026, "registered", 5, "", "deadline"),
    (2026, "registered", 5, "2024-10-30", "deadline"),
    ("năm nay", "registered", 5, "2026-10-30", "year"),
    (1890, "registered", 5, "2026-10-30", "year"),
])
def test_bad_input_is_refused_and_nothing_is_written(sessions, org, year, kind, target, deadline, field):
    with sessions() as session:
        with pytest.raises(InvalidInput) as info:
            targets.set_target(session, org.user(session, "reviewer_d1"), org.units["G1"], year, kind, target,
                               deadline)
        assert field in info.value.field_errors
        assert session.scalar(select(func.count()).select_from(MemberTarget)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "member_target_set")) == 0


def test_set_target_from_form_resolves_the_unit_code(sessions, org):
    with sessions() as session:
        reviewer = org.user(session, "reviewer_d1")
        row = targets.set_target_from_form(session, reviewer, {"unit_code": " G1B ", "year": "2026",
                                                               "kind": "updated", "target": "7",
                                                               "deadline": "30/10/2026"})
        assert (row.unit_id, row.kind, row.target) == (org.units["G1B"], "updated", 7)
        for code, message in (("", "Bắt buộc"), ("NOPE", "Không tìm thấy đơn vị")):
            with pytest.raises(InvalidInput) as info:
                targets.set_target_from_form(session, reviewer, {"unit_code": code, "year": "2026",
                                                                 "kind": "updated", "target": "7",
                                                                 "deadline": "30/10/2026"})
            assert info.value.field_errors == {"unit_code": message}
