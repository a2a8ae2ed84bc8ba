"""The member_transfer process (chuyển sinh hoạt công đoàn) over the real processes/ and forms/, on SQLite and
PostgreSQL: happy paths within a province and across provinces, each rejection, invalid requests, SLA reminders."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine import accounts
from engine.audit import instance_history
from engine.errors import InvalidInput
from engine.humantasks import InboxFilter, eligible, inbox
from engine.members.models import Member, MemberEvent, MemberTransfer
from engine.models import HumanTask, Notification, ProcessInstance
from tests.conftest import PASSWORD, ready_names, reload_instance

_serial = iter(range(1, 10_000))


def add_member(session, unit_id: int, code: str, name: str = "Nguyễn Văn An", status: str = "active") -> Member:
    serial = next(_serial)
    member = Member(serial=serial, member_code=code, vpoint_code=f"VP{serial:08d}", unit_id=unit_id,
                    full_name=name, name_fold=name.lower(), sort_key=name.encode(), id_number=f"{serial:012d}",
                    status=status)
    session.add(member)
    session.flush()
    return member


@pytest.fixture
def world(sessions, org, runtime, frozen_clock):
    """Processes deployed, an officer at G1B (the fixture has none), members in G1 and G2."""
    with sessions() as session:
        assert runtime.deploy(session).problems == []
        officer = accounts.create_user(session, "officer_g1b", "Đặng Thị Nhận", PASSWORD)
        accounts.grant_role(session, officer, org.unit(session, "G1B"), "grassroots_officer")
        org.users["officer_g1b"] = officer.id
        add_member(session, org.units["G1"], "DV0000001", "Nguyễn Văn An")
        add_member(session, org.units["G1"], "DV0000002", "Trần Thị Bình", status="left")
        add_member(session, org.units["G2"], "DV0000003", "Lê Văn Cảng")
        session.commit()
    return org


def start(sessions, runtime, org, member_code: str = "DV0000001", to: str = "G2", by: str = "officer_g1",
          unit: str = "G1") -> int:
    with sessions() as session:
        data = {"member_code": member_code, "to_unit_code": to, "reason": "Chuyển công tác",
                "effective_date": "15/03/2026"}
        outcome = runtime.host.start(session, "member_transfer", org.user(session, by), org.units[unit], data)
        session.commit()
        return outcome.instance.id


def open_task(session, instance_id: int) -> HumanTask | None:
    return session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                  HumanTask.status == "open"))


def act(sessions, runtime, org, instance_id: int, username: str, element: str, data: dict) -> None:
    """Check who gets the open task, then complete it as ``username``."""
    with sessions() as session:
        user = org.user(session, username)
        task = open_task(session, instance_id)
        assert task is not None and task.element_id == element
        assert eligible(session, user, task)
        assert task.id in [t.id for t in inbox(session, user, InboxFilter()).items]
        runtime.host.complete(session, task.id, user, data)
        session.commit()


def messages(session, org, username: str) -> list[str]:
    return list(session.scalars(select(Notification.message).where(Notification.user_id == org.users[username])
                                .order_by(Notification.id)))


def member(session, code: str) -> Member:
    return session.scalar(select(Member).where(Member.member_code == code))


def transfers(session) -> list[MemberTransfer]:
    return list(session.scalars(select(MemberTransfer).order_by(MemberTransfer.id)))


def assert_round_trip(sessions, instance_id: int, status: str = "completed") -> None:
    instance, workflow = reload_instance(sessions, instance_id)
    assert instance.status == status
    assert workflow.is_completed() == (status != "running")


APPROVE = {"send_decision": "approve"}
ACCEPT = {"accept_decision": "accept"}
RECEIVE = {"receive_decision": "approve"}


@pytest.mark.parametrize("to, send_reviewer, receiver, receive_reviewer", [
    pytest.param("G1B", "reviewer_d1", "officer_g1b", "reviewer_d1", id="same-district"),
    pytest.param("G2", "reviewer_d1", "officer_g2", "reviewer_c2", id="other-province-3-to-2-level"),
    pytest.param("G3", "reviewer_d1", "officer_g3", "reviewer_p2", id="other-province-under-province"),
])
def test_transfer_happy_path(sessions, runtime, world, frozen_clock, to, send_reviewer, receiver, receive_reviewer):
    org = world
    instance_id = start(sessions, runtime, org, to=to)
    with sessions() as session:
        (transfer,) = transfers(session)
        assert (transfer.status, transfer.from_unit_id, transfer.to_unit_id) == (
            "requested", org.units["G1"], org.units[to])
        assert transfer.instance_id == instance_id and transfer.reason == "Chuyển công tác"
        task = open_task(session, instance_id)
        assert task.element_id == "send_review" and task.role == "upper_reviewer"
        assert task.unit_id == org.units["D1"]
        # 3 working days from Monday 2 March 2026 08:00 (Vietnam)
        assert task.due_at.isoformat() == "2026-03-05T01:00:00+00:00"
        assert inbox(session, org.user(session, receiver), InboxFilter()).total == 0

    act(sessions, runtime, org, instance_id, send_reviewer, "send_review", APPROVE)
    with sessions() as session:
        task = open_task(session, instance_id)
        assert (task.role, task.unit_id) == ("grassroots_officer", org.units[to])
        assert not eligible(session, org.user(session, "officer_g1"), task)  # the sending officer may not accept
    act(sessions, runtime, org, instance_id, receiver, "receive_accept", ACCEPT)
    with sessions() as session:
        task = open_task(session, instance_id)
        expected_upper = {"G1B": "D1", "G2": "C2", "G3": "P2"}[to]
        assert (task.role, task.unit_id) == ("upper_reviewer", org.units[expected_upper])
        if to != "G1B":
            assert not eligible(session, org.user(session, "reviewer_d1"), task)
    act(sessions, runtime, org, instance_id, receive_reviewer, "receive_review", RECEIVE)

    with sessions() as session:
        moved = member(session, "DV0000001")
        assert moved.unit_id == org.units[to] and moved.member_code == "DV0000001"
        (transfer,) = transfers(session)
        assert transfer.status == "approved" and transfer.decided_at is not None
        events = session.execute(select(MemberEvent.kind, MemberEvent.unit_id, MemberEvent.instance_id,
                                        MemberEvent.effective, MemberEvent.actor_id)
                                 .where(MemberEvent.member_id == moved.id).order_by(MemberEvent.id)).all()
        assert [(k, u, i, e.isoformat()) for k, u, i, e, _ in events] == [
            ("transfer_out", org.units["G1"], instance_id, "2026-03-15"),
            ("transfer_in", org.units[to], instance_id, "2026-03-15")]
        assert {a for *_, a in events} == {org.users[receive_reviewer]}
        assert any("đã chuyển sinh hoạt" in m for m in messages(session, org, "officer_g1"))
        assert any("đã chuyển sinh hoạt" in m for m in messages(session, org, receiver))
        actions = [e.action for e in instance_history(session, instance_id)]
        assert "member_transfer_requested" in actions and "member_transfer_approved" in actions
        assert session.get(ProcessInstance, instance_id).status == "completed"
    assert_round_trip(sessions, instance_id)


@pytest.mark.parametrize("steps, stage_name, note_field", [
    pytest.param([], "send_review", "send_note", id="sending-upper-rejects"),
    pytest.param([("reviewer_d1", "send_review", APPROVE)], "receive_accept", "accept_note", id="receiver-refuses"),
    pytest.param([("reviewer_d1", "send_review", APPROVE), ("officer_g2", "receive_accept", ACCEPT)],
                 "receive_review", "receive_note", id="receiving-upper-rejects"),
])
def test_each_rejection_marks_the_transfer_and_tells_the_initiator(sessions, runtime, world, steps, stage_name,
                                                                   note_field):
    org = world
    instance_id = start(sessions, runtime, org, to="G2")
    for username, element, data in steps:
        act(sessions, runtime, org, instance_id, username, element, data)
    who = {"send_review": "reviewer_d1", "receive_accept": "officer_g2", "receive_review": "reviewer_c2"}[stage_name]
    decision = {"send_review": {"send_decision": "reject"}, "receive_accept": {"accept_decision": "refuse"},
                "receive_review": {"receive_decision": "reject"}}[stage_name]
    note = "Hồ sơ chưa đầy đủ"
    act(sessions, runtime, org, instance_id, who, stage_name, {**decision, note_field: note})
    with sessions() as session:
        (transfer,) = transfers(session)
        assert (transfer.status, transfer.decision_note) == ("rejected", note)
        assert member(session, "DV0000001").unit_id == org.units["G1"]
        assert session.scalar(select(func.count()).select_from(MemberEvent)) == 0
        (message,) = [m for m in messages(session, org, "officer_g1") if "bị từ chối" in m]
        assert note in message and "DV0000001" in message
        assert open_task(session, instance_id) is None
        rejected = [e for e in instance_history(session, instance_id) if e.action == "member_transfer_rejected"]
        assert rejected[0].details["stage"] == stage_name and rejected[0].actor_id == org.users[who]
    assert_round_trip(sessions, instance_id)
    # a rejected transfer does not block a new request
    again = start(sessions, runtime, org, to="G3")
    with sessions() as session:
        assert [t.status for t in transfers(session)] == ["rejected", "requested"]
        assert open_task(session, again).element_id == "send_review"


def test_rejection_needs_a_note_and_writes_nothing_without_one(sessions, runtime, world):
    org = world
    instance_id = start(sessions, runtime, org)
    with sessions() as session:
        task = open_task(session, instance_id)
        with pytest.raises(InvalidInput) as info:
            runtime.host.complete(session, task.id, org.user(session, "reviewer_d1"), {"send_decision": "reject"})
        session.rollback()
        assert "send_note" in info.value.field_errors
    with sessions() as session:
        assert open_task(session, instance_id).element_id == "send_review"
        assert [t.status for t in transfers(session)] == ["requested"]
    assert_round_trip(sessions, instance_id, "running")


@pytest.mark.parametrize("member_code, to, expected", [
    pytest.param("DV0000002", "G2", "không còn sinh hoạt", id="inactive-member"),
    pytest.param("DV0000001", "G1", "trùng với công đoàn cơ sở hiện tại", id="same-unit"),
    pytest.param("DV0000001", "D1", "không phải công đoàn cơ sở", id="district-is-not-grassroots"),
    pytest.param("DV0000001", "P2", "không phải công đoàn cơ sở", id="province-is-not-grassroots"),
    pytest.param("DV0000001", "XX9", "Không tìm thấy đơn vị nhận", id="unknown-unit"),
    pytest.param("DV0000003", "G3", "không sinh hoạt tại công đoàn cơ sở của bạn", id="member-of-another-union"),
    pytest.param("DV9999999", "G2", "Không tìm thấy đoàn viên", id="unknown-member"),
])
def test_invalid_requests_are_refused_before_anything_is_written(sessions, runtime, world, member_code, to,
                                                                 expected):
    org = world
    with pytest.raises(InvalidInput) as refused:
        start(sessions, runtime, org, member_code=member_code, to=to)
    assert expected in refused.value.message and refused.value.field_errors
    with sessions() as session:
        assert transfers(session) == []
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
        assert messages(session, org, "officer_g1") == []


def test_a_second_request_while_one_is_open_is_refused_until_the_first_is_cancelled(sessions, runtime, world):
    org = world
    first = start(sessions, runtime, org, to="G2")
    with pytest.raises(InvalidInput) as refused:
        start(sessions, runtime, org, to="G3")
    assert "chưa kết thúc" in refused.value.message
    with sessions() as session:
        assert len(transfers(session)) == 1
        runtime.host.cancel(session, first, org.user(session, "officer_g1"), "Nhầm đơn vị")
        session.commit()
    third = start(sessions, runtime, org, to="G3")
    with sessions() as session:
        assert [(t.to_unit_id, t.status) for t in transfers(session)] == [
            (org.units["G2"], "cancelled"), (org.units["G3"], "requested")]
        assert open_task(session, third).element_id == "send_review"
    assert_round_trip(sessions, first, "cancelled")
    assert_round_trip(sessions, third, "running")


def test_member_who_left_meanwhile_cancels_the_transfer(sessions, runtime, world):
    org = world
    instance_id = start(sessions, runtime, org, to="G2")
    act(sessions, runtime, org, instance_id, "reviewer_d1", "send_review", APPROVE)
    act(sessions, runtime, org, instance_id, "officer_g2", "receive_accept", ACCEPT)
    with sessions() as session:
        member(session, "DV0000001").status = "left"
        session.commit()
    act(sessions, runtime, org, instance_id, "reviewer_c2", "receive_review", RECEIVE)
    with sessions() as session:
        (transfer,) = transfers(session)
        assert transfer.status == "cancelled" and "không còn sinh hoạt" in transfer.decision_note
        assert member(session, "DV0000001").unit_id == org.units["G1"]
        assert any("bị hủy" in m for m in messages(session, org, "officer_g2"))
    assert_round_trip(sessions, instance_id)


def test_overdue_review_reminds_the_reviewer_and_the_task_stays_open(sessions, runtime, world, frozen_clock):
    org = world
    instance_id = start(sessions, runtime, org, to="G2")
    frozen_clock.advance(timedelta(days=4))
    with sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance.next_due_at is not None and instance.next_due_at <= frozen_clock.now()
        runtime.host.fire_timers(session, instance)
        session.commit()
    with sessions() as session:
        assert any("Quá hạn xét duyệt" in m for m in messages(session, org, "reviewer_d1"))
        assert any("quá hạn" in m for m in messages(session, org, "officer_g1"))
        assert open_task(session, instance_id).element_id == "send_review"
    _, workflow = reload_instance(sessions, instance_id)
    assert ready_names(workflow) == ["send_review"]
    act(sessions, runtime, org, instance_id, "reviewer_d1", "send_review", APPROVE)
    assert_round_trip(sessions, instance_id, "running")


def test_a_merged_receiving_union_is_refused(sessions, runtime, world):
    from engine.orgtree import merge_units

    org = world
    with sessions() as session:
        merge_units(session, org.unit(session, "G3"), org.unit(session, "G2"))
        session.commit()
    with pytest.raises(InvalidInput) as refused:
        start(sessions, runtime, org, to="G3")
    assert "đã hợp nhất hoặc giải thể" in refused.value.message
    with sessions() as session:
        assert transfers(session) == []
