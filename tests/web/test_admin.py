"""Admin pages: units (create, rename, move, merge, close, history) and users (create, roles, deactivate)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import accounts
from engine.models import AuditEntry, OrgUnit, OrgUnitEvent, RoleAssignment, User
from engine.orgtree import unit_by_code
from web.extensions import db


@pytest.fixture
def admin(client, login):
    assert login(client, "admin").status_code == 302
    return client


def q(app, fn):
    with app.app_context():
        return fn(db.session)


def unit(app, code: str) -> OrgUnit | None:
    def find(session):
        found = unit_by_code(session, code)
        if found is not None:
            session.expunge(found)
        return found

    return q(app, find)


def count(app, model) -> int:
    return q(app, lambda s: s.scalar(select(func.count()).select_from(model)))


def audits(app, action: str) -> list[AuditEntry]:
    return q(app, lambda s: list(s.scalars(select(AuditEntry).where(AuditEntry.action == action))))


# ------------------------------------------------------------------------------------- access
def test_non_admin_gets_403(app, client, login):
    assert client.get("/admin/units").status_code == 302  # not logged in → login page
    login(client, "lanhdao")
    for url in ("/admin/", "/admin/units", "/admin/units/new", "/admin/users", "/admin/users/new",
                f"/admin/units/{unit(app, '102.08').id}"):
        assert client.get(url).status_code == 403, url
    before = count(app, OrgUnit)
    response = client.post("/admin/units/new", data={"code": "X1", "name": "X", "kind": "grassroots"})
    assert response.status_code == 403
    assert client.post("/admin/users/new", data={"username": "hacker", "full_name": "H",
                                                 "password": "12345678", "is_admin": "1"}).status_code == 403
    assert count(app, OrgUnit) == before
    assert q(app, lambda s: accounts.user_by_username(s, "hacker")) is None


def test_units_list_tree_and_search(app, admin):
    roots = admin.get("/admin/units")
    assert roots.status_code == 200
    top = unit(app, "102.08")
    children = admin.get("/admin/units", query_string={"parent": top.id}).data.decode()
    assert "102.08.01" in children and "102.08.02" in children and top.name in children
    found = admin.get("/admin/units", query_string={"q": "Quy Nhơn Nam"}).data.decode()
    assert "102.08.02" in found and "102.08.01.001" not in found
    by_code = admin.get("/admin/units", query_string={"q": "102.08.01.00"}).data.decode()
    assert "102.08.01.001" in by_code and "102.08.01.002" in by_code
    paged = admin.get("/admin/units", query_string={"q": "1", "page": 2})
    assert paged.status_code == 200
    detail = admin.get(f"/admin/units/{top.id}").data.decode()
    assert "Nguyễn Văn Hùng" in detail  # role holder (lanhdao, leader at 102.08)
    assert 'name="csrf_token"' in detail
    assert admin.get("/admin/units/999999").status_code == 404


# ------------------------------------------------------------------------------------- units
def test_create_rename_move_merge_close_with_history(app, admin):
    created = admin.post("/admin/units/new", data={"code": "102.08.09", "name": "Công đoàn phường Ghềnh Ráng",
                                                   "kind": "commune_union", "parent_code": "102.08",
                                                   "effective": "2025-07-01"})
    assert created.status_code == 302
    ward = unit(app, "102.08.09")
    assert ward.parent_id == unit(app, "102.08").id and str(ward.valid_from) == "2025-07-01"
    admin.post("/admin/units/new", data={"code": "102.08.09.001", "name": "CĐCS Trường Tiểu học Ghềnh Ráng",
                                         "kind": "grassroots", "parent_code": "102.08.09"})

    renamed = admin.post(f"/admin/units/{ward.id}/rename", data={"name": "Công đoàn phường Quy Nhơn Đông",
                                                                 "effective": "2025-08-01"})
    assert renamed.status_code == 302
    assert unit(app, "102.08.09").name == "Công đoàn phường Quy Nhơn Đông"

    moved = admin.post(f"/admin/units/{ward.id}/move", data={"parent_code": "102.08.01", "effective": "2025-09-01"})
    assert moved.status_code == 302
    assert unit(app, "102.08.09").parent_id == unit(app, "102.08.01").id

    merged = admin.post(f"/admin/units/{ward.id}/merge", data={"target_code": "102.08.02",
                                                               "effective": "2025-10-01"})
    assert merged.status_code == 302
    after = unit(app, "102.08.09")
    assert after.merged_into_id == unit(app, "102.08.02").id and str(after.valid_to) == "2025-10-01"
    assert unit(app, "102.08.09.001").parent_id == unit(app, "102.08.02").id  # child followed the merge

    events = q(app, lambda s: [(e.change, e.old_value, e.new_value, str(e.effective)) for e in s.scalars(
        select(OrgUnitEvent).where(OrgUnitEvent.unit_id == ward.id).order_by(OrgUnitEvent.id))])
    assert events == [
        ("created", None, "Công đoàn phường Ghềnh Ráng", "2025-07-01"),
        ("renamed", "Công đoàn phường Ghềnh Ráng", "Công đoàn phường Quy Nhơn Đông", "2025-08-01"),
        ("moved", "102.08", "102.08.01", "2025-09-01"),
        ("merged", "102.08.09", "102.08.02", "2025-10-01"),
    ]
    page = admin.get(f"/admin/units/{ward.id}").data.decode()
    for text in ("Công đoàn phường Ghềnh Ráng", "Đổi tên", "Hợp nhất", "01/10/2025", "Quản trị hệ thống"):
        assert text in page, text
    for action in ("unit_create", "unit_rename", "unit_move", "unit_merge"):
        assert audits(app, action), action

    # a merged unit cannot be changed any more
    again = admin.post(f"/admin/units/{ward.id}/rename", data={"name": "Khác"})
    assert again.status_code == 422

    # close: refused while active children remain, then allowed on a leaf
    parent = unit(app, "102.08.02")
    refused = admin.post(f"/admin/units/{parent.id}/close", data={"effective": "2025-12-31"})
    assert refused.status_code == 422 and "đơn vị cấp dưới" in refused.data.decode()
    assert unit(app, "102.08.02").valid_to is None
    leaf = unit(app, "102.08.09.001")
    assert admin.post(f"/admin/units/{leaf.id}/close", data={"effective": "2025-12-31"}).status_code == 302
    assert str(unit(app, "102.08.09.001").valid_to) == "2025-12-31"
    assert audits(app, "unit_close")


@pytest.mark.parametrize("data, field", [
    ({"code": "", "name": "A", "kind": "grassroots"}, "code"),
    ({"code": "102.08", "name": "Trùng mã", "kind": "grassroots"}, "code"),
    ({"code": "Z9", "name": "", "kind": "grassroots"}, "name"),
    ({"code": "Z9", "name": "Loại sai", "kind": "galaxy"}, "kind"),
    ({"code": "Z9", "name": "Cấp trên sai", "kind": "grassroots", "parent_code": "khong-co"}, "parent_code"),
    ({"code": "Z9", "name": "Ngày sai", "kind": "grassroots", "effective": "31/02/2025"}, "effective"),
])
def test_bad_unit_input_is_422_and_nothing_written(app, admin, data, field):
    units, events, entries = count(app, OrgUnit), count(app, OrgUnitEvent), count(app, AuditEntry)
    response = admin.post("/admin/units/new", data=data)
    assert response.status_code == 422
    html = response.data.decode()
    assert 'class="field-error" id="error-' + field + '"' in html
    assert (count(app, OrgUnit), count(app, OrgUnitEvent), count(app, AuditEntry)) == (units, events, entries)


def test_bad_move_merge_rename_are_422(app, admin):
    top, child = unit(app, "102.08"), unit(app, "102.08.01")
    events = count(app, OrgUnitEvent)
    cycle = admin.post(f"/admin/units/{top.id}/move", data={"parent_code": "102.08.01.001"})
    assert cycle.status_code == 422 and "error-parent_code" in cycle.data.decode()
    assert admin.post(f"/admin/units/{child.id}/move", data={"parent_code": ""}).status_code == 422
    assert admin.post(f"/admin/units/{child.id}/merge", data={"target_code": "102.08.01"}).status_code == 422
    assert admin.post(f"/admin/units/{child.id}/merge", data={"target_code": "nope"}).status_code == 422
    blank = admin.post(f"/admin/units/{child.id}/rename", data={"name": "  ", "effective": "2025-13-01"})
    assert blank.status_code == 422
    html = blank.data.decode()
    assert "error-name" in html and "error-effective" in html and "Trường này là bắt buộc" in html
    assert count(app, OrgUnitEvent) == events
    assert unit(app, "102.08.01").name == child.name and unit(app, "102.08").parent_id == top.parent_id


# ------------------------------------------------------------------------------------- users
def test_create_user_grant_and_revoke_role_deactivate(app, admin, login):
    listing = admin.get("/admin/users").data.decode()
    assert "lanhdao" in listing and "Nguyễn Văn Hùng" in listing
    assert "chuyenvien2" in admin.get("/admin/users", query_string={"q": "Đức"}).data.decode()

    created = admin.post("/admin/users/new", data={"username": "ketoan", "full_name": "Đỗ Thị Kế Toán",
                                                   "email": "ketoan@congdoan.vn", "password": "matkhau99"})
    assert created.status_code == 302
    user = q(app, lambda s: accounts.user_by_username(s, "ketoan"))
    assert user.full_name == "Đỗ Thị Kế Toán" and not user.is_admin and user.active
    assert audits(app, "user_create")[0].details["username"] == "ketoan"

    form = admin.get(f"/admin/users/{user.id}").data.decode()
    assert 'value="staff"' in form and "Chuyên viên" in form  # role select with labels

    granted = admin.post(f"/admin/users/{user.id}/roles", data={"role": "staff", "unit_code": "102.08"})
    assert granted.status_code == 302
    assignment = q(app, lambda s: s.scalar(select(RoleAssignment).where(RoleAssignment.user_id == user.id)))
    assert assignment.role == "staff" and assignment.unit_id == unit(app, "102.08").id
    assert audits(app, "role_grant")[0].details == {"username": "ketoan", "role": "staff", "unit": "102.08"}
    assert "Đỗ Thị Kế Toán" in admin.get(f"/admin/units/{assignment.unit_id}").data.decode()

    duplicate = admin.post(f"/admin/users/{user.id}/roles", data={"role": "staff", "unit_code": "102.08"})
    assert duplicate.status_code == 422

    other = app.test_client()
    assert login(other, "ketoan", "matkhau99").status_code == 302
    assert other.get("/api/v1/tasks").status_code == 200

    revoked = admin.post(f"/admin/users/{user.id}/roles/{assignment.id}/revoke")
    assert revoked.status_code == 302
    assert count(app, RoleAssignment) == q(app, lambda s: s.scalar(
        select(func.count()).select_from(RoleAssignment).where(RoleAssignment.user_id != user.id)))
    assert audits(app, "role_revoke")
    assert admin.post(f"/admin/users/{user.id}/roles/{assignment.id}/revoke").status_code == 404

    assert admin.post(f"/admin/users/{user.id}/deactivate").status_code == 302
    assert q(app, lambda s: s.get(User, user.id).active) is False
    assert audits(app, "user_deactivate")
    assert other.get("/api/v1/tasks").status_code == 401  # the session of a deactivated user ends
    assert login(app.test_client(), "ketoan", "matkhau99").status_code == 401
    me = q(app, lambda s: accounts.user_by_username(s, "admin"))
    assert admin.post(f"/admin/users/{me.id}/deactivate").status_code == 422


@pytest.mark.parametrize("data, fields", [
    ({"username": "", "full_name": "", "password": "ngan"}, {"username", "full_name", "password"}),
    ({"username": "lanhdao", "full_name": "Trùng", "password": "matkhau99"}, {"username"}),
    ({"username": "tên có dấu", "full_name": "A", "password": "matkhau99"}, {"username"}),
    ({"username": "moi", "full_name": "A", "email": "khong-phai-email", "password": "matkhau99"}, {"email"}),
])
def test_bad_user_input_is_422_and_nothing_written(app, admin, data, fields):
    users, entries = count(app, User), count(app, AuditEntry)
    response = admin.post("/admin/users/new", data=data)
    assert response.status_code == 422
    html = response.data.decode()
    for field in fields:
        assert f'id="error-{field}"' in html, field
    assert 'name="password" type="password"' in html and data["password"] not in html.split("<main>")[1]
    assert (count(app, User), count(app, AuditEntry)) == (users, entries)


def test_bad_role_grant_is_422_and_nothing_written(app, admin):
    user = q(app, lambda s: accounts.user_by_username(s, "vanthu"))
    roles = count(app, RoleAssignment)
    response = admin.post(f"/admin/users/{user.id}/roles", data={"role": "emperor", "unit_code": "999"})
    assert response.status_code == 422
    html = response.data.decode()
    assert "error-role" in html and "error-unit_code" in html and "Vai trò không hợp lệ" in html
    assert count(app, RoleAssignment) == roles
    assert admin.post("/admin/users/999999/roles", data={"role": "staff", "unit_code": "102.08"}).status_code == 404
