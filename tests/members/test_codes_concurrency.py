"""Member codes under concurrency: lists approved at the same moment never share a code (both databases)."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.membercodes import is_valid_member_code
from engine.members.approval import allocate_serials
from engine.members.models import Member
from engine.models import HumanTask, ProcessInstance, User
from engine.runtime import FORMS_DIR, PROCESSES_DIR, build_runtime
from tests.conftest import reload_instance
from tests.members.member_helpers import good_rows
from tests.members.test_registration import submission

THREADS = 8


def run_together(count: int, work) -> list[object]:
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except Exception as exc:  # noqa: BLE001 - asserted below
            results[index] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return results


def test_concurrent_serial_blocks_never_overlap(sessions):
    def take(index: int) -> list[int]:
        taken: list[int] = []
        for _ in range(10):
            with sessions() as session:
                taken += list(allocate_serials(session, 7 + index))
                session.commit()
        return taken

    results = run_together(THREADS, take)
    assert all(isinstance(r, list) for r in results), results
    every = [serial for r in results for serial in r]
    assert len(every) == len(set(every)) == sum(10 * (7 + i) for i in range(THREADS))
    assert sorted(every) == list(range(1, len(every) + 1))  # no gaps, nothing reused


@pytest.fixture
def rt(tmp_path: Path):
    return build_runtime(PROCESSES_DIR, FORMS_DIR, upload_dir=tmp_path / "uploads")


def test_two_lists_approved_at_the_same_moment_get_distinct_codes(sessions, org, rt, frozen_clock):
    rows = good_rows()
    plans = [("officer_g1", "G1", "reviewer_d1", rows[:3]), ("officer_g2", "G2", "reviewer_c2", rows[3:]),
             ("officer_g3", "G3", "reviewer_p2", [{**rows[0], "so_dinh_danh": "079090099999",
                                                 "ho_ten": "Đặng Thị Thuỷ"}])]
    review_tasks: list[tuple[int, int, int]] = []
    with sessions() as session:
        assert rt.deploy(session).problems == []
        session.commit()
    for officer, unit, reviewer, list_rows in plans:
        with sessions() as session:
            outcome = rt.host.start(session, "member_registration", org.user(session, officer), org.units[unit],
                                    submission(rt, list_rows))
            session.commit()
            task_id = session.scalar(select(HumanTask.id).where(HumanTask.instance_id == outcome.instance.id,
                                                                HumanTask.element_id == "review",
                                                                HumanTask.status == "open"))
            review_tasks.append((outcome.instance.id, task_id, org.users[reviewer]))

    def approve(index: int) -> str:
        instance_id, task_id, reviewer_id = review_tasks[index]
        with sessions() as session:
            rt.host.complete(session, task_id, session.get(User, reviewer_id), {"decision": "approve_all"})
            session.commit()
        return "ok"

    assert run_together(len(review_tasks), approve) == ["ok"] * len(review_tasks)
    with sessions() as session:
        codes = session.scalars(select(Member.member_code)).all()
        assert len(codes) == 6 and len(set(codes)) == 6 and all(is_valid_member_code(c) for c in codes)
        serials = sorted(session.scalars(select(Member.serial)))
        assert serials == list(range(1, 7))
        assert session.scalar(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.status == "completed")) == 3
    for instance_id, _, _ in review_tasks:
        _, workflow = reload_instance(sessions, instance_id)
        assert workflow.is_completed()
