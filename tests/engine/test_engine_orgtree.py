"""The org tree: roles resolved by unit kind on 3-level and 2-level trees; rename, move, merge."""
from __future__ import annotations

import unicodedata
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from engine.accounts import create_user, grant_role, in_scope, scope_unit_ids
from engine.errors import Forbidden, InvalidInput
from engine.humantasks import InboxFilter, inbox
from engine.models import HumanTask, ProcessInstance
from engine.orgtree import (ancestors, create_unit, current, history, merge_units, move_unit, rename_unit,
                            resolve_role_unit)
from tests.conftest import FROZEN_AT, ready_names, reload_instance

# subject unit → (upper_reviewer unit, province_printer unit)
TREES = {
    "G1": ("D1", "P1"),  # 3 levels: province → district → grassroots
    "G2": ("C2", "P2"),  # 2 levels (post-2025): province → commune union → grassroots
    "G3": ("P2", "P2"),  # 2 levels: grassroots directly under the province
}


@pytest.mark.parametrize("subject", sorted(TREES))
def test_role_resolution_by_unit_kind(sessions, org, subject):
    reviewer_unit, printer_unit = TREES[subject]
    with sessions() as session:
        unit = org.unit(session, subject)
        assert resolve_role_unit(session, "upper_reviewer", unit).code == reviewer_unit
        assert resolve_role_unit(session, "province_printer", unit).code == printer_unit
        assert resolve_role_unit(session, "grassroots_officer", unit).code == subject
        assert resolve_role_unit(session, "leader", unit, levels_up=1).code == reviewer_unit
        assert resolve_role_unit(session, "no_such_role", unit) is None
        # the province itself has nothing above it
        assert resolve_role_unit(session, "upper_reviewer", org.unit(session, printer_unit)) is None
        assert resolve_role_unit(session, "province_printer", unit, levels_up=5) is None


CARD = {"title": "Cấp thẻ đoàn viên", "member_name": "Nguyễn Thị Mai", "birth_date": "12/05/1995"}
PEOPLE = {"G1": ("officer_g1", "reviewer_d1", "printer_p1"),
          "G2": ("officer_g2", "reviewer_c2", "printer_p2"),
          "G3": ("officer_g3", "reviewer_p2", "printer_p2")}


@pytest.mark.parametrize("subject", sorted(TREES))
def test_card_request_runs_on_every_tree_shape(sessions, org, fixture_runtime, frozen_clock, subject):
    host = fixture_runtime.host
    officer_name, reviewer_name, printer_name = PEOPLE[subject]
    reviewer_unit, printer_unit = TREES[subject]
    with sessions() as session:
        fixture_runtime.deploy(session)
        officer = org.user(session, officer_name)
        instance_id = host.start(session, "card_request", officer, org.units[subject], dict(CARD)).instance.id
        session.commit()

    with sessions() as session:
        reviewer = org.user(session, reviewer_name)
        review = session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id))
        assert (review.element_id, review.role, review.unit_id) == ("review", "upper_reviewer",
                                                                    org.units[reviewer_unit])
        # "5 working days" from Monday 2 March 08:00 → Monday 9 March 08:00 (Vietnam)
        assert review.due_at == FROZEN_AT + timedelta(days=7)
        assert [t.id for t in inbox(session, reviewer, InboxFilter()).items] == [review.id]
        for other in {"reviewer_d1", "reviewer_c2", "reviewer_p2"} - {reviewer_name}:
            assert inbox(session, org.user(session, other), InboxFilter()).total == 0
        with pytest.raises(Forbidden):
            host.complete(session, review.id, org.user(session, officer_name), {"approved": True})
        host.complete(session, review.id, reviewer, {"approved": "on", "review_comment": "Hồ sơ đủ"})
        session.commit()

    with sessions() as session:
        printer = org.user(session, printer_name)
        task = session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                      HumanTask.status == "open"))
        assert (task.element_id, task.unit_id) == ("print_card", org.units[printer_unit])
        assert [t.id for t in inbox(session, printer, InboxFilter()).items] == [task.id]
        instance = session.get(ProcessInstance, instance_id)
        targets = {t: [u.username for u in host._targets(session, instance, t)]
                   for t in ("initiator", "role:upper_reviewer", "role:province_printer", reviewer_name)}
        assert targets == {"initiator": [officer_name], "role:upper_reviewer": [reviewer_name],
                           "role:province_printer": [printer_name], reviewer_name: [reviewer_name]}
        with pytest.raises(InvalidInput) as info:
            host.complete(session, task.id, printer, {"card_number": "AB"})
        assert info.value.field_errors == {"card_number": "Sai định dạng"}
        host.complete(session, task.id, printer, {"card_number": "0123456789"})
        session.commit()

    instance, workflow = reload_instance(sessions, instance_id)
    assert instance.status == "completed" and workflow.is_completed() and ready_names(workflow) == []
    assert workflow.data["card_number"] == "0123456789" and workflow.data["birth_date"] == "1995-05-12"
    assert workflow.data["approved"] is True


def test_rename_move_merge_keep_history(sessions, org):
    with sessions() as session:
        g1b = org.unit(session, "G1B")
        p1, d1 = org.unit(session, "P1"), org.unit(session, "D1")
        rename_unit(session, g1b, "CĐCS Trường THCS Lim (mới)", date(2025, 7, 1))
        move_unit(session, g1b, p1, date(2025, 7, 1))
        session.commit()
        assert g1b.name == "CĐCS Trường THCS Lim (mới)" and g1b.parent_id == p1.id
        assert [(e.change, e.old_value, e.new_value) for e in history(session, g1b)] == [
            ("created", None, "CĐCS Trường THCS Lim"),
            ("renamed", "CĐCS Trường THCS Lim", "CĐCS Trường THCS Lim (mới)"),
            ("moved", "D1", "P1")]
        # after the move the reviewer of G1B is the province
        assert resolve_role_unit(session, "upper_reviewer", g1b).code == "P1"
        with pytest.raises(InvalidInput):
            move_unit(session, p1, g1b)  # a unit cannot move under its own descendant
        with pytest.raises(InvalidInput):
            rename_unit(session, g1b, "   ")
        with pytest.raises(InvalidInput):
            merge_units(session, d1, d1)

        # merge district D1 into a new district D1B: D1 closes, its children move along
        d1b = create_unit(session, "D1B", "LĐLĐ thị xã Từ Sơn", "district_federation", p1)
        merge_units(session, d1, d1b, date(2025, 7, 1))
        session.commit()
        g1 = org.unit(session, "G1")
        assert d1.valid_to == date(2025, 7, 1) and not d1.active and d1.merged_into_id == d1b.id
        assert g1.parent_id == d1b.id
        assert [e.change for e in history(session, d1)] == ["created", "merged"]
        assert [e.change for e in history(session, g1)] == ["created", "moved"]
        assert current(session, d1).code == "D1B"
        assert [u.code for u in ancestors(session, g1)] == ["D1B", "P1"]
        assert resolve_role_unit(session, "upper_reviewer", g1).code == "D1B"
        # role holders of the merged unit resolve through the unit it merged into
        assert resolve_role_unit(session, "upper_reviewer", d1).code == "P1"
        assert resolve_role_unit(session, "leader", d1).code == "D1B"


def test_merged_unit_processes_resolve_through_the_target(sessions, org, runtime, frozen_clock):
    host = runtime.host
    with sessions() as session:
        runtime.deploy(session)
        lead = org.user(session, "lead_g1")
        start = {"title": "Tổng hợp danh sách đoàn viên", "assignee": "staff_g1",
                 "deadline": "2026-03-20T17:00", "remind_hours_before": 24}
        instance_id = host.start(session, "task_assignment", lead, org.units["G1"], start).instance.id
        session.commit()
        task = session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id))
        assert task.unit_id == org.units["G1"]
        host.complete(session, task.id, org.user(session, "staff_g1"), {"progress_percent": 50, "result": "Một nửa"})
        session.commit()

    with sessions() as session:
        g1, g1b = org.unit(session, "G1"), org.unit(session, "G1B")
        merge_units(session, g1, g1b, date(2026, 3, 3))
        # the staff member of G1 now works for G1B
        grant_role(session, org.user(session, "staff_g1"), g1b, "staff")
        session.commit()

    with sessions() as session:
        lead = org.user(session, "lead_g1")
        review = session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                        HumanTask.status == "open"))
        host.complete(session, review.id, lead, {"decision": "return", "review_comment": "Làm tiếp",
                                                 "new_deadline": "2026-03-25T17:00"})
        session.commit()
        again = session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                       HumanTask.status == "open"))
        assert again.element_id == "do_work" and again.unit_id == org.units["G1B"]
        instance = session.get(ProcessInstance, instance_id)
        assert instance.subject_unit_id == org.units["G1"]  # history keeps the original subject
        assert resolve_role_unit(session, "staff", instance.subject_unit).code == "G1B"
        # a new leader at G1B sees the instance
        newcomer = create_user(session, "lead_g1b", "Trịnh Văn Mới", "matkhau123")
        grant_role(session, newcomer, org.unit(session, "G1B"), "leader")
        assert in_scope(session, newcomer, again.unit_id)
        assert org.units["G1B"] in scope_unit_ids(session, newcomer)
        session.commit()

    instance, workflow = reload_instance(sessions, instance_id)
    assert ready_names(workflow) == ["do_work"]
    assert workflow.get_tasks(spec_name="do_work")[-1].data["round_no"] == 2


def test_create_unit_validates_kind_and_code(sessions, org):
    with sessions() as session:
        with pytest.raises(InvalidInput):
            create_unit(session, "X1", "Đơn vị lạ", "planet", None)
        with pytest.raises(InvalidInput):
            create_unit(session, "G1", "Trùng mã", "grassroots", None)
        unit = create_unit(session, "G9", " Công đoa\u0300n co\u031b so\u031b\u0309 ", "grassroots",
                           org.unit(session, "C2"))
        assert unit.name == "Công đoàn cơ sở" and unicodedata.is_normalized("NFC", unit.name)
        assert resolve_role_unit(session, "upper_reviewer", unit).code == "C2"
