"""Read models and audited commands behind the REST API and the admin pages.

web/api.py and web/admin.py stay thin: each handler makes one call into this module (or into the host),
commits and renders. The queries here are typed and paged; the commands validate everything first and
raise ``InvalidInput`` with one Vietnamese message per field before anything is written, then change
the data and append an audit entry. Nothing here imports Flask; nothing here commits.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from engine import accounts, audit, orgtree
from engine.errors import InvalidInput, NotFound
from engine.forms import FormRegistry
from engine.host import Outcome, WorkflowHost
from engine.humantasks import InboxFilter, inbox
from engine.humantasks import Page as Paged
from engine.models import HumanTask, OrgUnit, OrgUnitEvent, ProcessInstance, ProcessVersion, RoleAssignment, User
from engine.roles import ROLES, UNIT_KINDS

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# ===================================================================================== paging
def _page(session: Session, query: Any, page: int, per_page: int) -> Paged[Any]:
    page = max(1, page)
    per_page = max(1, min(per_page, 200))
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    items = list(session.scalars(query.limit(per_page).offset((page - 1) * per_page)).unique())
    return Paged(items, total, page, per_page)


def _like(text: str) -> str:
    escaped = text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# ===================================================================================== API read models
@dataclass
class StartableProcess:
    version: ProcessVersion
    units: list[OrgUnit]
    start_form_schema: dict[str, Any] | None


@dataclass
class InstanceView:
    instance: ProcessInstance
    open_tasks: list[HumanTask]

    def __getattr__(self, name: str) -> Any:  # the serializer reads the instance's attributes through the view
        if name == "instance":
            raise AttributeError(name)
        return getattr(self.instance, name)


@dataclass
class TaskView:
    task: HumanTask
    form_schema: dict[str, Any] | None
    draft: dict[str, Any] | None

    def __getattr__(self, name: str) -> Any:  # the serializer reads the task's attributes through the view
        if name == "task":
            raise AttributeError(name)
        return getattr(self.task, name)


@dataclass
class CompletionView:
    task: HumanTask
    instance: InstanceView


def startable_processes(session: Session, host: WorkflowHost, user: User) -> list[StartableProcess]:
    """What the user may start, where, with the start form's JSON Schema."""
    result = []
    for version, units in host.startable(session, user):
        schema = host.forms.get(version.start_form).schema if version.start_form else None
        result.append(StartableProcess(version, sorted(units, key=lambda u: u.code), schema))
    return result


def open_tasks(session: Session, instance_id: int) -> list[HumanTask]:
    return list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                        HumanTask.status == "open")
                                .options(joinedload(HumanTask.unit), joinedload(HumanTask.assignee),
                                         joinedload(HumanTask.candidate))
                                .order_by(HumanTask.id)))


def _instance_view(session: Session, instance: ProcessInstance) -> InstanceView:
    return InstanceView(instance, open_tasks(session, instance.id))


def instance_view(session: Session, host: WorkflowHost, user: User, instance_id: int) -> InstanceView:
    return _instance_view(session, host.instance_for(session, user, instance_id))


def start_instance(session: Session, host: WorkflowHost, user: User, process_id: str, unit_id: int,
                   data: dict[str, Any]) -> InstanceView:
    outcome: Outcome = host.start(session, process_id, user, unit_id, data)
    return _instance_view(session, outcome.instance)


def cancel_instance(session: Session, host: WorkflowHost, user: User, instance_id: int,
                    reason: str = "") -> InstanceView:
    return _instance_view(session, host.cancel(session, instance_id, user, reason).instance)


def retry_instance(session: Session, host: WorkflowHost, user: User, instance_id: int) -> InstanceView:
    return _instance_view(session, host.retry(session, instance_id, user).instance)


def task_inbox(session: Session, user: User, flt: InboxFilter) -> Paged[HumanTask]:
    page = inbox(session, user, flt)
    return page


def task_view(session: Session, host: WorkflowHost, user: User, task_id: int) -> TaskView:
    task = host.task_for(session, user, task_id)
    return TaskView(task, _form_schema(host.forms, task.form), _draft(task))


def complete_task(session: Session, host: WorkflowHost, user: User, task_id: int,
                  data: dict[str, Any]) -> CompletionView:
    outcome = host.complete(session, task_id, user, data)
    task = session.get(HumanTask, task_id)
    session.refresh(task)
    return CompletionView(task, _instance_view(session, outcome.instance))


def _form_schema(forms: FormRegistry, name: str | None) -> dict[str, Any] | None:
    return forms.get(name).schema if name else None


def _draft(task: HumanTask) -> dict[str, Any] | None:
    if not task.draft_json:
        return None
    try:
        value = json.loads(task.draft_json)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# ===================================================================================== admin: units
@dataclass
class UnitListing:
    """The units page: either the children of ``parent`` (tree view) or a search result."""

    page: Paged[OrgUnit]
    parent: OrgUnit | None
    trail: list[OrgUnit]  # ancestors of ``parent``, from the top
    child_counts: dict[int, int]
    query: str | None


@dataclass
class UnitDetail:
    unit: OrgUnit
    trail: list[OrgUnit]
    children: list[OrgUnit]
    history: list[OrgUnitEvent]
    holders: list[RoleAssignment]
    merged_into: OrgUnit | None
    actors: dict[int, str] = field(default_factory=dict)


def list_units(session: Session, query: str | None = None, parent_id: int | None = None, page: int = 1,
               per_page: int = 50, include_closed: bool = True) -> UnitListing:
    """Search by code or name (anywhere in the tree), or list the children of a unit (roots if none)."""
    stmt = select(OrgUnit)
    parent = None
    text = (query or "").strip() or None
    if text:
        pattern = _like(orgtree.nfc(text))
        stmt = stmt.where(or_(OrgUnit.code.ilike(pattern, escape="\\"), OrgUnit.name.ilike(pattern, escape="\\")))
    else:
        if parent_id is not None:
            parent = orgtree.get_unit(session, parent_id)
            stmt = stmt.where(OrgUnit.parent_id == parent.id)
        else:
            stmt = stmt.where(OrgUnit.parent_id.is_(None))
    if not include_closed:
        stmt = stmt.where(OrgUnit.valid_to.is_(None))
    paged = _page(session, stmt.order_by(OrgUnit.code), page, per_page)
    ids = [u.id for u in paged.items]
    counts = dict(session.execute(select(OrgUnit.parent_id, func.count()).where(OrgUnit.parent_id.in_(ids))
                                  .group_by(OrgUnit.parent_id)).all()) if ids else {}
    trail = list(reversed(_raw_ancestors(session, parent))) + [parent] if parent else []
    return UnitListing(paged, parent, trail, counts, text)


def _raw_ancestors(session: Session, unit: OrgUnit) -> list[OrgUnit]:
    """Parents as stored (no merge following), nearest first."""
    chain: list[OrgUnit] = []
    node = unit
    for _ in range(50):
        if node.parent_id is None:
            break
        node = orgtree.get_unit(session, node.parent_id)
        chain.append(node)
    return chain


def unit_detail(session: Session, unit_id: int) -> UnitDetail:
    unit = orgtree.get_unit(session, unit_id)
    children = list(session.scalars(select(OrgUnit).where(OrgUnit.parent_id == unit.id).order_by(OrgUnit.code)))
    holders = list(session.scalars(select(RoleAssignment).where(RoleAssignment.unit_id == unit.id)
                                   .options(joinedload(RoleAssignment.user))
                                   .join(User).order_by(RoleAssignment.role, User.username)))
    events = orgtree.history(session, unit)
    actor_ids = {e.actor_id for e in events if e.actor_id}
    actors = dict(session.execute(select(User.id, User.full_name).where(User.id.in_(actor_ids))).all()) \
        if actor_ids else {}
    merged = session.get(OrgUnit, unit.merged_into_id) if unit.merged_into_id else None
    return UnitDetail(unit, list(reversed(_raw_ancestors(session, unit))), children, events, holders, merged,
                      actors)


def parse_date(value: str | date | None, name: str = "effective") -> date | None:
    """An ISO date (yyyy-mm-dd) or dd/mm/yyyy; empty means today (None)."""
    if value is None or isinstance(value, date):
        return value
    text = value.strip()
    if not text:
        return None
    try:
        if "/" in text:
            day, month, year = (int(p) for p in text.split("/"))
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("Ngày hiệu lực không hợp lệ",
                           field_errors={name: "Ngày không hợp lệ"}) from None


def _unit_field(session: Session, code: str | None, name: str, errors: dict[str, str],
                required: bool = True) -> OrgUnit | None:
    code = (code or "").strip()
    if not code:
        if required:
            errors[name] = "Trường này là bắt buộc"
        return None
    unit = orgtree.unit_by_code(session, code)
    if unit is None:
        errors[name] = "Không tìm thấy đơn vị có mã này"
    elif not unit.active:
        errors[name] = "Đơn vị này đã ngừng hoạt động"
    return unit


def _raise(errors: dict[str, str], message: str) -> None:
    if errors:
        raise InvalidInput(message, field_errors=errors)


def create_unit(session: Session, actor: User, code: str, name: str, kind: str, parent_code: str | None,
                effective: str | date | None = None) -> OrgUnit:
    errors: dict[str, str] = {}
    code = (code or "").strip()
    if not code:
        errors["code"] = "Trường này là bắt buộc"
    elif len(code) > 64 or not re.fullmatch(r"[0-9A-Za-z._-]+", code):
        errors["code"] = "Mã chỉ gồm chữ, số, dấu chấm, gạch ngang (tối đa 64 ký tự)"
    elif orgtree.unit_by_code(session, code) is not None:
        errors["code"] = "Mã định danh đã tồn tại"
    name = orgtree.nfc(name or "")
    if not name:
        errors["name"] = "Trường này là bắt buộc"
    elif len(name) > 255:
        errors["name"] = "Tên quá dài (tối đa 255 ký tự)"
    if kind not in UNIT_KINDS:
        errors["kind"] = "Loại đơn vị không hợp lệ"
    parent = _unit_field(session, parent_code, "parent_code", errors, required=False)
    try:
        when = parse_date(effective)
    except InvalidInput as exc:
        errors.update(exc.field_errors)
        when = None
    _raise(errors, "Thông tin đơn vị không hợp lệ")
    unit = orgtree.create_unit(session, code, name, kind, parent, when, actor.id)
    audit.record(session, "unit_create", actor.id, entity="unit", entity_id=unit.id, code=unit.code,
                 name=unit.name, kind=kind, parent=parent.code if parent else None, effective=when)
    return unit


def _active_unit(session: Session, unit_id: int) -> OrgUnit:
    unit = orgtree.get_unit(session, unit_id)
    if not unit.active:
        raise InvalidInput("Đơn vị đã ngừng hoạt động", field_errors={"_form": "Đơn vị đã ngừng hoạt động"})
    return unit


def rename_unit(session: Session, actor: User, unit_id: int, new_name: str,
                effective: str | date | None = None) -> OrgUnit:
    unit = _active_unit(session, unit_id)
    errors: dict[str, str] = {}
    name = orgtree.nfc(new_name or "")
    if not name:
        errors["name"] = "Trường này là bắt buộc"
    elif len(name) > 255:
        errors["name"] = "Tên quá dài (tối đa 255 ký tự)"
    elif name == unit.name:
        errors["name"] = "Tên mới trùng tên hiện tại"
    try:
        when = parse_date(effective)
    except InvalidInput as exc:
        errors.update(exc.field_errors)
        when = None
    _raise(errors, "Không đổi được tên đơn vị")
    old = unit.name
    orgtree.rename_unit(session, unit, name, when, actor.id)
    audit.record(session, "unit_rename", actor.id, entity="unit", entity_id=unit.id, code=unit.code,
                 change={"name": {"old": old, "new": name}}, effective=when)
    return unit


def move_unit(session: Session, actor: User, unit_id: int, parent_code: str,
              effective: str | date | None = None) -> OrgUnit:
    unit = _active_unit(session, unit_id)
    errors: dict[str, str] = {}
    parent = _unit_field(session, parent_code, "parent_code", errors)
    if parent is not None and "parent_code" not in errors:
        if parent.id == unit.id or unit.id in {a.id for a in _raw_ancestors(session, parent)}:
            errors["parent_code"] = "Không thể chuyển đơn vị vào chính nó hoặc đơn vị cấp dưới của nó"
        elif parent.id == unit.parent_id:
            errors["parent_code"] = "Đơn vị đã thuộc đơn vị cấp trên này"
    try:
        when = parse_date(effective)
    except InvalidInput as exc:
        errors.update(exc.field_errors)
        when = None
    _raise(errors, "Không chuyển được đơn vị")
    old = unit.parent.code if unit.parent else None
    orgtree.move_unit(session, unit, parent, when, actor.id)
    audit.record(session, "unit_move", actor.id, entity="unit", entity_id=unit.id, code=unit.code,
                 change={"parent": {"old": old, "new": parent.code}}, effective=when)
    return unit


def merge_unit(session: Session, actor: User, unit_id: int, target_code: str,
               effective: str | date | None = None) -> OrgUnit:
    """Merge the unit into the target (children move there); returns the target."""
    unit = _active_unit(session, unit_id)
    errors: dict[str, str] = {}
    target = _unit_field(session, target_code, "target_code", errors)
    if target is not None and "target_code" not in errors:
        if target.id == unit.id:
            errors["target_code"] = "Không thể hợp nhất đơn vị với chính nó"
        elif unit.id in {a.id for a in _raw_ancestors(session, target)}:
            errors["target_code"] = "Không thể hợp nhất vào đơn vị cấp dưới của chính nó"
    try:
        when = parse_date(effective)
    except InvalidInput as exc:
        errors.update(exc.field_errors)
        when = None
    _raise(errors, "Không hợp nhất được đơn vị")
    children = [c.code for c in session.scalars(select(OrgUnit).where(OrgUnit.parent_id == unit.id))]
    orgtree.merge_units(session, unit, target, when, actor.id)
    audit.record(session, "unit_merge", actor.id, entity="unit", entity_id=unit.id, code=unit.code,
                 into=target.code, moved_children=children, effective=when)
    return target


def close_unit(session: Session, actor: User, unit_id: int, effective: str | date | None = None) -> OrgUnit:
    """Close (dissolve) a unit that has no active units below it."""
    unit = _active_unit(session, unit_id)
    errors: dict[str, str] = {}
    active_children = session.scalar(select(func.count()).select_from(OrgUnit).where(
        OrgUnit.parent_id == unit.id, OrgUnit.valid_to.is_(None))) or 0
    if active_children:
        errors["_form"] = "Đơn vị còn đơn vị cấp dưới đang hoạt động; hãy chuyển hoặc hợp nhất trước"
    try:
        when = parse_date(effective)
    except InvalidInput as exc:
        errors.update(exc.field_errors)
        when = None
    _raise(errors, "Không giải thể được đơn vị")
    when = when or date.today()
    unit.valid_to = when
    session.add(OrgUnitEvent(unit_id=unit.id, change="closed", old_value=unit.name, new_value=None,
                             effective=when, actor_id=actor.id))
    audit.record(session, "unit_close", actor.id, entity="unit", entity_id=unit.id, code=unit.code, effective=when)
    return unit


# ===================================================================================== admin: users
@dataclass
class UserDetail:
    user: User
    roles: list[RoleAssignment]


def list_users(session: Session, query: str | None = None, page: int = 1, per_page: int = 50) -> Paged[User]:
    stmt = select(User).options(joinedload(User.roles).joinedload(RoleAssignment.unit))
    text = (query or "").strip()
    if text:
        pattern = _like(orgtree.nfc(text))
        stmt = stmt.where(or_(User.username.ilike(pattern, escape="\\"), User.full_name.ilike(pattern, escape="\\"),
                              User.email.ilike(pattern, escape="\\")))
    return _page(session, stmt.order_by(User.username), page, per_page)


def user_detail(session: Session, user_id: int) -> UserDetail:
    user = accounts.get_user(session, user_id)
    roles = list(session.scalars(select(RoleAssignment).where(RoleAssignment.user_id == user.id)
                                 .options(joinedload(RoleAssignment.unit)).join(OrgUnit)
                                 .order_by(OrgUnit.code, RoleAssignment.role)))
    return UserDetail(user, roles)


def create_user(session: Session, actor: User, username: str, full_name: str, email: str | None, password: str,
                is_admin: bool = False) -> User:
    """Every field is checked first (all messages at once); then accounts.create_user writes the user."""
    errors: dict[str, str] = {}
    login = (username or "").strip().lower()
    if not login:
        errors["username"] = "Trường này là bắt buộc"
    elif len(login) > 80 or not login.replace(".", "").replace("_", "").isalnum() or not login.isascii():
        errors["username"] = "Tên đăng nhập chỉ gồm chữ không dấu, số, dấu chấm và gạch dưới (tối đa 80 ký tự)"
    elif accounts.user_by_username(session, login) is not None:
        errors["username"] = "Tên đăng nhập đã tồn tại"
    name = (full_name or "").strip()
    if not name:
        errors["full_name"] = "Trường này là bắt buộc"
    elif len(name) > 200:
        errors["full_name"] = "Họ tên quá dài (tối đa 200 ký tự)"
    email = (email or "").strip() or None
    if email and (len(email) > 200 or not EMAIL.match(email)):
        errors["email"] = "Địa chỉ email không hợp lệ"
    if len(password or "") < 8:
        errors["password"] = "Mật khẩu cần ít nhất 8 ký tự"
    _raise(errors, "Thông tin người dùng không hợp lệ")
    user = accounts.create_user(session, login, name, password, email, bool(is_admin))
    audit.record(session, "user_create", actor.id, entity="user", entity_id=user.id, username=user.username,
                 full_name=user.full_name, email=email, is_admin=bool(is_admin))
    return user


def set_user_active(session: Session, actor: User, user_id: int, active: bool) -> User:
    user = accounts.get_user(session, user_id)
    if user.id == actor.id and not active:
        raise InvalidInput("Không thể tự khóa tài khoản của mình",
                           field_errors={"_form": "Không thể tự khóa tài khoản của mình"})
    if user.active == active:
        return user
    user.active = active
    audit.record(session, "user_activate" if active else "user_deactivate", actor.id, entity="user",
                 entity_id=user.id, username=user.username)
    return user


def grant_role(session: Session, actor: User, user_id: int, role: str, unit_code: str) -> RoleAssignment:
    user = accounts.get_user(session, user_id)
    errors: dict[str, str] = {}
    if role not in ROLES:
        errors["role"] = "Vai trò không hợp lệ"
    unit = _unit_field(session, unit_code, "unit_code", errors)
    if not user.active:
        errors["_form"] = "Tài khoản đã bị khóa"
    if not errors and session.scalar(select(RoleAssignment).where(
            RoleAssignment.user_id == user.id, RoleAssignment.unit_id == unit.id, RoleAssignment.role == role)):
        errors["role"] = "Người dùng đã có vai trò này tại đơn vị"
    _raise(errors, "Không phân quyền được")
    assignment = accounts.grant_role(session, user, unit, role)
    audit.record(session, "role_grant", actor.id, entity="user", entity_id=user.id, username=user.username,
                 role=role, unit=unit.code)
    return assignment


def revoke_role(session: Session, actor: User, user_id: int, assignment_id: int) -> RoleAssignment:
    assignment = session.get(RoleAssignment, assignment_id)
    if assignment is None or assignment.user_id != user_id:
        raise NotFound("Không tìm thấy phân quyền")
    role, unit_code, username = assignment.role, assignment.unit.code, assignment.user.username
    accounts.revoke_role(session, assignment.id)
    session.flush()
    audit.record(session, "role_revoke", actor.id, entity="user", entity_id=user_id, username=username,
                 role=role, unit=unit_code)
    return assignment
