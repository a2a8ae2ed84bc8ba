"""Timers: reminders and escalations fire once each; several worker processes never fire a timer twice."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.audit import instance_history
from engine.host import TIMER_EVENTS, next_due
from engine.models import AuditEntry, HumanTask, Notification, ProcessInstance
from engine.timers import fire_due, lease_due
from tests.conftest import FROZEN_AT, ROOT, ready_names, reload_instance

START = {"title": "Báo cáo tình hình đoàn viên", "assignee": "staff_g1", "deadline": "2026-03-05T17:00",
         "remind_hours_before": 24}
REMIND_AT = datetime(2026, 3, 4, 10, 0, tzinfo=timezone.utc)    # 17:00 on 4 March in Vietnam
DEADLINE = datetime(2026, 3, 5, 10, 0, tzinfo=timezone.utc)     # 17:00 on 5 March in Vietnam


def _start(sessions, org, runtime) -> int:
    with sessions() as session:
        runtime.deploy(session)
        outcome = runtime.host.start(session, "task_assignment", org.user(session, "lead_g1"), org.units["G1"],
                                     dict(START))
        session.commit()
        return outcome.instance.id


def _notes(session, username_id: int) -> list[str]:
    return [n.message for n in session.scalars(select(Notification).where(Notification.user_id == username_id)
                                               .order_by(Notification.id))]


def test_reminder_then_escalation_each_exactly_once(sessions, org, runtime, frozen_clock):
    instance_id = _start(sessions, org, runtime)
    host = runtime.host
    staff_id, lead_id = org.users["staff_g1"], org.users["lead_g1"]
    with sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance.next_due_at == REMIND_AT  # the earliest of the two waiting timers
        workflow = host.store.load(instance.version, instance.state_json)
        assert next_due(workflow) == REMIND_AT
    assert fire_due(sessions, host, "w1") == 0

    frozen_clock.set(REMIND_AT - timedelta(seconds=1))
    assert fire_due(sessions, host, "w1") == 0
    frozen_clock.set(REMIND_AT + timedelta(minutes=1))
    assert fire_due(sessions, host, "w1") == 1
    assert fire_due(sessions, host, "w1") == 0
    assert fire_due(sessions, host, "w2") == 0
    with sessions() as session:
        assert _notes(session, staff_id) == [
            'Nhắc việc: "Báo cáo tình hình đoàn viên" sắp đến hạn (2026-03-05 17:00)']
        assert _notes(session, lead_id) == []
        instance = session.get(ProcessInstance, instance_id)
        assert instance.next_due_at == DEADLINE and instance.status == "running"
        assert instance.lease_owner is None and instance.lease_until is None

    frozen_clock.set(DEADLINE + timedelta(minutes=1))
    assert fire_due(sessions, host, "w2") == 1
    for _ in range(3):
        assert fire_due(sessions, host, "w1") == 0
    with sessions() as session:
        assert _notes(session, lead_id) == [
            'Quá hạn: "Báo cáo tình hình đoàn viên" giao cho staff_g1 chưa có kết quả']
        assert _notes(session, staff_id)[1:] == [
            'Công việc "Báo cáo tình hình đoàn viên" đã quá hạn và được báo lên lãnh đạo']
        instance = session.get(ProcessInstance, instance_id)
        assert instance.next_due_at is None and instance.status == "running"
        timers = [e for e in instance_history(session, instance_id) if e.action == "timer"]
        assert [e.details["fired"] for e in timers] == [["Trước hạn"], ["Quá hạn"]]
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.instance_id == instance_id, AuditEntry.action == "notify")) == 3
        open_tasks = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                             HumanTask.status == "open")).all()
        assert [t.element_id for t in open_tasks] == ["do_work"]  # non-interrupting: still to do

    instance, workflow = reload_instance(sessions, instance_id)
    assert ready_names(workflow) == ["do_work"]
    assert workflow.get_tasks(spec_name="escalate")[0].data["overdue"] is True
    assert [e for e in workflow.waiting_events() if e.event_type in TIMER_EVENTS] == []


def test_both_timers_due_in_one_run_and_completion_clears_them(sessions, org, runtime, frozen_clock):
    instance_id = _start(sessions, org, runtime)
    frozen_clock.set(DEADLINE + timedelta(days=1))
    assert fire_due(sessions, runtime.host, "w1") == 1
    assert fire_due(sessions, runtime.host, "w1") == 0
    with sessions() as session:
        assert len(_notes(session, org.users["staff_g1"])) == 2
        assert len(_notes(session, org.users["lead_g1"])) == 1
        timer = [e for e in instance_history(session, instance_id) if e.action == "timer"]
        assert len(timer) == 1 and sorted(timer[0].details["fired"]) == ["Quá hạn", "Trước hạn"]

    # a second instance completed before its reminder: its timers are gone
    frozen_clock.set(datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc))
    with sessions() as session:
        outcome = runtime.host.start(session, "task_assignment", org.user(session, "lead_g1"), org.units["G1"],
                                     dict(START))
        session.commit()
        other_id = outcome.instance.id
        task = session.scalar(select(HumanTask).where(HumanTask.instance_id == other_id))
        runtime.host.complete(session, task.id, org.user(session, "staff_g1"),
                              {"progress_percent": 100, "result": "Xong sớm"})
        session.commit()
        assert session.get(ProcessInstance, other_id).next_due_at is None
    frozen_clock.set(DEADLINE + timedelta(days=2))
    assert fire_due(sessions, runtime.host, "w1") == 0
    instance, workflow = reload_instance(sessions, other_id)
    assert instance.status == "running" and ready_names(workflow) == ["review"]


def test_lease_is_exclusive(sessions, org, runtime, frozen_clock):
    instance_id = _start(sessions, org, runtime)
    frozen_clock.set(REMIND_AT + timedelta(minutes=1))
    with sessions() as session:
        assert lease_due(session, "a") == [instance_id]
        session.commit()
    with sessions() as session:
        assert lease_due(session, "b") == []
        session.commit()
    assert fire_due(sessions, runtime.host, "b") == 0  # leased by "a"
    frozen_clock.advance(timedelta(minutes=10))  # a's lease expired (5 minutes): b takes over
    assert fire_due(sessions, runtime.host, "b") == 1
    instance, workflow = reload_instance(sessions, instance_id)
    assert instance.lease_owner is None and ready_names(workflow) == ["do_work"]


def test_cycle_timer_reminds_a_fixed_number_of_times(sessions, org, fixture_runtime, frozen_clock):
    """timeCycle "R3/PT24H" on a non-interrupting boundary: three reminders, one per day, then none."""
    host = fixture_runtime.host
    with sessions() as session:
        fixture_runtime.deploy(session)
        lead = org.user(session, "lead_g1")
        outcome = host.start(session, "cycle_reminder", lead, org.units["G1"], {"title": "Đơn xin nghỉ"})
        instance_id = outcome.instance.id
        session.commit()
        assert session.get(ProcessInstance, instance_id).next_due_at == FROZEN_AT + timedelta(hours=24)
    fired = []
    for _day in range(5):
        frozen_clock.advance(timedelta(hours=24, minutes=1))
        fired.append(fire_due(sessions, host, "w1"))
        assert fire_due(sessions, host, "w2") == 0
    assert fired == [1, 1, 1, 0, 0]
    with sessions() as session:
        assert _notes(session, org.users["lead_g1"]) == ["Nhắc: Đơn xin nghỉ đang chờ phê duyệt"] * 3
        assert session.get(ProcessInstance, instance_id).next_due_at is None
    instance, workflow = reload_instance(sessions, instance_id)
    assert instance.status == "running" and ready_names(workflow) == ["approve"]


def test_naive_timer_date_means_vietnam_time(sessions, org, tmp_path, frozen_clock):
    """A timeDate without an offset is Vietnam time for the timer itself and for next_due_at alike;
    otherwise a worker would lease the instance every tick without anything firing."""
    from tests.conftest import GOOD_FORMS, GOOD_PROCESSES, make_runtime

    processes = tmp_path / "processes"
    processes.mkdir()
    text = (GOOD_PROCESSES / "quick_timer.bpmn").read_text(encoding="utf-8")
    text = text.replace('<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT2S"</bpmn:timeDuration>',
                        '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">"2026-03-05T17:00"</bpmn:timeDate>')
    (processes / "quick_timer.bpmn").write_text(text, encoding="utf-8")
    runtime = make_runtime(processes, GOOD_FORMS)
    with sessions() as session:
        runtime.deploy(session)
        outcome = runtime.host.start(session, "quick_timer", org.user(session, "lead_g1"), org.units["G1"])
        session.commit()
        instance_id = outcome.instance.id
        assert outcome.instance.next_due_at == DEADLINE  # 17:00 in Vietnam
    frozen_clock.set(DEADLINE - timedelta(minutes=1))
    assert fire_due(sessions, runtime.host, "w1") == 0
    frozen_clock.set(DEADLINE + timedelta(minutes=1))
    assert fire_due(sessions, runtime.host, "w1") == 1
    assert fire_due(sessions, runtime.host, "w1") == 0
    with sessions() as session:
        timers = [e.details["fired"] for e in instance_history(session, instance_id) if e.action == "timer"]
        assert timers == [["Chờ 2 giây"]]
    instance, workflow = reload_instance(sessions, instance_id)
    assert instance.status == "completed" and workflow.is_completed()


INSTANCES = 200


@pytest.mark.slow
def test_two_worker_processes_fire_every_timer_exactly_once(sessions, db_url, org, fixture_runtime):
    host = fixture_runtime.host
    with sessions() as session:
        fixture_runtime.deploy(session)
        lead = org.user(session, "lead_g1")
        ids = []
        for index in range(INSTANCES):
            ids.append(host.start(session, "quick_timer", lead, org.units["G1"]).instance.id)
            if index % 50 == 49:
                session.commit()
        session.commit()
        waiting = session.scalar(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.status == "waiting", ProcessInstance.next_due_at.is_not(None)))
        assert waiting == INSTANCES

    script = Path(__file__).with_name("timer_worker.py")
    workers = [subprocess.Popen([sys.executable, str(script), db_url, f"worker-{n}", "90"], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in (1, 2)]
    outputs = []
    for proc in workers:
        out, err = proc.communicate(timeout=150)
        assert proc.returncode == 0, err[-3000:]
        outputs.append(int(out.strip().splitlines()[-1]))
    print("fired per worker:", outputs)
    assert sum(outputs) == INSTANCES, outputs

    with sessions() as session:
        counts = dict(session.execute(select(AuditEntry.instance_id, func.count()).where(
            AuditEntry.action == "timer").group_by(AuditEntry.instance_id)).all())
        assert set(counts) == set(ids) and set(counts.values()) == {1}
        statuses = dict(session.execute(select(ProcessInstance.status, func.count())
                                        .group_by(ProcessInstance.status)).all())
        assert statuses == {"completed": INSTANCES}
        ends = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "end"))
        assert ends == INSTANCES
    instance, workflow = reload_instance(sessions, ids[-1])
    assert instance.status == "completed" and workflow.is_completed() and ready_names(workflow) == []
