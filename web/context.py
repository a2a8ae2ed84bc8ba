"""Request context helpers: the current user, the runtime, login_required, error translation."""
from __future__ import annotations

import functools
from typing import Any, Callable

from flask import current_app, g, redirect, request, session, url_for

from engine.host import WorkflowHost
from engine.models import User
from engine.runtime import Runtime


def runtime() -> Runtime:
    return current_app.extensions["platform_runtime"]


def host() -> WorkflowHost:
    return runtime().host


def current_user() -> User | None:
    return g.get("user")


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            if request.path.startswith("/api/"):
                return {"error": "unauthorized", "message": "Cần đăng nhập"}, 401
            return redirect(url_for("auth.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapped


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        from engine.errors import Forbidden

        if not g.user.is_admin:
            raise Forbidden("Chỉ quản trị viên được truy cập")
        return view(*args, **kwargs)

    return wrapped


def load_user() -> None:
    from web.extensions import db

    user_id = session.get("user_id")
    g.user = db.session.get(User, user_id) if user_id else None
    if g.user is not None and not g.user.active:
        session.clear()
        g.user = None


def select_locale() -> str:
    lang = session.get("lang")
    if lang in ("vi", "en"):
        return lang
    return "vi"
