"""The restricted script environment: escapes refused, time limit, helpers."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
from SpiffWorkflow import TaskState

from engine import sandbox
from engine.errors import ScriptTimeout
from engine.models import AuditEntry, ProcessInstance
from engine.sandbox import RestrictedEnvironment, compile_expression, compile_script, current_effects, notify
from tests.conftest import reload_instance


@pytest.fixture
def env() -> RestrictedEnvironment:
    return RestrictedEnvironment(time_limit_s=0.3)


ESCAPES = [
    "x = ().__class__.__base__.__subclasses__()",
    "x = [].__class__",
    "x = (lambda: 0).__globals__",
    "_secret = 1",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_underscore_access_refused_at_compile_time(env, source):
    with pytest.raises(SyntaxError):
        compile_script(source)
    context: dict = {}
    with pytest.raises(SyntaxError):
        env.execute(source, context)
    assert "x" not in context


def test_subclasses_walk_refused_in_expressions(env):
    with pytest.raises(SyntaxError):
        compile_expression("().__class__.__base__.__subclasses__()")
    with pytest.raises(SyntaxError):
        env.evaluate("().__class__.__base__.__subclasses__()", {})


@pytest.mark.parametrize("source, error", [
    ("import os", ImportError),
    ("from os import path", ImportError),
    ("data = open('/etc/passwd').read()", NameError),
    ("x = getattr((), '__class__')", NameError),
    ("x = eval('1')", SyntaxError),
    ("x = exec('y = 1')", SyntaxError),
    ("x = __import__('os')", (SyntaxError, NameError)),
])
def test_imports_and_dangerous_builtins_refused(env, source, error):
    context: dict = {}
    with pytest.raises(error):
        env.execute(source, context)
    assert "data" not in context and "x" not in context


def test_augmented_assignment_to_items_is_refused(env):
    with pytest.raises(SyntaxError):
        env.execute("d = {'a': 1}\nd['a'] += 1", {})
    context: dict = {}
    env.execute("n = 1\nn += 2", context)
    assert context["n"] == 3


def test_infinite_loop_is_stopped_by_the_time_limit(env):
    started = time.monotonic()
    with pytest.raises(ScriptTimeout):
        env.execute("x = 0\nwhile True:\n    x = x + 1", {})
    assert time.monotonic() - started < 2.0
    with pytest.raises(ScriptTimeout):
        env.evaluate("sum(1 for a in range(999) for b in range(999) for c in range(999))", {})
    with pytest.raises(ValueError):  # RestrictedPython caps range() at 1000 elements
        env.evaluate("len(range(10**12))", {})


def test_trace_function_is_restored_after_a_script(env):
    import sys

    before = sys.gettrace()
    env.execute("y = 1", {})
    assert sys.gettrace() is before


def test_allowed_helpers_work(env, frozen_clock):
    context = {"deadline": "2026-03-05T17:00", "items": [3, 1, 2]}
    env.execute(
        "deadline_at = to_datetime(deadline).isoformat()\n"
        "remind = (to_datetime(deadline) - timedelta(hours=24)).isoformat()\n"
        "due = add_working_days(to_datetime(deadline), 2).isoformat()\n"
        "born = parse_date('05/03/2026').isoformat()\n"
        "iso_born = parse_date('2026-03-05') == date(2026, 3, 5)\n"
        "total = sum(items)\n"
        "biggest = max(items)\n"
        "count = len(list(filter(lambda v: v > 1, items)))\n"
        "at = now().isoformat()\n"
        "labels = dict(a=1)\n",
        context,
    )
    assert context["deadline_at"] == "2026-03-05T17:00:00+07:00"
    assert context["remind"] == "2026-03-04T17:00:00+07:00"
    assert context["due"] == "2026-03-09T17:00:00+07:00"  # Thu 5 → Fri 6, (weekend), Mon 9
    assert context["born"] == "2026-03-05" and context["iso_born"] is True
    assert (context["total"], context["biggest"], context["count"]) == (6, 3, 2)
    assert context["at"] == frozen_clock.now().isoformat()
    assert context["labels"] == {"a": 1}
    # helpers and guards never leak into task data
    for name in list(sandbox.HELPERS) + list(sandbox.GUARDS):
        assert name not in context
    assert env.evaluate("now() == frozen", {"frozen": datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)}) is True


def test_notify_collects_effects_only_while_running():
    with pytest.raises(RuntimeError):
        notify("initiator", "x")
    collected: list = []
    token = current_effects.set(collected)
    try:
        RestrictedEnvironment().execute("notify('role:leader+1', 'Báo cáo')", {})
    finally:
        current_effects.reset(token)
    assert collected == [{"kind": "notify", "target": "role:leader+1", "message": "Báo cáo"}]


def test_escape_in_a_bpmn_script_puts_the_instance_in_error(sessions, org, fixture_runtime, frozen_clock):
    with sessions() as session:
        assert not fixture_runtime.deploy(session).problems
        lead = org.user(session, "lead_g1")
        outcome = fixture_runtime.host.start(session, "escape_attempt", lead, org.units["G1"], {})
        session.commit()
        instance_id = outcome.instance.id
    with sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance.status == "error"
        assert "__import__" in instance.error_message
        assert instance.error_task == "Thoát sandbox"
        errors = session.query(AuditEntry).filter_by(instance_id=instance_id, action="error").all()
        assert len(errors) == 1 and errors[0].details["task"] == "Thoát sandbox"
    instance, workflow = reload_instance(sessions, instance_id)
    failed = workflow.get_tasks(state=TaskState.ERROR)
    assert [t.task_spec.bpmn_id for t in failed] == ["escape"]
    assert "escaped" not in failed[0].data
    assert not workflow.is_completed()
