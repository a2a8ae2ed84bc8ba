"""User-task forms: one JSON Schema per form in forms/, validated on the server."""
from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from engine.clock import VN_TZ
from engine.errors import InvalidInput, NotFound

FORM_PROPERTY = "formJsonSchemaFilename"


@dataclass(frozen=True)
class Form:
    name: str
    schema: dict[str, Any]

    @property
    def title(self) -> str:
        return self.schema.get("title", self.name)

    def fields(self) -> list[tuple[str, dict[str, Any]]]:
        order = self.schema.get("x-order") or list(self.schema.get("properties", {}))
        props = self.schema.get("properties", {})
        return [(name, props[name]) for name in order if name in props]


class FormRegistry:
    """Loads forms from a folder once; ``check_all`` reports broken ones without raising."""

    def __init__(self, forms_dir: Path) -> None:
        self.forms_dir = Path(forms_dir)
        self._cache: dict[str, Form] = {}

    def names(self) -> list[str]:
        return sorted(p.name for p in self.forms_dir.glob("*.json"))

    def get(self, name: str) -> Form:
        if name not in self._cache:
            path = self.forms_dir / name
            if path.name != name or not path.is_file():
                raise NotFound("Không tìm thấy biểu mẫu", form=name)
            self._cache[name] = Form(name, load_schema(path))
        return self._cache[name]

    def check(self, name: str) -> str | None:
        """A problem with the form, or None."""
        try:
            self.get(name)
        except NotFound:
            return f"form '{name}' does not exist in {self.forms_dir.name}/"
        except (ValueError, SchemaError) as exc:
            return f"form '{name}' is not a valid JSON Schema: {exc}"
        return None


def load_schema(path: Path) -> dict[str, Any]:
    schema = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise ValueError("a form schema must be an object schema")
    Draft202012Validator.check_schema(schema)
    return schema


def _coerce(value: Any, spec: dict[str, Any]) -> Any:
    """Turn HTML form strings into the schema's types; leave unparseable values for the validator."""
    kind = spec.get("type")
    if isinstance(value, str):
        value = unicodedata.normalize("NFC", value.strip())
        if value == "" and kind != "string":
            return None
        if kind == "integer":
            try:
                return int(value)
            except ValueError:
                return value
        if kind == "number":
            try:
                return float(value.replace(",", "."))
            except ValueError:
                return value
        if kind == "boolean":
            return value.lower() in ("1", "true", "on", "yes", "có")
        fmt = spec.get("format")
        if fmt == "date" and "/" in value:
            try:
                return datetime.strptime(value, "%d/%m/%Y").date().isoformat()
            except ValueError:
                return value
        if fmt == "date-time" and value:
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                return value
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=VN_TZ)).isoformat()
    if kind == "array" and isinstance(value, list):
        item = spec.get("items", {})
        return [_coerce_object(v, item) if isinstance(v, dict) else _coerce(v, item) for v in value]
    return value


def _coerce_object(data: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    props = schema.get("properties", {})
    result = {}
    for key, value in data.items():
        if key not in props:
            continue
        coerced = _coerce(value, props[key])
        if coerced is not None and coerced != "" or props[key].get("type") == "string" and key in schema.get(
                "required", []):
            result[key] = coerced
    return result


# jsonschema checks "date-time" only when the optional rfc3339-validator package is installed; without it
# any string passed. Check it ourselves (ISO 8601 as produced by _coerce).
FORMAT_CHECKER = FormatChecker()


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_date_time(value: Any) -> bool:
    if isinstance(value, str):
        datetime.fromisoformat(value)
    return True


def validate(form: Form, data: dict[str, Any]) -> dict[str, Any]:
    """Coerce and validate submitted data; raise InvalidInput with one message per field."""
    clean = _coerce_object(data, form.schema)
    errors: dict[str, str] = {}
    for error in Draft202012Validator(form.schema, format_checker=FORMAT_CHECKER).iter_errors(clean):
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1]
            errors[f"{path}.{missing}" if path else missing] = "Trường này là bắt buộc"
        else:
            errors[path or "_form"] = _message(error)
    errors.update({k: v for k, v in _future_errors(form, clean).items() if k not in errors})
    if errors:
        raise InvalidInput("Dữ liệu biểu mẫu không hợp lệ", field_errors=errors)
    return clean


def _future_errors(form: Form, clean: dict[str, Any]) -> dict[str, str]:
    """``"x-future": true`` on a date/date-time field: the value must lie after now (e.g. a deadline)."""
    from engine import clock

    errors = {}
    for name, spec in form.schema.get("properties", {}).items():
        value = clean.get(name)
        if not spec.get("x-future") or not isinstance(value, str):
            continue
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            continue
        if spec.get("format") == "date" or moment.tzinfo is None:
            moment = moment.replace(tzinfo=VN_TZ) if moment.tzinfo is None else moment
        if moment <= clock.now():
            errors[name] = "Thời điểm phải ở tương lai"
    return errors


def _message(error) -> str:  # noqa: ANN001
    messages = {
        "type": "Sai kiểu dữ liệu",
        "enum": "Giá trị không nằm trong danh sách cho phép",
        "minLength": "Quá ngắn", "maxLength": "Quá dài",
        "minimum": "Giá trị quá nhỏ", "maximum": "Giá trị quá lớn",
        "format": "Sai định dạng", "pattern": "Sai định dạng",
    }
    return messages.get(error.validator, error.message)


def json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(type(value).__name__)
