"""End to end in Debian's headless Chromium, as a new user would: a CĐCS requests 30 cards (5 linked), the
level above forwards, the province prints the batch (3 front + 3 back A4 sheets, names with their
diacritics), the CĐCS confirms delivery; the VietinBank list opens in a spreadsheet."""
from __future__ import annotations

import io

import pypdf
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.e2e.test_browser import _login, _logout, browser, live_server  # noqa: F401 - fixtures

pytestmark = pytest.mark.e2e
UNIT = "102.08.02.001"


def test_card_request_forward_print_deliver(live_server, browser):  # noqa: F811
    base, app = live_server
    from engine.members.models import Member
    from engine.models import OrgUnit
    from web.extensions import db

    with app.app_context():
        unit_id = db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == UNIT))
        members = db.session.scalars(select(Member).where(Member.unit_id == unit_id).order_by(Member.id)).all()
        names = [m.full_name for m in members]
        linked = [m.member_code for m in members[:5]]
    assert len(names) == 30

    context = browser.new_context(viewport={"width": 1280, "height": 1600}, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh", accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.set_default_timeout(30000)

    _login(page, base, "cdcscang")
    page.click("nav.mainnav >> text=Quy trình")
    card = page.locator("#process-card_printing")
    if not card.locator("details").get_attribute("open"):
        card.locator("summary").click()
    card.locator("select[name=scope]").select_option("new_members")
    card.locator("textarea[name=linked_codes]").fill("\n".join(linked))
    card.locator("textarea[name=vietinbank_codes]").fill(linked[0])
    card.locator("select[name=letter_mode]").select_option("generate")
    card.locator("input[name=signer_name]").fill("Bùi Văn Tâm")
    card.locator("input[name=signer_title]").fill("Chủ tịch")
    card.locator("button[type=submit]").click()
    page.wait_for_url(f"{base}/cards/requests/*")
    text = page.inner_text("main")
    assert "25" in text and "5" in text
    with page.expect_download() as download:
        page.click("text=Tải công văn đề nghị")
    letter = "".join(p.extract_text() for p in pypdf.PdfReader(download.value.path()).pages)
    assert "ĐĂNG KÝ IN THẺ ĐOÀN VIÊN" in letter and "Bùi Văn Tâm" in letter
    request_url = page.url
    _logout(page, base)

    _login(page, base, "phuong")
    row = page.locator("tr.task-row", has_text="Xem xét, chuyển đề nghị in thẻ")
    row.locator("a", has_text="Xem xét, chuyển đề nghị in thẻ").click()
    page.wait_for_url(f"{base}/tasks/*")
    page.select_option("select[name=decision]", "forward")
    page.click("#btn-complete")
    page.wait_for_url(f"{base}/inbox")
    _logout(page, base)

    _login(page, base, "intinh")
    page.goto(request_url)
    with page.expect_download() as download:
        page.click("text=Tải tệp in (PDF)")
    reader = pypdf.PdfReader(download.value.path())
    assert len(reader.pages) == 6  # 3 front + 3 back A4 sheets
    assert round(float(reader.pages[0].mediabox.width) / 72 * 25.4) == 210
    pdf_text = "\n".join(p.extract_text() for p in reader.pages)
    for name in names:
        assert name in pdf_text, name
    page.click("a.button >> text=Xử lý")
    page.wait_for_url(f"{base}/tasks/*")
    page.check("input[name=printed]")
    page.click("#btn-complete")
    page.wait_for_url(f"{base}/inbox")
    export = context.request.get(f"{base}/cards/vietinbank.xlsx")
    assert export.ok
    sheet = load_workbook(io.BytesIO(export.body())).active
    codes = {str(c.value) for row in sheet.iter_rows() for c in row}
    assert set(linked) <= codes
    _logout(page, base)

    _login(page, base, "cdcscang")
    page.goto(request_url)
    page.click("a.button >> text=Xử lý")
    page.wait_for_url(f"{base}/tasks/*")
    page.check("input[name=received]")
    page.click("#btn-complete")
    page.wait_for_url(f"{base}/inbox")
    page.goto(request_url)
    assert "Đã giao thẻ" in page.inner_text("main")
    assert "200.000 ₫" in page.inner_text("main")  # four linked cards at 50.000 ₫, one free (VietinBank payroll)
    page.screenshot(path="/tmp/e2e-card-request.png", full_page=True)
    assert not problems, problems
    context.close()
