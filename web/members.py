"""The member registry pages: search, Excel export, the member page with photo and history, leaving/removal.

Each handler reads the request, makes one call into engine.members.registry (which scopes, validates,
writes and audits), commits and renders. Bad input on the leaving form comes back as ``InvalidInput``: the
session is rolled back (nothing is written) and the member page is shown again with the messages (422).
"""
from __future__ import annotations

import mimetypes
from io import BytesIO

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from engine.errors import InvalidInput
from engine.members import registry
from web.context import login_required
from web.extensions import db

bp = Blueprint("members", __name__, url_prefix="/members")


def _int_arg(name: str, default: int | None = None) -> int | None:
    try:
        return int(request.args.get(name, ""))
    except ValueError:
        return default


def _filter() -> dict[str, object]:
    return {"query": request.args.get("q", ""), "unit_id": _int_arg("unit"),
            "status": request.args.get("status", "active")}


@bp.get("")
@login_required
def index():
    view = registry.registry_view(db.session, g.user, page=_int_arg("page", 1) or 1, **_filter())
    return render_template("members/registry.html", view=view, labels=registry.STATUS_LABELS)


@bp.get("/export.xlsx")
@login_required
def export():
    data = registry.export_xlsx(db.session, g.user, **_filter())
    return send_file(BytesIO(data), as_attachment=True, download_name="danh-sach-doan-vien.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _member_page(member_id: int, errors: dict[str, str] | None = None, status: int = 200):
    view = registry.member_view(db.session, g.user, member_id)
    form = request.form if errors else {}
    return render_template("members/member.html", view=view, labels=registry.STATUS_LABELS,
                           kinds=registry.LEAVING_KINDS, events=registry.EVENT_LABELS, errors=errors or {},
                           form=form), status


@bp.get("/<int:member_id>")
@login_required
def member(member_id: int):
    return _member_page(member_id)


@bp.get("/<int:member_id>/photo")
@login_required
def photo(member_id: int):
    stored = registry.photo(db.session, g.user, member_id, current_app.config["UPLOAD_DIR"])
    mimetype = mimetypes.guess_type(stored.name)[0] or "application/octet-stream"
    if not mimetype.startswith("image/"):
        mimetype = "application/octet-stream"
    response = send_file(stored.path, mimetype=mimetype, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/<int:member_id>/leave")
@login_required
def leave(member_id: int):
    form = request.form
    try:
        member = registry.record_leaving(db.session, g.user, member_id, form.get("kind", ""),
                                         form.get("reason", ""), form.get("date", ""))
    except InvalidInput as exc:
        db.session.rollback()
        errors = {key: _(message) for key, message in exc.field_errors.items()}
        errors.setdefault("_form", _(exc.message))
        return _member_page(member_id, errors, 422)
    db.session.commit()
    flash(_("Đã ghi nhận: %(what)s", what=_(registry.STATUS_LABELS[member.status])), "success")
    return redirect(url_for(".member", member_id=member_id))
