"""Member registration through the web: template, upload with photos, error workbook, fix, review,
approved list; scope and bad files."""
from __future__ import annotations

import io
import re
import zipfile

from openpyxl import load_workbook
from sqlalchemy import select

from engine.members.models import Member, MemberList
from engine.models import HumanTask
from tests.members.member_helpers import good_rows, make_image, make_workbook


def unit_id(app, code: str) -> int:
    from engine.models import OrgUnit
    from web.extensions import db

    with app.app_context():
        return db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == code))


def photos_zip(rows) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for row in rows:
            archive.writestr(f"{row['so_dinh_danh']}.jpg", make_image())
    return out.getvalue()


def open_task_id(app, instance_id: int, element: str) -> int:
    from web.extensions import db

    with app.app_context():
        return db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                            HumanTask.element_id == element,
                                                            HumanTask.status == "open"))


def test_template_download(client, login):
    login(client, "cdcs")
    response = client.get("/member-lists/template.xlsx")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.data))
    assert "Danh sách đoàn viên" in wb.sheetnames and "Hướng dẫn" in wb.sheetnames


def test_register_fix_review_and_download(app, client, login):
    rows = good_rows()
    bad = [dict(r) for r in rows]
    bad[0]["ngay_sinh"] = "31/02/1990"
    login(client, "cdcs")
    grassroots = unit_id(app, "102.08.01.001")
    response = client.post("/processes/member_registration/start", data={
        "unit_id": str(grassroots), "title": "Đợt tháng 3", "photos__files": "1",
        "workbook": (io.BytesIO(make_workbook(bad)), "danh_sach.xlsx"),
        "photos": [(io.BytesIO(photos_zip(rows[:3])), "anh1.zip"),
                   (io.BytesIO(make_image()), f"{rows[3]['so_dinh_danh']}.jpg"),
                   (io.BytesIO(make_image()), f"{rows[4]['so_dinh_danh']}.JPG")],
    }, content_type="multipart/form-data")
    assert response.status_code == 302 and "/member-lists/" in response.headers["Location"]
    page = client.get(response.headers["Location"], follow_redirects=True)
    text = page.get_data(as_text=True)
    assert "Có lỗi, chờ CĐCS sửa" in text and "31/02/1990" in text
    list_id = int(re.search(r"/member-lists/(\d+)/files/errors", text).group(1))
    errors = client.get(f"/member-lists/{list_id}/files/errors")
    assert errors.status_code == 200 and "Lỗi" in load_workbook(io.BytesIO(errors.data)).sheetnames
    with app.app_context():
        from web.extensions import db

        instance_id = db.session.get(MemberList, list_id).instance_id
    fix = open_task_id(app, instance_id, "fix")
    response = client.post(f"/tasks/{fix}", data={
        "next_step": "resubmit", "photos__files": "1",
        "workbook": (io.BytesIO(make_workbook(rows)), "danh_sach_da_sua.xlsx"),
        "photos": [(io.BytesIO(photos_zip(rows)), "anh.zip")]}, content_type="multipart/form-data")
    assert response.status_code == 302
    progress = client.get(f"/member-lists/{list_id}/progress.json").get_json()
    assert progress["status"] == "in_review" and progress["finished"] and progress["total"] == 5

    login(client, "phuong")  # another commune union: out of scope
    assert client.get(f"/member-lists/{list_id}").status_code == 403

    login(client, "quynhon")
    page = client.get(f"/member-lists/{list_id}").get_data(as_text=True)
    assert "Nguyễn Văn An" in page and "Chờ cấp trên duyệt" in page
    entry_photo = re.search(rf"/member-lists/{list_id}/photos/(\d+)", page).group(0)
    assert client.get(entry_photo).mimetype == "image/jpeg"
    review = open_task_id(app, instance_id, "review")
    task_page = client.get(f"/tasks/{review}").get_data(as_text=True)
    assert "Xem danh sách, ảnh và lỗi" in task_page
    response = client.post(f"/tasks/{review}", data={
        "decision": "approve_some", "rejections__present": "1",
        "rejections[0][so_dinh_danh]": rows[1]["so_dinh_danh"], "rejections[0][ly_do]": "Đã nghỉ việc"})
    assert response.status_code == 302

    login(client, "cdcs")
    page = client.get(f"/member-lists/{list_id}").get_data(as_text=True)
    assert "Đã duyệt" in page and "Đã nghỉ việc" in page
    approved = client.get(f"/member-lists/{list_id}/files/approved")
    sheet = load_workbook(io.BytesIO(approved.data)).active
    codes = [r[5].value for r in sheet.iter_rows(min_row=4) if r[8].value == "Đã duyệt"]
    with app.app_context():
        from web.extensions import db

        assert sorted(codes) == sorted(db.session.scalars(select(Member.member_code).where(Member.list_id == list_id)))
        assert len(codes) == 4

    login(client, "intinh")  # the province sees the new members
    assert "Nguyễn Văn An" in client.get("/members?q=nguyen+van+an").get_data(as_text=True)


def test_bad_upload_is_refused_with_a_message(app, client, login):
    login(client, "cdcs")
    response = client.post("/processes/member_registration/start", data={
        "unit_id": str(unit_id(app, "102.08.01.001")), "title": "Sai tệp", "photos__files": "1",
        "workbook": (io.BytesIO(b"%PDF-1.4 not excel"), "danh_sach.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Tệp danh sách phải là tệp Excel .xlsx" in response.get_data(as_text=True)
    with app.app_context():
        from web.extensions import db

        assert db.session.scalar(select(MemberList.id)) is None
