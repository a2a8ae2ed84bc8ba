"""Member cards (thẻ đoàn viên): print requests with their status timeline, the province's print queue and
batches (with a progress bar while rendering), the one-card preview, the fee ledger, the VietinBank list and
the per-unit report. Each handler parses the request, makes one call into engine.cards.views/reports (which
scope every read) and renders or sends the result."""
from __future__ import annotations

import io
from pathlib import Path

from flask import Blueprint, current_app, g, jsonify, redirect, render_template, request, send_file, url_for

from engine.cards import reports, views
from engine.cards.fees import CARD_TYPE_LABELS, PAYER_LABELS, REASON_LABELS
from engine.clock import today
from web.context import login_required
from web.extensions import db

bp = Blueprint("cards", __name__, url_prefix="/cards")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LABELS = {"status": views.STATUS_LABELS, "item": views.ITEM_STATUS_LABELS, "batch": views.BATCH_STATUS_LABELS,
          "fee": views.FEE_KIND_LABELS, "payer": PAYER_LABELS, "card_type": CARD_TYPE_LABELS,
          "reason": REASON_LABELS}


def _upload_dir() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def _int_arg(name: str) -> int | None:
    try:
        return int(request.args.get(name, ""))
    except ValueError:
        return None


def _year() -> int | None:
    year = _int_arg("year")
    return year if year is not None and 2000 <= year <= 2100 else None


def _xlsx(content: bytes, name: str):
    return send_file(io.BytesIO(content), mimetype=XLSX, as_attachment=True, download_name=name)


@bp.get("")
@login_required
def index():
    status = request.args.get("status") or None
    listing = views.requests_page(db.session, g.user, status if status in views.STATUS_LABELS else None,
                                  _int_arg("page") or 1)
    return render_template("cards/index.html", listing=listing, labels=LABELS, status=status or "")


@bp.get("/requests/<int:request_id>")
@login_required
def show(request_id: int):
    detail = views.request_detail(db.session, g.user, request_id)
    return render_template("cards/request.html", d=detail, r=detail.request, labels=LABELS)


@bp.get("/by-instance/<int:instance_id>")
@login_required
def by_instance(instance_id: int):
    return redirect(url_for("cards.show", request_id=views.request_id_for_instance(db.session, g.user, instance_id)))


@bp.get("/requests/<int:request_id>/letter")
@login_required
def letter(request_id: int):
    name, path = views.letter_file(db.session, g.user, request_id, _upload_dir())
    return send_file(path, as_attachment=True, download_name=name)


@bp.get("/batches")
@login_required
def batches():
    status = request.args.get("status") or None
    queue = views.batches_page(db.session, g.user, status if status in views.BATCH_STATUS_LABELS else None,
                               _int_arg("page") or 1)
    return render_template("cards/batches.html", queue=queue, labels=LABELS, status=status or "")


@bp.get("/batches/<int:batch_id>")
@login_required
def batch(batch_id: int):
    detail = views.batch_detail(db.session, g.user, batch_id)
    return render_template("cards/batch.html", d=detail, b=detail.batch, labels=LABELS)


@bp.get("/batches/<int:batch_id>/progress.json")
@login_required
def progress(batch_id: int):
    return jsonify(views.progress(db.session, g.user, batch_id).as_dict())


@bp.get("/batches/<int:batch_id>/pdf")
@login_required
def batch_pdf(batch_id: int):
    name, path = views.batch_pdf(db.session, g.user, batch_id, _upload_dir())
    return send_file(path, mimetype="application/pdf", as_attachment=True, download_name=name)


@bp.get("/members/<int:member_id>/preview.pdf")
@login_required
def preview(member_id: int):
    content = views.member_preview(db.session, g.user, member_id, _upload_dir(),
                                   linked=request.args.get("linked") == "1")
    return send_file(io.BytesIO(content), mimetype="application/pdf", download_name=f"the_{member_id}.pdf")


@bp.get("/fees")
@login_required
def fees():
    ledger = reports.fee_ledger(db.session, g.user, _int_arg("unit_id"), _int_arg("batch_id"), _year())
    return render_template("cards/fees.html", ledger=ledger, labels=LABELS, this_year=today().year)


@bp.get("/fees.xlsx")
@login_required
def fees_xlsx():
    content = reports.fee_ledger_xlsx(db.session, g.user, _int_arg("unit_id"), _int_arg("batch_id"), _year())
    return _xlsx(content, "so_phi_the_doan_vien.xlsx")


@bp.get("/vietinbank.xlsx")
@login_required
def vietinbank():
    content = reports.vietinbank_xlsx(db.session, g.user, _int_arg("unit_id"), _int_arg("batch_id"))
    return _xlsx(content, "danh_sach_the_lien_ket_vietinbank.xlsx")


@bp.get("/reports")
@login_required
def report():
    view = reports.card_reports(db.session, g.user, _year())
    return render_template("cards/reports.html", report=view.units, linked=view.linked, labels=LABELS,
                           year=view.units.year, this_year=today().year)


@bp.get("/reports.xlsx")
@login_required
def report_xlsx():
    return _xlsx(reports.unit_report_xlsx(db.session, g.user, _year()), "bao_cao_in_the_doan_vien.xlsx")
