"""Marshmallow schemas of the REST API (/api/v1): request bodies, query strings and responses.

The same classes feed the OpenAPI document (web/openapi.py). Dates are ISO 8601 with offset (UTC).
Input schemas reject unknown fields and wrong types; web/api.py turns their errors into 422 responses.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from engine import clock
from engine.roles import role_label


# ===================================================================================== shared parts
class UnitRefSchema(Schema):
    """A union unit, as referenced from other objects."""

    id = fields.Int(required=True)
    code = fields.Str(required=True, metadata={"description": "Mã định danh đơn vị"})
    name = fields.Str(required=True)
    kind = fields.Str(required=True)
    active = fields.Bool(required=True)


class UserRefSchema(Schema):
    """A user, as referenced from other objects."""

    id = fields.Int(required=True)
    username = fields.Str(required=True)
    full_name = fields.Str(required=True)


class ErrorSchema(Schema):
    """Every error response: 401, 403, 404, 409 and 422."""

    error = fields.Str(required=True, metadata={"description": "unauthorized | forbidden | not_found | "
                                                               "conflict | invalid"})
    message = fields.Str(required=True, metadata={"description": "Human-readable message (Vietnamese)"})
    fields_ = fields.Dict(data_key="fields", keys=fields.Str(), values=fields.Raw(),
                          metadata={"description": "422 only: message per input field (dotted path)"})


class ConflictSchema(ErrorSchema):
    """409 when a task was already completed: who completed it and when."""

    task = fields.Str(allow_none=True)
    by = fields.Str(allow_none=True, metadata={"description": "Full name of the user who completed it"})
    at = fields.DateTime(allow_none=True)


# ===================================================================================== tasks
class TaskSchema(Schema):
    """A human task (inbox row)."""

    id = fields.Int(required=True)
    name = fields.Str(required=True)
    element_id = fields.Str(required=True, metadata={"description": "BPMN element id"})
    status = fields.Str(required=True, metadata={"description": "open | completed | cancelled"})
    form = fields.Str(allow_none=True, metadata={"description": "JSON Schema form file name"})
    role = fields.Str(allow_none=True)
    role_label = fields.Method("get_role_label", metadata={"type": "string"})
    unit = fields.Nested(UnitRefSchema, allow_none=True)
    instance_id = fields.Int(required=True)
    process_id = fields.Function(lambda t: t.instance.process_id if t.instance else None,
                                 metadata={"type": "string"})
    instance_title = fields.Function(lambda t: t.instance.title if t.instance else None,
                                     metadata={"type": "string"})
    assignee = fields.Nested(UserRefSchema, allow_none=True)
    candidate = fields.Nested(UserRefSchema, allow_none=True)
    completed_by = fields.Nested(UserRefSchema, allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    overdue = fields.Method("get_overdue", metadata={"type": "boolean"})

    def get_role_label(self, task: Any) -> str:
        return role_label(task.role)

    def get_overdue(self, task: Any) -> bool:
        due: datetime | None = task.due_at
        return bool(task.status == "open" and due is not None and due < clock.now())


class TaskDetailSchema(TaskSchema):
    """A task with its form's JSON Schema and the saved draft (from engine.admin_views.TaskView)."""

    form_schema = fields.Dict(allow_none=True, metadata={"description": "JSON Schema (2020-12) of the form"})
    draft = fields.Dict(allow_none=True, metadata={"description": "Saved draft data, if any"})


class TaskPageSchema(Schema):
    """One page of the inbox."""

    items = fields.List(fields.Nested(TaskSchema), required=True)
    total = fields.Int(required=True)
    page = fields.Int(required=True)
    pages = fields.Int(required=True)
    per_page = fields.Int(required=True)


class TaskQuerySchema(Schema):
    """Inbox filters (query string), the same as the inbox page's."""

    class Meta:
        unknown = EXCLUDE

    mine = fields.Bool(load_default=False, metadata={"description": "Only tasks assigned to me"})
    overdue = fields.Bool(load_default=False, metadata={"description": "Only overdue tasks"})
    process = fields.Str(load_default=None, metadata={"description": "Process id"})
    q = fields.Str(load_default=None, metadata={"description": "Text in the task name"})
    status = fields.Str(load_default="open", validate=validate.OneOf(["open", "completed"]))
    page = fields.Int(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Int(load_default=25, validate=validate.Range(min=1, max=100))


class CompleteTaskSchema(Schema):
    """Body of POST /tasks/{id}/complete: the form data, validated against the task's form."""

    class Meta:
        unknown = RAISE

    data = fields.Dict(keys=fields.Str(), required=True)


class ReassignTaskSchema(Schema):
    class Meta:
        unknown = RAISE

    username = fields.Str(required=True, validate=validate.Length(min=1, max=80))


# ===================================================================================== instances
class ProcessSchema(Schema):
    """A process the current user may start, with the units where they may start it."""

    process_id = fields.Str(attribute="version.process_id", required=True)
    name = fields.Str(attribute="version.name")
    version = fields.Function(lambda p: p.version.content_hash[:12], metadata={
        "type": "string", "description": "Short content hash of the current version"})
    deployed_at = fields.DateTime(attribute="version.deployed_at", allow_none=True)
    start_role = fields.Str(attribute="version.start_role", allow_none=True)
    start_form = fields.Str(attribute="version.start_form", allow_none=True)
    start_form_schema = fields.Dict(allow_none=True)
    units = fields.List(fields.Nested(UnitRefSchema))


class InstanceErrorSchema(Schema):
    message = fields.Str(attribute="error_message")
    task = fields.Str(attribute="error_task", allow_none=True)
    line = fields.Int(attribute="error_line", allow_none=True)


class InstanceSchema(Schema):
    """A process instance (hồ sơ) with its open tasks (from engine.admin_views.InstanceView)."""

    id = fields.Int(required=True)
    process_id = fields.Str(required=True)
    process_name = fields.Function(lambda i: i.version.name if i.version else None,
                                   metadata={"type": "string"})
    title = fields.Str()
    status = fields.Str(required=True, metadata={"description": "running | waiting | error | completed | "
                                                                "cancelled"})
    version = fields.Function(lambda i: i.version.content_hash[:12] if i.version else None, metadata={
        "type": "string", "description": "Short content hash of the version the instance runs on"})
    version_id = fields.Int()
    unit = fields.Nested(UnitRefSchema, attribute="subject_unit")
    started_by = fields.Nested(UserRefSchema, allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    next_due_at = fields.DateTime(allow_none=True)
    error = fields.Method("get_error", metadata={
        "type": "object", "nullable": True, "description": "{message, task, line}; set when status is error"})
    open_tasks = fields.List(fields.Nested(TaskSchema))

    def get_error(self, instance: Any) -> dict[str, Any] | None:
        if not instance.error_message:
            return None
        return InstanceErrorSchema().dump(instance)


class StartInstanceSchema(Schema):
    """Body of POST /processes/{process_id}/instances."""

    class Meta:
        unknown = RAISE

    unit_id = fields.Int(required=True, strict=True, metadata={"description": "Subject unit id"})
    data = fields.Dict(keys=fields.Str(), load_default=dict, metadata={"description": "Start form data"})


class CancelInstanceSchema(Schema):
    class Meta:
        unknown = RAISE

    reason = fields.Str(load_default="", validate=validate.Length(max=2000))


class CompletionSchema(Schema):
    """Result of completing a task: the task and its instance afterwards."""

    task = fields.Nested(TaskSchema, required=True)
    instance = fields.Nested(InstanceSchema, required=True)


class CsrfTokenSchema(Schema):
    csrf_token = fields.Str(required=True)


SCHEMAS = {
    "UnitRef": UnitRefSchema, "UserRef": UserRefSchema, "Error": ErrorSchema, "Conflict": ConflictSchema,
    "Task": TaskSchema, "TaskDetail": TaskDetailSchema, "TaskPage": TaskPageSchema,
    "CompleteTask": CompleteTaskSchema, "ReassignTask": ReassignTaskSchema, "Process": ProcessSchema,
    "InstanceError": InstanceErrorSchema, "Instance": InstanceSchema, "StartInstance": StartInstanceSchema,
    "CancelInstance": CancelInstanceSchema, "Completion": CompletionSchema, "CsrfToken": CsrfTokenSchema,
}
