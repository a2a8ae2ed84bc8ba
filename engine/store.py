"""Workflow persistence: specs stored once per content hash, instance state stored without the spec."""
from __future__ import annotations

import json
import threading
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.library import LoadResult
from engine.models import ProcessVersion


class StateConverter(BpmnWorkflowConverter):
    """Serializes the top workflow's state only; the spec comes from the version cache on restore."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:  # pragma: no cover - use restore_state
        raise TypeError("restore instance state with WorkflowStore.restore")

    def restore_state(self, dct: dict[str, Any], spec: Any, subprocess_specs: dict[str, Any]) -> BpmnWorkflow:
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class WorkflowStore:
    """Turns versions and instance state into workflows and back, caching restored specs per version."""

    def __init__(self, script_engine: PythonScriptEngine) -> None:
        registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
        self.state_converter = StateConverter(BpmnWorkflow, registry)
        self.serializer = BpmnWorkflowSerializer(registry)
        self.script_engine = script_engine
        self._specs: dict[int, tuple[Any, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def specs(self, version: ProcessVersion) -> tuple[Any, dict[str, Any]]:
        cached = self._specs.get(version.id)
        if cached is None:
            data = json.loads(version.spec_json)
            cached = (self.serializer.from_dict(data["spec"]),
                      {k: self.serializer.from_dict(v) for k, v in data["subprocess_specs"].items()})
            with self._lock:
                self._specs[version.id] = cached
        return cached

    def new_workflow(self, version: ProcessVersion) -> BpmnWorkflow:
        spec, subs = self.specs(version)
        return BpmnWorkflow(spec, subs, script_engine=self.script_engine)

    def dump(self, workflow: BpmnWorkflow) -> str:
        return json.dumps(self.state_converter.to_dict(workflow), separators=(",", ":"))

    def load(self, version: ProcessVersion, state_json: str) -> BpmnWorkflow:
        spec, subs = self.specs(version)
        return self._restore(spec, subs, state_json)

    def load_cached(self, version_id: int, state_json: str) -> BpmnWorkflow | None:
        """Like ``load`` when the version's specs are already cached, without needing the version row
        (saves loading process_versions with its spec_json/bpmn_xml per request); None when not cached."""
        cached = self._specs.get(version_id)
        return None if cached is None else self._restore(cached[0], cached[1], state_json)

    def _restore(self, spec: Any, subs: dict[str, Any], state_json: str) -> BpmnWorkflow:
        workflow = self.state_converter.restore_state(json.loads(state_json), spec, subs)
        workflow.script_engine = self.script_engine
        return workflow


def deploy(session: Session, result: LoadResult) -> list[ProcessVersion]:
    """Store each definition once per content hash and mark it current; returns the new versions."""
    added = []
    for definition in result.definitions.values():
        version = session.scalar(select(ProcessVersion).where(
            ProcessVersion.content_hash == definition.content_hash))
        if version is None:
            version = ProcessVersion(
                process_id=definition.process_id, content_hash=definition.content_hash, name=definition.name,
                source_path=definition.source_path, spec_json=definition.spec_json(),
                bpmn_xml=definition.bpmn_xml, start_form=definition.start_form, start_role=definition.start_role)
            session.add(version)
            session.flush()
            added.append(version)
        session.execute(update(ProcessVersion).where(ProcessVersion.process_id == definition.process_id,
                                                     ProcessVersion.id != version.id).values(is_current=False))
        version.is_current = True
    return added
