"""The instance page: facts, BPMN diagram with marks, history, current data, error box, retry and cancel."""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, flash, g, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from engine import inbox_views
from web.context import host, login_required
from web.extensions import db

bp = Blueprint("instances", __name__, url_prefix="/instances")


@bp.route("/<int:instance_id>")
@login_required
def show(instance_id: int):
    view = inbox_views.instance_page(db.session, host(), g.user, instance_id)
    return render_template("instances/show.html", view=view, instance=view.instance, pretty=_pretty)


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)


@bp.route("/<int:instance_id>/diagram.json")
@login_required
def diagram(instance_id: int):
    marks = inbox_views.diagram_marks(db.session, host(), g.user, instance_id)
    return jsonify(marks.as_dict())


@bp.route("/<int:instance_id>/files/<upload_id>")
@login_required
def file(instance_id: int, upload_id: str):
    found = inbox_views.instance_file(db.session, host(), g.user, instance_id,
                                      current_app.config["UPLOAD_DIR"], upload_id)
    return send_file(found.path, as_attachment=True, download_name=found.name)


@bp.route("/<int:instance_id>/retry", methods=["POST"])
@login_required
def retry(instance_id: int):
    outcome = host().retry(db.session, instance_id, g.user)
    db.session.commit()
    if outcome.instance.status == "error":
        flash(_("Chạy lại vẫn gặp lỗi"), "error")
    else:
        flash(_("Đã chạy lại bước bị lỗi"), "success")
    return redirect(url_for("instances.show", instance_id=instance_id))


@bp.route("/<int:instance_id>/cancel", methods=["POST"])
@login_required
def cancel(instance_id: int):
    host().cancel(db.session, instance_id, g.user, request.form.get("reason", "").strip())
    db.session.commit()
    flash(_("Đã hủy hồ sơ"), "success")
    return redirect(url_for("instances.show", instance_id=instance_id))
