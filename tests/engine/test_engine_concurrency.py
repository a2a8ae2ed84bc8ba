"""Twenty people complete the same task at once: exactly one wins, the others are told who did it."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from engine.errors import AlreadyCompleted
from engine.models import AuditEntry, HumanTask, ProcessInstance, User
from tests.conftest import ready_names, reload_instance

THREADS = 20
REPORT = {"progress_percent": 100, "result": "Hoàn thành"}


def test_twenty_concurrent_completions_one_winner(sessions, org, runtime, frozen_clock):
    host = runtime.host
    with sessions() as session:
        runtime.deploy(session)
        lead = org.user(session, "lead_g1")
        outcome = host.start(session, "task_assignment", lead, org.units["G1"],
                             {"title": "Báo cáo quý", "assignee": "staff_g1", "deadline": "2026-03-05T17:00",
                              "remind_hours_before": 24})
        session.commit()
        instance_id = outcome.instance.id
        task_id = session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id))
    staff_id = org.users["staff_g1"]

    barrier = threading.Barrier(THREADS)
    results: list[object] = [None] * THREADS

    def worker(index: int) -> None:
        with sessions() as session:
            staff = session.get(User, staff_id)
            barrier.wait(timeout=30)
            try:
                host.complete(session, task_id, staff, dict(REPORT, result=f"Hoàn thành #{index}"))
                session.commit()
                results[index] = "won"
            except AlreadyCompleted as exc:
                session.rollback()
                results[index] = exc
            except Exception as exc:  # noqa: BLE001 - reported below
                session.rollback()
                results[index] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)

    winners = [i for i, r in enumerate(results) if r == "won"]
    losers = [r for r in results if isinstance(r, AlreadyCompleted)]
    others = [r for r in results if r != "won" and not isinstance(r, AlreadyCompleted)]
    assert others == [], others
    assert len(winners) == 1 and len(losers) == THREADS - 1
    for exc in losers:
        assert exc.by == "Trần Thị Thu" and exc.at is not None and exc.code == "conflict"
        assert exc.task_name == "Thực hiện và báo cáo kết quả"

    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.instance_id == instance_id, AuditEntry.action == "complete")) == 1
        reviews = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                          HumanTask.element_id == "review")).all()
        assert len(reviews) == 1 and reviews[0].status == "open"
        task = session.get(HumanTask, task_id)
        assert task.status == "completed" and task.completed_by_id == staff_id
        assert session.get(ProcessInstance, instance_id).status == "running"

    instance, workflow = reload_instance(sessions, instance_id)
    assert ready_names(workflow) == ["review"]
    review = workflow.get_tasks(spec_name="review")[0]
    assert review.data["result"] == f"Hoàn thành #{winners[0]}"
    assert len(workflow.get_tasks(spec_name="review")) == 1
