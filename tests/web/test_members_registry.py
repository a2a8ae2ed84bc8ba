"""Member registry pages: search, member page with photo and history, leaving form, Excel export."""
from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from engine import uploads, vntext
from engine.members.models import Member, MemberEvent
from engine.membercodes import member_code, vpoint_code
from engine.models import AuditEntry
from engine.orgtree import unit_by_code

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"
# unit code, full name, id number
PEOPLE = [
    ("102.08.01.001", "Nguyễn Văn An", "052090000001"),
    ("102.08.01.001", "Đặng Thị Đào", "052090000002"),
    ("102.08.01.001", "=1+2", "052090000003"),
    ("102.08.01.002", "Trần Thị Ánh", "052090000004"),
    ("102.08.02.001", "Lê Văn Bình", "052090000005"),
]


@pytest.fixture
def members(app) -> dict[str, int]:
    """Members in the demo units (the first has a stored photo); full name → id."""
    from web.extensions import db

    ids = {}
    with app.app_context():
        photo = uploads.store(app.config["UPLOAD_DIR"], "photo", "052090000001.jpg", io.BytesIO(JPEG))
        for serial, (code, name, id_number) in enumerate(PEOPLE, start=501):
            member = Member(serial=serial, member_code=member_code(serial), vpoint_code=vpoint_code(serial),
                            unit_id=unit_by_code(db.session, code).id, full_name=name, name_fold=vntext.fold(name),
                            sort_key=vntext.name_sort_bytes(name), id_number=id_number, sex="Nam",
                            birth_date=date(1990, 1, 2), joined_on=date(2015, 6, 1),
                            photo_ref=photo.reference if serial == 501 else None)
            db.session.add(member)
            db.session.flush()
            ids[name] = member.id
        db.session.commit()
    return ids


def _member(app, member_id: int) -> tuple[str, int, int]:
    from web.extensions import db

    with app.app_context():
        member = db.session.get(Member, member_id)
        events = db.session.scalars(select(MemberEvent).where(MemberEvent.member_id == member_id)).all()
        audits = db.session.scalars(select(AuditEntry).where(AuditEntry.entity == "member")).all()
        return member.status, len(events), len(audits)


def test_login_required(client, members):
    response = client.get("/members")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_search_page_is_scoped(client, login, members):
    login(client, "cdcs")
    page = client.get("/members").get_data(as_text=True)
    assert "Nguyễn Văn An" in page and "Đặng Thị Đào" in page and "Tìm thấy 3 đoàn viên" in page
    assert "Trần Thị Ánh" not in page and "Lê Văn Bình" not in page
    assert 'href="/members"' in page  # the nav link
    found = client.get("/members", query_string={"q": "dang thi"}).get_data(as_text=True)
    assert "Đặng Thị Đào" in found and "Nguyễn Văn An" not in found
    by_code = client.get("/members", query_string={"q": member_code(501)}).get_data(as_text=True)
    assert "Nguyễn Văn An" in by_code and "Tìm thấy 1 đoàn viên" in by_code

    login(client, "quynhon")  # the district sees both of its grassroots unions
    page = client.get("/members").get_data(as_text=True)
    assert "Trần Thị Ánh" in page and "Nguyễn Văn An" in page and "Lê Văn Bình" not in page
    login(client, "phuong")
    page = client.get("/members").get_data(as_text=True)
    assert "Lê Văn Bình" in page and "Nguyễn Văn An" not in page


def test_unit_filter_out_of_scope_is_forbidden(client, login, unit_id, members):
    login(client, "cdcs")
    assert client.get("/members", query_string={"unit": unit_id("102.08.02.001")}).status_code == 403
    login(client, "intinh")
    page = client.get("/members", query_string={"unit": unit_id("102.08.02.001")}).get_data(as_text=True)
    assert "Lê Văn Bình" in page and "Nguyễn Văn An" not in page


def test_member_page_photo_and_scope(client, login, members):
    login(client, "cdcs")
    an = members["Nguyễn Văn An"]
    page = client.get(f"/members/{an}").get_data(as_text=True)
    assert "Nguyễn Văn An" in page and member_code(501) in page and vpoint_code(501) in page
    assert "02/01/1990" in page and "01/06/2015" in page and f"/members/{an}/photo" in page
    assert 'id="form-leave"' in page and "Chưa có sự kiện nào" in page
    photo = client.get(f"/members/{an}/photo")
    assert photo.status_code == 200 and photo.data == JPEG and photo.mimetype == "image/jpeg"
    dao = members["Đặng Thị Đào"]
    assert "Chưa có ảnh" in client.get(f"/members/{dao}").get_data(as_text=True)
    assert client.get(f"/members/{dao}/photo").status_code == 404
    assert client.get(f"/members/{members['Lê Văn Bình']}").status_code == 403
    assert client.get(f"/members/{members['Trần Thị Ánh']}/photo").status_code == 403
    assert client.get("/members/999999").status_code == 404


@pytest.mark.parametrize("form, message", [
    ({"kind": "left", "reason": "", "date": "01/03/2025"}, "Vui lòng nhập lý do"),
    ({"kind": "left", "reason": "Nghỉ việc", "date": "32/01/2025"}, "Ngày không hợp lệ"),
    ({"kind": "left", "reason": "Nghỉ việc", "date": (date.today() + timedelta(days=3)).strftime("%d/%m/%Y")},
     "Ngày không được sau ngày hôm nay"),
    ({"kind": "gone", "reason": "Nghỉ việc", "date": "01/03/2025"}, "Chọn hình thức"),
])
def test_leave_bad_input_changes_nothing(app, client, login, members, form, message):
    login(client, "cdcs")
    an = members["Nguyễn Văn An"]
    response = client.post(f"/members/{an}/leave", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and 'id="form-leave"' in page
    assert _member(app, an) == ("active", 0, 0)


def test_leave_is_recorded(app, client, login, members):
    login(client, "quynhon")  # the upper level of 102.08.01.001
    an = members["Nguyễn Văn An"]
    response = client.post(f"/members/{an}/leave",
                           data={"kind": "removed", "reason": "Không sinh hoạt 12 tháng", "date": "01/03/2025"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/members/{an}")
    assert _member(app, an) == ("removed", 1, 1)
    page = client.get(f"/members/{an}").get_data(as_text=True)
    assert "Đã bị xóa tên" in page and "Không sinh hoạt 12 tháng" in page and "Đặng Văn Bình" in page
    assert 'id="form-leave"' not in page
    assert "Nguyễn Văn An" not in client.get("/members").get_data(as_text=True)
    assert "Nguyễn Văn An" in client.get("/members", query_string={"status": "removed"}).get_data(as_text=True)


def test_leave_needs_the_right_role(app, client, login, members):
    login(client, "intinh")  # the province sees the member but does not manage it
    an = members["Nguyễn Văn An"]
    assert 'id="form-leave"' not in client.get(f"/members/{an}").get_data(as_text=True)
    assert client.post(f"/members/{an}/leave", data={"kind": "left", "reason": "x", "date": "01/03/2025"}
                       ).status_code == 403
    login(client, "phuong")
    assert client.post(f"/members/{an}/leave", data={"kind": "left", "reason": "x", "date": "01/03/2025"}
                       ).status_code == 403
    assert _member(app, an) == ("active", 0, 0)


def test_export_download(client, login, members):
    login(client, "cdcs")
    response = client.get("/members/export.xlsx", query_string={"q": ""})
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("STT", "Họ và tên")
    assert [r[1] for r in rows[1:]] == ["=1+2", "Nguyễn Văn An", "Đặng Thị Đào"]
    assert sheet["B2"].data_type == "s"
    assert rows[2][4] == "052090000001" and rows[2][2] == "02/01/1990"
    filtered = load_workbook(io.BytesIO(client.get("/members/export.xlsx", query_string={"q": "dao"}).data)).active
    assert [r[1] for r in filtered.iter_rows(min_row=2, values_only=True)] == ["Đặng Thị Đào"]
