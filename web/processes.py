"""Start a process: the list of processes the user may start, a start form per process."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import inbox_views, uploads
from engine.errors import InvalidInput
from web.context import host, login_required
from web.extensions import db
from web.formrender import form_errors, parse_payload, widgets

# Processes whose own page says more than the generic instance page (endpoint taking instance_id).
AFTER_START = {"member_registration": "member_lists.by_instance", "card_printing": "cards.by_instance"}

bp = Blueprint("processes", __name__, url_prefix="/processes")


def _render(active: str | None = None, values: dict[str, Any] | None = None,
            errors: dict[str, str] | None = None, unit_id: int | None = None, status: int = 200):
    options = inbox_views.start_options(db.session, host(), g.user)
    errors = errors or {}
    cards = []
    for option in options:
        mine = option.version.process_id == active
        cards.append({
            "option": option,
            "widgets": widgets(option.form, values if mine else None, errors if mine else None),
            "general_errors": [m for m in form_errors({k: v for k, v in errors.items() if k != "unit_id"},
                                                      option.form)] if mine else [],
            "unit_error": errors.get("unit_id") if mine else None,
            "unit_id": unit_id if mine else None,
            "active": mine,
        })
    return render_template("processes/index.html", cards=cards, active=active), status


@bp.route("")
@login_required
def index():
    return _render(request.args.get("open"))


@bp.route("/<process_id>/start", methods=["POST"])
@login_required
def start(process_id: str):
    data: dict[str, Any] = {}
    raw_unit = request.form.get("unit_id", "")
    unit_id = int(raw_unit) if raw_unit.isdigit() else None
    try:
        data = parse_payload(request.form, request.files, current_app.config["UPLOAD_DIR"],
                             current_app.config.get("UPLOAD_MAX_BYTES", uploads.MAX_BYTES))
        if unit_id is None:
            raise InvalidInput("Chưa chọn đơn vị", field_errors={"unit_id": "Trường này là bắt buộc"})
        outcome = host().start(db.session, process_id, g.user, unit_id, data)
    except InvalidInput as exc:
        db.session.rollback()
        flash(_(exc.message), "error")
        return _render(process_id, data, exc.field_errors, unit_id, 422)
    db.session.commit()
    flash(_("Đã khởi tạo hồ sơ “%(title)s”", title=outcome.instance.title), "success")
    return redirect(url_for(AFTER_START.get(process_id, "instances.show"), instance_id=outcome.instance.id))
