"""Member lists (đăng ký đoàn viên): the template download, the lists in scope, one list with its
progress bar, problems, rows, photos and files."""
from __future__ import annotations

import io
from pathlib import Path

from flask import Blueprint, current_app, g, jsonify, redirect, render_template, request, send_file, url_for

from engine.members import list_views
from engine.members.template import build_template
from web.context import login_required
from web.extensions import db

bp = Blueprint("member_lists", __name__, url_prefix="/member-lists")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _upload_dir() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


@bp.route("")
@login_required
def index():
    listing = list_views.lists_page(db.session, g.user, request.args.get("status") or None,
                                    request.args.get("page", 1, type=int))
    return render_template("member_lists/index.html", listing=listing, labels=list_views.STATUS_LABELS,
                           status=request.args.get("status") or "")


@bp.route("/template.xlsx")
@login_required
def template():
    return send_file(io.BytesIO(build_template()), mimetype=XLSX, as_attachment=True,
                     download_name="mau_danh_sach_doan_vien.xlsx")


@bp.route("/<int:list_id>")
@login_required
def show(list_id: int):
    detail = list_views.list_detail(db.session, g.user, list_id)
    return render_template("member_lists/show.html", d=detail, ml=detail.member_list,
                           labels=list_views.STATUS_LABELS)


@bp.route("/by-instance/<int:instance_id>")
@login_required
def by_instance(instance_id: int):
    return redirect(url_for("member_lists.show",
                            list_id=list_views.list_id_for_instance(db.session, g.user, instance_id)))


@bp.route("/<int:list_id>/progress.json")
@login_required
def progress(list_id: int):
    return jsonify(list_views.progress(db.session, g.user, list_id).as_dict())


@bp.route("/<int:list_id>/files/<kind>")
@login_required
def file(list_id: int, kind: str):
    name, path = list_views.list_file(db.session, g.user, list_id, kind, _upload_dir())
    return send_file(path, mimetype=XLSX, as_attachment=True, download_name=name)


@bp.route("/<int:list_id>/photos/<int:entry_id>")
@login_required
def photo(list_id: int, entry_id: int):
    content = list_views.entry_photo(db.session, g.user, list_id, entry_id, _upload_dir())
    return send_file(io.BytesIO(content), mimetype="image/png" if content.startswith(b"\x89PNG") else "image/jpeg",
                     max_age=3600)


@bp.route("/<int:list_id>/warnings.xlsx")
@login_required
def warnings(list_id: int):
    name, content = list_views.annotated(db.session, g.user, list_id, _upload_dir())
    return send_file(io.BytesIO(content), mimetype=XLSX, as_attachment=True, download_name=name)
