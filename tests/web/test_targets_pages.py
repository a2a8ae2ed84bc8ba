"""The targets page (chỉ tiêu): progress table, the form to set a target, CSRF, scope, Excel export."""
from __future__ import annotations

from datetime import datetime, timezone
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import func, select

from engine.members.models import Member, MemberTarget
from web.extensions import db

GOOD = {"unit_code": "102.08.01.001", "year": "2025", "kind": "registered", "target": "10",
        "deadline": "2025-10-30"}


def count_targets(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(MemberTarget))


def add_members(app, unit_id: int, *months: int) -> None:
    with app.app_context():
        for n, month in enumerate(months, start=1):
            serial = 900_000 + month * 100 + n
            db.session.add(Member(serial=serial, member_code=f"T{serial}", vpoint_code=f"VPT{serial}",
                                  unit_id=unit_id, full_name=f"Đoàn viên {serial}", name_fold=f"doan vien {serial}",
                                  sort_key=b"x", id_number=f"{serial:012d}",
                                  approved_at=datetime(2025, month, 10, 3, tzinfo=timezone.utc)))
        db.session.commit()


def test_page_and_nav_link(client, login):
    login(client, "lanhdao")
    page = client.get("/targets?year=2025")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'href="/targets"' in html and "Chỉ tiêu" in html
    assert "Chưa có chỉ tiêu nào trong năm này." in html
    assert 'name="unit_code"' in html and 'name="deadline"' in html


def test_set_target_then_progress_by_month_and_overdue(app, client, login, unit_id):
    add_members(app, unit_id("102.08.01.001"), 1, 3, 3)
    login(client, "quynhon")  # upper reviewer of the district above 102.08.01.001
    response = client.post("/targets", data=GOOD)
    assert response.status_code == 302 and "year=2025" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã giao chỉ tiêu năm 2025 cho đơn vị 102.08.01.001" in page
    row = page.split('data-unit="102.08.01.001"')[1].split("</tr>")[0]
    assert "3 / 10" in row and "30.0%" in row and "30/10/2025" in row
    cells = [c.split("<")[0] for c in row.split('<td class="num">')[2:14]]
    assert cells == ["1", "0", "2", "0", "0", "0", "0", "0", "0", "0", "0", "0"]
    assert 'class="months overdue"' in page.split('data-unit="102.08.01.001"')[0][-80:]  # past deadline, below
    # setting it again replaces the target
    client.post("/targets", data={**GOOD, "target": "3"})
    assert count_targets(app) == 1
    row = client.get("/targets?year=2025").get_data(as_text=True).split('data-unit="102.08.01.001"')[1]
    assert "3 / 3" in row.split("</tr>")[0] and "Quá hạn" not in row.split("</tr>")[0]


def test_bad_input_shows_vietnamese_errors_and_writes_nothing(app, client, login):
    login(client, "quynhon")
    response = client.post("/targets", data={**GOOD, "target": "0", "deadline": "31/02/2025"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Chỉ tiêu phải là số nguyên dương" in html and "Ngày không hợp lệ" in html
    assert 'value="31/02/2025"' in html  # the form keeps what was typed
    response = client.post("/targets", data={**GOOD, "unit_code": "KHONG.CO"})
    assert response.status_code == 422 and "Không tìm thấy đơn vị" in response.get_data(as_text=True)
    assert count_targets(app) == 0


def test_only_the_level_above_may_set_and_scope_limits_the_table(app, client, login):
    login(client, "cdcs")  # grassroots officer: may not set its own target
    response = client.post("/targets", data=GOOD)
    assert response.status_code == 403 and count_targets(app) == 0
    login(client, "lanhdao")  # province leader sets targets for two grassroots unions
    assert client.post("/targets", data=GOOD).status_code == 302
    assert client.post("/targets", data={**GOOD, "unit_code": "102.08.02.001"}).status_code == 302
    assert count_targets(app) == 2
    login(client, "cdcs")
    html = client.get("/targets?year=2025").get_data(as_text=True)
    assert 'data-unit="102.08.01.001"' in html and 'data-unit="102.08.02.001"' not in html
    login(client, "lanhdao")
    html = client.get("/targets?year=2025&unit=102.08.02").get_data(as_text=True)
    assert 'data-unit="102.08.02.001"' in html and 'data-unit="102.08.01.001"' not in html
    assert client.get("/targets?year=2025&unit=NOPE").status_code == 404


def test_csrf_is_required(app_factory, login):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"username": "quynhon", "password": "demo1234", "csrf_token": token})
    html = client.get("/targets").get_data(as_text=True)
    assert 'name="csrf_token"' in html.split('action="/targets" class="form card"')[1]
    assert client.post("/targets", data=GOOD).status_code == 400
    assert count_targets(app) == 0
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/targets", data={**GOOD, "csrf_token": token}).status_code == 302
    assert count_targets(app) == 1


def test_export_xlsx(app, client, login, unit_id):
    add_members(app, unit_id("102.08.01.001"), 2)
    login(client, "lanhdao")
    client.post("/targets", data=GOOD)
    response = client.get("/targets/export.xlsx?year=2025")
    assert response.status_code == 200 and "chi-tieu-2025.xlsx" in response.headers["Content-Disposition"]
    sheet = load_workbook(BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:7] == ("Mã đơn vị", "Tên đơn vị", "Năm", "Loại chỉ tiêu", "Chỉ tiêu", "Đã đạt", "Tỷ lệ (%)")
    assert rows[1][0] == "102.08.01.001" and rows[1][4:7] == (10, 1, 10.0) and rows[1][8] == 1
