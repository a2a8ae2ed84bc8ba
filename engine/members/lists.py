"""A member list through the registration process: received, validated (all or nothing), reviewed.

The process calls these through service tasks (engine/members/operations.py). Files are upload
references (``upload:<id>/<name>``) under the host's upload folder; generated files (the error workbook,
approved members' photos) are stored there as new uploads and referenced from the list or the member.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from engine import audit, clock, uploads, vntext
from engine.accounts import in_scope
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.members import photos as photo_files
from engine.members import xlsxread
from engine.members.models import Member, MemberList, MemberListEntry
from engine.members.workbook import Problem, Report, check_workbook, error_workbook, file_problem
from engine.models import User
from engine.services import ServiceContext

CHUNK = 500
WORKBOOK_FIELD = "workbook"
TYPICAL_FILLED_COLUMNS = 12


def upload_path(upload_dir: Path, ref: str, field: str = WORKBOOK_FIELD) -> tuple[str, Path]:
    return uploads.resolve(upload_dir, ref, field)


def check_files(upload_dir: Path, workbook_ref: str | None, photo_refs: list[str] | None) -> None:
    """File-level checks run when the list is submitted: a readable .xlsx and safe photo files.
    Raises InvalidInput (with the field) so that nothing is written."""
    if not workbook_ref:
        raise InvalidInput("Chưa chọn tệp danh sách", field_errors={WORKBOOK_FIELD: "Bắt buộc"})
    name, path = upload_path(upload_dir, workbook_ref)
    if not name.lower().endswith((".xlsx", ".xlsm")):
        message = "Tệp danh sách phải là tệp Excel .xlsx (dùng mẫu tải về từ hệ thống)."
        raise InvalidInput(message, field_errors={WORKBOOK_FIELD: message})
    problem = file_problem(path.read_bytes())
    if problem:
        raise InvalidInput(problem, field_errors={WORKBOOK_FIELD: problem})
    photo_files.collect([upload_path(upload_dir, ref, photo_files.FIELD) for ref in photo_refs or []])


def get_list(session: Session, user: User, list_id: int) -> MemberList:
    member_list = session.get(MemberList, list_id)
    if member_list is None:
        raise NotFound("Không tìm thấy danh sách", list_id=list_id)
    if not in_scope(session, user, member_list.unit_id) and member_list.submitted_by_id != user.id:
        raise Forbidden("Bạn không có quyền xem danh sách này")
    return member_list


def list_for_instance(session: Session, instance_id: int) -> MemberList | None:
    return session.scalar(select(MemberList).where(MemberList.instance_id == instance_id))


def receive(ctx: ServiceContext, workbook: str, photos: list[str] | None, title: str = "") -> dict[str, Any]:
    """Register (or re-register, after a return or a failed check) the instance's list."""
    session, instance = ctx.session, ctx.instance
    member_list = list_for_instance(session, instance.id)
    if member_list is None:
        member_list = MemberList(instance_id=instance.id, unit_id=instance.subject_unit_id, round_no=1,
                                 submitted_by_id=ctx.actor_id, created_at=clock.now())
        session.add(member_list)
    else:
        member_list.round_no += 1
        session.execute(delete(MemberListEntry).where(MemberListEntry.list_id == member_list.id))
    member_list.title = vntext.nfc(title or instance.title)[:300]
    member_list.workbook_ref, member_list.photo_refs = workbook, list(photos or [])
    member_list.status, member_list.fatal, member_list.problems_json = "received", None, None
    member_list.error_ref = member_list.return_reason = None
    member_list.error_count = member_list.warning_count = member_list.row_count = 0
    member_list.progress_done, member_list.progress_total, member_list.progress_note = 0, 0, "Đang chờ kiểm tra"
    member_list.submitted_by_id = ctx.actor_id or member_list.submitted_by_id
    session.flush()
    audit.record(session, "member_list_received", ctx.actor_id, instance.id, "member_list", member_list.id,
                 round=member_list.round_no, workbook=workbook, photos=len(member_list.photo_refs))
    return {"list_id": member_list.id, "rows": _estimate_rows(ctx.upload_dir, workbook)}


def _estimate_rows(upload_dir: Path, workbook_ref: str) -> int:
    """Roughly how many member rows the upload holds (value cells / 12 typically filled columns), to choose between
    checking now and checking in the background; an unreadable file counts 0 (validate() reports it)."""
    try:
        return xlsxread.value_cells(upload_path(upload_dir, workbook_ref)[1].read_bytes()) // TYPICAL_FILLED_COLUMNS
    except Exception:  # noqa: BLE001 - validate() explains what is wrong with the file
        return 0


def _progress(ctx: ServiceContext, list_id: int, done: int, total: int, note: str) -> None:
    ctx.apart(lambda s: s.execute(update(MemberList).where(MemberList.id == list_id).values(
        progress_done=done, progress_total=total, progress_note=note, status="validating")))


def validate(ctx: ServiceContext, list_id: int, today: date | None = None) -> dict[str, Any]:
    """Check every row and photo; on success stage the rows for review (all of them), else store the
    error workbook. Returns ``{ok, rows, errors, warnings, error_file}``."""
    session = ctx.session
    member_list = session.get(MemberList, list_id)
    if member_list is None:
        raise NotFound("Không tìm thấy danh sách", list_id=list_id)
    _progress(ctx, list_id, 0, 0, "Đang đọc tệp")
    data = upload_path(ctx.upload_dir, member_list.workbook_ref or "")[1].read_bytes()
    fatal_photos = None
    try:
        photos = photo_files.collect([upload_path(ctx.upload_dir, ref, photo_files.FIELD)
                                      for ref in member_list.photo_refs or []])
    except InvalidInput as exc:
        photos, fatal_photos = {}, exc.message
    report = check_workbook(data, photos if member_list.photo_refs else None, today=today or clock.today(),
                            progress=lambda done, total: _progress(ctx, list_id, done, total, "Đang kiểm tra"))
    if fatal_photos and not report.fatal:
        report.fatal = fatal_photos
    if report.fatal is None:
        _progress(ctx, list_id, len(report.rows), len(report.rows), "Đang đối chiếu với danh sách đoàn viên")
        _check_registry(session, member_list, report)
    member_list.row_count = len(report.rows)
    member_list.error_count = len(report.errors) + (1 if report.fatal else 0)
    member_list.warning_count = len(report.warnings)
    member_list.fatal = report.fatal
    member_list.problems_json = json.dumps([asdict(p) for p in report.problems], ensure_ascii=False)
    member_list.validated_at = clock.now()
    member_list.progress_done = member_list.progress_total = len(report.rows)
    result: dict[str, Any] = {"ok": report.ok, "rows": len(report.rows), "errors": member_list.error_count,
                              "warnings": member_list.warning_count, "error_file": None}
    if report.ok:
        _stage(ctx, member_list, report)
        member_list.status, member_list.progress_note = "in_review", "Hợp lệ, đang chờ cấp trên duyệt"
    else:
        member_list.error_ref = uploads.store_bytes(ctx.upload_dir, "danh_sach_loi.xlsx", error_workbook(data, report))
        member_list.status, member_list.progress_note = "invalid", "Có lỗi, cần sửa và gửi lại"
        result["error_file"] = member_list.error_ref
    audit.record(session, "member_list_validated", ctx.actor_id, member_list.instance_id, "member_list",
                 member_list.id, ok=report.ok, rows=len(report.rows), errors=member_list.error_count,
                 warnings=member_list.warning_count, fatal=report.fatal)
    return result


def _check_registry(session: Session, member_list: MemberList, report: Report) -> None:
    """Duplicates against registered members (by ID: error; by name and birth date: warning) and against
    lists of other unions still waiting for review (error)."""
    by_id = {m.so_dinh_danh: m for m in report.rows if m.so_dinh_danh}
    ids = list(by_id)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        for number, code in session.execute(
                select(Member.id_number, Member.member_code).where(Member.id_number.in_(chunk))):
            report.problems.append(Problem(by_id[number].row, "so_dinh_danh", "error",
                                           f"Số CCCD/CMND {number} đã là đoàn viên (mã {code}); "
                                           "nếu chuyển nơi sinh hoạt, hãy làm thủ tục chuyển sinh hoạt."))
        pending = select(MemberListEntry.id_number, MemberList.id).join(
            MemberList, MemberList.id == MemberListEntry.list_id).where(
            MemberListEntry.id_number.in_(chunk), MemberList.status == "in_review",
            MemberList.id != member_list.id, MemberListEntry.decision == "pending")
        for number, other_id in session.execute(pending):
            report.problems.append(Problem(by_id[number].row, "so_dinh_danh", "error",
                                           f"Số CCCD/CMND {number} đang chờ duyệt trong danh sách số {other_id}."))
    by_name: dict[tuple[str, date], Any] = {(vntext.fold(m.ho_ten), m.ngay_sinh): m for m in report.rows
                                             if m.ho_ten and m.ngay_sinh}
    births = sorted({key[1] for key in by_name})
    for start in range(0, len(births), CHUNK):
        query = select(Member.name_fold, Member.birth_date, Member.member_code, Member.id_number).where(
            Member.birth_date.in_(births[start:start + CHUNK]))
        for name_fold, birth, code, number in session.execute(query):
            row = by_name.get((name_fold, birth))
            if row is not None and row.so_dinh_danh != number:
                report.problems.append(Problem(row.row, "ho_ten", "warning",
                                               f"Trùng họ tên và ngày sinh với đoàn viên mã {code}; hãy kiểm tra "
                                               "có phải cùng một người không."))
    report.problems.sort(key=lambda p: (p.row or 0, report.columns.get(p.column_key or "", 99)))


def _stage(ctx: ServiceContext, member_list: MemberList, report: Report) -> None:
    """The valid rows, kept for the review. Photos stay in the uploaded files until approval (see
    ``approval.approve``), so that a refused person's photo is never copied."""
    warnings: dict[int, list[str]] = {}
    for p in report.warnings:
        if p.row:
            warnings.setdefault(p.row, []).append(p.message_vi)
    rows = []
    for m in report.rows:
        data = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in vars(m).items() if k != "row"}
        rows.append({"list_id": member_list.id, "row_no": m.row, "id_number": m.so_dinh_danh,
                     "full_name": m.ho_ten, "data": data, "warnings": warnings.get(m.row, []),
                     "decision": "pending"})
    for start in range(0, len(rows), 2000):
        ctx.session.execute(insert(MemberListEntry), rows[start:start + 2000])


def collect_photos(upload_dir: Path, member_list: MemberList) -> dict[str, bytes]:
    """The list's photos by file name, read again from its uploaded files."""
    return photo_files.collect([upload_path(upload_dir, ref, photo_files.FIELD)
                                for ref in member_list.photo_refs or []])


def find_photo(upload_dir: Path, member_list: MemberList, name: str) -> bytes | None:
    return photo_files.find([upload_path(upload_dir, ref, photo_files.FIELD) for ref in member_list.photo_refs or []],
                            name)


def annotated_workbook(upload_dir: Path, member_list: MemberList) -> bytes:
    """The uploaded workbook with the list's problems marked (built on demand for warnings-only lists)."""
    data = upload_path(upload_dir, member_list.workbook_ref or "")[1].read_bytes()
    report = Report(problems=problems(member_list), fatal=member_list.fatal)
    probe = check_workbook(data, None)  # the header position and columns of this upload
    report.sheet_name, report.columns, report.header_row = probe.sheet_name, probe.columns, probe.header_row
    return error_workbook(data, report)


def entries(session: Session, member_list: MemberList) -> list[MemberListEntry]:
    return list(session.scalars(select(MemberListEntry).where(MemberListEntry.list_id == member_list.id)
                                .order_by(MemberListEntry.row_no)))


def problems(member_list: MemberList) -> list[Problem]:
    return [Problem(**p) for p in json.loads(member_list.problems_json or "[]")]


def check_review(ctx: ServiceContext, task_data: dict[str, Any], clean: dict[str, Any]) -> None:
    """Domain check of the review form: rejected members must be on the list, each with a reason."""
    decision = clean.get("decision")
    if decision == "return" and not str(clean.get("return_reason") or "").strip():
        raise InvalidInput("Hãy nêu lý do trả lại danh sách", field_errors={"return_reason": "Bắt buộc"})
    if decision != "approve_some":
        return
    rejections = clean.get("rejections") or []
    if not rejections:
        raise InvalidInput("Hãy liệt kê đoàn viên không được duyệt", field_errors={"rejections": "Bắt buộc"})
    list_id = int(task_data.get("list_id") or 0)
    known = set(ctx.session.scalars(select(MemberListEntry.id_number).where(MemberListEntry.list_id == list_id)))
    seen: set[str] = set()
    for item in rejections:
        number = "".join(ch for ch in str(item.get("so_dinh_danh") or "") if ch.isdigit())
        if number not in known:
            raise InvalidInput(f"Số CCCD/CMND {number or '(trống)'} không có trong danh sách",
                               field_errors={"rejections": f"{number or '(trống)'} không có trong danh sách"})
        if number in seen:
            raise InvalidInput(f"Số CCCD/CMND {number} được liệt kê hai lần", field_errors={"rejections": number})
        if not str(item.get("ly_do") or "").strip():
            raise InvalidInput(f"Hãy nêu lý do không duyệt {number}", field_errors={"rejections": "Thiếu lý do"})
        seen.add(number)


def record_return(ctx: ServiceContext, list_id: int, reason: str) -> dict[str, Any]:
    member_list = ctx.session.get(MemberList, list_id)
    if member_list is None:
        raise NotFound("Không tìm thấy danh sách", list_id=list_id)
    member_list.status, member_list.return_reason = "returned", vntext.nfc(reason)
    member_list.reviewed_by_id, member_list.decided_at = ctx.actor_id, clock.now()
    member_list.progress_note = "Cấp trên trả lại, cần sửa và gửi lại"
    audit.record(ctx.session, "member_list_returned", ctx.actor_id, member_list.instance_id, "member_list",
                 member_list.id, reason=member_list.return_reason)
    return {"returned": True}


def cancel(ctx: ServiceContext, list_id: int) -> dict[str, Any]:
    member_list = ctx.session.get(MemberList, list_id)
    if member_list is not None:
        member_list.status, member_list.progress_note = "cancelled", "Đã rút danh sách"
        ctx.session.execute(delete(MemberListEntry).where(MemberListEntry.list_id == list_id))
        audit.record(ctx.session, "member_list_cancelled", ctx.actor_id, member_list.instance_id, "member_list",
                     list_id)
    return {"cancelled": True}
