"""Transfers between grassroots unions (chuyển sinh hoạt công đoàn), driven by the ``member_transfer`` process.

The process calls three operations (registered in ``engine.members.transfer_ops``):

* ``request_transfer``: checks the start form against the database and creates the ``MemberTransfer`` row.
  A request that cannot go ahead is *not* an error of the instance: the result says ``ok: False`` with a
  Vietnamese message, and the process ends with a notification to the initiator.
* ``reject_transfer``: a reviewer (either side) said no; the row is marked rejected with the note.
* ``complete_transfer``: the receiving side's upper union approved; the member moves to the receiving
  union, with a ``transfer_out`` event on the old unit and a ``transfer_in`` event on the new one.

Every state change is audited. Nothing here imports Flask.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.errors import Conflict, NotFound
from engine.members.models import Member, MemberEvent, MemberTransfer
from engine.models import OrgUnit, ProcessInstance
from engine.orgtree import unit_by_code

OPEN_INSTANCE_STATUSES = ("running", "waiting", "error")
REJECT_STAGES = {
    "send_review": "Công đoàn cấp trên bên chuyển đi",
    "receive_accept": "Công đoàn cơ sở nơi chuyển đến",
    "receive_review": "Công đoàn cấp trên bên chuyển đến",
}


def _refused(message: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "message": message, "transfer_id": None, **extra}


def _parse_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def open_transfer(session: Session, member_id: int) -> MemberTransfer | None:
    """The member's transfer still in progress: requested, and its process instance (if any) not ended.
    A request whose instance was cancelled or failed to start does not block a new one."""
    return session.scalar(
        select(MemberTransfer)
        .outerjoin(ProcessInstance, ProcessInstance.id == MemberTransfer.instance_id)
        .where(MemberTransfer.member_id == member_id, MemberTransfer.status == "requested",
               or_(MemberTransfer.instance_id.is_(None), ProcessInstance.status.in_(OPEN_INSTANCE_STATUSES)))
        .limit(1))


def _close_stale(session: Session, member_id: int, actor_id: int | None) -> None:
    """Requests whose process instance ended without a decision (cancelled by a user) become cancelled."""
    stale = session.scalars(
        select(MemberTransfer).join(ProcessInstance, ProcessInstance.id == MemberTransfer.instance_id)
        .where(MemberTransfer.member_id == member_id, MemberTransfer.status == "requested",
               ProcessInstance.status.not_in(OPEN_INSTANCE_STATUSES))).all()
    for transfer in stale:
        transfer.status, transfer.decided_at = "cancelled", clock.now()
        transfer.decision_note = "Hồ sơ quy trình đã kết thúc mà chưa có quyết định"
        audit.record(session, "member_transfer_cancelled", actor_id, transfer.instance_id, "member_transfer",
                     transfer.id, note=transfer.decision_note)


def request_transfer(session: Session, instance: ProcessInstance, actor_id: int | None, member_code: str,
                     to_unit_code: str, reason: str = "", effective_date: Any = None) -> dict[str, Any]:
    """Validate a transfer request from the member's current grassroots union (the instance's subject unit)
    and create the ``MemberTransfer`` row. Returns ``ok``, ``message`` and the facts the process shows."""
    code = (member_code or "").strip().upper()
    target_code = (to_unit_code or "").strip()
    member = session.scalar(select(Member).where(Member.member_code == code).with_for_update())
    if member is None:
        return _refused(f"Không tìm thấy đoàn viên có mã {code}")
    facts = {"member_code": member.member_code, "member_name": member.full_name}
    if member.unit_id != instance.subject_unit_id:
        return _refused(f"Đoàn viên {member.full_name} ({member.member_code}) không sinh hoạt tại công đoàn "
                        "cơ sở của bạn", **facts)
    if member.status != "active":
        return _refused(f"Đoàn viên {member.full_name} ({member.member_code}) không còn sinh hoạt "
                        "(đã ra khỏi hoặc bị xóa tên), không thể chuyển", **facts)
    target = unit_by_code(session, target_code) if target_code else None
    if target is None:
        return _refused(f"Không tìm thấy đơn vị nhận có mã định danh {target_code or '(trống)'}", **facts)
    if target.id == member.unit_id:
        return _refused("Đơn vị nhận trùng với công đoàn cơ sở hiện tại của đoàn viên", **facts)
    if target.kind != "grassroots":
        return _refused(f"Đơn vị nhận {target.name} không phải công đoàn cơ sở: chỉ chuyển sinh hoạt giữa "
                        "các công đoàn cơ sở", **facts)
    if target.merged_into_id is not None or target.valid_to is not None:
        return _refused(f"Đơn vị nhận {target.name} đã hợp nhất hoặc giải thể", **facts)
    _close_stale(session, member.id, actor_id)
    if open_transfer(session, member.id) is not None:
        return _refused(f"Đoàn viên {member.full_name} ({member.member_code}) đang có một yêu cầu chuyển "
                        "sinh hoạt chưa kết thúc", **facts)
    effective = _parse_date(effective_date)
    source = session.get(OrgUnit, member.unit_id)
    transfer = MemberTransfer(member_id=member.id, from_unit_id=member.unit_id, to_unit_id=target.id,
                              instance_id=instance.id, status="requested", reason=(reason or "").strip(),
                              requested_at=clock.now())
    session.add(transfer)
    session.flush()
    audit.record(session, "member_transfer_requested", actor_id, instance.id, "member_transfer", transfer.id,
                 member_code=member.member_code, from_unit=source.code, to_unit=target.code,
                 reason=transfer.reason, effective=effective)
    return {"ok": True, "message": "", "transfer_id": transfer.id, **facts,
            "from_unit_code": source.code, "from_unit_name": source.name,
            "to_unit_code": target.code, "to_unit_name": target.name,
            "effective_date": (effective or clock.now().date()).isoformat()}


def _transfer(session: Session, instance: ProcessInstance, transfer_id: int) -> MemberTransfer:
    transfer = session.get(MemberTransfer, int(transfer_id), with_for_update=True)
    if transfer is None or transfer.instance_id != instance.id:
        raise NotFound("Không tìm thấy yêu cầu chuyển sinh hoạt của hồ sơ này", transfer_id=transfer_id)
    if transfer.status != "requested":
        raise Conflict("Yêu cầu chuyển sinh hoạt đã được xử lý", transfer_id=transfer_id)
    return transfer


def reject_transfer(session: Session, instance: ProcessInstance, actor_id: int | None, transfer_id: int,
                    stage: str, note: str = "") -> dict[str, Any]:
    """Mark the transfer rejected with the reviewer's note; returns the message for the initiator."""
    transfer = _transfer(session, instance, transfer_id)
    note = (note or "").strip()
    transfer.status = "rejected"
    transfer.decision_note = note
    transfer.decided_at = clock.now()
    who = REJECT_STAGES.get(stage, stage)
    audit.record(session, "member_transfer_rejected", actor_id, instance.id, "member_transfer", transfer.id,
                 stage=stage, note=note, member_code=transfer.member.member_code)
    message = (f"Yêu cầu chuyển sinh hoạt của đoàn viên {transfer.member.full_name} "
               f"({transfer.member.member_code}) đến {transfer.to_unit.name} bị từ chối bởi {who}")
    return {"ok": True, "stage": stage, "note": note, "message": message + (f": {note}" if note else "")}


def complete_transfer(session: Session, instance: ProcessInstance, actor_id: int | None, transfer_id: int,
                      effective_date: Any = None) -> dict[str, Any]:
    """Move the member to the receiving union. If the member has meanwhile left, moved or the receiving
    union closed, the transfer is cancelled instead (``ok: False`` with the reason)."""
    transfer = _transfer(session, instance, transfer_id)
    member = session.get(Member, transfer.member_id, with_for_update=True)
    target = session.get(OrgUnit, transfer.to_unit_id)
    source = session.get(OrgUnit, transfer.from_unit_id)
    now = clock.now()
    problem = None
    if member.status != "active":
        problem = "đoàn viên không còn sinh hoạt"
    elif member.unit_id != transfer.from_unit_id:
        problem = "đoàn viên không còn thuộc công đoàn cơ sở chuyển đi"
    elif target.merged_into_id is not None or target.valid_to is not None:
        problem = "đơn vị nhận đã hợp nhất hoặc giải thể"
    if problem is not None:
        transfer.status, transfer.decision_note, transfer.decided_at = "cancelled", problem, now
        audit.record(session, "member_transfer_cancelled", actor_id, instance.id, "member_transfer", transfer.id,
                     note=problem, member_code=member.member_code)
        return {"ok": False, "message": f"Yêu cầu chuyển sinh hoạt của đoàn viên {member.full_name} "
                                        f"({member.member_code}) bị hủy: {problem}"}
    effective = _parse_date(effective_date) or now.date()
    details = {"member_code": member.member_code, "transfer_id": transfer.id, "from_unit_code": source.code,
               "to_unit_code": target.code, "reason": transfer.reason}
    for kind, unit in (("transfer_out", source), ("transfer_in", target)):
        session.add(MemberEvent(member_id=member.id, kind=kind, unit_id=unit.id, at=now, effective=effective,
                                actor_id=actor_id, instance_id=instance.id, details=dict(details)))
    member.unit_id = target.id
    member.updated_at = now
    transfer.status, transfer.decided_at = "approved", now
    audit.record(session, "member_transfer_approved", actor_id, instance.id, "member_transfer", transfer.id,
                 change={"unit": {"old": source.code, "new": target.code}}, member_code=member.member_code,
                 effective=effective)
    audit.record(session, "member_update", actor_id, instance.id, "member", member.id,
                 change={"unit": {"old": source.code, "new": target.code}}, reason="transfer")
    return {"ok": True, "message": f"Đoàn viên {member.full_name} ({member.member_code}) đã chuyển sinh hoạt "
                                   f"từ {source.name} đến {target.name} từ ngày {effective.strftime('%d/%m/%Y')}"}
