"""Approval of a reviewed list: members created with codes, in the approval transaction.

Codes come from one nation-wide counter row taken with a single ``UPDATE … RETURNING`` per list: on
PostgreSQL the row lock makes concurrent approvals queue for the few microseconds of the update, on
SQLite the writer lock does the same, so two lists never get the same serial and no serial is reused.
"""
from __future__ import annotations

import io
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import audit, clock, uploads, vntext
from engine.errors import Conflict, NotFound
from engine.membercodes import member_code, vpoint_code
from engine.members.lists import collect_photos
from engine.members.models import CodeCounter, Member, MemberEvent, MemberList, MemberListEntry
from engine.services import ServiceContext

COUNTER = "member"
APPROVED_HEADERS = ("STT", "Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD/CMND", "Mã đoàn viên", "Mã Vpoint",
                    "Ngày vào công đoàn", "Kết quả", "Lý do")


def allocate_serials(session: Session, count: int, counter: str = COUNTER) -> range:
    """Take ``count`` consecutive serials from the counter; atomic across concurrent transactions."""
    if count <= 0:
        return range(0)
    dialect = session.get_bind().dialect.name
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(CodeCounter).values(name=counter, value=0)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
    last = session.execute(update(CodeCounter).where(CodeCounter.name == counter)
                           .values(value=CodeCounter.value + count).returning(CodeCounter.value)
                           .execution_options(synchronize_session=False)).scalar_one()
    return range(last - count + 1, last + 1)


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def _digits(value: Any) -> str:
    return "".join(ch for ch in str(value or "") if ch.isdigit())


def approve(ctx: ServiceContext, list_id: int, rejections: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Approve every pending row of the list except the rejected ones (each with a reason)."""
    session, now = ctx.session, clock.now()
    member_list = session.scalar(select(MemberList).where(MemberList.id == list_id).with_for_update())
    if member_list is None:
        raise NotFound("Không tìm thấy danh sách", list_id=list_id)
    if member_list.status != "in_review":
        raise Conflict("Danh sách không ở trạng thái chờ duyệt")
    reasons = {_digits(r.get("so_dinh_danh")): vntext.nfc(r.get("ly_do")) for r in rejections or []}
    pending = list(session.execute(select(MemberListEntry.id, MemberListEntry.id_number, MemberListEntry.full_name,
                                          MemberListEntry.data)
                                   .where(MemberListEntry.list_id == list_id, MemberListEntry.decision == "pending")
                                   .order_by(MemberListEntry.row_no)))
    approved = [row for row in pending if row.id_number not in reasons]
    photos = collect_photos(ctx.upload_dir, member_list) if member_list.photo_refs else {}
    photo_refs = {row.id_number: uploads.store_bytes(ctx.upload_dir, row.data["anh"], photos[row.data["anh"]])
                  for row in approved if row.data.get("anh") in photos}
    serials = allocate_serials(session, len(approved))
    members = []
    province_id = Member.province_for(session.connection(), member_list.unit_id)  # see Member.province_id
    for serial, row in zip(serials, approved, strict=True):
        d = row.data
        members.append({
            "serial": serial, "member_code": member_code(serial), "vpoint_code": vpoint_code(serial),
            "unit_id": member_list.unit_id, "province_id": province_id, "full_name": row.full_name,
            "name_fold": vntext.fold(row.full_name),
            "sort_key": vntext.name_sort_bytes(row.full_name), "birth_date": _date(d.get("ngay_sinh")),
            "sex": d.get("gioi_tinh") or "", "id_number": row.id_number, "id_kind": d.get("loai_giay_to") or "CCCD",
            "ethnicity": d.get("dan_toc") or "", "religion": d.get("ton_giao") or "",
            "education": d.get("hoc_van") or "", "qualification": d.get("chuyen_mon") or "",
            "politics": d.get("ly_luan_ct") or "", "occupation": d.get("nghe_nghiep") or "",
            "joined_on": _date(d.get("ngay_vao_cd")), "phone": d.get("dien_thoai") or "",
            "email": d.get("email") or "", "note": d.get("ghi_chu") or "", "photo_ref": photo_refs.get(row.id_number),
            "status": "active", "list_id": list_id, "approved_at": now, "approved_by_id": ctx.actor_id,
            "updated_at": now,
        })
    ids: dict[str, int] = {}
    try:
        with session.begin_nested():
            for start in range(0, len(members), 2000):
                result = session.execute(insert(Member).returning(Member.id, Member.id_number),
                                         members[start:start + 2000])
                ids.update({number: member_id for member_id, number in result})
    except IntegrityError as exc:
        raise Conflict("Có đoàn viên trong danh sách vừa được duyệt ở danh sách khác; hãy kiểm tra lại "
                       "danh sách rồi chạy lại bước duyệt") from exc
    events = [{"member_id": ids[row.id_number], "kind": "registered", "unit_id": member_list.unit_id, "at": now,
               "actor_id": ctx.actor_id, "instance_id": member_list.instance_id,
               "details": {"list_id": list_id, "member_code": member_code(serial)}}
              for serial, row in zip(serials, approved, strict=True)]
    for start in range(0, len(events), 2000):
        session.execute(insert(MemberEvent), events[start:start + 2000])
    decisions = [{"id": row.id, "decision": "approved", "member_id": ids[row.id_number]} for row in approved]
    decisions += [{"id": row.id, "decision": "rejected", "reason": reasons[row.id_number]}
                  for row in pending if row.id_number in reasons]
    for start in range(0, len(decisions), 2000):
        session.execute(update(MemberListEntry), decisions[start:start + 2000])
    member_list.status, member_list.reviewed_by_id, member_list.decided_at = "approved", ctx.actor_id, now
    member_list.progress_note = "Đã duyệt"
    member_list.approved_ref = uploads.store_bytes(ctx.upload_dir, "danh_sach_da_duyet.xlsx",
                                      approved_workbook(session, member_list))
    audit.record(session, "member_list_approved", ctx.actor_id, member_list.instance_id, "member_list", list_id,
                 approved=len(approved), rejected=len(pending) - len(approved),
                 codes=[members[0]["member_code"], members[-1]["member_code"]] if members else [])
    return {"approved": len(approved), "rejected": len(pending) - len(approved),
            "approved_file": member_list.approved_ref, "unit_name": member_list.unit.name}


def approved_workbook(session: Session, member_list: MemberList) -> bytes:
    """The list sent back to the grassroots union: every row with its code or the reason it was refused."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Danh sách đã duyệt")
    ws.append([f"DANH SÁCH ĐOÀN VIÊN ĐÃ DUYỆT — {member_list.unit.name}"])
    ws.append([f"Danh sách số {member_list.id}, duyệt ngày {clock.today().strftime('%d/%m/%Y')}"])
    ws.append([_bold(ws, h) for h in APPROVED_HEADERS])
    query = (select(MemberListEntry, Member).outerjoin(Member, Member.id == MemberListEntry.member_id)
             .where(MemberListEntry.list_id == member_list.id).order_by(MemberListEntry.row_no))
    for index, (entry, member) in enumerate(session.execute(query), start=1):
        d = entry.data
        birth = _date(d.get("ngay_sinh"))
        joined = _date(d.get("ngay_vao_cd"))
        ws.append([index, _text(ws, entry.full_name), birth.strftime("%d/%m/%Y") if birth else "",
                   d.get("gioi_tinh") or "", entry.id_number, member.member_code if member else "",
                   member.vpoint_code if member else "", joined.strftime("%d/%m/%Y") if joined else "",
                   "Đã duyệt" if entry.decision == "approved" else "Không duyệt", _text(ws, entry.reason or "")])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _bold(ws: Any, value: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    cell.font = Font(bold=True)
    return cell


def _text(ws: Any, value: str) -> Any:
    """A cell value that spreadsheet programs never read as a formula."""
    if value.startswith(("=", "+", "-", "@")):
        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"
        return cell
    return value
