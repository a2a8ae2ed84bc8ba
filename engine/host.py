"""The workflow host: start, step, complete, claim, reassign, cancel, retry — all persisted and audited.

The host receives its store (serializer + script engine) and forms as arguments; it holds no global
state and never imports Flask. Every public method takes the caller's Session and leaves committing
to the caller, so that one request or one timer run is one transaction.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine import audit, clock
from engine.accounts import in_scope, manages_unit, user_by_username, users_with_role
from engine.errors import AlreadyCompleted, Conflict, Forbidden, InvalidInput, NotFound, ScriptTimeout
from engine.forms import FormRegistry, json_default, validate
from engine.humantasks import eligible, sync
from engine.models import HumanTask, OrgUnit, ProcessInstance, ProcessVersion, User
from engine.orgtree import get_unit, resolve_role_unit
from engine.sandbox import current_effects
from engine.services import ServiceContext, ServiceRegistry, apart_writer, current_context
from engine.store import WorkflowStore

ACTIVE = ("running", "waiting", "error")
STUCK_TIMER_BACKOFF = timedelta(minutes=15)
TIMER_EVENTS = {"TimeDateEventDefinition", "DurationTimerEventDefinition", "CycleTimerEventDefinition"}


@dataclass
class Outcome:
    """What happened to an instance in one host call."""

    instance: ProcessInstance
    effects: list[dict[str, Any]] = field(default_factory=list)


class WorkflowHost:
    def __init__(self, store: WorkflowStore, forms: FormRegistry, services: ServiceRegistry | None = None,
                 upload_dir: Path | None = None) -> None:
        self.store = store
        self.forms = forms
        self.services = services or ServiceRegistry()
        self.upload_dir = Path(upload_dir) if upload_dir else Path("instance/uploads")

    def service_context(self, session: Session, instance: ProcessInstance, actor_id: int | None) -> ServiceContext:
        return ServiceContext(session, instance, self.upload_dir, actor_id, apart_writer(session))

    # ----- lookups (scoped) -----
    def current_version(self, session: Session, process_id: str) -> ProcessVersion:
        version = session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == process_id,
                                                              ProcessVersion.is_current.is_(True)))
        if version is None:
            raise NotFound("Không tìm thấy quy trình", process_id=process_id)
        return version

    def instance_for(self, session: Session, user: User, instance_id: int) -> ProcessInstance:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            raise NotFound("Không tìm thấy hồ sơ quy trình", instance_id=instance_id)
        if not (in_scope(session, user, instance.subject_unit_id) or instance.started_by_id == user.id
                or self._touches(session, user, instance)):
            raise Forbidden("Bạn không có quyền xem hồ sơ này")
        return instance

    def _touches(self, session: Session, user: User, instance: ProcessInstance) -> bool:
        rows = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)).all()
        return any(r.assignee_id == user.id or r.candidate_id == user.id or r.completed_by_id == user.id
                   or in_scope(session, user, r.unit_id) for r in rows)

    def task_for(self, session: Session, user: User, task_id: int) -> HumanTask:
        return self._task_for(session, user, task_id)[0]

    def _task_for(self, session: Session, user: User, task_id: int) -> tuple[HumanTask, bool]:
        """``task_for`` that also returns ``eligible(user, task)``, so callers need not ask twice."""
        task = session.get(HumanTask, task_id)
        if task is None:
            raise NotFound("Không tìm thấy công việc", task_id=task_id)
        is_eligible = eligible(session, user, task)
        if not (is_eligible or in_scope(session, user, task.unit_id) or task.completed_by_id == user.id):
            raise Forbidden("Bạn không có quyền xem công việc này")
        return task, is_eligible

    def startable(self, session: Session, user: User) -> list[tuple[ProcessVersion, list[OrgUnit]]]:
        """Current processes with the units at which this user may start each."""
        result = []
        for version in session.scalars(select(ProcessVersion).where(ProcessVersion.is_current.is_(True))
                                       .order_by(ProcessVersion.name)):
            units = [a.unit for a in user.roles if version.start_role in (None, a.role)]
            units = list({u.id: u for u in units}.values())
            if units or user.is_admin:
                result.append((version, units))
        return result

    # ----- start -----
    def start(self, session: Session, process_id: str, user: User, unit_id: int,
              data: dict[str, Any] | None = None) -> Outcome:
        version = self.current_version(session, process_id)
        unit = get_unit(session, unit_id)
        allowed = user.is_admin or any(a.unit_id == unit.id and version.start_role in (None, a.role)
                                       for a in user.roles)
        if not allowed:
            raise Forbidden("Bạn không có quyền khởi tạo quy trình này tại đơn vị đã chọn")
        clean = validate(self.forms.get(version.start_form), data or {}) if version.start_form else {}
        if version.start_form:
            self.services.check_form(version.start_form, ServiceContext(session, None, self.upload_dir, user.id),
                                     {"subject_unit_id": unit.id}, clean)
        now = clock.now()
        instance = ProcessInstance(version_id=version.id, process_id=version.process_id, subject_unit_id=unit.id,
                                   started_by_id=user.id, status="running", created_at=now, updated_at=now,
                                   title=str(clean.get("title") or version.name)[:300])
        session.add(instance)
        session.flush()
        workflow = self.store.new_workflow(version)
        context = {"initiator": user.username, "instance_id": instance.id, "subject_unit_code": unit.code,
                   "subject_unit_name": unit.name}
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(copy.deepcopy(clean))
            task.data.update(context)
        audit.record(session, "start", user.id, instance.id, "process", version.process_id,
                     version=version.content_hash[:12], data=clean)
        return self._advance(session, instance, workflow, new=True, actor_id=user.id)

    # ----- complete / draft -----
    def complete(self, session: Session, task_id: int, user: User, data: dict[str, Any]) -> Outcome:
        task, is_eligible = self._task_for(session, user, task_id)
        if task.status != "open":
            raise self._already(session, task)
        if not is_eligible:
            raise Forbidden("Công việc này đang giao cho người khác")
        clean = validate(self.forms.get(task.form), data) if task.form else {}
        now = clock.now()
        won = session.execute(update(HumanTask).where(HumanTask.id == task.id, HumanTask.status == "open")
                              .values(status="completed", completed_at=now, completed_by_id=user.id,
                                      assignee_id=user.id, draft_json=None)
                              .execution_options(synchronize_session=False)).rowcount
        if won != 1:
            session.expire(task)
            raise self._already(session, task)
        # Read what is needed before expiring, so that the row is not selected again.
        row_id, name, element_id, instance_id, task_uuid, form = (task.id, task.name, task.element_id,
                                                                  task.instance_id, task.task_uuid, task.form)
        session.expire(task)
        instance = session.get(ProcessInstance, instance_id)
        workflow = self._load(instance)
        spiff_task = self._ready_task_by_uuid(workflow, task_uuid)
        if spiff_task is None:
            raise Conflict("Công việc không còn ở trạng thái chờ xử lý")
        # A shallow copy is enough: update() below rebinds top-level keys, it never mutates their values.
        before = dict(spiff_task.data)
        self.services.check_form(form, self.service_context(session, instance, user.id),
                                 spiff_task.data, clean)
        spiff_task.data.update(clean)
        audit.record(session, "complete", user.id, instance.id, "task", row_id, task=name,
                     element=element_id, data=clean, change=audit.data_change(before, spiff_task.data))
        return self._advance(session, instance, workflow, first=spiff_task.run, actor_id=user.id)

    def save_draft(self, session: Session, task_id: int, user: User, data: dict[str, Any]) -> HumanTask:
        task = self.task_for(session, user, task_id)
        if task.status != "open" or not eligible(session, user, task):
            raise Forbidden("Không thể lưu nháp công việc này")
        task.draft_json = json.dumps(data, default=json_default, ensure_ascii=False)
        audit.record(session, "draft", user.id, task.instance_id, "task", task.id)
        return task

    def _already(self, session: Session, task: HumanTask) -> AlreadyCompleted:
        session.refresh(task)
        by = task.completed_by.full_name if task.completed_by else None
        return AlreadyCompleted(task.name, by, task.completed_at)

    @staticmethod
    def _ready_task(workflow: BpmnWorkflow, task: HumanTask) -> Any:
        return WorkflowHost._ready_task_by_uuid(workflow, task.task_uuid)

    @staticmethod
    def _ready_task_by_uuid(workflow: BpmnWorkflow, task_uuid: str) -> Any:
        spiff_task = workflow.get_task_from_id(UUID(task_uuid))
        return spiff_task if spiff_task is not None and spiff_task.state == TaskState.READY else None

    # ----- claim / reassign / comment -----
    def claim(self, session: Session, task_id: int, user: User) -> HumanTask:
        task = self.task_for(session, user, task_id)
        if task.status != "open":
            raise self._already(session, task)
        if not eligible(session, user, task):
            raise Forbidden("Bạn không thể nhận công việc này")
        won = session.execute(update(HumanTask).where(HumanTask.id == task.id, HumanTask.status == "open",
                                                      HumanTask.assignee_id.is_(None))
                              .values(assignee_id=user.id).execution_options(synchronize_session=False)).rowcount
        session.refresh(task)
        if won != 1 and task.assignee_id != user.id:
            raise Conflict("Công việc đã được người khác nhận")
        audit.record(session, "claim", user.id, task.instance_id, "task", task.id, task=task.name)
        return task

    def unclaim(self, session: Session, task_id: int, user: User) -> HumanTask:
        task = self.task_for(session, user, task_id)
        if task.status != "open" or task.assignee_id != user.id:
            raise Forbidden("Bạn không giữ công việc này")
        task.assignee_id = None
        audit.record(session, "unclaim", user.id, task.instance_id, "task", task.id, task=task.name)
        return task

    def reassign(self, session: Session, task_id: int, manager: User, username: str) -> HumanTask:
        task = self.task_for(session, manager, task_id)
        if task.status != "open":
            raise self._already(session, task)
        if not manages_unit(session, manager, task.unit_id):
            raise Forbidden("Chỉ lãnh đạo/quản lý của đơn vị được giao lại công việc")
        target = user_by_username(session, username)
        if target is None or not target.active:
            raise InvalidInput("Không tìm thấy người nhận", field_errors={"username": "Không tìm thấy người dùng"})
        if not in_scope(session, target, task.unit_id):
            raise InvalidInput("Người nhận không thuộc đơn vị của công việc",
                               field_errors={"username": "Người nhận không thuộc đơn vị"})
        old = task.assignee.username if task.assignee else None
        task.assignee_id = target.id
        audit.record(session, "reassign", manager.id, task.instance_id, "task", task.id, task=task.name,
                     change={"assignee": {"old": old, "new": target.username}})
        audit.notify(session, target.id, f"Bạn được giao công việc: {task.name}", task.instance_id, "task")
        return task

    def comment(self, session: Session, task_id: int, user: User, body: str) -> None:
        from engine.models import TaskComment

        task = self.task_for(session, user, task_id)
        body = body.strip()
        if not body:
            raise InvalidInput("Nội dung bình luận trống", field_errors={"body": "Bắt buộc"})
        session.add(TaskComment(human_task_id=task.id, user_id=user.id, body=body, created_at=clock.now()))
        audit.record(session, "comment", user.id, task.instance_id, "task", task.id, body=body)

    # ----- cancel / retry -----
    def cancel(self, session: Session, instance_id: int, user: User, reason: str = "") -> Outcome:
        instance = self.instance_for(session, user, instance_id)
        if instance.status not in ACTIVE:
            raise Conflict("Hồ sơ đã kết thúc")
        if not (user.is_admin or instance.started_by_id == user.id
                or manages_unit(session, user, instance.subject_unit_id)):
            raise Forbidden("Bạn không có quyền hủy hồ sơ này")
        workflow = self._load(instance)
        workflow.cancel()
        instance.status = "cancelled"
        audit.record(session, "cancel", user.id, instance.id, "instance", instance.id, reason=reason)
        return self._save(session, instance, workflow, [])

    def retry(self, session: Session, instance_id: int, user: User) -> Outcome:
        """Run the failed step again, on the newest deployed version of the process if there is one."""
        instance = self.instance_for(session, user, instance_id)
        if instance.status != "error":
            raise Conflict("Hồ sơ không ở trạng thái lỗi")
        if not (user.is_admin or manages_unit(session, user, instance.subject_unit_id)):
            raise Forbidden("Bạn không có quyền chạy lại hồ sơ này")
        newest = self.current_version(session, instance.process_id)
        workflow = self._load(instance, newest)
        instance.version_id = newest.id
        for failed in workflow.get_tasks(state=TaskState.ERROR):
            failed._set_state(TaskState.READY)
        instance.status, instance.error_message, instance.error_task, instance.error_line = "running", None, None, None
        audit.record(session, "retry", user.id, instance.id, "instance", instance.id, version=newest.content_hash[:12])
        return self._advance(session, instance, workflow, actor_id=user.id)

    # ----- timers -----
    def fire_timers(self, session: Session, instance: ProcessInstance) -> Outcome:
        workflow = self._load(instance)
        due = instance.next_due_at
        waiting = [(e.name, e.value) for e in workflow.waiting_events() if e.event_type in TIMER_EVENTS]
        outcome = self._advance(session, instance, workflow, first=workflow.refresh_timers)
        still = [(e.name, e.value) for e in workflow.waiting_events() if e.event_type in TIMER_EVENTS]
        fired = [name or "timer" for name, value in waiting if (name, value) not in still]
        if fired:
            audit.record(session, "timer", None, instance.id, "instance", instance.id, fired=fired, due=due)
        elif instance.next_due_at is not None and instance.next_due_at <= clock.now():
            # A due time that does not fire (e.g. an unparseable value) must not be picked up on every tick.
            instance.next_due_at = clock.now() + STUCK_TIMER_BACKOFF
            audit.record(session, "timer_stuck", None, instance.id, "instance", instance.id, due=due,
                         retry_at=instance.next_due_at)
        return outcome

    # ----- internals -----
    def _load(self, instance: ProcessInstance, version: ProcessVersion | None = None) -> BpmnWorkflow:
        try:
            if version is None:  # the instance's own version: skip loading its row when its specs are cached
                workflow = self.store.load_cached(instance.version_id, instance.state_json)
                if workflow is not None:
                    return workflow
            return self.store.load(version or instance.version, instance.state_json)
        except (KeyError, ValueError, SpiffWorkflowException) as exc:
            raise Conflict(f"Không thể nạp trạng thái hồ sơ trên phiên bản quy trình này: {exc}") from exc

    def _run(self, session: Session, instance: ProcessInstance, step: Any) -> bool:
        """Run a step; a failing script puts the instance into the error state instead of raising."""
        try:
            step()
            return True
        except (WorkflowException, SpiffWorkflowException, ScriptTimeout) as exc:
            self._fail(session, instance, exc)
            return False

    def _fail(self, session: Session, instance: ProcessInstance, exc: Exception) -> None:
        task = getattr(exc, "task", None)
        instance.status = "error"
        instance.error_message = str(exc).split("\n")[0][:2000]
        instance.error_task = (task.task_spec.bpmn_name or task.task_spec.bpmn_id) if task else None
        instance.error_line = getattr(exc, "line_number", None) or None
        audit.record(session, "error", None, instance.id, "instance", instance.id, message=instance.error_message,
                     task=instance.error_task, line=instance.error_line)

    def _advance(self, session: Session, instance: ProcessInstance, workflow: BpmnWorkflow,
                 first: Any = None, new: bool = False, actor_id: int | None = None) -> Outcome:
        """Run an optional first step (complete a task, refresh timers), then the engine steps."""
        collected: list[dict[str, Any]] = []
        mark = [0]  # effects before this index belong to steps that finished

        def before_step(_task: Any) -> None:
            mark[0] = len(collected)

        token = current_effects.set(collected)
        service_token = current_context.set(self.service_context(session, instance, actor_id))
        try:
            if first is None or self._run(session, instance, first):
                mark[0] = len(collected)
                if not self._run(session, instance, lambda: workflow.do_engine_steps(will_complete_task=before_step)):
                    del collected[mark[0]:]  # a failed script's notifications are not sent
            else:
                del collected[:]
        finally:
            current_effects.reset(token)
            current_context.reset(service_token)
        return self._save(session, instance, workflow, collected, new=new)

    def _save(self, session: Session, instance: ProcessInstance, workflow: BpmnWorkflow,
              effects: list[dict[str, Any]], new: bool = False) -> Outcome:
        now = clock.now()
        if instance.status not in ("error", "cancelled"):
            instance.status = "completed" if workflow.is_completed() else (
                "running" if workflow.get_tasks(state=TaskState.READY, manual=True) else "waiting")
            if instance.status == "completed":
                audit.record(session, "end", None, instance.id, "instance", instance.id)
        instance.next_due_at = next_due(workflow) if instance.status in ("running", "waiting") else None
        instance.state_json = self.store.dump(workflow)
        instance.updated_at = now
        if instance.status in ("running", "waiting"):
            sync(session, instance, workflow, open_rows=[] if new else None)  # a new instance has no rows yet
        else:
            session.execute(update(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status == "open")
                            .values(status="cancelled", completed_at=now).execution_options(
                                synchronize_session=False))
        self._apply_effects(session, instance, workflow, effects)
        try:
            session.flush()
        except StaleDataError as exc:
            raise Conflict("Hồ sơ vừa được người khác cập nhật, vui lòng thử lại") from exc
        return Outcome(instance, effects)

    def _apply_effects(self, session: Session, instance: ProcessInstance, workflow: BpmnWorkflow,
                       effects: list[dict[str, Any]]) -> None:
        for effect in effects:
            if effect["kind"] != "notify":
                continue
            for user in self._targets(session, instance, effect["target"]):
                audit.notify(session, user.id, effect["message"], instance.id, "process")
            audit.record(session, "notify", None, instance.id, "instance", instance.id, target=effect["target"],
                         message=effect["message"])

    def _targets(self, session: Session, instance: ProcessInstance, target: str) -> list[User]:
        if target == "initiator":
            return [instance.started_by] if instance.started_by else []
        if target.startswith("role:"):
            # role:NAME, role:NAME+LEVELS (escalation), role:NAME@UNIT_CODE (another unit, e.g. a transfer's receiver)
            spec, _, code = target[5:].partition("@")
            role, _, up = spec.partition("+")
            subject = instance.subject_unit
            if code:
                other = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
                if other is None:
                    return []
                subject = other
            unit = resolve_role_unit(session, role, subject, int(up or 0))
            return users_with_role(session, role, unit.id) if unit else []
        user = user_by_username(session, target)
        return [user] if user else []


def next_due(workflow: BpmnWorkflow) -> datetime | None:
    """The earliest due time among the workflow's waiting timers."""
    times = []
    for event in workflow.waiting_events():
        if event.event_type not in TIMER_EVENTS or not event.value:
            continue
        value = event.value
        try:
            when = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            when = None
        if when is not None:
            times.append(when if when.tzinfo else when.replace(tzinfo=clock.VN_TZ))
    return min(times) if times else None
