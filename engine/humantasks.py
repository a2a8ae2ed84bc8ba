"""Human tasks: kept in their own table, synced from the workflow after each step, queried by inboxes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy import func, or_, select, tuple_, union
from sqlalchemy.orm import Session, joinedload

from engine import clock
from engine.accounts import role_pairs, user_by_username
from engine.durations import add_working_days, parse_working_days
from engine.forms import FORM_PROPERTY
from engine.models import HumanTask, OrgUnit, ProcessInstance, User
from engine.orgtree import current, resolve_role_unit
from engine.roles import ROLES


def ready_user_tasks(workflow: BpmnWorkflow) -> list[Any]:
    return workflow.get_tasks(state=TaskState.READY, manual=True)


def _properties(task: Any) -> dict[str, str]:
    return getattr(task.task_spec, "extensions", {}).get("properties", {}) or {}


def _due(workflow: BpmnWorkflow, task: Any, expression: str | None) -> datetime | None:
    if not expression:
        return None
    value = workflow.script_engine.evaluate(task, expression)
    if isinstance(value, str):
        days = parse_working_days(value)
        if days is not None:
            return add_working_days(clock.now(), days)
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=clock.VN_TZ)
    return None


def _subject_unit(session: Session, workflow: BpmnWorkflow, task: Any, expression: str | None) -> OrgUnit | None:
    """The unit a lane's role is resolved from: the ``unit`` property (an expression giving a unit code,
    e.g. the receiving union of a transfer) or, when absent, the instance's subject unit."""
    if not expression:
        return None
    code = workflow.script_engine.evaluate(task, expression)
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == str(code))) if code else None
    return current(session, unit) if unit is not None else None


def sync(session: Session, instance: ProcessInstance, workflow: BpmnWorkflow,
         open_rows: list[HumanTask] | None = None) -> list[HumanTask]:
    """Close rows whose task is gone (e.g. interrupted by a boundary event) and add rows for new ones.

    ``open_rows``: the instance's open rows when the caller already knows them (``[]`` for an instance
    created in this transaction), to skip the query."""
    now = clock.now()
    ready = {str(t.id): t for t in ready_user_tasks(workflow)}
    if open_rows is None:
        open_rows = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                            HumanTask.status == "open")).all()
    for row in open_rows:
        if row.task_uuid not in ready:
            row.status = "cancelled"
            row.completed_at = now
    known = {row.task_uuid for row in open_rows}
    created = []
    for uuid, task in ready.items():
        if uuid in known:
            continue
        props = _properties(task)
        role = task.task_spec.lane
        subject = _subject_unit(session, workflow, task, props.get("unit")) or instance.subject_unit
        unit = _role_unit(session, role, subject) if role else subject
        candidate = None
        if props.get("assignee"):
            username = workflow.script_engine.evaluate(task, props["assignee"])
            candidate = user_by_username(session, str(username)) if username else None
        row = HumanTask(instance_id=instance.id, task_uuid=uuid, element_id=task.task_spec.bpmn_id,
                        name=task.task_spec.bpmn_name or task.task_spec.bpmn_id, form=props.get(FORM_PROPERTY),
                        role=role, unit_id=unit.id if unit else None,
                        candidate_id=candidate.id if candidate else None,
                        due_at=_due(workflow, task, props.get("dueDate")), status="open", created_at=now)
        session.add(row)
        created.append(row)
    session.flush()
    return created


def _role_unit(session: Session, role: str, subject: OrgUnit) -> OrgUnit | None:
    """``resolve_role_unit`` without walking (and loading) every ancestor for roles held at the subject
    unit itself, which only need the subject unit followed through merges."""
    spec = ROLES.get(role)
    if spec is not None and spec.resolve == "self":
        return current(session, subject)
    return resolve_role_unit(session, role, subject)


def eligible(session: Session, user: User, task: HumanTask) -> bool:
    """May this user work on the task (claim or complete it)?"""
    if task.assignee_id is not None:
        return task.assignee_id == user.id
    if task.candidate_id is not None:
        return task.candidate_id == user.id
    pairs = role_pairs(session, user)  # one query, not one per test below
    return any(r == task.role and u == task.unit_id for r, u in pairs) or (
        task.role is None and any(u == task.unit_id for _, u in pairs))


@dataclass
class InboxFilter:
    mine_only: bool = False
    overdue_only: bool = False
    process_id: str | None = None
    text: str | None = None
    status: str = "open"
    page: int = 1
    per_page: int = 25

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> "InboxFilter":
        def flag(name: str) -> bool:
            return str(params.get(name, "")).lower() in ("1", "true", "on", "yes")
        try:
            page = max(1, int(params.get("page", 1)))
        except (TypeError, ValueError):
            page = 1
        status = params.get("status") if params.get("status") in ("open", "completed") else "open"
        return cls(mine_only=flag("mine"), overdue_only=flag("overdue"), process_id=params.get("process") or None,
                   text=(params.get("q") or "").strip() or None, status=status, page=page)

    def to_params(self) -> dict[str, Any]:
        return {"mine": int(self.mine_only), "overdue": int(self.overdue_only), "process": self.process_id or "",
                "q": self.text or "", "status": self.status}


T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    """One page of a paged list (inbox, admin lists)."""

    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, (self.total + self.per_page - 1) // self.per_page)


def inbox(session: Session, user: User, flt: InboxFilter) -> Page:
    """Tasks for the user: assigned to them, offered to them, or open to a role they hold at a unit."""
    pairs = role_pairs(session, user)
    units = {u for _, u in pairs}
    if flt.status == "completed":
        who = HumanTask.completed_by_id == user.id
    elif flt.mine_only:
        who = HumanTask.assignee_id == user.id
    else:
        # assigned OR offered as candidate OR open to a (role, unit) the user holds. Written as a UNION of
        # ids so that each branch uses its own index (one OR over all of them made SQLite scan every
        # unassigned open task: ~500 ms at 100k tasks instead of ~1 ms).
        status = HumanTask.status == flt.status
        branches = [
            select(HumanTask.id).where(status, HumanTask.assignee_id == user.id),
            select(HumanTask.id).where(status, HumanTask.assignee_id.is_(None), HumanTask.candidate_id == user.id),
        ]
        if pairs:
            branches.append(select(HumanTask.id).where(
                status, HumanTask.assignee_id.is_(None), HumanTask.candidate_id.is_(None),
                HumanTask.unit_id.in_(units),
                or_(tuple_(HumanTask.role, HumanTask.unit_id).in_(pairs), HumanTask.role.is_(None))))
        who = HumanTask.id.in_(union(*branches))
    query = select(HumanTask).where(HumanTask.status == flt.status, who)
    if flt.overdue_only:
        query = query.where(HumanTask.due_at < clock.now())
    if flt.process_id:
        query = query.join(ProcessInstance).where(ProcessInstance.process_id == flt.process_id)
    if flt.text:
        query = query.where(HumanTask.name.ilike(f"%{flt.text}%"))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = (HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id) if flt.status == "open" else (
        HumanTask.completed_at.desc(),)
    items = session.scalars(query.options(joinedload(HumanTask.instance), joinedload(HumanTask.unit),
                                          joinedload(HumanTask.assignee))
                            .order_by(*order).limit(flt.per_page).offset((flt.page - 1) * flt.per_page)).all()
    return Page(list(items), total, flt.page, flt.per_page)


def unit_name(session: Session, unit_id: int | None) -> str:
    unit = session.get(OrgUnit, unit_id) if unit_id else None
    return unit.name if unit else ""
