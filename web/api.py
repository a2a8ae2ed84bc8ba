"""JSON REST API, version 1 (/api/v1).

Authentication: the session cookie set by the normal login page (/login). Requests without a session
get 401. Every POST must carry the CSRF token in the ``X-CSRFToken`` header (Flask-WTF checks it); get it
from ``GET /api/v1/csrf-token`` or from the ``<meta name="csrf-token">`` of any page.

Each handler validates its input with a marshmallow schema (web/schemas.py), makes one engine call,
commits and dumps the result with a schema. Errors are JSON: 401/403/404/409 ({error, message}),
409 on an already completed task also gives ``by`` and ``at``, and 422 ({error: "invalid", message,
fields}) for wrong shapes/types and for form data the engine refuses.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf
from marshmallow import Schema, ValidationError

from engine import admin_views as views
from engine.errors import AlreadyCompleted, InvalidInput
from engine.humantasks import InboxFilter
from web.context import current_user, host, login_required
from web.extensions import db
from web.schemas import (CancelInstanceSchema, CompleteTaskSchema, CompletionSchema, InstanceSchema,
                         ProcessSchema, ReassignTaskSchema, StartInstanceSchema, TaskDetailSchema, TaskPageSchema,
                         TaskQuerySchema, TaskSchema)

bp = Blueprint("api", __name__, url_prefix="/api/v1")


# ===================================================================================== helpers
def _body(schema: type[Schema], required: bool = True) -> dict[str, Any]:
    """Load the JSON body with ``schema``; an empty body is an empty object when nothing is required."""
    payload = request.get_json(silent=True)
    if payload is None and not required and not request.get_data():
        payload = {}
    return schema().load(payload)  # type: ignore[arg-type]


def _query(schema: type[Schema]) -> dict[str, Any]:
    return schema().load(request.args.to_dict())


def _message(text: str) -> str:
    """marshmallow's English messages, in Vietnamese (plain _() calls, so the catalogue finds them)."""
    if text == "Missing data for required field.":
        return _("Trường này là bắt buộc")
    if text == "Unknown field.":
        return _("Trường không được hỗ trợ")
    if text.startswith("Not a valid integer"):
        return _("Phải là số nguyên")
    if text.startswith("Not a valid string"):
        return _("Phải là chuỗi ký tự")
    if text.startswith("Not a valid boolean"):
        return _("Phải là true hoặc false")
    if text.startswith("Not a valid mapping") or text.startswith("Invalid input type"):
        return _("Phải là đối tượng JSON")
    if text.startswith("Must be one of"):
        return _("Giá trị không nằm trong danh sách cho phép")
    if text.startswith("Must be greater") or text.startswith("Must be less"):
        return _("Giá trị nằm ngoài khoảng cho phép")
    if text.startswith("Shorter than") or text.startswith("Length must"):
        return _("Độ dài không hợp lệ")
    if text.startswith("Longer than"):
        return _("Quá dài")
    if text.startswith("Field may not be null"):
        return _("Không được để trống")
    return text


def _flatten(messages: Any, prefix: str = "") -> dict[str, str]:
    """{"data": {"x": ["msg"]}} → {"data.x": "msg"}; schema-level errors go under "_schema"."""
    result: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            result.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(messages, list):
        strings = [m for m in messages if isinstance(m, str)]
        if strings:
            result[prefix or "_schema"] = _message(strings[0])
        for item in messages:
            if not isinstance(item, str):
                result.update(_flatten(item, prefix))
    else:
        result[prefix or "_schema"] = _message(str(messages))
    return result


def _invalid(message: str, field_errors: dict[str, str]):
    db.session.rollback()
    return {"error": "invalid", "message": message, "fields": field_errors}, 422


@bp.errorhandler(ValidationError)
def _validation_error(exc: ValidationError):
    return _invalid(_("Dữ liệu gửi lên không hợp lệ"), _flatten(exc.messages))


@bp.errorhandler(InvalidInput)
def _invalid_input(exc: InvalidInput):
    return _invalid(_(exc.message), {k: _(v) for k, v in exc.field_errors.items()})


@bp.errorhandler(AlreadyCompleted)
def _already_completed(exc: AlreadyCompleted):
    db.session.rollback()
    return {"error": "conflict", "message": _(exc.message), "task": exc.task_name, "by": exc.by,
            "at": exc.at.isoformat() if exc.at else None}, 409


# ===================================================================================== session
@bp.get("/csrf-token")
@login_required
def csrf_token():
    """CSRF token for the X-CSRFToken header of POST requests.
    ---
    get:
      tags: [session]
      summary: Mã CSRF cho các yêu cầu POST (gửi trong tiêu đề X-CSRFToken)
      responses:
        200:
          content:
            application/json:
              schema: CsrfTokenSchema
        401:
          content:
            application/json:
              schema: ErrorSchema
    """
    return {"csrf_token": generate_csrf()}


# ===================================================================================== processes
@bp.get("/processes")
@login_required
def processes():
    """Processes the current user may start.
    ---
    get:
      tags: [processes]
      summary: Các quy trình người dùng được khởi tạo, kèm các đơn vị được phép
      responses:
        200:
          content:
            application/json:
              schema:
                type: object
                properties:
                  items:
                    type: array
                    items: ProcessSchema
        401:
          content:
            application/json:
              schema: ErrorSchema
    """
    items = views.startable_processes(db.session, host(), current_user())
    return {"items": ProcessSchema(many=True).dump(items)}


@bp.post("/processes/<process_id>/instances")
@login_required
def start_instance(process_id: str):
    """Start an instance of a process at a unit.
    ---
    post:
      tags: [instances]
      summary: Khởi tạo hồ sơ quy trình tại một đơn vị với dữ liệu biểu mẫu khởi tạo
      parameters:
        - in: path
          name: process_id
          schema: {type: string}
          required: true
      requestBody:
        required: true
        content:
          application/json:
            schema: StartInstanceSchema
      responses:
        201:
          content:
            application/json:
              schema: InstanceSchema
        403:
          content:
            application/json:
              schema: ErrorSchema
        404:
          content:
            application/json:
              schema: ErrorSchema
        422:
          content:
            application/json:
              schema: ErrorSchema
    """
    payload = _body(StartInstanceSchema)
    view = views.start_instance(db.session, host(), current_user(), process_id, payload["unit_id"],
                                payload["data"])
    db.session.commit()
    return InstanceSchema().dump(view), 201, {"Location": url_for(".instance", instance_id=view.instance.id)}


# ===================================================================================== instances
@bp.get("/instances/<int:instance_id>")
@login_required
def instance(instance_id: int):
    """One instance.
    ---
    get:
      tags: [instances]
      summary: Trạng thái, tiêu đề, đơn vị, phiên bản, công việc đang mở và lỗi của hồ sơ
      parameters:
        - in: path
          name: instance_id
          schema: {type: integer}
          required: true
      responses:
        200:
          content:
            application/json:
              schema: InstanceSchema
        403:
          content:
            application/json:
              schema: ErrorSchema
        404:
          content:
            application/json:
              schema: ErrorSchema
    """
    return InstanceSchema().dump(views.instance_view(db.session, host(), current_user(), instance_id))


@bp.post("/instances/<int:instance_id>/cancel")
@login_required
def cancel_instance(instance_id: int):
    """Cancel an instance.
    ---
    post:
      tags: [instances]
      summary: Hủy hồ sơ đang chạy (người khởi tạo, lãnh đạo đơn vị hoặc quản trị viên)
      parameters:
        - in: path
          name: instance_id
          schema: {type: integer}
          required: true
      requestBody:
        required: false
        content:
          application/json:
            schema: CancelInstanceSchema
      responses:
        200:
          content:
            application/json:
              schema: InstanceSchema
        403:
          content:
            application/json:
              schema: ErrorSchema
        404:
          content:
            application/json:
              schema: ErrorSchema
        409:
          content:
            application/json:
              schema: ErrorSchema
    """
    payload = _body(CancelInstanceSchema, required=False)
    view = views.cancel_instance(db.session, host(), current_user(), instance_id, payload["reason"])
    db.session.commit()
    return InstanceSchema().dump(view)


@bp.post("/instances/<int:instance_id>/retry")
@login_required
def retry_instance(instance_id: int):
    """Retry a failed instance.
    ---
    post:
      tags: [instances]
      summary: Chạy lại bước bị lỗi của hồ sơ trên phiên bản quy trình mới nhất
      parameters:
        - in: path
          name: instance_id
          schema: {type: integer}
          required: true
      responses:
        200:
          content:
            application/json:
              schema: InstanceSchema
        403:
          content:
            application/json:
              schema: ErrorSchema
        404:
          content:
            application/json:
              schema: ErrorSchema
        409:
          content:
            application/json:
              schema: ErrorSchema
    """
    view = views.retry_instance(db.session, host(), current_user(), instance_id)
    db.session.commit()
    return InstanceSchema().dump(view)


# ===================================================================================== tasks
@bp.get("/tasks")
@login_required
def tasks():
    """The inbox.
    ---
    get:
      tags: [tasks]
      summary: Hộp công việc của người dùng, lọc và phân trang như trang Hộp công việc
      parameters:
        - in: query
          schema: TaskQuerySchema
      responses:
        200:
          content:
            application/json:
              schema: TaskPageSchema
        422:
          content:
            application/json:
              schema: ErrorSchema
    """
    args = _query(TaskQuerySchema)
    flt = InboxFilter(mine_only=args["mine"], overdue_only=args["overdue"], process_id=args["process"] or None,
                      text=(args["q"] or "").strip() or None, status=args["status"], page=args["page"],
                      per_page=args["per_page"])
    return TaskPageSchema().dump(views.task_inbox(db.session, current_user(), flt))


@bp.get("/tasks/<int:task_id>")
@login_required
def task(task_id: int):
    """One task.
    ---
    get:
      tags: [tasks]
      summary: Chi tiết công việc kèm lược đồ biểu mẫu (JSON Schema) và bản nháp đã lưu
      parameters:
        - in: path
          name: task_id
          schema: {type: integer}
          required: true
      responses:
        200:
          content:
            application/json:
              schema: TaskDetailSchema
        403:
          content:
            application/json:
              schema: ErrorSchema
        404:
          content:
            application/json:
              schema: ErrorSchema
    """
    return TaskDetailSchema().dump(views.task_view(db.session, host(), current_user(), task_id))


@bp.post("/tasks/<int:task_id>/claim")
@login_required
def claim(task_id: int):
    """Claim a task.
    ---
    post:
      tags: [tasks]
      summary: Nhận công việc được giao cho vai trò (hoặc cho mình)
      parameters:
        - in: path
          name: task_id
          schema: {type: integer}
          required: true
      responses:
        200:
          content:
            application/json:
              schema: TaskSchema
        403:
          content:
            application/json:
              schema: ErrorSchema
        404:
          content:
            application/json:
              schema: ErrorSchema
        409:
          content:
            application/json:
              schema: ConflictSchema
    """
    task_row = host().claim(db.session, task_id, current_user())
    db.session.commit()
    return TaskSchema().dump(task_row)


@bp.post("/tasks/<int:task_id>/unclaim")
@login_required
def unclaim(task_id: int):
    """Give a task back.
    ---
    post:
      tags: [tasks]
      summary: Trả lại công việc đang giữ để người khác cùng vai trò nhận
      parameters:
        - in: path
          name: task_id
          schema: {type: integer}
          required: true
      responses:
        200:
          content:
            application/json:
              schema: TaskSchema
        403:
          content:
            application/json:
              schema: ErrorSchema
        404:
          content:
            application/json:
              schema: ErrorSchema
    """
    task_row = host().unclaim(db.session, task_id, current_user())
    db.session.commit()
    return TaskSchema().dump(task_row)


@bp.post("/tasks/<int:task_id>/complete")
@login_required
def complete(task_id: int):
    """Complete a task.
    ---
    post:
      tags: [tasks]
      summary: Hoàn thành công việc với dữ liệu biểu mẫu; hồ sơ chuyển bước tiếp
      parameters:
        - in: path
          name: task_id
          schema: {type: integer}
          required: true
      requestBody:
        required: true
        content:
          application/json:
            schema: CompleteTaskSchema
      responses:
        200:
          content:
            application/json:
              schema: CompletionSchema
        403:
          content:
            application/json:
              schema: ErrorSchema
        404:
          content:
            application/json:
              schema: ErrorSchema
        409:
          description: Công việc đã được xử lý (người xử lý, thời điểm)
          content:
            application/json:
              schema: ConflictSchema
        422:
          content:
            application/json:
              schema: ErrorSchema
    """
    payload = _body(CompleteTaskSchema)
    result = views.complete_task(db.session, host(), current_user(), task_id, payload["data"])
    db.session.commit()
    return CompletionSchema().dump(result)


@bp.post("/tasks/<int:task_id>/reassign")
@login_required
def reassign(task_id: int):
    """Reassign a task.
    ---
    post:
      tags: [tasks]
      summary: Giao lại công việc cho người khác trong đơn vị (lãnh đạo, quản lý đơn vị)
      parameters:
        - in: path
          name: task_id
          schema: {type: integer}
          required: true
      requestBody:
        required: true
        content:
          application/json:
            schema: ReassignTaskSchema
      responses:
        200:
          content:
            application/json:
              schema: TaskSchema
        403:
          content:
            application/json:
              schema: ErrorSchema
        404:
          content:
            application/json:
              schema: ErrorSchema
        409:
          content:
            application/json:
              schema: ConflictSchema
        422:
          content:
            application/json:
              schema: ErrorSchema
    """
    payload = _body(ReassignTaskSchema)
    task_row = host().reassign(db.session, task_id, current_user(), payload["username"])
    db.session.commit()
    return TaskSchema().dump(task_row)
