"""JSON-Schema forms ↔ HTML: widgets for templates and the parsing of posted fields into a dict.

Posted names: ``field`` for scalars, ``field[0][sub]`` for rows of an array of objects, a file input
named ``field`` for x-widget file (a hidden ``field`` keeps an earlier upload's reference).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage, MultiDict

from engine import uploads
from engine.clock import VN_TZ
from engine.forms import Form

SKIP = {"csrf_token", "action", "unit_id"}
KEPT = "__kept"  # hidden inputs of an x-widget files field: references uploaded earlier
MULTI = "__files"  # marker of an x-widget files field: the field is a list even when no file is chosen
_ROW = re.compile(r"^([A-Za-z_][\w-]*)\[(\d{1,4})\]\[([A-Za-z_][\w-]*)\]$")


def N_(text: str) -> str:
    """Mark a string for the catalogue without translating it here."""
    return text


# Engine messages shown on pages (translated at display time through gettext).
ENGINE_MESSAGES = [
    N_("Không tìm thấy quy trình"), N_("Không tìm thấy hồ sơ quy trình"), N_("Bạn không có quyền xem hồ sơ này"),
    N_("Không tìm thấy công việc"), N_("Bạn không có quyền xem công việc này"),
    N_("Bạn không có quyền khởi tạo quy trình này tại đơn vị đã chọn"),
    N_("Công việc này đang giao cho người khác"), N_("Công việc không còn ở trạng thái chờ xử lý"),
    N_("Không thể lưu nháp công việc này"), N_("Bạn không thể nhận công việc này"),
    N_("Công việc đã được người khác nhận"), N_("Bạn không giữ công việc này"),
    N_("Chỉ lãnh đạo/quản lý của đơn vị được giao lại công việc"), N_("Không tìm thấy người nhận"),
    N_("Không tìm thấy người dùng"), N_("Người nhận không thuộc đơn vị của công việc"),
    N_("Người nhận không thuộc đơn vị"), N_("Nội dung bình luận trống"), N_("Bắt buộc"),
    N_("Hồ sơ đã kết thúc"), N_("Bạn không có quyền hủy hồ sơ này"), N_("Hồ sơ không ở trạng thái lỗi"),
    N_("Bạn không có quyền chạy lại hồ sơ này"), N_("Hồ sơ vừa được người khác cập nhật, vui lòng thử lại"),
    N_("Không tìm thấy biểu mẫu"), N_("Dữ liệu biểu mẫu không hợp lệ"), N_("Trường này là bắt buộc"),
    N_("Sai kiểu dữ liệu"), N_("Giá trị không nằm trong danh sách cho phép"), N_("Quá ngắn"), N_("Quá dài"),
    N_("Giá trị quá nhỏ"), N_("Giá trị quá lớn"), N_("Sai định dạng"), N_("Công việc đã được xử lý"),
    N_("Chỉ quản trị viên được truy cập"), N_("Không tìm thấy đơn vị"), N_("Tệp quá lớn"), N_("Tệp rỗng"),
    N_("Không tìm thấy tệp"), N_("Tên bộ lọc trống"), N_("Tên bộ lọc quá dài"), N_("Không tìm thấy bộ lọc"),
    N_("Chưa chọn đơn vị"), N_("Thời điểm phải ở tương lai"),
]


# ----------------------------------------------------------------------------------------- parsing
def parse_payload(form: MultiDict, files: MultiDict, upload_dir: str, max_bytes: int = uploads.MAX_BYTES,
                  skip: set[str] = SKIP) -> dict[str, Any]:
    """Posted fields → a dict for the engine: rows ``f[i][k]`` become a list of dicts (blank rows dropped),
    checkboxes post their value, uploaded files are stored and replaced by their reference."""
    data: dict[str, Any] = {}
    rows: dict[str, dict[int, dict[str, Any]]] = {}
    for key in form.keys():
        if key in skip:
            continue
        value = form.get(key)
        match = _ROW.match(key)
        if match:
            name, index, sub = match.group(1), int(match.group(2)), match.group(3)
            rows.setdefault(name, {}).setdefault(index, {})[sub] = value
        elif "[" not in key:
            data[key] = value
    for key in [k for k in form.keys() if k.endswith(KEPT)]:  # x-widget files: earlier uploads kept
        data[key[: -len(KEPT)]] = [v for v in form.getlist(key) if uploads.parse_reference(v)]
        del data[key]
    for key in files.keys():
        if f"{key}{KEPT}" in form or f"{key}{MULTI}" in form:  # x-widget files: a list of references
            kept = data.get(key) if isinstance(data.get(key), list) else []
            data[key] = kept + [uploads.store(upload_dir, key, f.filename, f.stream, max_bytes).reference
                                for f in files.getlist(key) if isinstance(f, FileStorage) and f.filename]
    for key, storage in files.items(multi=False):
        if not isinstance(storage, FileStorage) or not storage.filename or isinstance(data.get(key), list):
            continue
        match = _ROW.match(key)
        stored = uploads.store(upload_dir, key, storage.filename, storage.stream, max_bytes)
        if match:
            name, index, sub = match.group(1), int(match.group(2)), match.group(3)
            rows.setdefault(name, {}).setdefault(index, {})[sub] = stored.reference
        elif "[" not in key:
            data[key] = stored.reference
    for name, indexed in rows.items():
        data[name] = [row for _, row in sorted(indexed.items())
                      if any(str(v).strip() for v in row.values())]
    for name in list(data):
        if name.endswith(MULTI):
            del data[name]
            data.setdefault(name[: -len(MULTI)], [])
        elif name.endswith("__present"):
            del data[name]
            data.setdefault(name[: -len("__present")], [])
    return data


# ----------------------------------------------------------------------------------------- widgets
@dataclass
class Widget:
    name: str
    label: str
    kind: str  # text textarea number integer date datetime select checkbox file files table
    value: Any = None
    required: bool = False
    error: str | None = None
    options: list[tuple[str, str]] = field(default_factory=list)
    columns: list["Widget"] = field(default_factory=list)
    rows: list[list["Widget"]] = field(default_factory=list)
    description: str | None = None
    minimum: Any = None
    maximum: Any = None
    hint: str | None = None
    file_name: str | None = None


def _kind(spec: dict[str, Any]) -> str:
    kind = spec.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if "enum" in spec:
        return "select"
    if kind == "array":
        if spec.get("x-widget") == "files":
            return "files"
        return "table" if spec.get("items", {}).get("type") == "object" else "text"
    if kind == "boolean":
        return "checkbox"
    if kind in ("integer", "number"):
        return kind
    widget = spec.get("x-widget")
    if widget in ("textarea", "file"):
        return widget
    fmt = spec.get("format")
    if fmt == "date":
        return "date"
    if fmt == "date-time":
        return "datetime"
    return "text"


def _display(value: Any, kind: str) -> Any:
    """A stored value as the HTML input expects it."""
    if value is None:
        return ""
    if kind == "date":
        if isinstance(value, (date, datetime)):
            return value.strftime("%Y-%m-%d")
        text = str(value)
        if "/" in text:
            try:
                return datetime.strptime(text, "%d/%m/%Y").strftime("%Y-%m-%d")
            except ValueError:
                return text
        return text[:10]
    if kind == "datetime":
        try:
            parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
        if parsed.tzinfo:
            parsed = parsed.astimezone(VN_TZ)
        return parsed.strftime("%Y-%m-%dT%H:%M")
    if kind == "checkbox":
        return value is True or str(value).lower() in ("1", "true", "on", "yes", "có")
    return value


def _widget(name: str, spec: dict[str, Any], value: Any, required: bool, error: str | None) -> Widget:
    kind = _kind(spec)
    w = Widget(name=name, label=spec.get("title") or name, kind=kind, required=required,
               error=error, description=spec.get("description"),
               minimum=spec.get("minimum"), maximum=spec.get("maximum"))
    if kind == "select":
        labels = spec.get("x-enumNames") or []
        w.options = [(str(v), str(labels[i]) if i < len(labels) else str(v)) for i, v in enumerate(spec["enum"])]
    if kind == "date":
        w.hint = _("dd/mm/yyyy")
    if kind == "file":
        parsed = uploads.parse_reference(value)
        w.file_name = parsed[1] if parsed else None
    if kind == "files":
        refs = [v for v in value if uploads.parse_reference(v)] if isinstance(value, list) else []
        w.rows = [[Widget(name=ref, label=uploads.parse_reference(ref)[1], kind="kept")] for ref in refs]
        w.file_name = ", ".join(uploads.parse_reference(ref)[1] for ref in refs) or None
        value = None
    w.value = _display(value if value is not None else spec.get("default"), kind)
    if kind == "date" and w.value:
        try:
            w.hint = datetime.strptime(str(w.value), "%Y-%m-%d").strftime("%d/%m/%Y")
        except ValueError:
            pass
    if error == "Quá ngắn" and required and (value is None or str(value).strip() == ""):
        w.error = "Trường này là bắt buộc"  # an empty required string fails minLength first
    return w


def widgets(form: Form | None, values: dict[str, Any] | None = None,
            errors: dict[str, str] | None = None) -> list[Widget]:
    """One widget per form field, in x-order, with values (draft or posted) and per-field errors."""
    if form is None:
        return []
    values = values or {}
    errors = errors or {}
    required = set(form.schema.get("required", []))
    result = []
    for name, spec in form.fields():
        value = values.get(name)
        w = _widget(name, spec, value, name in required, errors.get(name))
        if w.kind == "table":
            item = spec.get("items", {})
            props = item.get("properties", {})
            sub_required = set(item.get("required", []))
            order = item.get("x-order") or list(props)
            w.columns = [_widget(k, props[k], None, k in sub_required, None) for k in order if k in props]
            row_values = value if isinstance(value, list) else []
            for index, row in enumerate(row_values):
                row = row if isinstance(row, dict) else {}
                w.rows.append([_widget(k, props[k], row.get(k), k in sub_required,
                                       errors.get(f"{name}.{index}.{k}") or errors.get(f"{name}.{index}"))
                               for k in order if k in props])
            w.value = None
            nested = [msg for key, msg in errors.items() if key.startswith(f"{name}.") and key.count(".") == 1]
            w.error = w.error or (nested[0] if nested else None)
        result.append(w)
    return result


def form_errors(errors: dict[str, str], form: Form | None) -> list[str]:
    """Errors that belong to no field of the form (shown above it)."""
    names = {name for name, _spec in form.fields()} if form else set()
    return [msg for key, msg in errors.items() if key.split(".")[0] not in names]
