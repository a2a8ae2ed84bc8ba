"""End to end in Debian's headless Chromium: start "Giao việc", do the task, look at the instance diagram."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = "/tmp/e2e-instance.png"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _build_app(tmp: Path):
    from flask_migrate import upgrade

    from engine import demo
    from web import create_app
    from web.context import runtime
    from web.extensions import db

    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "e2e-secret",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'e2e.db'}",
        "UPLOAD_DIR": str(tmp / "uploads"),
        "DEPLOY_ON_START": False,
        "WTF_CSRF_ENABLED": True,
    })
    with app.app_context():
        upgrade()
        demo.seed(db.session)
        runtime().deploy(db.session)
        db.session.commit()
    return app


@pytest.fixture
def live_server(tmp_path: Path):
    from werkzeug.serving import make_server

    app = _build_app(tmp_path)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        if _in_ci():
            pytest.fail(f"{CHROMIUM} is missing (CI is set: the browser test must run)")
        pytest.skip(f"{CHROMIUM} is missing; install Debian's chromium package (skipped because CI is unset)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            yield browser
        finally:
            browser.close()


def _login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", "demo1234")
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}/inbox")


def _logout(page, base: str) -> None:
    page.click(".userbox button[type=submit]")
    page.wait_for_url(f"{base}/login")


def test_assign_do_and_review_diagram(live_server, browser):
    base, app = live_server
    context = browser.new_context(viewport={"width": 1280, "height": 1600}, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.set_default_timeout(15000)

    # the leader starts "Giao việc" at 102.08 for chuyenvien
    _login(page, base, "lanhdao")
    page.click("nav.mainnav >> text=Quy trình")
    page.wait_for_url(f"{base}/processes")
    card = page.locator("#process-task_assignment")
    card.locator("select[name=unit_id]").select_option(label="102.08 · Liên đoàn Lao động tỉnh Bình Định")
    card.locator("input[name=title]").fill("Chuẩn bị Đại hội Công đoàn cơ sở")
    card.locator("textarea[name=description]").fill("Lập kế hoạch và dự toán kinh phí")
    card.locator("input[name=assignee]").fill("chuyenvien")
    card.locator("input[name=deadline]").fill("2030-01-15T17:00")
    card.locator("input[name=remind_hours_before]").fill("24")
    card.locator("select[name=priority]").select_option("urgent")
    card.locator("button[type=submit]").click()
    page.wait_for_url(f"{base}/instances/*")
    assert "Chuẩn bị Đại hội Công đoàn cơ sở" in page.inner_text("h1")
    _logout(page, base)

    # the officer sees the task, claims it, fills the report, completes
    _login(page, base, "chuyenvien")
    row = page.locator("tr.task-row", has_text="Chuẩn bị Đại hội Công đoàn cơ sở")
    assert row.count() == 1
    assert "15/01/2030 17:00" in row.inner_text()
    row.locator("button.claim").click()
    page.wait_for_url(f"{base}/inbox")
    row = page.locator("tr.task-row", has_text="Chuẩn bị Đại hội Công đoàn cơ sở")
    assert row.locator("button.unclaim").count() == 1
    row.locator("a", has_text="Thực hiện và báo cáo kết quả").click()
    page.wait_for_url(f"{base}/tasks/*")
    page.fill("#task-progress_percent", "100")
    page.fill("#task-result", "Đã hoàn thành kế hoạch, gửi kèm dự toán")
    page.click("fieldset[data-table-field=steps] .row-add")
    page.click("fieldset[data-table-field=steps] .row-add")
    page.fill("#task-steps-0-content", "Họp ban chấp hành")
    page.fill("#task-steps-0-done_on", "2030-01-05")
    page.check("#task-steps-0-finished")
    page.fill("#task-steps-1-content", "Gửi dự toán")
    page.click("fieldset[data-table-field=steps] tbody tr:nth-child(2) .row-remove")
    assert page.locator("fieldset[data-table-field=steps] tbody tr").count() == 1
    page.set_input_files("#task-attachment", files=[{"name": "du-toan.txt", "mimeType": "text/plain",
                                                      "buffer": "Dự toán 12.000.000 đồng".encode()}])
    page.click("#btn-complete")
    page.wait_for_url(f"{base}/inbox")
    assert "Đã hoàn thành công việc" in page.inner_text(".flash")
    assert page.locator("tr.task-row", has_text="Chuẩn bị Đại hội Công đoàn cơ sở").count() == 0
    _logout(page, base)

    # the leader sees the review task and opens the instance page with the diagram
    _login(page, base, "lanhdao")
    row = page.locator("tr.task-row", has_text="Chuẩn bị Đại hội Công đoàn cơ sở")
    assert "Nghiệm thu kết quả" in row.inner_text()
    row.locator("a", has_text="Chuẩn bị Đại hội Công đoàn cơ sở").click()
    page.wait_for_url(f"{base}/instances/*")
    page.wait_for_selector("#diagram svg")
    page.wait_for_selector("#diagram .djs-element.done")
    page.wait_for_selector("#diagram .djs-element.current")
    assert page.locator('#diagram [data-element-id="do_work"].done').count() == 1
    assert page.locator('#diagram [data-element-id="review"].current').count() == 1
    history = page.inner_text("#history")
    for step in ("Khởi tạo", "Nhận việc", "Hoàn thành", "Thực hiện và báo cáo kết quả", "Trần Thị Thuỷ"):
        assert step in history, step
    assert "Họp ban chấp hành" in page.inner_text("#instance-data")
    page.screenshot(path=SCREENSHOT, full_page=True)
    assert not problems, problems
    context.close()
