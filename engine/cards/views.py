"""What the card pages show: print requests in the user's scope with their items, fees, batch, open task and
status timeline; the print queue of the provinces in scope; a one-card preview; the letter and batch files.

Scope: a request is visible to whoever sees its unit (the CĐCS itself, the levels above it) and to the
province/city that prints it (``province_id`` in scope). Nothing here imports Flask; nothing here commits.
"""
from __future__ import annotations

from engine.i18n import N_

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from engine import clock
from engine.accounts import in_scope, scope_unit_ids
from engine.cards.models import CardBatch, CardItem, CardRequest, FeeEntry
from engine.cards.render import CardData, render_preview
from engine.progress import Progress
from engine.errors import Forbidden, NotFound
from engine.humantasks import Page, eligible
from engine.members.models import Member
from engine.models import HumanTask, OrgUnit, User
from engine.uploads import find, parse_reference

STATUS_LABELS = {
    "submitted": N_("Đã gửi, chờ cấp trên duyệt"),
    "returned": N_("Cấp trên trả lại"),
    "forwarded": N_("Chờ LĐLĐ tỉnh/TP in"),
    "rendering": N_("Đang tạo tệp in"), "ready": N_("Tệp in đã sẵn sàng"), "printed": N_("Đã in thẻ"),
    "delivered": N_("Đã giao thẻ"),
}
ITEM_STATUS_LABELS = {
    "requested": N_("Chờ in"),
    "printed": N_("Đã in"),
    "delivered": N_("Đã giao"),
    "skipped": N_("Không in được"),
}
BATCH_STATUS_LABELS = {"queued": N_("Chờ tạo tệp in"), "rendering": N_("Đang tạo tệp in"), "ready": N_("Sẵn sàng in"),
                       "printed": N_("Đã in")}
FEE_KIND_LABELS = {"first_card": N_("Thẻ lần đầu"), "reprint": N_("In lại thẻ"), "linked": N_("Thẻ liên kết")}
_AFTER_FORWARD = ("forwarded", "rendering", "ready", "printed", "delivered")


@dataclass
class TimelineStep:
    key: str
    label: str
    at: datetime | date | None
    done: bool
    current: bool = False
    note: str = ""


@dataclass
class RequestDetail:
    request: CardRequest
    items: list[CardItem]
    item_counts: dict[str, int]
    fees: list[FeeEntry]
    fee_total: int
    batch: CardBatch | None
    can_open_batch: bool
    timeline: list[TimelineStep]
    open_task: HumanTask | None = None
    can_act: bool = False


@dataclass
class SkipRow:
    member_code: str
    full_name: str
    unit_name: str
    reason: str


@dataclass
class BatchDetail:
    batch: CardBatch
    requests: list[CardRequest]
    skipped: list[SkipRow]
    warnings: list[dict[str, Any]]
    item_counts: dict[str, int]


@dataclass
class QueuePage:
    """The print queue: batches of the provinces in scope, and forwarded requests still without a batch."""

    batches: Page[CardBatch]
    waiting: list[CardRequest] = field(default_factory=list)


# ===================================================================================== scope
def request_scope(session: Session, user: User) -> Any | None:
    """The WHERE condition on CardRequest for the user (None: everything, administrators)."""
    scope = scope_unit_ids(session, user)
    if scope is None:
        return None
    return or_(CardRequest.unit_id.in_(scope), CardRequest.province_id.in_(scope),
               CardRequest.requested_by_id == user.id)


def may_see_request(session: Session, user: User, card_request: CardRequest) -> bool:
    return (in_scope(session, user, card_request.unit_id) or in_scope(session, user, card_request.province_id)
            or card_request.requested_by_id == user.id)


def get_request(session: Session, user: User, request_id: int) -> CardRequest:
    card_request = session.get(CardRequest, request_id)
    if card_request is None:
        raise NotFound("Không tìm thấy đề nghị in thẻ", request_id=request_id)
    if not may_see_request(session, user, card_request):
        raise Forbidden("Bạn không có quyền xem đề nghị in thẻ này")
    return card_request


def get_batch(session: Session, user: User, batch_id: int) -> CardBatch:
    """A batch is the province's: only who sees the printing province (its PDF holds many units' cards)."""
    batch = session.get(CardBatch, batch_id)
    if batch is None:
        raise NotFound("Không tìm thấy lô in", batch_id=batch_id)
    if not in_scope(session, user, batch.province_id):
        raise Forbidden("Bạn không có quyền xem lô in này")
    return batch


# ===================================================================================== requests
def requests_page(session: Session, user: User, status: str | None = None, page: int = 1,
                  per_page: int = 30) -> Page[CardRequest]:
    query = select(CardRequest)
    condition = request_scope(session, user)
    if condition is not None:
        query = query.where(condition)
    if status:
        query = query.where(CardRequest.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = max(page, 1)
    items = session.scalars(query.options(joinedload(CardRequest.unit), joinedload(CardRequest.province))
                            .order_by(CardRequest.created_at.desc(), CardRequest.id.desc())
                            .offset((page - 1) * per_page).limit(per_page)).all()
    return Page(list(items), total, page, per_page)


def timeline(card_request: CardRequest, batch: CardBatch | None) -> list[TimelineStep]:
    """submitted → forwarded → rendering/ready → printed → delivered, from the request and batch columns;
    the first step not done yet is ``current`` (where the request waits)."""
    status = card_request.status
    steps = [TimelineStep("submitted", N_("CĐCS gửi đề nghị in thẻ"), card_request.created_at, True)]
    if status == "returned":
        steps.append(TimelineStep("returned", N_("Cấp trên trả lại, chờ CĐCS sửa và gửi lại"), None, False, True,
                                  card_request.return_reason or ""))
    rendering = status == "rendering" or (batch is not None and batch.status in ("queued", "rendering"))
    steps += [
        TimelineStep("forwarded", N_("Cấp trên duyệt và chuyển LĐLĐ tỉnh/TP"), card_request.forwarded_at,
                     status in _AFTER_FORWARD),
        TimelineStep("ready", N_("Đang tạo tệp in") if rendering else N_("LĐLĐ tỉnh/TP tạo tệp in thẻ"),
                     batch.created_at if batch else None, status in ("ready", "printed", "delivered")),
        TimelineStep("printed", N_("LĐLĐ tỉnh/TP in thẻ"), batch.printed_at if batch else None,
                     status in ("printed", "delivered")),
        TimelineStep("delivered", N_("Giao thẻ về CĐCS"), card_request.delivered_at, status == "delivered"),
    ]
    if status != "returned":
        for step in steps:
            if not step.done:
                step.current = True
                break
    return steps


def request_detail(session: Session, user: User, request_id: int) -> RequestDetail:
    card_request = get_request(session, user, request_id)
    items = list(session.scalars(select(CardItem).where(CardItem.request_id == card_request.id)
                                 .options(joinedload(CardItem.member)).order_by(CardItem.id)))
    counts: dict[str, int] = {}
    for item in items:
        counts[item.status] = counts.get(item.status, 0) + 1
    fees = list(session.scalars(select(FeeEntry).join(CardItem, CardItem.id == FeeEntry.item_id)
                                .where(CardItem.request_id == card_request.id).order_by(FeeEntry.id)))
    batch = session.get(CardBatch, card_request.batch_id) if card_request.batch_id else None
    task = None
    if card_request.instance_id:
        task = session.scalar(select(HumanTask).where(HumanTask.instance_id == card_request.instance_id,
                                                      HumanTask.status == "open").order_by(HumanTask.id.desc()))
    return RequestDetail(card_request, items, counts, fees, sum(f.amount for f in fees), batch,
                         batch is not None and in_scope(session, user, batch.province_id),
                         timeline(card_request, batch), task, bool(task and eligible(session, user, task)))


def request_id_for_instance(session: Session, user: User, instance_id: int) -> int:
    """The request a ``card_printing`` instance handles (for links from the task and instance pages)."""
    card_request = session.scalar(select(CardRequest).where(CardRequest.instance_id == instance_id))
    if card_request is None:
        raise NotFound("Hồ sơ này không có đề nghị in thẻ", instance_id=instance_id)
    return get_request(session, user, card_request.id).id


def letter_file(session: Session, user: User, request_id: int, upload_dir: str | Path) -> tuple[str, Path]:
    """(download name, path) of the request letter: the generated PDF or the uploaded signed scan."""
    card_request = get_request(session, user, request_id)
    parsed = parse_reference(card_request.letter_ref)
    if parsed is None:
        raise NotFound("Đề nghị chưa có công văn", request_id=request_id)
    upload = find(upload_dir, parsed[0], [card_request.letter_ref or ""])
    return upload.name, upload.path


# ===================================================================================== batches
def _province_scope(session: Session, user: User, column: Any) -> Any | None:
    scope = scope_unit_ids(session, user)
    return None if scope is None else column.in_(scope)


def batches_page(session: Session, user: User, status: str | None = None, page: int = 1,
                 per_page: int = 30) -> QueuePage:
    query = select(CardBatch)
    condition = _province_scope(session, user, CardBatch.province_id)
    if condition is not None:
        query = query.where(condition)
    if status:
        query = query.where(CardBatch.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = max(page, 1)
    batches = session.scalars(query.options(joinedload(CardBatch.province))
                              .order_by(CardBatch.created_at.desc(), CardBatch.id.desc())
                              .offset((page - 1) * per_page).limit(per_page)).all()
    waiting = select(CardRequest).where(CardRequest.status == "forwarded", CardRequest.batch_id.is_(None))
    condition = _province_scope(session, user, CardRequest.province_id)
    if condition is not None:
        waiting = waiting.where(condition)
    pending = session.scalars(waiting.options(joinedload(CardRequest.unit))
                              .order_by(CardRequest.forwarded_at, CardRequest.id).limit(200)).all()
    return QueuePage(Page(list(batches), total, page, per_page), list(pending))


def batch_detail(session: Session, user: User, batch_id: int) -> BatchDetail:
    batch = get_batch(session, user, batch_id)
    requests = list(session.scalars(select(CardRequest).where(CardRequest.batch_id == batch.id)
                                    .options(joinedload(CardRequest.unit)).order_by(CardRequest.id)))
    in_batch = or_(CardItem.batch_id == batch.id, CardItem.request_id.in_([r.id for r in requests]))
    counts = dict(session.execute(select(CardItem.status, func.count()).where(in_batch)
                                  .group_by(CardItem.status)).all())
    skipped = [SkipRow(code, name, unit, reason or "")
               for code, name, unit, reason in session.execute(
                   select(Member.member_code, Member.full_name, OrgUnit.name, CardItem.skip_reason)
                   .join(Member, Member.id == CardItem.member_id).join(CardRequest)
                   .join(OrgUnit, OrgUnit.id == CardRequest.unit_id)
                   .where(in_batch, CardItem.status == "skipped").order_by(CardItem.id))]
    listed = {row.member_code for row in skipped}
    for entry in batch.skipped or []:
        code = str(entry.get("member_code") or "")
        if code and code in listed:
            continue
        label = code or (f"#{int(entry['index']) + 1}" if isinstance(entry.get("index"), int) else "")
        skipped.append(SkipRow(label, str(entry.get("full_name") or ""), "", str(entry.get("reason") or "")))
    return BatchDetail(batch, requests, skipped, list(batch.warnings or []), counts)


def progress(session: Session, user: User, batch_id: int) -> Progress:
    batch = get_batch(session, user, batch_id)
    session.refresh(batch)
    label = BATCH_STATUS_LABELS.get(batch.status, batch.status)
    return Progress(batch.status, label, batch.progress_done, batch.progress_total, label,
                    batch.status not in ("queued", "rendering"))


def batch_pdf(session: Session, user: User, batch_id: int, upload_dir: str | Path) -> tuple[str, Path]:
    """(download name, path) of the batch's print-ready PDF (``pdf_ref`` is an ``upload:<id>/<name>``)."""
    batch = get_batch(session, user, batch_id)
    parsed = parse_reference(batch.pdf_ref)
    if parsed is None or batch.status not in ("ready", "printed"):
        raise NotFound("Lô in chưa có tệp in", batch_id=batch_id)
    upload = find(upload_dir, parsed[0], [batch.pdf_ref or ""])
    return f"lo_in_the_{batch.id}.pdf", upload.path


# ===================================================================================== preview
def _photo(upload_dir: str | Path, ref: str | None) -> bytes | None:
    parsed = parse_reference(ref)
    path = Path(upload_dir) / parsed[0] if parsed else None
    return path.read_bytes() if path is not None and path.is_file() else None


def member_card(session: Session, user: User, member_id: int, upload_dir: str | Path,
                linked: bool = False, issue_date: date | None = None) -> CardData:
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound("Không tìm thấy đoàn viên", member_id=member_id)
    if not in_scope(session, user, member.unit_id):
        raise Forbidden("Bạn không có quyền xem đoàn viên này")
    return CardData(full_name=member.full_name, birth_date=member.birth_date, unit_name=member.unit.name,
                    member_code=member.member_code, vpoint_code=member.vpoint_code,
                    photo=_photo(upload_dir, member.photo_ref), issue_date=issue_date or clock.today(),
                    linked=linked, member_id=member.id)


def member_preview(session: Session, user: User, member_id: int, upload_dir: str | Path,
                   linked: bool = False) -> bytes:
    """A one-card preview PDF (front page, back page) of a member in scope; a missing or broken photo
    becomes the silhouette (render_preview never raises on bad data)."""
    return render_preview(member_card(session, user, member_id, upload_dir, linked))
