"""The task page: info, the form (draft / complete), claim, unclaim, reassign, comments."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import inbox_views, uploads
from engine.errors import AlreadyCompleted, InvalidInput
from web.context import host, login_required
from web.extensions import db
from web.formrender import form_errors, parse_payload, widgets
from web.inbox import already_completed

bp = Blueprint("tasks", __name__, url_prefix="/tasks")
bp.register_error_handler(AlreadyCompleted, already_completed)


def _render(task_id: int, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
            status: int = 200, side_errors: dict[str, str] | None = None, side_values: dict[str, str] | None = None):
    view = inbox_views.task_page(db.session, host(), g.user, task_id)
    errors = errors or {}
    shown = values if values is not None else view.values
    return render_template("tasks/show.html", view=view, task=view.task,
                           widgets=widgets(view.form, shown, errors), errors=errors,
                           general_errors=form_errors(errors, view.form),
                           side_errors=side_errors or {}, side_values=side_values or {}), status


def _payload() -> dict[str, Any]:
    return parse_payload(request.form, request.files, current_app.config["UPLOAD_DIR"],
                         current_app.config.get("UPLOAD_MAX_BYTES", uploads.MAX_BYTES))


@bp.route("/<int:task_id>")
@login_required
def show(task_id: int):
    return _render(task_id)


@bp.route("/<int:task_id>", methods=["POST"])
@login_required
def submit(task_id: int):
    action = request.form.get("action", "complete")
    data: dict[str, Any] = {}
    try:
        data = _payload()
        if action == "draft":
            host().save_draft(db.session, task_id, g.user, data)
        else:
            outcome = host().complete(db.session, task_id, g.user, data)
    except InvalidInput as exc:
        db.session.rollback()
        flash(_(exc.message), "error")
        return _render(task_id, data, exc.field_errors, 422)
    db.session.commit()
    if action == "draft":
        flash(_("Đã lưu nháp"), "success")
        return redirect(url_for("tasks.show", task_id=task_id))
    flash(_("Đã hoàn thành công việc"), "success")
    if outcome.instance.status == "error":
        flash(_("Hồ sơ gặp lỗi ở bước tự động tiếp theo; xem chi tiết trong hồ sơ"), "error")
        return redirect(url_for("instances.show", instance_id=outcome.instance.id))
    return redirect(url_for("inbox.index"))


@bp.route("/<int:task_id>/claim", methods=["POST"])
@login_required
def claim(task_id: int):
    host().claim(db.session, task_id, g.user)
    db.session.commit()
    flash(_("Bạn đã nhận công việc"), "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.route("/<int:task_id>/unclaim", methods=["POST"])
@login_required
def unclaim(task_id: int):
    host().unclaim(db.session, task_id, g.user)
    db.session.commit()
    flash(_("Đã trả lại công việc"), "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.route("/<int:task_id>/reassign", methods=["POST"])
@login_required
def reassign(task_id: int):
    username = request.form.get("username", "").strip()
    try:
        task = host().reassign(db.session, task_id, g.user, username)
    except InvalidInput as exc:
        db.session.rollback()
        flash(_(exc.message), "error")
        return _render(task_id, status=422, side_errors=exc.field_errors, side_values={"username": username})
    db.session.commit()
    flash(_("Đã giao lại công việc cho %(name)s", name=task.assignee.full_name), "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.route("/<int:task_id>/comments", methods=["POST"])
@login_required
def comment(task_id: int):
    body = request.form.get("body", "")
    try:
        host().comment(db.session, task_id, g.user, body)
    except InvalidInput as exc:
        db.session.rollback()
        flash(_(exc.message), "error")
        return _render(task_id, status=422, side_errors=exc.field_errors, side_values={"body": body})
    db.session.commit()
    flash(_("Đã gửi bình luận"), "success")
    return redirect(url_for("tasks.show", task_id=task_id) + "#comments")
