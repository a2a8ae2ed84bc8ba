"""Card requests through the ``card_printing`` process: plan and create a request with its letter, return
or forward it, batch and render the cards, mark them printed (fees recorded once) and delivered.

The BPMN service tasks call these through engine/cards/operations.py; every change is audited.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine import audit, clock, uploads, vntext
from engine.cards import fees as fee_rules
from engine.cards.letter import Letter, LetterLine, render_letter
from engine.cards.models import CardBatch, CardItem, CardRequest, FeeEntry
from engine.cards.render import CardData, render_batch_parallel
from engine.errors import Conflict, InvalidInput, NotFound
from engine.members.models import Member
from engine.models import OrgUnit
from engine.orgtree import get_unit, resolve_role_unit
from engine.services import ServiceContext

HOLDING = ("requested", "printed", "delivered")  # an item in these states means the member has (or gets) a card
LETTER_SUFFIXES = (".pdf", ".jpg", ".jpeg", ".png")
_CODE = re.compile(r"\d{12}")


@dataclass
class PlannedItem:
    member: Member
    card_type: str
    reason: str
    vietinbank_payroll: bool


@dataclass
class Plan:
    unit: OrgUnit
    items: list[PlannedItem] = field(default_factory=list)

    @property
    def linked(self) -> int:
        return sum(1 for i in self.items if i.card_type == "linked")

    @property
    def standard(self) -> int:
        return len(self.items) - self.linked


def codes(text: Any) -> list[str]:
    """Member codes in free text (one per line, or separated by commas, spaces or semicolons)."""
    return list(dict.fromkeys(_CODE.findall(str(text or ""))))


def _members_by_code(session: Session, unit: OrgUnit, wanted: list[str], field_name: str) -> dict[str, Member]:
    found = {m.member_code: m for m in session.scalars(select(Member).where(Member.member_code.in_(wanted)))}
    for code in wanted:
        member = found.get(code)
        if member is None:
            raise InvalidInput(f"Không có đoàn viên mã {code}", field_errors={field_name: f"Không có mã {code}"})
        if member.unit_id != unit.id or member.status != "active":
            raise InvalidInput(f"Đoàn viên mã {code} không đang sinh hoạt tại {unit.name}",
                               field_errors={field_name: f"{code} không thuộc đơn vị"})
    return found


def _holders(session: Session, member_ids: list[int]) -> dict[int, set[str]]:
    """Item statuses per member among HOLDING states."""
    result: dict[int, set[str]] = {}
    for member_id, status in session.execute(select(CardItem.member_id, CardItem.status).where(
            CardItem.member_id.in_(member_ids), CardItem.status.in_(HOLDING))):
        result.setdefault(member_id, set()).add(status)
    return result


def plan(session: Session, unit_id: int, data: dict[str, Any]) -> Plan:
    """The cards a start form asks for, checked against the registry; InvalidInput when anything is off."""
    unit = get_unit(session, unit_id)
    result = Plan(unit)
    linked, payroll = set(codes(data.get("linked_codes"))), set(codes(data.get("vietinbank_codes")))
    if data.get("scope") == "none":
        chosen: list[Member] = []
    elif data.get("scope") == "listed":
        chosen = list(_members_by_code(session, unit, codes(data.get("member_codes")), "member_codes").values())
        held = _holders(session, [m.id for m in chosen])
        for member in chosen:
            if member.id in held:
                raise InvalidInput(f"Đoàn viên {member.full_name} ({member.member_code}) đã có thẻ hoặc đang chờ in; "
                                   "nếu mất/hỏng thẻ hãy đề nghị in lại",
                                   field_errors={"member_codes": member.member_code})
    else:
        holding = select(CardItem.member_id).where(CardItem.status.in_(HOLDING))
        chosen = list(session.scalars(select(Member).where(Member.unit_id == unit.id, Member.status == "active",
                                                           Member.id.not_in(holding)).order_by(Member.sort_key)))
    reprints = [r for r in data.get("reprints") or [] if r.get("member_code")]
    reprinted = _members_by_code(session, unit, [str(r["member_code"]).strip() for r in reprints], "reprints")
    held = _holders(session, [m.id for m in reprinted.values()])
    for row in reprints:
        member = reprinted[str(row["member_code"]).strip()]
        if "requested" in held.get(member.id, set()):
            raise InvalidInput(f"Thẻ của {member.full_name} đang chờ in", field_errors={"reprints": member.member_code})
        if not held.get(member.id):
            raise InvalidInput(f"{member.full_name} ({member.member_code}) chưa từng được in thẻ; "
                               "hãy đề nghị cấp lần đầu", field_errors={"reprints": member.member_code})
    chosen_codes = {m.member_code for m in chosen} | set(reprinted)
    stray = sorted((linked | payroll) - chosen_codes)
    if stray:
        raise InvalidInput(f"Mã {', '.join(stray)} không có trong danh sách in thẻ của đề nghị này",
                           field_errors={"linked_codes": ", ".join(stray)})
    for member in chosen:
        result.items.append(PlannedItem(member, "linked" if member.member_code in linked else "standard", "first",
                                        member.member_code in payroll))
    for row in reprints:
        member = reprinted[str(row["member_code"]).strip()]
        card_type = row.get("card_type") or ("linked" if member.member_code in linked else "standard")
        result.items.append(PlannedItem(member, card_type, row.get("reason") or "lost", member.member_code in payroll))
    if not result.items:
        raise InvalidInput("Không có đoàn viên nào cần in thẻ (mọi đoàn viên đã có thẻ hoặc đang chờ in)",
                           field_errors={"scope": "Không có đoàn viên cần in thẻ"})
    return result


def check_letter(upload_dir: Path, data: dict[str, Any]) -> None:
    """A request is never sent without its letter: generated (signer required) or an uploaded signed scan."""
    if data.get("letter_mode") == "scan":
        ref = data.get("letter_scan")
        if not ref:
            raise InvalidInput("Chưa tải lên công văn đề nghị đã ký", field_errors={"letter_scan": "Bắt buộc"})
        name, _path = uploads.resolve(upload_dir, ref, "letter_scan")
        if not name.lower().endswith(LETTER_SUFFIXES):
            raise InvalidInput("Công văn phải là tệp .pdf, .jpg hoặc .png", field_errors={"letter_scan": name})
    else:
        missing = {k: "Bắt buộc" for k in ("signer_name", "signer_title") if not str(data.get(k) or "").strip()}
        if missing:
            raise InvalidInput("Hãy nhập người ký công văn đề nghị", field_errors=missing)


def _letter_number(session: Session, unit_id: int, on: date) -> str:
    count = session.scalar(select(func.count()).select_from(CardRequest).where(
        CardRequest.unit_id == unit_id, CardRequest.letter_number.is_not(None),
        func.extract("year", CardRequest.request_date) == on.year)) or 0
    return f"{count + 1:02d}/ĐK-CĐCS"


def create_request(ctx: ServiceContext) -> dict[str, Any]:
    """From the start form's data (the calling task's data): items, counts, the letter."""
    session, instance = ctx.session, ctx.instance
    data = dict(ctx.task_data or {})
    planned = plan(session, instance.subject_unit_id, data)
    check_letter(ctx.upload_dir, data)
    unit, today = planned.unit, clock.today()
    province = resolve_role_unit(session, "province_printer", unit)
    request = CardRequest(instance_id=instance.id, unit_id=unit.id, province_id=province.id if province else None,
                          status="submitted", standard_count=planned.standard, linked_count=planned.linked,
                          letter_kind="scan" if data.get("letter_mode") == "scan" else "generated",
                          signer_name=vntext.nfc(data.get("signer_name")), request_date=today,
                          signer_title=vntext.nfc(data.get("signer_title")), note=vntext.nfc(data.get("note")),
                          requested_by_id=ctx.actor_id, created_at=clock.now())
    session.add(request)
    session.flush()
    session.add_all([CardItem(request_id=request.id, member_id=i.member.id, card_type=i.card_type, reason=i.reason,
                              vietinbank_payroll=i.vietinbank_payroll) for i in planned.items])
    if request.letter_kind == "scan":
        request.letter_ref = data["letter_scan"]
    else:
        request.letter_number = _letter_number(session, unit.id, today)
        parent = unit.parent
        letter = Letter(parent.name if parent else "", unit.name, parent.name if parent else "", request.letter_number,
                        (province.name if province else "").replace("Liên đoàn Lao động", "").strip(" ,") or "",
                        today, planned.standard, planned.linked, request.signer_name, request.signer_title,
                        [LetterLine(i.member.full_name, i.member.birth_date, i.member.member_code, i.card_type,
                                    i.reason) for i in planned.items])
        request.letter_ref = uploads.store_bytes(ctx.upload_dir, f"dang_ky_in_the_{request.id}.pdf",
                                                 render_letter(letter))
    audit.record(session, "card_request_created", ctx.actor_id, instance.id, "card_request", request.id,
                 standard=planned.standard, linked=planned.linked, letter=request.letter_kind)
    return {"request_id": request.id, "standard": planned.standard, "linked": planned.linked,
            "cards": len(planned.items), "letter_file": request.letter_ref}


def get_request(session: Session, request_id: int) -> CardRequest:
    request = session.get(CardRequest, request_id)
    if request is None:
        raise NotFound("Không tìm thấy đề nghị in thẻ", request_id=request_id)
    return request


def check_review(ctx: ServiceContext, task_data: dict[str, Any], clean: dict[str, Any]) -> None:
    if clean.get("decision") == "return" and not str(clean.get("return_reason") or "").strip():
        raise InvalidInput("Hãy nêu lý do trả lại", field_errors={"return_reason": "Bắt buộc"})
    if clean.get("decision") == "forward":
        request = get_request(ctx.session, int(task_data.get("request_id") or 0))
        try:
            uploads.resolve(ctx.upload_dir, request.letter_ref or "", "decision")
        except InvalidInput as exc:
            raise InvalidInput("Không thể chuyển đề nghị khi chưa có công văn đề nghị in thẻ",
                               field_errors={"decision": "Thiếu công văn"}) from exc


def return_request(ctx: ServiceContext, request_id: int, reason: str) -> dict[str, Any]:
    request = get_request(ctx.session, request_id)
    request.status, request.return_reason = "returned", vntext.nfc(reason)
    ctx.session.execute(update(CardItem).where(CardItem.request_id == request.id, CardItem.status == "requested")
                        .values(status="skipped", skip_reason="Đề nghị bị trả lại"))
    audit.record(ctx.session, "card_request_returned", ctx.actor_id, request.instance_id, "card_request", request.id,
                 reason=request.return_reason)
    return {"returned": True}


def forward(ctx: ServiceContext, request_id: int) -> dict[str, Any]:
    request = get_request(ctx.session, request_id)
    if not request.letter_ref:
        raise Conflict("Không thể chuyển đề nghị khi chưa có công văn đề nghị in thẻ")
    request.status, request.forwarded_by_id, request.forwarded_at = "forwarded", ctx.actor_id, clock.now()
    audit.record(ctx.session, "card_request_forwarded", ctx.actor_id, request.instance_id, "card_request", request.id)
    return {"forwarded": True, "province": request.province.name if request.province else ""}


def create_batch(ctx: ServiceContext, request_id: int) -> dict[str, Any]:
    """The province's print batch for this request (one per request; created once)."""
    request = get_request(ctx.session, request_id)
    if request.batch_id:
        batch = ctx.session.get(CardBatch, request.batch_id)
    else:
        count = ctx.session.scalar(select(func.count()).select_from(CardItem).where(
            CardItem.request_id == request.id, CardItem.status == "requested")) or 0
        batch = CardBatch(province_id=request.province_id or request.unit_id, status="queued", card_count=count,
                          progress_total=count, created_by_id=ctx.actor_id, created_at=clock.now())
        ctx.session.add(batch)
        ctx.session.flush()
        request.batch_id, request.status = batch.id, "rendering"
        ctx.session.execute(update(CardItem).where(CardItem.request_id == request.id, CardItem.status == "requested")
                            .values(batch_id=batch.id))
        audit.record(ctx.session, "card_batch_created", ctx.actor_id, request.instance_id, "card_batch", batch.id,
                     cards=count)
    return {"batch_id": batch.id, "cards": batch.card_count}


def _photo(upload_dir: Path, ref: str | None) -> bytes | None:
    if not ref:
        return None
    try:
        return uploads.resolve(upload_dir, ref, "photo")[1].read_bytes()
    except InvalidInput:
        return None


def render(ctx: ServiceContext, batch_id: int, workers: int = 2) -> dict[str, Any]:
    """Render the batch's PDF once; a batch that already has its PDF is reused as it is."""
    session = ctx.session
    batch = session.get(CardBatch, batch_id)
    if batch is None:
        raise NotFound("Không tìm thấy lô in", batch_id=batch_id)
    if batch.pdf_ref:
        return {"pages": batch.sheet_count * 2, "cards": batch.card_count, "skipped": len(batch.skipped),
                "reused": True}
    items = session.execute(select(CardItem, Member).join(Member, Member.id == CardItem.member_id)
                            .where(CardItem.batch_id == batch.id, CardItem.status == "requested")
                            .order_by(CardItem.id)).all()
    today = clock.today()
    cards = [CardData(m.full_name, m.birth_date, m.unit.name, m.member_code, m.vpoint_code,
                      _photo(ctx.upload_dir, m.photo_ref), today, item.card_type == "linked", item.id)
             for item, m in items]

    def progress(done: int, total: int) -> None:
        ctx.apart(lambda s: s.execute(update(CardBatch).where(CardBatch.id == batch_id).values(
            progress_done=done, progress_total=total, status="rendering")))

    started = time.monotonic()
    result = render_batch_parallel(cards, workers=workers if len(cards) > 40 else 1, progress=progress)
    by_index = {index: item for index, (item, _m) in enumerate(items)}
    for issue in result.skipped:
        item = by_index[issue.index]
        item.status, item.skip_reason, item.batch_id = "skipped", issue.reason, None
    batch.skipped = [{"member_code": i.member_code, "full_name": i.full_name, "reason": i.reason}
                     for i in result.skipped]
    batch.warnings = [{"member_code": i.member_code, "full_name": i.full_name, "reason": i.reason}
                      for i in result.warnings]
    batch.card_count, batch.sheet_count = result.cards, result.pages // 2
    batch.progress_done = batch.progress_total = result.cards
    batch.render_seconds = round(time.monotonic() - started)
    if result.pdf:
        batch.pdf_ref = uploads.store_bytes(ctx.upload_dir, f"lo_in_the_{batch.id}.pdf", result.pdf)
    batch.status = "ready"
    session.execute(update(CardRequest).where(CardRequest.batch_id == batch.id).values(status="ready"))
    audit.record(session, "card_batch_rendered", ctx.actor_id, None, "card_batch", batch.id, cards=result.cards,
                 pages=result.pages, skipped=len(result.skipped), warnings=len(result.warnings))
    return {"pages": result.pages, "cards": result.cards, "skipped": len(result.skipped), "reused": False}


def check_print(ctx: ServiceContext, task_data: dict[str, Any], clean: dict[str, Any]) -> None:
    batch = ctx.session.get(CardBatch, int(task_data.get("batch_id") or 0))
    if batch is None or batch.status not in ("ready", "printed") or (batch.card_count and not batch.pdf_ref):
        raise InvalidInput("Lô in chưa sẵn sàng (chưa có tệp PDF)", field_errors={"printed": "Lô in chưa sẵn sàng"})


def mark_printed(ctx: ServiceContext, batch_id: int) -> dict[str, Any]:
    """Items printed and their fees recorded; running it again changes nothing and charges nothing."""
    session, now = ctx.session, clock.now()
    batch = session.scalar(select(CardBatch).where(CardBatch.id == batch_id).with_for_update())
    if batch is None:
        raise NotFound("Không tìm thấy lô in", batch_id=batch_id)
    items = session.execute(select(CardItem, CardRequest.unit_id).join(CardRequest)
                            .where(CardItem.batch_id == batch.id, CardItem.status.in_(("requested", "printed")))).all()
    charged = {(item_id, kind) for item_id, kind in session.execute(
        select(FeeEntry.item_id, FeeEntry.kind).where(FeeEntry.item_id.in_([i.id for i, _u in items])))}
    schedule = fee_rules.load()
    new_fees = 0
    for item, unit_id in items:
        if item.status == "requested":
            item.status, item.printed_at = "printed", now
        for charge in fee_rules.charges(item.card_type, item.reason, item.vietinbank_payroll, schedule):
            if (item.id, charge.kind) in charged:
                continue
            session.add(FeeEntry(item_id=item.id, batch_id=batch.id, unit_id=unit_id, member_id=item.member_id,
                                 kind=charge.kind, amount=charge.amount, payer=charge.payer, note=charge.note,
                                 created_at=now))
            new_fees += charge.amount if charge.payer == "member" else 0
    if batch.status != "printed":
        batch.status, batch.printed_at, batch.printed_by_id = "printed", now, ctx.actor_id
        session.execute(update(CardRequest).where(CardRequest.batch_id == batch.id).values(status="printed"))
    audit.record(session, "card_batch_printed", ctx.actor_id, None, "card_batch", batch.id, cards=len(items),
                 member_fees=new_fees)
    return {"printed": len(items), "member_fees": new_fees}


def mark_delivered(ctx: ServiceContext, request_id: int) -> dict[str, Any]:
    request = get_request(ctx.session, request_id)
    request.status, request.delivered_at = "delivered", clock.now()
    delivered = ctx.session.execute(update(CardItem).where(CardItem.request_id == request.id,
                                                           CardItem.status == "printed")
                                    .values(status="delivered")).rowcount
    audit.record(ctx.session, "card_request_delivered", ctx.actor_id, request.instance_id, "card_request", request.id,
                 cards=delivered)
    return {"delivered": delivered}
