"""The thin Flask layer: app factory, blueprints, templates, REST + OpenAPI, CLI."""
from __future__ import annotations

import importlib
import logging
import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import Flask, g, render_template, request
from flask_babel import gettext as _
from sqlalchemy import inspect

from engine.clock import VN_TZ
from engine.db import install_sqlite_pragmas
from engine.errors import Forbidden, NotFound, PlatformError
from engine.runtime import FORMS_DIR, PROCESSES_DIR, build_runtime
from web import context
from web.extensions import babel, csrf, db, migrate

log = logging.getLogger(__name__)

# Feature blueprints: each module defines ``bp``.
BLUEPRINTS = ["web.auth", "web.inbox", "web.tasks", "web.instances", "web.processes",
              "web.api", "web.openapi", "web.admin", "web.member_lists", "web.members",
              "web.targets", "web.cards"]
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("SECRET_KEY", "dev-only-change-me"),
        SQLALCHEMY_DATABASE_URI=os.environ.get(
            "DATABASE_URL", f"sqlite:///{Path(app.instance_path) / 'platform.db'}"),
        PROCESSES_DIR=str(PROCESSES_DIR),
        FORMS_DIR=str(FORMS_DIR),
        BABEL_DEFAULT_LOCALE="vi",
        BABEL_DEFAULT_TIMEZONE="Asia/Ho_Chi_Minh",
        UPLOAD_DIR=os.environ.get("UPLOAD_DIR", str(Path(app.instance_path) / "uploads")),
        MAX_CONTENT_LENGTH=60 * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        DEPLOY_ON_START=True,
    )
    if test_config:
        app.config.update(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    babel.init_app(app, locale_selector=context.select_locale, timezone_selector=lambda: "Asia/Ho_Chi_Minh")
    csrf.init_app(app)
    with app.app_context():
        install_sqlite_pragmas(db.engine)
    app.extensions["platform_runtime"] = build_runtime(Path(app.config["PROCESSES_DIR"]),
                                                       Path(app.config["FORMS_DIR"]),
                                                       upload_dir=Path(app.config["UPLOAD_DIR"]))

    for name in BLUEPRINTS:
        app.register_blueprint(importlib.import_module(name).bp)
    from web import cli

    cli.init_app(app)
    app.before_request(context.load_user)
    _register_errors(app)
    _register_filters(app)
    if app.config["DEPLOY_ON_START"]:
        _deploy_on_start(app)
    return app


def _deploy_on_start(app: Flask) -> None:
    """Store new process versions at start; a broken file is logged and refused, the server still starts."""
    with app.app_context():
        if not inspect(db.engine).has_table("process_versions"):
            return
        result = app.extensions["platform_runtime"].deploy(db.session)
        db.session.commit()
        for problem in result.problems:
            log.warning("process refused: %s", problem)


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _register_errors(app: Flask) -> None:
    def page(status: int, title: str, message: str):
        db.session.rollback()
        if _wants_json():
            return {"error": {403: "forbidden", 404: "not_found", 409: "conflict"}.get(status, "error"),
                    "message": message}, status
        return render_template("error.html", status=status, title=title, message=message), status

    @app.errorhandler(NotFound)
    def not_found(exc: NotFound):
        return page(404, _("Không tìm thấy"), _(exc.message))

    @app.errorhandler(Forbidden)
    def forbidden(exc: Forbidden):
        return page(403, _("Không có quyền truy cập"), _(exc.message))

    @app.errorhandler(PlatformError)
    def platform_error(exc: PlatformError):
        return page(409, _("Không thực hiện được"), _(exc.message))

    @app.errorhandler(404)
    def http_404(_exc):
        return page(404, _("Không tìm thấy"), _("Trang bạn tìm không tồn tại"))

    @app.errorhandler(403)
    def http_403(_exc):
        return page(403, _("Không có quyền truy cập"), _("Bạn không có quyền truy cập trang này"))

    @app.errorhandler(400)
    def http_400(exc):
        return page(400, _("Yêu cầu không hợp lệ"), _("Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ, "
                                                        "vui lòng tải lại trang"))

    @app.errorhandler(413)
    def http_413(_exc):
        return page(413, _("Tệp quá lớn"), _("Tệp tải lên vượt quá dung lượng cho phép"))

    @app.errorhandler(500)
    def http_500(_exc):
        return page(500, _("Lỗi hệ thống"), _("Đã có lỗi xảy ra; thao tác chưa được lưu"))


def fmt_date(value: date | datetime | None, with_time: bool = True) -> str:
    """dd/mm/yyyy (HH:MM) in Asia/Ho_Chi_Minh."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):  # ISO text kept in JSON data
        try:
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        local = value.astimezone(VN_TZ) if value.tzinfo else value
        return local.strftime("%d/%m/%Y %H:%M" if with_time else "%d/%m/%Y")
    return value.strftime("%d/%m/%Y")


def fmt_vnd(amount: int | None) -> str:
    return "" if amount is None else f"{amount:,}".replace(",", ".") + " ₫"


def _register_filters(app: Flask) -> None:
    app.jinja_env.filters["vndate"] = fmt_date
    app.jinja_env.filters["vnday"] = lambda v: fmt_date(v, with_time=False)
    app.jinja_env.filters["vnd"] = fmt_vnd

    @app.context_processor
    def inject() -> dict[str, Any]:
        from engine.roles import kind_label, role_label

        return {"current_user": g.get("user"), "lang": context.select_locale(),
                "role_label": role_label, "kind_label": kind_label}
