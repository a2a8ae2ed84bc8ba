"""Member targets (chỉ tiêu): progress per unit for a year, the form to set a target, an Excel export.

Each handler parses the request, makes one call into engine.members.targets, commits and renders. Bad input
comes back as ``InvalidInput``: the session is rolled back (nothing is written) and the page is rendered
again with status 422 and the messages next to the fields.
"""
from __future__ import annotations

from io import BytesIO

from flask import Blueprint, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from engine import clock
from engine.errors import InvalidInput, NotFound
from engine.members import targets
from engine.orgtree import unit_by_code
from web.context import login_required
from web.extensions import db

bp = Blueprint("targets", __name__, url_prefix="/targets")


def _year(value: str | None) -> int:
    try:
        year = int(value or "")
    except ValueError:
        return clock.today().year
    return year if 2000 <= year <= 2100 else clock.today().year


def _query() -> dict[str, object]:
    """year, unit (code → id) and kind from the query string."""
    args = request.args
    code = (args.get("unit") or "").strip()
    unit_id = None
    if code:
        unit = unit_by_code(db.session, code)
        if unit is None:
            raise NotFound("Không tìm thấy đơn vị")
        unit_id = unit.id
    kind = args.get("kind") if args.get("kind") in targets.TARGET_KINDS else None
    return {"year": _year(args.get("year")), "unit_id": unit_id, "kind": kind}


def _page(errors: dict[str, str] | None = None, status: int = 200, year: int | None = None):
    query = _query()
    if year is not None:
        query["year"] = year
    rows = targets.progress(db.session, g.user, **query)
    form = request.form if request.method == "POST" else {"year": str(query["year"])}
    return render_template("targets/index.html", rows=rows, year=query["year"], kinds=targets.TARGET_KINDS,
                           unit_code=(request.args.get("unit") or "").strip(), kind=query["kind"],
                           form=form, errors=errors or {}, today=clock.today()), status


@bp.get("")
@login_required
def index():
    return _page()


@bp.post("")
@login_required
def set_target():
    try:
        row = targets.set_target_from_form(db.session, g.user, request.form)
    except InvalidInput as exc:
        db.session.rollback()
        errors = {key: _(message) for key, message in exc.field_errors.items()} or {"_form": _(exc.message)}
        return _page(errors, 422, _year(request.form.get("year")))
    year, code = row.year, row.unit.code
    db.session.commit()
    flash(_("Đã giao chỉ tiêu năm %(year)s cho đơn vị %(code)s", year=year, code=code), "success")
    return redirect(url_for(".index", year=year))


@bp.get("/export.xlsx")
@login_required
def export():
    query = _query()
    data = targets.progress_xlsx(targets.progress(db.session, g.user, **query))
    return send_file(BytesIO(data), as_attachment=True, download_name=f"chi-tieu-{query['year']}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
