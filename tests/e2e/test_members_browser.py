"""End to end in Debian's headless Chromium, as a new user would: a CĐCS officer downloads the template,
uploads 30 members with mistakes and their photos, gets the error workbook, fixes and resubmits; the upper
level approves all but one with a reason; the CĐCS downloads the approved list; the province finds them."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from engine.members.samples import sample_files, sample_rows
from engine.vntext import fold
from tests.e2e.test_browser import _login, _logout, browser, live_server  # noqa: F401 - fixtures

pytestmark = pytest.mark.e2e
SCREENSHOT = "/tmp/e2e-member-list.png"


def test_member_registration_as_a_new_user(live_server, browser, tmp_path):  # noqa: F811
    base, _app = live_server
    files = sample_files(30)
    (tmp_path / "danh_sach.xlsx").write_bytes(files.with_mistakes)
    (tmp_path / "danh_sach_da_sua.xlsx").write_bytes(files.corrected)
    (tmp_path / "anh_2x3.zip").write_bytes(files.photos_zip)
    rows = sample_rows(30)
    context = browser.new_context(viewport={"width": 1280, "height": 1600}, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh", accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.set_default_timeout(20000)

    _login(page, base, "cdcs")
    page.click("nav.mainnav >> text=Đăng ký đoàn viên")
    with page.expect_download() as download:
        page.click("text=Tải mẫu danh sách (.xlsx)")
    template = load_workbook(io.BytesIO(open(download.value.path(), "rb").read()))
    assert "Danh sách đoàn viên" in template.sheetnames

    page.click("text=Gửi danh sách mới")
    card = page.locator("#process-member_registration")
    if not card.locator("details").get_attribute("open"):
        card.locator("summary").click()
    card.locator("select[name=unit_id]").select_option(
        label="102.08.01.001 · Công đoàn cơ sở Trường THPT Quốc Học Quy Nhơn")
    card.locator("input[name=title]").fill("Đoàn viên mới tháng 11")
    card.locator("input[name=workbook]").set_input_files(str(tmp_path / "danh_sach.xlsx"))
    card.locator("input[name=photos]").set_input_files(str(tmp_path / "anh_2x3.zip"))
    card.locator("button[type=submit]").click()
    page.wait_for_url(f"{base}/member-lists/*")
    assert "Có lỗi, chờ CĐCS sửa" in page.inner_text("#list-status")
    table = page.inner_text("table.problems")
    assert "31/02/1990" in table and "Thiếu Dân tộc" in table and "bị trùng" in table
    with page.expect_download() as download:
        page.click("text=Tải tệp báo lỗi")
    marked = load_workbook(io.BytesIO(open(download.value.path(), "rb").read()))
    assert marked.sheetnames[0] == "Lỗi" and marked["Lỗi"].max_row > 5

    page.click("a.button >> text=Xử lý")
    page.wait_for_url(f"{base}/tasks/*")
    page.select_option("select[name=next_step]", "resubmit")
    page.set_input_files("input[name=workbook]", str(tmp_path / "danh_sach_da_sua.xlsx"))
    page.set_input_files("input[name=photos]", str(tmp_path / "anh_2x3.zip"))
    page.click("#btn-complete")
    page.wait_for_url(f"{base}/inbox")
    _logout(page, base)

    _login(page, base, "quynhon")
    row = page.locator("tr.task-row", has_text="Duyệt danh sách đoàn viên")
    assert row.count() == 1
    row.locator("a", has_text="Duyệt danh sách đoàn viên").click()
    page.wait_for_url(f"{base}/tasks/*")
    task_url = page.url
    page.click("text=Xem danh sách, ảnh và lỗi")
    page.wait_for_url(f"{base}/member-lists/*")
    assert "Chờ cấp trên duyệt" in page.inner_text("#list-status")
    assert page.locator("table.entries tbody tr").count() == 30
    page.wait_for_function("document.querySelectorAll('img.thumb').length === 30 && "
                           "[...document.querySelectorAll('img.thumb')].every(i => i.complete && i.naturalWidth > 0)")
    page.goto(task_url)
    page.select_option("select[name=decision]", "approve_some")
    page.click("fieldset[data-table-field=rejections] .row-add")
    page.fill("#task-rejections-0-so_dinh_danh", rows[3]["so_dinh_danh"])
    page.fill("#task-rejections-0-ly_do", "Chưa ký hợp đồng lao động")
    page.click("#btn-complete")
    page.wait_for_url(f"{base}/inbox")
    _logout(page, base)

    _login(page, base, "cdcs")
    page.click("nav.mainnav >> text=Đăng ký đoàn viên")
    page.click("table >> text=Đoàn viên mới tháng 11")
    assert "Đã duyệt" in page.inner_text("#list-status")
    entries = page.inner_text("table.entries")
    assert "Chưa ký hợp đồng lao động" in entries and entries.count("Đã duyệt") == 29
    with page.expect_download() as download:
        page.click("text=Tải danh sách đã duyệt")
    approved = load_workbook(io.BytesIO(open(download.value.path(), "rb").read())).active
    results = [r[8].value for r in approved.iter_rows(min_row=4)]
    assert results.count("Đã duyệt") == 29 and results.count("Không duyệt") == 1
    page.screenshot(path=SCREENSHOT, full_page=True)
    _logout(page, base)

    _login(page, base, "intinh")  # the province sees the new members
    page.click("nav.mainnav a[href='/members']")
    page.wait_for_url(f"{base}/members")
    page.fill("input[name=q]", fold(rows[0]["ho_ten"]))  # typed without diacritics
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert rows[0]["ho_ten"] in page.inner_text("main")
    assert not problems, problems
    context.close()


def test_sample_files_are_valid_workbooks():
    files = sample_files(5)
    assert load_workbook(io.BytesIO(files.corrected))["Danh sách đoàn viên"].max_row >= 7
