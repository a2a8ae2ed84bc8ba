"""Read models for the web pages: inbox, task page, instance page, start page, saved filters, notifications.

Each page gets one function returning a small dataclass, so that web handlers make one engine call.
Nothing here imports Flask; every function takes the caller's Session and leaves committing to it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow import TaskState
from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.accounts import manages_unit
from engine.errors import InvalidInput, NotFound
from engine.forms import Form
from engine.host import ACTIVE, WorkflowHost
from engine.humantasks import InboxFilter, Page, eligible, inbox
from engine.models import (AuditEntry, HumanTask, Notification, OrgUnit, ProcessInstance, ProcessVersion,
                           SavedFilter, TaskComment, User)

FILTER_KEYS = ("mine", "overdue", "process", "q", "status")


# ----------------------------------------------------------------------------------------- inbox
@dataclass
class InboxPage:
    page: Page
    filter: InboxFilter
    saved: list[SavedFilter]
    notifications: list[Notification]
    processes: list[tuple[str, str]]
    now: Any


def inbox_page(session: Session, user: User, flt: InboxFilter) -> InboxPage:
    processes = session.execute(select(ProcessVersion.process_id, ProcessVersion.name)
                                .where(ProcessVersion.is_current.is_(True))
                                .order_by(ProcessVersion.name)).all()
    return InboxPage(page=inbox(session, user, flt), filter=flt, saved=saved_filters(session, user),
                     notifications=audit.unread(session, user.id),
                     processes=[(p, n) for p, n in processes], now=clock.now())


def saved_filters(session: Session, user: User) -> list[SavedFilter]:
    return list(session.scalars(select(SavedFilter).where(SavedFilter.user_id == user.id)
                                .order_by(SavedFilter.name)))


def clean_filter_params(params: dict[str, Any]) -> dict[str, Any]:
    """Only the inbox filter keys, normalised through InboxFilter (no page number)."""
    return InboxFilter.from_params(params).to_params()


def save_filter(session: Session, user: User, name: str, params: dict[str, Any]) -> SavedFilter:
    """Create or replace the user's saved filter with this name."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Tên bộ lọc trống", field_errors={"name": "Trường này là bắt buộc"})
    if len(name) > 100:
        raise InvalidInput("Tên bộ lọc quá dài", field_errors={"name": "Quá dài"})
    clean = clean_filter_params(params)
    existing = session.scalar(select(SavedFilter).where(SavedFilter.user_id == user.id, SavedFilter.name == name))
    if existing is None:
        existing = SavedFilter(user_id=user.id, name=name, params=clean)
        session.add(existing)
    else:
        existing.params = clean
    session.flush()
    return existing


def get_filter(session: Session, user: User, filter_id: int) -> SavedFilter:
    saved = session.get(SavedFilter, filter_id)
    if saved is None or saved.user_id != user.id:
        raise NotFound("Không tìm thấy bộ lọc", filter_id=filter_id)
    return saved


def delete_filter(session: Session, user: User, filter_id: int) -> None:
    session.delete(get_filter(session, user, filter_id))
    session.flush()


def mark_read(session: Session, user: User, notification_id: int | None = None) -> int:
    """Mark one (or, with None, all) of the user's unread notifications read; returns how many."""
    query = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    return session.execute(query.values(read_at=clock.now()).execution_options(synchronize_session=False)).rowcount


# ----------------------------------------------------------------------------------------- task page
@dataclass
class TaskPage:
    task: HumanTask
    form: Form | None
    values: dict[str, Any]
    comments: list[TaskComment]
    can_work: bool
    can_claim: bool
    can_unclaim: bool
    can_reassign: bool
    now: Any = None


def comments(session: Session, task_id: int) -> list[TaskComment]:
    return list(session.scalars(select(TaskComment).where(TaskComment.human_task_id == task_id)
                                .order_by(TaskComment.created_at, TaskComment.id)))


def task_page(session: Session, host: WorkflowHost, user: User, task_id: int) -> TaskPage:
    """The task (scoped by host.task_for), its form, draft values and comments, and what the user may do."""
    task = host.task_for(session, user, task_id)
    form = host.forms.get(task.form) if task.form else None
    values: dict[str, Any] = {}
    if task.draft_json:
        try:
            values = json.loads(task.draft_json)
        except ValueError:
            values = {}
    is_open = task.status == "open"
    may = is_open and eligible(session, user, task)
    return TaskPage(task=task, form=form, values=values, comments=comments(session, task.id),
                    can_work=may, can_claim=may and task.assignee_id is None,
                    can_unclaim=is_open and task.assignee_id == user.id,
                    can_reassign=is_open and manages_unit(session, user, task.unit_id), now=clock.now())


# ----------------------------------------------------------------------------------------- instance page
@dataclass
class DiagramMarks:
    xml: str
    done: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"xml": self.xml, "done": self.done, "current": self.current, "failed": self.failed}


def _load(host: WorkflowHost, instance: ProcessInstance) -> Any:
    try:
        return host.store.load(instance.version, instance.state_json)
    except (KeyError, ValueError, SpiffWorkflowException):
        return None


def marks_of(host: WorkflowHost, instance: ProcessInstance, workflow: Any = None) -> DiagramMarks:
    """Element ids by state: COMPLETED → done, READY/WAITING/STARTED → current, ERROR → failed."""
    workflow = workflow if workflow is not None else _load(host, instance)
    done: set[str] = set()
    current: set[str] = set()
    failed: set[str] = set()
    if workflow is not None:
        for task in workflow.get_tasks():
            bpmn_id = getattr(task.task_spec, "bpmn_id", None)
            if not bpmn_id:
                continue
            if task.state == TaskState.COMPLETED:
                done.add(bpmn_id)
            elif task.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED):
                current.add(bpmn_id)
            elif task.state == TaskState.ERROR:
                failed.add(bpmn_id)
    current -= failed
    done -= current | failed
    return DiagramMarks(instance.version.bpmn_xml, sorted(done), sorted(current), sorted(failed))


def diagram_marks(session: Session, host: WorkflowHost, user: User, instance_id: int) -> DiagramMarks:
    return marks_of(host, host.instance_for(session, user, instance_id))


@dataclass
class InstancePage:
    instance: ProcessInstance
    history: list[AuditEntry]
    data: dict[str, Any]
    open_tasks: list[HumanTask]
    can_cancel: bool
    can_retry: bool
    files: list[tuple[str, str]] = field(default_factory=list)


def _current_data(workflow: Any) -> dict[str, Any]:
    if workflow is None:
        return {}
    tasks = workflow.get_tasks(state=TaskState.READY | TaskState.ERROR | TaskState.STARTED)
    if not tasks:
        finished = [t for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.last_state_change]
        tasks = sorted(finished, key=lambda t: t.last_state_change)[-1:]
    data: dict[str, Any] = dict(workflow.data or {})
    for task in tasks:
        data.update(task.data)
    return json.loads(json.dumps(data, default=str))


def instance_page(session: Session, host: WorkflowHost, user: User, instance_id: int) -> InstancePage:
    instance = host.instance_for(session, user, instance_id)
    workflow = _load(host, instance)
    open_tasks = list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                              HumanTask.status == "open")
                                      .order_by(HumanTask.id)))
    manager = manages_unit(session, user, instance.subject_unit_id)
    data = _current_data(workflow)
    from engine import uploads

    files = {}
    for ref in uploads.references(data):
        upload_id, name = uploads.parse_reference(ref)
        files[upload_id] = name
    return InstancePage(
        instance=instance, history=audit.instance_history(session, instance.id), data=data,
        open_tasks=open_tasks, files=sorted(files.items(), key=lambda item: item[1]),
        can_cancel=instance.status in ACTIVE and (user.is_admin or instance.started_by_id == user.id or manager),
        can_retry=instance.status == "error" and (user.is_admin or manager))


# ----------------------------------------------------------------------------------------- start page
@dataclass
class StartOption:
    version: ProcessVersion
    units: list[OrgUnit]
    form: Form | None


def start_options(session: Session, host: WorkflowHost, user: User) -> list[StartOption]:
    options = []
    for version, units in host.startable(session, user):
        if not units and user.is_admin:
            units = list(session.scalars(select(OrgUnit).where(OrgUnit.valid_to.is_(None))
                                         .order_by(OrgUnit.code).limit(200)))
        form = host.forms.get(version.start_form) if version.start_form else None
        options.append(StartOption(version, units, form))
    return options


def instance_file(session: Session, host: WorkflowHost, user: User, instance_id: int, upload_dir: str,
                  upload_id: str) -> "Any":
    """An uploaded file referenced by this instance's data or history (scoped by host.instance_for)."""
    from engine import uploads

    instance = host.instance_for(session, user, instance_id)
    refs = list(uploads.references(_current_data(_load(host, instance))))
    for entry in audit.instance_history(session, instance.id):
        refs.extend(uploads.references(entry.details or {}))
    return uploads.find(upload_dir, upload_id, refs)
