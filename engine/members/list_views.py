"""What the member-list pages show: lists in the user's scope, one list with its rows and problems,
its progress, its files and photos. Scoped like every other query."""
from __future__ import annotations

from engine.i18n import N_

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from engine.accounts import scope_unit_ids
from engine.progress import Progress
from engine.errors import NotFound
from engine.humantasks import Page, eligible
from engine.members.lists import (annotated_workbook, entries, find_photo, get_list, list_for_instance, problems,
                                  upload_path)
from engine.members.models import Member, MemberList, MemberListEntry
from engine.members.workbook import Problem
from engine.models import HumanTask, User

STATUS_LABELS = {
    "received": N_("Đã nhận, chờ kiểm tra"), "validating": N_("Đang kiểm tra"), "invalid": N_("Có lỗi, chờ CĐCS sửa"),
    "in_review": N_("Chờ cấp trên duyệt"), "returned": N_("Cấp trên trả lại"), "approved": N_("Đã duyệt"),
    "cancelled": N_("Đã rút"),
}
FILE_KINDS = {"workbook": "workbook_ref", "errors": "error_ref", "approved": "approved_ref"}
MAX_PROBLEMS_SHOWN = 500


@dataclass
class ListDetail:
    member_list: MemberList
    entries: list[MemberListEntry]
    problems: list[Problem]
    problems_total: int
    members: dict[int, Member] = field(default_factory=dict)
    open_task: HumanTask | None = None
    can_act: bool = False


def lists_page(session: Session, user: User, status: str | None = None, page: int = 1,
               per_page: int = 30) -> Page[MemberList]:
    query = select(MemberList)
    scope = scope_unit_ids(session, user)
    if scope is not None:
        query = query.where(or_(MemberList.unit_id.in_(scope), MemberList.submitted_by_id == user.id))
    if status:
        query = query.where(MemberList.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(query.options(joinedload(MemberList.unit)).order_by(MemberList.created_at.desc(),
                                                                               MemberList.id.desc())
                            .offset((max(page, 1) - 1) * per_page).limit(per_page)).all()
    return Page(list(items), total, max(page, 1), per_page)


def list_detail(session: Session, user: User, list_id: int) -> ListDetail:
    member_list = get_list(session, user, list_id)
    rows = entries(session, member_list)
    found = problems(member_list)
    member_ids = [e.member_id for e in rows if e.member_id]
    members = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(member_ids)))} if member_ids \
        else {}
    task = None
    if member_list.instance_id:
        task = session.scalar(select(HumanTask).where(HumanTask.instance_id == member_list.instance_id,
                                                      HumanTask.status == "open").order_by(HumanTask.id.desc()))
    return ListDetail(member_list, rows, found[:MAX_PROBLEMS_SHOWN], len(found), members, task,
                      bool(task and eligible(session, user, task)))


def list_id_for_instance(session: Session, user: User, instance_id: int) -> int:
    member_list = list_for_instance(session, instance_id)
    if member_list is None:
        raise NotFound("Hồ sơ này không có danh sách đoàn viên", instance_id=instance_id)
    return get_list(session, user, member_list.id).id


def progress(session: Session, user: User, list_id: int) -> Progress:
    member_list = get_list(session, user, list_id)
    session.refresh(member_list)
    return Progress(member_list.status, STATUS_LABELS.get(member_list.status, member_list.status),
                    member_list.progress_done, member_list.progress_total, member_list.progress_note or "",
                    member_list.status not in ("received", "validating"))


def list_file(session: Session, user: User, list_id: int, kind: str, upload_dir: Path) -> tuple[str, Path]:
    """(download name, path) of the list's original workbook, error workbook or approved list."""
    member_list = get_list(session, user, list_id)
    ref = getattr(member_list, FILE_KINDS.get(kind, ""), None) if kind in FILE_KINDS else None
    if not ref:
        raise NotFound("Danh sách chưa có tệp này", kind=kind)
    name, path = upload_path(upload_dir, ref)
    if kind != "workbook":
        code = member_list.unit.code.replace(".", "_")
        name = f"{'danh_sach_loi' if kind == 'errors' else 'danh_sach_da_duyet'}_{code}_{member_list.id}.xlsx"
    return name, path


def entry_photo(session: Session, user: User, list_id: int, entry_id: int, upload_dir: Path) -> bytes:
    """A row's photo: the member's stored photo once approved, else read from the uploaded files."""
    member_list = get_list(session, user, list_id)
    entry = session.get(MemberListEntry, entry_id)
    if entry is None or entry.list_id != member_list.id:
        raise NotFound("Không có ảnh", entry_id=entry_id)
    member = session.get(Member, entry.member_id) if entry.member_id else None
    if member is not None and member.photo_ref:
        return upload_path(upload_dir, member.photo_ref)[1].read_bytes()
    content = find_photo(upload_dir, member_list, entry.data.get("anh") or "") if entry.data.get("anh") else None
    if not content:
        raise NotFound("Không có ảnh", entry_id=entry_id)
    return content


def annotated(session: Session, user: User, list_id: int, upload_dir: Path) -> tuple[str, bytes]:
    """The uploaded workbook with its warnings marked, for a list that has warnings but no error file."""
    member_list = get_list(session, user, list_id)
    if not member_list.problems_json or member_list.problems_json == "[]":
        raise NotFound("Danh sách không có lỗi hay cảnh báo", list_id=list_id)
    return (f"danh_sach_canh_bao_{member_list.unit.code.replace('.', '_')}_{member_list.id}.xlsx",
            annotated_workbook(upload_dir, member_list))
