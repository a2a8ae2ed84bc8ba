"""Process versions: stored once per content hash; running instances keep their version."""
from __future__ import annotations

import json
import shutil

from sqlalchemy import func, select

from engine.store import deploy
from engine.models import ProcessInstance, ProcessVersion
from tests.conftest import GOOD_FORMS, GOOD_PROCESSES, make_runtime, ready_names, reload_instance


def _count_versions(session) -> int:
    return session.scalar(select(func.count()).select_from(ProcessVersion))


def _approve(runtime, session, org, instance_id):
    from engine.models import HumanTask

    lead = org.user(session, "lead_g1")
    task = session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.status == "open"))
    return runtime.host.complete(session, task.id, lead, {"approved": "on", "comment": "Đồng ý"})


def test_versions_are_stored_once_and_instances_stay_on_theirs(sessions, org, tmp_path, frozen_clock):
    processes = tmp_path / "processes"
    processes.mkdir()
    shutil.copy(GOOD_PROCESSES / "simple_approval.bpmn", processes)
    runtime = make_runtime(processes, GOOD_FORMS)

    with sessions() as session:
        assert runtime.deploy(session).problems == []
        session.commit()
        assert _count_versions(session) == 1
        v1 = runtime.host.current_version(session, "simple_approval")
        lead = org.user(session, "lead_g1")
        old = runtime.host.start(session, "simple_approval", lead, org.units["G1"], {"title": "Hồ sơ cũ"}).instance
        session.commit()
        old_id, v1_id = old.id, v1.id

    # redeploying identical content adds nothing
    with sessions() as session:
        assert deploy(session, runtime.library.load()) == []
        session.commit()
        assert _count_versions(session) == 1

    # change the BPMN and deploy v2
    source = processes / "simple_approval.bpmn"
    source.write_text(source.read_text(encoding="utf-8").replace('version_tag = "v1"', 'version_tag = "v2"'),
                      encoding="utf-8")
    with sessions() as session:
        added = deploy(session, runtime.library.load())
        session.commit()
        assert [v.process_id for v in added] == ["simple_approval"]
        assert _count_versions(session) == 2
        v2 = runtime.host.current_version(session, "simple_approval")
        assert v2.id != v1_id and v2.content_hash != session.get(ProcessVersion, v1_id).content_hash
        assert session.get(ProcessVersion, v1_id).is_current is False
        v2_id = v2.id
        # and again: identical content, nothing added
        assert deploy(session, runtime.library.load()) == []
        session.commit()
        assert _count_versions(session) == 2

    with sessions() as session:
        lead = org.user(session, "lead_g1")
        new = runtime.host.start(session, "simple_approval", lead, org.units["G1"], {"title": "Hồ sơ mới"}).instance
        session.commit()
        new_id = new.id
        assert new.version_id == v2_id
        assert session.get(ProcessInstance, old_id).version_id == v1_id

    for instance_id in (old_id, new_id):
        with sessions() as session:
            _approve(runtime, session, org, instance_id)
            session.commit()

    old, old_wf = reload_instance(sessions, old_id)
    new, new_wf = reload_instance(sessions, new_id)
    assert (old.status, old.version_id, old_wf.data.get("version_tag")) == ("completed", v1_id, "v1")
    assert (new.status, new.version_id, new_wf.data.get("version_tag")) == ("completed", v2_id, "v2")
    assert old_wf.is_completed() and new_wf.is_completed()
    assert ready_names(old_wf) == [] and old_wf.data["title"] == "Hồ sơ cũ"

    # instance state never contains the spec
    for instance in (old, new):
        state = json.loads(instance.state_json)
        assert "spec" not in state and "subprocess_specs" not in state
        assert "task_specs" not in instance.state_json and "bpmn_xml" not in instance.state_json


def test_waiting_instance_round_trip_keeps_ready_tasks_and_data(sessions, org, fixture_runtime, frozen_clock):
    with sessions() as session:
        fixture_runtime.deploy(session)
        lead = org.user(session, "lead_g1")
        outcome = fixture_runtime.host.start(session, "simple_approval", lead, org.units["G1"],
                                             {"title": "Đề xuất mua sắm", "amount": "1200000"})
        session.commit()
        instance_id = outcome.instance.id
    instance, workflow = reload_instance(sessions, instance_id)
    assert instance.status == "running"
    assert ready_names(workflow) == ["approve"]
    task = workflow.get_tasks(spec_name="approve")[0]
    assert task.data["title"] == "Đề xuất mua sắm" and task.data["amount"] == 1200000
    assert task.data["initiator"] == "lead_g1" and task.data["subject_unit_code"] == "G1"
    # the state stays small: no spec inside
    assert len(instance.state_json) < 20000
