"""The inbox: my tasks and my roles' tasks, filters (GET), saved filters, claim/unclaim, notifications."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import inbox_views
from engine.errors import AlreadyCompleted, InvalidInput
from engine.humantasks import InboxFilter
from web.context import host, login_required
from web.extensions import db

bp = Blueprint("inbox", __name__)


def already_completed(exc: AlreadyCompleted):
    """Flash who completed the task and when, then go back to the inbox."""
    from web import fmt_date

    db.session.rollback()
    if exc.by:
        flash(_("Công việc đã được %(who)s xử lý lúc %(when)s", who=exc.by, when=fmt_date(exc.at)), "error")
    else:
        flash(_("Công việc đã được xử lý hoặc đã đóng lúc %(when)s", when=fmt_date(exc.at)), "error")
    return redirect(url_for("inbox.index"))


bp.register_error_handler(AlreadyCompleted, already_completed)


@bp.route("/")
def home():
    return redirect(url_for("inbox.index"))


@bp.route("/inbox")
@login_required
def index():
    flt = InboxFilter.from_params(request.args.to_dict())
    view = inbox_views.inbox_page(db.session, g.user, flt)
    return render_template("inbox/index.html", view=view, params=flt.to_params())


@bp.route("/inbox/filters", methods=["POST"])
@login_required
def save_filter():
    params = request.form.to_dict()
    try:
        saved = inbox_views.save_filter(db.session, g.user, request.form.get("name", ""), params)
    except InvalidInput as exc:
        db.session.rollback()
        for message in exc.field_errors.values() or [exc.message]:
            flash(_(message), "error")
        return redirect(url_for("inbox.index", **inbox_views.clean_filter_params(params)))
    db.session.commit()
    flash(_("Đã lưu bộ lọc “%(name)s”", name=saved.name), "success")
    return redirect(url_for("inbox.index", **saved.params))


@bp.route("/inbox/filters/<int:filter_id>")
@login_required
def apply_filter(filter_id: int):
    saved = inbox_views.get_filter(db.session, g.user, filter_id)
    return redirect(url_for("inbox.index", **saved.params))


@bp.route("/inbox/filters/<int:filter_id>/delete", methods=["POST"])
@login_required
def delete_filter(filter_id: int):
    inbox_views.delete_filter(db.session, g.user, filter_id)
    db.session.commit()
    flash(_("Đã xóa bộ lọc"), "success")
    return redirect(url_for("inbox.index"))


@bp.route("/inbox/tasks/<int:task_id>/claim", methods=["POST"])
@login_required
def claim(task_id: int):
    task = host().claim(db.session, task_id, g.user)
    db.session.commit()
    flash(_("Bạn đã nhận công việc “%(name)s”", name=task.name), "success")
    return redirect(_back(url_for("inbox.index")))


@bp.route("/inbox/tasks/<int:task_id>/unclaim", methods=["POST"])
@login_required
def unclaim(task_id: int):
    task = host().unclaim(db.session, task_id, g.user)
    db.session.commit()
    flash(_("Đã trả lại công việc “%(name)s”", name=task.name), "success")
    return redirect(_back(url_for("inbox.index")))


@bp.route("/notifications/<int:note_id>/read", methods=["POST"])
@login_required
def mark_read(note_id: int):
    inbox_views.mark_read(db.session, g.user, note_id)
    db.session.commit()
    return redirect(_back(url_for("inbox.index")))


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
def mark_all_read():
    inbox_views.mark_read(db.session, g.user, None)
    db.session.commit()
    return redirect(_back(url_for("inbox.index")))


def _back(default: str) -> str:
    target = request.form.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else default
