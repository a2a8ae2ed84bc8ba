"""Administration pages (administrators only): the union org tree and user accounts.

Each handler reads the form, makes one call into engine.admin_views (which validates, writes and audits),
commits and redirects. Bad input comes back as ``InvalidInput``: the session is rolled back (nothing is
written) and the same page is rendered again with status 422 and the messages next to the fields.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import admin_views as views
from engine.errors import InvalidInput
from engine.roles import ROLES, UNIT_KINDS
from web.context import admin_required, current_user
from web.extensions import db

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _int_arg(name: str, default: int | None = None) -> int | None:
    try:
        return int(request.args.get(name, ""))
    except ValueError:
        return default


def _errors(exc: InvalidInput) -> dict[str, str]:
    errors = {key: _(message) for key, message in exc.field_errors.items()}
    if not errors:
        errors["_form"] = _(exc.message)
    return errors


def _choices() -> dict[str, Any]:
    return {"kinds": list(UNIT_KINDS), "roles": list(ROLES), "today": date.today().isoformat()}


@bp.get("/")
@admin_required
def index():
    return redirect(url_for(".units"))


# ===================================================================================== units
@bp.get("/units")
@admin_required
def units():
    listing = views.list_units(db.session, request.args.get("q"), _int_arg("parent"), _int_arg("page", 1) or 1)
    return render_template("admin/units.html", listing=listing, **_choices())


def _unit_form_page(errors: dict[str, str], status: int = 200):
    return render_template("admin/unit_new.html", form=request.form if request.method == "POST" else request.args,
                           errors=errors, **_choices()), status


@bp.get("/units/new")
@admin_required
def new_unit():
    return _unit_form_page({})


@bp.post("/units/new")
@admin_required
def create_unit():
    form = request.form
    try:
        unit = views.create_unit(db.session, current_user(), form.get("code", ""), form.get("name", ""),
                                 form.get("kind", ""), form.get("parent_code"), form.get("effective"))
    except InvalidInput as exc:
        db.session.rollback()
        return _unit_form_page(_errors(exc), 422)
    db.session.commit()
    flash(_("Đã tạo đơn vị %(code)s", code=unit.code), "success")
    return redirect(url_for(".unit", unit_id=unit.id))


def _unit_page(unit_id: int, action: str | None = None, errors: dict[str, str] | None = None, status: int = 200):
    detail = views.unit_detail(db.session, unit_id)
    return render_template("admin/unit.html", detail=detail, action=action, errors=errors or {},
                           form=request.form if action else {}, **_choices()), status


@bp.get("/units/<int:unit_id>")
@admin_required
def unit(unit_id: int):
    return _unit_page(unit_id)


def _unit_action(unit_id: int, action: str, call: Any, done: str):
    try:
        call()
    except InvalidInput as exc:
        db.session.rollback()
        return _unit_page(unit_id, action, _errors(exc), 422)
    db.session.commit()
    flash(done, "success")
    return redirect(url_for(".unit", unit_id=unit_id))


@bp.post("/units/<int:unit_id>/rename")
@admin_required
def rename_unit(unit_id: int):
    form = request.form
    return _unit_action(unit_id, "rename", lambda: views.rename_unit(
        db.session, current_user(), unit_id, form.get("name", ""), form.get("effective")), _("Đã đổi tên đơn vị"))


@bp.post("/units/<int:unit_id>/move")
@admin_required
def move_unit(unit_id: int):
    form = request.form
    return _unit_action(unit_id, "move", lambda: views.move_unit(
        db.session, current_user(), unit_id, form.get("parent_code", ""), form.get("effective")),
        _("Đã chuyển đơn vị sang đơn vị cấp trên mới"))


@bp.post("/units/<int:unit_id>/merge")
@admin_required
def merge_unit(unit_id: int):
    form = request.form
    return _unit_action(unit_id, "merge", lambda: views.merge_unit(
        db.session, current_user(), unit_id, form.get("target_code", ""), form.get("effective")),
        _("Đã hợp nhất đơn vị"))


@bp.post("/units/<int:unit_id>/close")
@admin_required
def close_unit(unit_id: int):
    form = request.form
    return _unit_action(unit_id, "close", lambda: views.close_unit(
        db.session, current_user(), unit_id, form.get("effective")), _("Đã giải thể đơn vị"))


# ===================================================================================== users
@bp.get("/users")
@admin_required
def users():
    page = views.list_users(db.session, request.args.get("q"), _int_arg("page", 1) or 1)
    return render_template("admin/users.html", page=page, query=request.args.get("q", ""), **_choices())


def _user_form_page(errors: dict[str, str], status: int = 200):
    form = {k: v for k, v in request.form.items() if k != "password"}
    return render_template("admin/user_new.html", form=form, errors=errors, **_choices()), status


@bp.get("/users/new")
@admin_required
def new_user():
    return _user_form_page({})


@bp.post("/users/new")
@admin_required
def create_user():
    form = request.form
    try:
        user = views.create_user(db.session, current_user(), form.get("username", ""), form.get("full_name", ""),
                                 form.get("email"), form.get("password", ""), form.get("is_admin") in ("1", "on"))
    except InvalidInput as exc:
        db.session.rollback()
        return _user_form_page(_errors(exc), 422)
    db.session.commit()
    flash(_("Đã tạo tài khoản %(username)s", username=user.username), "success")
    return redirect(url_for(".user", user_id=user.id))


def _user_page(user_id: int, action: str | None = None, errors: dict[str, str] | None = None, status: int = 200):
    detail = views.user_detail(db.session, user_id)
    return render_template("admin/user.html", detail=detail, action=action, errors=errors or {},
                           form=request.form if action else {}, **_choices()), status


@bp.get("/users/<int:user_id>")
@admin_required
def user(user_id: int):
    return _user_page(user_id)


def _user_action(user_id: int, action: str, call: Any, done: str):
    try:
        call()
    except InvalidInput as exc:
        db.session.rollback()
        return _user_page(user_id, action, _errors(exc), 422)
    db.session.commit()
    flash(done, "success")
    return redirect(url_for(".user", user_id=user_id))


@bp.post("/users/<int:user_id>/deactivate")
@admin_required
def deactivate_user(user_id: int):
    return _user_action(user_id, "active", lambda: views.set_user_active(
        db.session, current_user(), user_id, False), _("Đã khóa tài khoản"))


@bp.post("/users/<int:user_id>/activate")
@admin_required
def activate_user(user_id: int):
    return _user_action(user_id, "active", lambda: views.set_user_active(
        db.session, current_user(), user_id, True), _("Đã mở khóa tài khoản"))


@bp.post("/users/<int:user_id>/roles")
@admin_required
def grant_role(user_id: int):
    form = request.form
    return _user_action(user_id, "grant", lambda: views.grant_role(
        db.session, current_user(), user_id, form.get("role", ""), form.get("unit_code", "")),
        _("Đã phân quyền"))


@bp.post("/users/<int:user_id>/roles/<int:assignment_id>/revoke")
@admin_required
def revoke_role(user_id: int, assignment_id: int):
    return _user_action(user_id, "revoke", lambda: views.revoke_role(
        db.session, current_user(), user_id, assignment_id), _("Đã thu hồi quyền"))
