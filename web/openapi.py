"""The OpenAPI 3 document of the REST API (/api/openapi.json) and a plain docs page (/api/docs).

The document is built with apispec from the marshmallow schemas (web/schemas.py) and the YAML in
the docstrings of the web/api.py handlers; it is built once per app and cached.
"""
from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec_webframeworks.flask import FlaskPlugin
from flask import Blueprint, Flask, current_app, render_template

from web.schemas import SCHEMAS

bp = Blueprint("openapi", __name__, url_prefix="/api")

API_VERSION = "1.0.0"
DESCRIPTION = (
    "REST API của Nền tảng Công đoàn. Xác thực bằng cookie phiên của trang đăng nhập (/login). "
    "Mọi yêu cầu POST phải gửi mã CSRF trong tiêu đề X-CSRFToken (lấy từ GET /api/v1/csrf-token "
    "hoặc thẻ <meta name=\"csrf-token\"> của trang). Ngày giờ theo ISO 8601. Lỗi trả về JSON "
    "{error, message}; 422 kèm fields (thông báo theo từng trường); 409 khi công việc đã được xử lý "
    "kèm by/at.\n\n"
    "Authentication: the session cookie of the login page. Every POST needs the CSRF token in the "
    "X-CSRFToken header. Dates are ISO 8601. Errors are JSON {error, message}; 422 adds fields; 409 on an "
    "already completed task adds by/at."
)


def build_spec(app: Flask) -> APISpec:
    spec = APISpec(
        title="Công đoàn Việt Nam · REST API",
        version=API_VERSION,
        openapi_version="3.0.3",
        plugins=[FlaskPlugin(), MarshmallowPlugin()],
        info={"description": DESCRIPTION},
        servers=[{"url": "/"}],
        security=[{"session": [], "csrf": []}],
    )
    spec.components.security_scheme("session", {"type": "apiKey", "in": "cookie", "name": "session"})
    spec.components.security_scheme("csrf", {"type": "apiKey", "in": "header", "name": "X-CSRFToken",
                                             "description": "Required on POST"})
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema=schema)
    rules = sorted((r for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")), key=lambda r: r.rule)
    with app.test_request_context():
        for rule in rules:
            spec.path(view=app.view_functions[rule.endpoint], app=app)
    return spec


STATUS_TEXT = {"200": "OK", "201": "Created", "204": "No content", "400": "Bad request", "401": "Unauthorized",
               "403": "Forbidden", "404": "Not found", "409": "Conflict", "422": "Invalid input"}


def _with_descriptions(spec: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI 3 requires a description on every response; docstrings often give only the schema."""
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                if isinstance(response, dict) and "$ref" not in response:
                    response.setdefault("description", STATUS_TEXT.get(str(status), str(status)))
    return spec


def spec_dict(app: Flask) -> dict[str, Any]:
    cached = app.extensions.get("openapi_spec")
    if cached is None:
        cached = app.extensions["openapi_spec"] = _with_descriptions(build_spec(app).to_dict())
    return cached


def _ref_name(schema: Any) -> str:
    if not isinstance(schema, dict):
        return ""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if schema.get("allOf"):
        return " & ".join(_ref_name(part) for part in schema["allOf"])
    if schema.get("type") == "array":
        inner = _ref_name(schema.get("items"))
        return f"[{inner}]" if inner else "array"
    if schema.get("type") == "object" and schema.get("properties"):
        return "{" + ", ".join(f"{k}: {_ref_name(v) or v.get('type', '')}"
                               for k, v in schema["properties"].items()) + "}"
    return str(schema.get("type", ""))


def _json_schema(block: dict[str, Any] | None) -> str:
    content = (block or {}).get("content", {}).get("application/json", {})
    return _ref_name(content.get("schema"))


def endpoints(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows for the docs page: one per path and method."""
    rows = []
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            rows.append({
                "path": path, "method": method.upper(), "summary": op.get("summary", ""),
                "tags": op.get("tags", []),
                "parameters": [(p.get("name"), p.get("in"), p.get("required", False),
                                _ref_name(p.get("schema"))) for p in op.get("parameters", [])],
                "request": _json_schema(op.get("requestBody")),
                "responses": [(code, _json_schema(resp) if isinstance(resp, dict) else "")
                              for code, resp in op.get("responses", {}).items()],
            })
    return rows


def schemas(spec: dict[str, Any]) -> list[dict[str, Any]]:
    result = []
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        required = set(schema.get("required", []))
        result.append({"name": name, "description": schema.get("description", ""), "properties": [
            (prop, _ref_name(body), prop in required, body.get("description", ""))
            for prop, body in schema.get("properties", {}).items()]})
    return result


@bp.get("/openapi.json")
def openapi_json():
    return spec_dict(current_app)


@bp.get("/docs")
def docs():
    spec = spec_dict(current_app)
    return render_template("api/docs.html", spec=spec, endpoints=endpoints(spec), schemas=schemas(spec))
