"""Login, logout and the language switch."""
from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from engine import accounts, audit
from web.extensions import db

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    if not target:
        return url_for("inbox.index")
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/"):
        return url_for("inbox.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        user = accounts.authenticate(db.session, request.form.get("username", ""), request.form.get("password", ""))
        if user is None:
            flash(_("Tên đăng nhập hoặc mật khẩu không đúng"), "error")
            return render_template("auth/login.html", username=request.form.get("username", "")), 401
        session.clear()
        session["user_id"] = user.id
        session["lang"] = user.locale or "vi"
        audit.record(db.session, "login", user.id, entity="user", entity_id=user.id)
        db.session.commit()
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", username="")


@bp.route("/logout", methods=["POST"])
def logout():
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str):
    if code in ("vi", "en"):
        session["lang"] = code
    return redirect(_safe_next(request.form.get("next") or request.referrer and urlparse(request.referrer).path))
