"""The workflow host over the real task_assignment process, on SQLite and PostgreSQL."""
from __future__ import annotations

import shutil

import pytest
from sqlalchemy import func, select

from engine.audit import instance_history, unread
from engine.errors import AlreadyCompleted, Conflict, Forbidden, InvalidInput, NotFound
from engine.humantasks import InboxFilter, inbox
from engine.models import AuditEntry, HumanTask, ProcessInstance
from engine.store import deploy
from tests.conftest import GOOD_FORMS, GOOD_PROCESSES, make_runtime, ready_names, reload_instance

START = {"title": "Chuẩn bị hội nghị công nhân viên chức", "description": "Soạn báo cáo tổng kết",
         "assignee": "staff_g1", "deadline": "2026-03-05T17:00", "remind_hours_before": "24", "priority": "urgent"}
REPORT = {"progress_percent": "80", "result": "Đã soạn xong dự thảo báo cáo",
          "steps": [{"content": "Thu thập số liệu", "done_on": "03/03/2026", "finished": "on"},
                    {"content": "Viết dự thảo", "done_on": "2026-03-04"}]}


def open_task(session, instance_id: int, element_id: str) -> HumanTask:
    return session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                  HumanTask.element_id == element_id, HumanTask.status == "open"))


def inbox_ids(session, user) -> list[int]:
    return [t.id for t in inbox(session, user, InboxFilter()).items]


@pytest.fixture
def started(sessions, org, runtime, frozen_clock):
    """task_assignment deployed and started by the G1 leader; returns the instance id."""
    with sessions() as session:
        assert runtime.deploy(session).problems == []
        lead = org.user(session, "lead_g1")
        outcome = runtime.host.start(session, "task_assignment", lead, org.units["G1"], dict(START))
        session.commit()
        return outcome.instance.id


def test_task_assignment_full_path_with_a_return_loop(sessions, org, runtime, started, frozen_clock):
    host = runtime.host
    instance_id = started
    with sessions() as session:
        staff, lead = org.user(session, "staff_g1"), org.user(session, "lead_g1")
        instance = session.get(ProcessInstance, instance_id)
        assert instance.status == "running" and instance.title == START["title"]
        items = inbox(session, staff, InboxFilter()).items
        assert [(t.element_id, t.instance_id) for t in items] == [("do_work", instance_id)]
        task = items[0]
        assert task.form == "task_assignment_report.json" and task.role == "staff"
        assert task.unit_id == org.units["G1"] and task.candidate_id == staff.id
        assert task.due_at.isoformat() == "2026-03-05T10:00:00+00:00"
        assert inbox_ids(session, lead) == []  # offered to the named assignee only
        host.claim(session, task.id, staff)
        session.commit()
        assert inbox(session, staff, InboxFilter(mine_only=True)).total == 1

    frozen_clock.advance(__import__("datetime").timedelta(hours=3))
    with sessions() as session:
        staff = org.user(session, "staff_g1")
        task = open_task(session, instance_id, "do_work")
        host.complete(session, task.id, staff, dict(REPORT))
        session.commit()

    with sessions() as session:
        lead = org.user(session, "lead_g1")
        review = open_task(session, instance_id, "review")
        assert review.candidate_id == lead.id and inbox_ids(session, lead) == [review.id]
        host.complete(session, review.id, lead, {"decision": "return", "review_comment": "Bổ sung số liệu quý I",
                                                  "new_deadline": "2026-03-10T17:00"})
        session.commit()

    with sessions() as session:
        staff = org.user(session, "staff_g1")
        again = open_task(session, instance_id, "do_work")
        assert again is not None and again.assignee_id is None and again.candidate_id == staff.id
        assert again.due_at.isoformat() == "2026-03-10T10:00:00+00:00"
        assert session.get(ProcessInstance, instance_id).next_due_at.isoformat() == "2026-03-09T10:00:00+00:00"
        host.complete(session, again.id, staff, {"progress_percent": 100, "result": "Đã bổ sung"})
        session.commit()

    with sessions() as session:
        lead = org.user(session, "lead_g1")
        review = open_task(session, instance_id, "review")
        host.complete(session, review.id, lead, {"decision": "accept", "review_comment": "Tốt"})
        session.commit()
        instance = session.get(ProcessInstance, instance_id)
        assert instance.status == "completed" and instance.next_due_at is None
        assert session.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.instance_id == instance_id, HumanTask.status == "open")) == 0
        history = instance_history(session, instance_id)
        actions = [(e.action, e.actor.username if e.actor else None) for e in history]
        assert actions == [("start", "lead_g1"), ("claim", "staff_g1"), ("complete", "staff_g1"),
                           ("complete", "lead_g1"), ("complete", "staff_g1"), ("complete", "lead_g1"),
                           ("end", None)]
        first_report = history[2].details
        assert first_report["element"] == "do_work" and first_report["data"]["progress_percent"] == 80
        assert first_report["change"]["result"] == {"old": None, "new": "Đã soạn xong dự thảo báo cáo"}
        assert first_report["data"]["steps"][0] == {"content": "Thu thập số liệu", "done_on": "2026-03-03",
                                                    "finished": True}
        second_report = history[4].details
        assert second_report["change"]["progress_percent"] == {"old": 80, "new": 100}
        assert history[0].details["data"]["deadline"] == "2026-03-05T17:00:00+07:00"
        completed = inbox(session, org.user(session, "staff_g1"), InboxFilter(status="completed"))
        assert completed.total == 2

    instance, workflow = reload_instance(sessions, instance_id)
    assert instance.status == "completed" and workflow.is_completed() and ready_names(workflow) == []
    end = workflow.get_tasks(spec_name="end_done")[0]
    assert end.data["round_no"] == 2 and end.data["decision"] == "accept"
    assert end.data["deadline_at"] == "2026-03-10T17:00:00+07:00" and end.data["result"] == "Đã bổ sung"


def test_invalid_form_data_writes_nothing(sessions, org, runtime, started):
    instance_id = started
    with sessions() as session:
        before = session.get(ProcessInstance, instance_id).state_json
        staff = org.user(session, "staff_g1")
        task = open_task(session, instance_id, "do_work")
        audit_rows = session.scalar(select(func.count()).select_from(AuditEntry))
        with pytest.raises(InvalidInput) as info:
            runtime.host.complete(session, task.id, staff, {"progress_percent": "nhiều", "result": "",
                                                             "steps": [{"done_on": "hôm qua"}]})
        errors = info.value.field_errors
        assert set(errors) == {"progress_percent", "result", "steps.0.content", "steps.0.done_on"}, errors
        assert errors["progress_percent"] == "Sai kiểu dữ liệu"
        with pytest.raises(InvalidInput) as info:
            runtime.host.complete(session, task.id, staff, {"progress_percent": 150, "result": "x"})
        assert info.value.field_errors == {"progress_percent": "Giá trị quá lớn"}
        session.commit()  # nothing was staged
    with sessions() as session:
        task = open_task(session, instance_id, "do_work")
        assert task is not None and task.completed_at is None and task.completed_by_id is None
        assert session.get(ProcessInstance, instance_id).state_json == before
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == audit_rows

    with sessions() as session:
        lead = org.user(session, "lead_g1")
        with pytest.raises(InvalidInput) as info:
            runtime.host.start(session, "task_assignment", lead, org.units["G1"],
                               {"title": "ab", "assignee": "staff_g1", "deadline": "ngày mai",
                                "remind_hours_before": "-1"})
        assert set(info.value.field_errors) == {"title", "deadline", "remind_hours_before"}
        session.commit()
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 1
    instance, workflow = reload_instance(sessions, instance_id)
    assert ready_names(workflow) == ["do_work"] and "progress_percent" not in workflow.get_tasks(
        spec_name="do_work")[0].data


def test_other_units_are_forbidden_and_unknown_ids_not_found(sessions, org, runtime, started):
    host, instance_id = runtime.host, started
    with sessions() as session:
        outsider, lead = org.user(session, "staff_g2"), org.user(session, "lead_g1")
        task = open_task(session, instance_id, "do_work")
        assert inbox_ids(session, outsider) == []
        with pytest.raises(Forbidden):
            host.task_for(session, outsider, task.id)
        with pytest.raises(Forbidden):
            host.complete(session, task.id, outsider, dict(REPORT))
        with pytest.raises(Forbidden):
            host.claim(session, task.id, outsider)
        with pytest.raises(Forbidden):
            host.instance_for(session, outsider, instance_id)
        with pytest.raises(Forbidden):
            host.cancel(session, instance_id, outsider)
        # the leader sees the task (same unit) but it is offered to the assignee, not to them
        assert host.task_for(session, lead, task.id).id == task.id
        with pytest.raises(Forbidden):
            host.complete(session, task.id, lead, dict(REPORT))
        with pytest.raises(NotFound):
            host.complete(session, 999999, lead, dict(REPORT))
        with pytest.raises(NotFound):
            host.claim(session, 999999, lead)
        with pytest.raises(NotFound):
            host.instance_for(session, lead, 999999)
        # starting at a unit where the user holds no role
        with pytest.raises(Forbidden):
            host.start(session, "task_assignment", outsider, org.units["G1"], dict(START))
        with pytest.raises(NotFound):
            host.start(session, "no_such_process", lead, org.units["G1"], {})
        session.commit()
    instance, workflow = reload_instance(sessions, instance_id)
    assert instance.status == "running" and ready_names(workflow) == ["do_work"]


def test_reassign_and_unclaim(sessions, org, runtime, started):
    host, instance_id = runtime.host, started
    with sessions() as session:
        lead, staff, staff2 = (org.user(session, u) for u in ("lead_g1", "staff_g1", "staff2_g1"))
        task = open_task(session, instance_id, "do_work")
        with pytest.raises(Forbidden):  # staff are not managers
            host.reassign(session, task.id, staff, "staff2_g1")
        with pytest.raises(InvalidInput) as info:
            host.reassign(session, task.id, lead, "staff_g2")  # another unit
        assert "username" in info.value.field_errors
        with pytest.raises(InvalidInput):
            host.reassign(session, task.id, lead, "khong_ton_tai")
        host.reassign(session, task.id, lead, "staff2_g1")
        session.commit()
        assert inbox_ids(session, staff2) == [task.id] and inbox_ids(session, staff) == []
        assert [n.message for n in unread(session, staff2.id)] == [f"Bạn được giao công việc: {task.name}"]
        with pytest.raises(Forbidden):
            host.complete(session, task.id, staff, dict(REPORT))
        with pytest.raises(Forbidden):  # only the holder may unclaim
            host.unclaim(session, task.id, staff)
        host.unclaim(session, task.id, staff2)
        session.commit()
        assert inbox_ids(session, staff2) == [] and inbox_ids(session, staff) == [task.id]
        host.claim(session, task.id, staff)
        host.comment(session, task.id, staff, "Đang làm")
        with pytest.raises(InvalidInput):
            host.comment(session, task.id, staff, "   ")
        session.commit()
        history = [(e.action, e.actor.username) for e in instance_history(session, instance_id)]
        assert history == [("start", "lead_g1"), ("reassign", "lead_g1"), ("unclaim", "staff2_g1"),
                           ("claim", "staff_g1"), ("comment", "staff_g1")]
        reassign = instance_history(session, instance_id)[1]
        assert reassign.details["change"] == {"assignee": {"old": None, "new": "staff2_g1"}}
    instance, workflow = reload_instance(sessions, instance_id)
    assert instance.status == "running" and ready_names(workflow) == ["do_work"]


def test_cancel(sessions, org, runtime, started):
    host, instance_id = runtime.host, started
    with sessions() as session:
        lead, staff = org.user(session, "lead_g1"), org.user(session, "staff_g1")
        task = open_task(session, instance_id, "do_work")
        with pytest.raises(Forbidden):  # staff neither started it nor manage the unit
            host.cancel(session, instance_id, staff)
        host.cancel(session, instance_id, lead, reason="Không còn cần thiết")
        session.commit()
        instance = session.get(ProcessInstance, instance_id)
        assert instance.status == "cancelled" and instance.next_due_at is None
        session.refresh(task)
        assert task.status == "cancelled" and task.completed_at is not None
        assert inbox_ids(session, staff) == []
        with pytest.raises(AlreadyCompleted):
            host.complete(session, task.id, staff, dict(REPORT))
        with pytest.raises(Conflict):
            host.cancel(session, instance_id, lead)
        entry = instance_history(session, instance_id)[-1]
        assert (entry.action, entry.actor.username, entry.details) == ("cancel", "lead_g1",
                                                                       {"reason": "Không còn cần thiết"})
    instance, workflow = reload_instance(sessions, instance_id)
    assert instance.status == "cancelled" and ready_names(workflow) == []


def test_script_error_then_retry_on_a_fixed_version(sessions, org, tmp_path, frozen_clock):
    processes = tmp_path / "processes"
    processes.mkdir()
    shutil.copy(GOOD_PROCESSES / "failing_script.bpmn", processes)
    runtime = make_runtime(processes, GOOD_FORMS)
    host = runtime.host
    with sessions() as session:
        runtime.deploy(session)
        lead = org.user(session, "lead_g1")
        outcome = host.start(session, "failing_script", lead, org.units["G1"], {"title": "Tính tỷ lệ"})
        session.commit()
        instance_id, v1_id = outcome.instance.id, outcome.instance.version_id
    with sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance.status == "error"
        assert instance.error_task == "Tính toán"
        assert instance.error_line == 2
        assert "division by zero" in instance.error_message
        assert session.scalar(select(func.count()).select_from(HumanTask)) == 0
        lead, staff = org.user(session, "lead_g1"), org.user(session, "staff_g1")
        with pytest.raises(Forbidden):
            host.retry(session, instance_id, staff)
    instance, workflow = reload_instance(sessions, instance_id)
    assert [t.task_spec.bpmn_id for t in workflow.get_tasks(state=__import__("SpiffWorkflow").TaskState.ERROR)] \
        == ["compute"]

    source = processes / "failing_script.bpmn"
    source.write_text(source.read_text(encoding="utf-8").replace("ratio = total / 0", "ratio = total / 4"),
                      encoding="utf-8")
    with sessions() as session:
        added = deploy(session, runtime.library.load())
        session.commit()
        assert len(added) == 1
        v2_id = added[0].id
        lead = org.user(session, "lead_g1")
        outcome = host.retry(session, instance_id, lead)
        session.commit()
        instance = outcome.instance
        assert instance.status == "running" and instance.version_id == v2_id != v1_id
        assert instance.error_message is None and instance.error_task is None and instance.error_line is None
        with pytest.raises(Conflict):
            host.retry(session, instance_id, lead)
        after = open_task(session, instance_id, "after")
        assert after is not None
        actions = [e.action for e in instance_history(session, instance_id)]
        assert actions == ["start", "error", "retry"]
    instance, workflow = reload_instance(sessions, instance_id)
    assert ready_names(workflow) == ["after"]
    assert workflow.get_tasks(spec_name="after")[0].data["ratio"] == 2.5

    with sessions() as session:
        lead = org.user(session, "lead_g1")
        host.complete(session, open_task(session, instance_id, "after").id, lead, {"approved": True})
        session.commit()
    instance, workflow = reload_instance(sessions, instance_id)
    assert instance.status == "completed" and workflow.is_completed()
    assert workflow.data["ratio"] == 2.5 and workflow.data["approved"] is True


def test_failed_script_sends_no_notifications(sessions, org, tmp_path, frozen_clock):
    from engine.models import Notification

    processes = tmp_path / "processes"
    processes.mkdir()
    source = (GOOD_PROCESSES / "failing_script.bpmn").read_text(encoding="utf-8")
    (processes / "failing_script.bpmn").write_text(
        source.replace("ratio = total / 0", 'notify("initiator", "sắp lỗi")\nratio = total / 0'), encoding="utf-8")
    runtime = make_runtime(processes, GOOD_FORMS)
    with sessions() as session:
        runtime.deploy(session)
        lead = org.user(session, "lead_g1")
        outcome = runtime.host.start(session, "failing_script", lead, org.units["G1"], {"title": "Tính tỷ lệ"})
        session.commit()
        assert outcome.instance.status == "error"
        assert session.scalar(select(func.count()).select_from(Notification)) == 0
    instance, workflow = reload_instance(sessions, outcome.instance.id)
    assert instance.status == "error"
