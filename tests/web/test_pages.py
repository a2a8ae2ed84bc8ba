"""Web pages: auth, inbox, task page, instance page, processes, CSRF, i18n, saved filters, uploads."""
from __future__ import annotations

import io
import re
from datetime import datetime, timezone

from sqlalchemy import func, select

from engine import clock
from engine.models import AuditEntry, HumanTask, Notification, ProcessInstance, SavedFilter, TaskComment
from web.extensions import db


def open_task(app, instance_id: int) -> HumanTask:
    with app.app_context():
        task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                         HumanTask.status == "open"))
        assert task is not None
        db.session.expunge(task)
        return task


def task_row(app, task_id: int) -> HumanTask:
    with app.app_context():
        task = db.session.get(HumanTask, task_id)
        db.session.expunge(task)
        return task


def audit_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEntry))


def text(response) -> str:
    return response.get_data(as_text=True)


REPORT = {"action": "complete", "progress_percent": "100", "result": "Đã xong toàn bộ"}


# ----------------------------------------------------------------------------------------- auth
def test_login_logout_and_bad_password(client, login):
    assert client.get("/inbox").status_code == 302
    bad = login(client, "lanhdao", "sai-mat-khau")
    assert bad.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in text(bad)
    good = login(client, "lanhdao")
    assert good.status_code == 302 and good.headers["Location"].endswith("/inbox")
    page = client.get("/inbox")
    assert page.status_code == 200 and "Nguyễn Văn Hùng" in text(page)
    assert client.get("/").headers["Location"].endswith("/inbox")
    client.post("/logout")
    assert client.get("/inbox").status_code == 302


def test_nav_links(client, login):
    login(client, "admin")
    body = text(client.get("/inbox"))
    assert 'href="/admin"' in body and 'href="/api/docs"' in body and "Quy trình" in body
    login(client, "chuyenvien")
    assert 'href="/admin"' not in text(client.get("/inbox"))


# ----------------------------------------------------------------------------------------- inbox
def test_inbox_shows_task_to_assignee_only(app, client, login, start_assignment):
    instance_id = start_assignment("Báo cáo quý III")
    task = open_task(app, instance_id)
    login(client, "chuyenvien")
    body = text(client.get("/inbox"))
    assert "Báo cáo quý III" in body and f"/tasks/{task.id}" in body
    assert "30/12/2029" not in body and "15/01/2030 17:00" in body  # due date in VN time
    for other in ("chuyenvien2", "cdcscang", "quynhon"):
        login(client, other)
        assert "Báo cáo quý III" not in text(client.get("/inbox")), other


def test_claim_and_unclaim(app, client, login, start_assignment):
    instance_id = start_assignment()
    task = open_task(app, instance_id)
    login(client, "chuyenvien")
    response = client.post(f"/inbox/tasks/{task.id}/claim")
    assert response.status_code == 302
    assert task_row(app, task.id).assignee_id is not None
    assert "unclaim" in text(client.get("/inbox"))
    client.post(f"/inbox/tasks/{task.id}/unclaim")
    assert task_row(app, task.id).assignee_id is None
    client.post(f"/tasks/{task.id}/claim")
    assert task_row(app, task.id).assignee_id is not None
    client.post(f"/tasks/{task.id}/unclaim")
    assert task_row(app, task.id).assignee_id is None
    login(client, "chuyenvien2")  # not the candidate: may not claim
    assert client.post(f"/inbox/tasks/{task.id}/claim").status_code == 403
    assert task_row(app, task.id).assignee_id is None


def test_overdue_rows_and_filters(app, client, login, start_assignment):
    start_assignment("Việc đã trễ hạn", deadline="2029-01-01T08:00")
    start_assignment("Việc còn hạn", deadline="2031-01-01T08:00")
    # a deadline must lie in the future when the work is assigned: move the clock past the first one
    previous = clock.install(clock.FrozenClock(datetime(2030, 1, 1, tzinfo=timezone.utc)))
    try:
        _check_overdue_rows_and_filters(client, login)
    finally:
        clock.install(previous)


def test_deadline_in_the_past_is_refused(client, login, unit_id):
    login(client, "lanhdao")
    response = client.post("/processes/task_assignment/start", data={
        "unit_id": str(unit_id("102.08")), "title": "Việc trễ", "assignee": "chuyenvien",
        "deadline": "2020-01-01T08:00", "remind_hours_before": "24", "priority": "normal"})
    assert response.status_code == 422
    assert "Thời điểm phải ở tương lai" in response.get_data(as_text=True)


def _check_overdue_rows_and_filters(client, login):
    login(client, "chuyenvien")
    body = text(client.get("/inbox"))
    row = re.search(r'<tr class="task-row overdue"[^>]*>.*?</tr>', body, re.S).group(0)
    assert "Việc đã trễ hạn" in row and "badge overdue" in row
    body = text(client.get("/inbox?overdue=1"))
    assert "Việc đã trễ hạn" in body and "Việc còn hạn" not in body
    # engine.humantasks.inbox searches task names
    assert "Việc còn hạn" in text(client.get("/inbox?q=" + "báo cáo"))
    assert "Việc còn hạn" not in text(client.get("/inbox?q=" + "không khớp"))
    assert "Việc còn hạn" not in text(client.get("/inbox?status=completed"))
    assert "Việc còn hạn" not in text(client.get("/inbox?process=khong_co"))
    assert "Việc còn hạn" in text(client.get("/inbox?process=task_assignment"))
    assert "Việc còn hạn" not in text(client.get("/inbox?mine=1"))  # offered, not yet claimed


def test_inbox_paging(app, client, login, start_assignment):
    for i in range(27):
        start_assignment(f"Việc số {i:02d}")
    login(client, "chuyenvien")
    first = text(client.get("/inbox"))
    assert first.count('class="task-row') == 25 and "Trang 1 / 2" in first and "page=2" in first
    second = text(client.get("/inbox?page=2"))
    assert second.count('class="task-row') == 2


def test_saved_filters(app, client, login, start_assignment):
    start_assignment("Việc có lọc")
    login(client, "chuyenvien")
    response = client.post("/inbox/filters", data={"name": "Quá hạn của tôi", "overdue": "1", "mine": "1",
                                                   "q": "", "status": "open", "process": ""})
    assert response.status_code == 302 and "overdue=1" in response.headers["Location"]
    with app.app_context():
        saved = db.session.scalar(select(SavedFilter))
        assert saved.name == "Quá hạn của tôi" and saved.params["overdue"] == 1
        filter_id = saved.id
    body = text(client.get("/inbox"))
    assert "Quá hạn của tôi" in body
    applied = client.get(f"/inbox/filters/{filter_id}")
    assert applied.status_code == 302 and "overdue=1" in applied.headers["Location"]
    assert client.post("/inbox/filters", data={"name": ""}).status_code == 302  # flash, nothing saved
    login(client, "chuyenvien2")  # others cannot use or delete it
    assert client.get(f"/inbox/filters/{filter_id}").status_code == 404
    assert client.post(f"/inbox/filters/{filter_id}/delete").status_code == 404
    login(client, "chuyenvien")
    client.post(f"/inbox/filters/{filter_id}/delete")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SavedFilter)) == 0


def test_notifications_mark_read(app, client, login, start_assignment):
    instance_id = start_assignment("Việc giao lại")
    task = open_task(app, instance_id)
    response = client.post(f"/tasks/{task.id}/reassign", data={"username": "chuyenvien2"})
    assert response.status_code == 302
    login(client, "chuyenvien2")
    body = text(client.get("/inbox"))
    assert "Bạn được giao công việc" in body and "Việc giao lại" in body
    with app.app_context():
        note = db.session.scalar(select(Notification).where(Notification.read_at.is_(None)))
        note_id = note.id
    client.post(f"/notifications/{note_id}/read")
    assert "Bạn được giao công việc" not in text(client.get("/inbox"))
    with app.app_context():
        assert db.session.get(Notification, note_id).read_at is not None


# ----------------------------------------------------------------------------------------- task page
def test_task_form_wrong_types_422_nothing_saved(app, client, login, start_assignment):
    instance_id = start_assignment()
    task = open_task(app, instance_id)
    login(client, "chuyenvien")
    before = audit_count(app)
    response = client.post(f"/tasks/{task.id}", data={"action": "complete", "progress_percent": "nhiều",
                                                      "result": "", "steps[0][content]": "",
                                                      "steps[0][done_on]": "32/13/2026"})
    assert response.status_code == 422
    body = text(response)
    assert 'id="err-task-progress_percent"' in body and "Sai kiểu dữ liệu" in body
    assert "Dữ liệu biểu mẫu không hợp lệ" in body
    assert 'value="nhiều"' in body  # the user's input is kept
    assert audit_count(app) == before
    assert task_row(app, task.id).status == "open"
    response = client.post(f"/tasks/{task.id}", data={"action": "complete", "progress_percent": "150",
                                                      "result": "x"})
    assert response.status_code == 422 and "Giá trị quá lớn" in text(response)
    assert task_row(app, task.id).status == "open"


def test_complete_then_leader_sees_review_and_double_submit(app, client, login, start_assignment):
    instance_id = start_assignment("Tổng kết phong trào")
    task = open_task(app, instance_id)
    login(client, "chuyenvien")
    response = client.post(f"/tasks/{task.id}", data=REPORT)
    assert response.status_code == 302 and response.headers["Location"].endswith("/inbox")
    done = task_row(app, task.id)
    assert done.status == "completed"
    again = client.post(f"/tasks/{task.id}", data=REPORT, follow_redirects=True)
    body = text(again)
    assert again.request.path == "/inbox"
    assert "Công việc đã được Trần Thị Thuỷ xử lý lúc" in body
    assert re.search(r"xử lý lúc \d\d/\d\d/\d{4} \d\d:\d\d", body)
    login(client, "lanhdao")
    body = text(client.get("/inbox"))
    assert "Nghiệm thu kết quả" in body and "Tổng kết phong trào" in body
    review = open_task(app, instance_id)
    page = text(client.get(f"/tasks/{review.id}"))
    assert '<select name="decision"' in page and "Đạt, kết thúc" in page and 'type="datetime-local"' in page
    response = client.post(f"/tasks/{review.id}", data={"action": "complete", "decision": "accept"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(ProcessInstance, instance_id).status == "completed"


def test_task_form_widgets(app, client, login, start_assignment):
    task = open_task(app, start_assignment())
    login(client, "chuyenvien")
    body = text(client.get(f"/tasks/{task.id}"))
    assert 'type="number" name="progress_percent"' in body
    assert '<textarea name="result"' in body
    assert 'type="file" name="attachment"' in body and 'enctype="multipart/form-data"' in body
    assert 'data-table-field="steps"' in body and "steps[__i__][done_on]" in body
    assert 'type="date" name="steps[__i__][done_on]"' in body
    assert 'type="checkbox" name="steps[__i__][finished]"' in body
    assert "Lưu nháp" in body and "Hoàn thành" in body


def test_draft_save_prefills(app, client, login, start_assignment):
    task = open_task(app, start_assignment())
    login(client, "chuyenvien")
    response = client.post(f"/tasks/{task.id}", data={"action": "draft", "progress_percent": "40",
                                                      "result": "Đang làm dở", "steps[0][content]": "Bước một"})
    assert response.status_code == 302
    assert task_row(app, task.id).status == "open"
    body = text(client.get(f"/tasks/{task.id}"))
    assert 'value="40"' in body and "Đang làm dở</textarea>" in body and 'value="Bước một"' in body


def test_table_field_posts_list_of_dicts(app, client, login, start_assignment):
    instance_id = start_assignment()
    task = open_task(app, instance_id)
    login(client, "chuyenvien")
    data = dict(REPORT)
    data.update({"steps[0][content]": "Họp chuẩn bị", "steps[0][done_on]": "05/01/2030", "steps[0][finished]": "true",
                 "steps[2][content]": "Gửi báo cáo", "steps[2][done_on]": "2030-01-07",
                 "steps[1][content]": "", "steps[1][done_on]": ""})
    assert client.post(f"/tasks/{task.id}", data=data).status_code == 302
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "complete"))
        assert entry.details["data"]["steps"] == [
            {"content": "Họp chuẩn bị", "done_on": "2030-01-05", "finished": True},
            {"content": "Gửi báo cáo", "done_on": "2030-01-07"}]
    # a row missing its required column is reported next to the table
    other = open_task(app, start_assignment("Việc thứ hai"))
    login(client, "chuyenvien")
    data = dict(REPORT)
    data.update({"steps[0][done_on]": "2030-01-05"})
    response = client.post(f"/tasks/{other.id}", data=data)
    assert response.status_code == 422 and "Trường này là bắt buộc" in text(response)


def test_file_upload(app, client, login, start_assignment, tmp_path):
    instance_id = start_assignment()
    task = open_task(app, instance_id)
    login(client, "chuyenvien")
    data = dict(REPORT)
    data["attachment"] = (io.BytesIO(b"%PDF-1.4 bao cao"), "../Báo cáo tháng 1.pdf")
    response = client.post(f"/tasks/{task.id}", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, text(response)[:2000]
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "complete"))
        ref = entry.details["data"]["attachment"]
    match = re.fullmatch(r"upload:([0-9a-f]{32})/Báo cáo tháng 1\.pdf", ref)
    assert match, ref
    stored = tmp_path / "uploads" / match.group(1)
    assert stored.read_bytes() == b"%PDF-1.4 bao cao"
    login(client, "lanhdao")
    download = client.get(f"/instances/{instance_id}/files/{match.group(1)}")
    assert download.status_code == 200 and download.data == b"%PDF-1.4 bao cao"
    assert f"/instances/{instance_id}/files/{match.group(1)}" in text(client.get(f"/instances/{instance_id}"))
    assert client.get(f"/instances/{instance_id}/files/{'0' * 32}").status_code == 404
    login(client, "cdcscang")  # another unit: no file
    assert client.get(f"/instances/{instance_id}/files/{match.group(1)}").status_code == 403


def test_file_kept_after_form_error(app, client, login, start_assignment):
    task = open_task(app, start_assignment())
    login(client, "chuyenvien")
    data = {"action": "complete", "progress_percent": "x", "result": "y",
            "attachment": (io.BytesIO(b"noi dung"), "bien-ban.docx")}
    response = client.post(f"/tasks/{task.id}", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    body = text(response)
    ref = re.search(r'type="hidden" name="attachment" value="(upload:[0-9a-f]{32}/bien-ban\.docx)"', body).group(1)
    assert "bien-ban.docx" in body
    response = client.post(f"/tasks/{task.id}", data={**REPORT, "attachment": ref})
    assert response.status_code == 302
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "complete"))
        assert entry.details["data"]["attachment"] == ref


def test_file_upload_too_large(app, client, login, start_assignment):
    app.config["UPLOAD_MAX_BYTES"] = 10
    task = open_task(app, start_assignment())
    login(client, "chuyenvien")
    data = dict(REPORT)
    data["attachment"] = (io.BytesIO(b"x" * 100), "lon.bin")
    response = client.post(f"/tasks/{task.id}", data=data, content_type="multipart/form-data")
    assert response.status_code == 422 and "Tệp quá lớn" in text(response)
    assert task_row(app, task.id).status == "open"


def test_comments(app, client, login, start_assignment):
    task = open_task(app, start_assignment())
    login(client, "chuyenvien")
    assert client.post(f"/tasks/{task.id}/comments", data={"body": "Em xin thêm 2 ngày"}).status_code == 302
    body = text(client.get(f"/tasks/{task.id}"))
    assert "Em xin thêm 2 ngày" in body and "Trần Thị Thuỷ" in body
    empty = client.post(f"/tasks/{task.id}/comments", data={"body": "   "})
    assert empty.status_code == 422 and "Bắt buộc" in text(empty)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TaskComment)) == 1


def test_reassign_by_manager(app, client, login, start_assignment):
    task = open_task(app, start_assignment())
    body = text(client.get(f"/tasks/{task.id}"))
    assert 'id="reassign-form"' in body  # lanhdao manages 102.08
    bad = client.post(f"/tasks/{task.id}/reassign", data={"username": "khongco"})
    assert bad.status_code == 422 and "Không tìm thấy người dùng" in text(bad)
    assert client.post(f"/tasks/{task.id}/reassign", data={"username": "chuyenvien2"}).status_code == 302
    login(client, "chuyenvien")
    assert 'id="reassign-form"' not in text(client.get(f"/tasks/{task.id}"))
    assert client.post(f"/tasks/{task.id}/reassign", data={"username": "chuyenvien"}).status_code == 403


def test_unknown_task_and_instance_404(client, login):
    login(client, "chuyenvien")
    assert client.get("/tasks/99999").status_code == 404
    assert client.get("/instances/99999").status_code == 404
    assert client.get("/instances/99999/diagram.json").status_code == 404


def test_other_units_task_and_instance_403(app, client, login, start_assignment):
    instance_id = start_assignment("Hồ sơ nội bộ tỉnh", description="Nội dung mật XYZ")
    task = open_task(app, instance_id)
    login(client, "cdcscang")
    for url in (f"/tasks/{task.id}", f"/instances/{instance_id}", f"/instances/{instance_id}/diagram.json"):
        response = client.get(url)
        assert response.status_code == 403, url
        body = text(response)
        assert "Hồ sơ nội bộ tỉnh" not in body and "XYZ" not in body and "Thực hiện và báo cáo" not in body
    assert client.post(f"/tasks/{task.id}", data=REPORT).status_code == 403
    assert task_row(app, task.id).status == "open"


# ----------------------------------------------------------------------------------------- instance page
def test_instance_page_and_diagram_marks(app, client, login, start_assignment):
    instance_id = start_assignment("Hồ sơ có sơ đồ")
    body = text(client.get(f"/instances/{instance_id}"))
    assert "Hồ sơ có sơ đồ" in body and 'id="diagram"' in body
    assert "/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js" in body
    assert "bpmn-js.css" in body and "diagram-js.css" in body and "bpmn-embedded.css" in body
    with app.app_context():
        instance = db.session.get(ProcessInstance, instance_id)
        assert instance.version.content_hash[:12] in body
    assert "Liên đoàn Lao động tỉnh Bình Định" in body and "Khởi tạo" in body
    marks = client.get(f"/instances/{instance_id}/diagram.json").json
    assert "bpmn:definitions" in marks["xml"] and "task_assignment" in marks["xml"]
    assert {"start", "prepare"} <= set(marks["done"]) and "do_work" in marks["current"]
    assert marks["failed"] == []
    task = open_task(app, instance_id)
    login(client, "chuyenvien")
    client.post(f"/tasks/{task.id}", data=REPORT)
    marks = client.get(f"/instances/{instance_id}/diagram.json").json
    assert "do_work" in marks["done"] and "review" in marks["current"]
    history = text(client.get(f"/instances/{instance_id}"))
    assert "Thực hiện và báo cáo kết quả" in history and "Trần Thị Thuỷ" in history


def test_cancel_instance(app, client, login, start_assignment):
    instance_id = start_assignment()
    assert client.post(f"/instances/{instance_id}/cancel", data={"reason": "Trùng việc"}).status_code == 302
    with app.app_context():
        assert db.session.get(ProcessInstance, instance_id).status == "cancelled"
    body = text(client.get(f"/instances/{instance_id}"))
    assert "Trùng việc" in body and "Đã hủy" in body


def test_error_box_and_retry(app, client, login, start_assignment):
    instance_id = start_assignment()
    with app.app_context():
        instance = db.session.get(ProcessInstance, instance_id)
        instance.status, instance.error_message, instance.error_task, instance.error_line = (
            "error", "NameError: x", "Tính hạn nhắc việc", 3)
        db.session.commit()
    body = text(client.get(f"/instances/{instance_id}"))
    assert 'id="error-box"' in body and "NameError: x" in body and "Chạy lại" in body
    response = client.post(f"/instances/{instance_id}/retry")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(ProcessInstance, instance_id).status != "error"


# ----------------------------------------------------------------------------------------- processes
def test_processes_page_start_errors_and_success(app, client, login, unit_id):
    login(client, "lanhdao")
    body = text(client.get("/processes"))
    assert "Giao việc" in body and f'value="{unit_id("102.08")}"' in body
    assert 'type="datetime-local" name="deadline"' in body and "Khẩn" in body
    before = audit_count(app)
    bad = client.post("/processes/task_assignment/start", data={
        "unit_id": str(unit_id("102.08")), "title": "ab", "assignee": "chuyenvien", "deadline": "không phải ngày",
        "remind_hours_before": "mười"})
    assert bad.status_code == 422
    page = text(bad)
    assert 'id="err-task_assignment-title"' in page and 'id="err-task_assignment-remind_hours_before"' in page
    assert 'id="err-task_assignment-deadline"' in page
    empty = text(client.post("/processes/task_assignment/start", data={"unit_id": str(unit_id("102.08")),
                                                                         "title": ""}))
    assert re.search(r'id="err-task_assignment-title">Trường này là bắt buộc<', empty)
    assert re.search(r'id="err-task_assignment-assignee">Trường này là bắt buộc<', empty)
    assert audit_count(app) == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
    no_unit = client.post("/processes/task_assignment/start", data={"title": "Việc ok"})
    assert no_unit.status_code == 422
    ok = client.post("/processes/task_assignment/start", data={
        "unit_id": str(unit_id("102.08")), "title": "Việc mới", "assignee": "chuyenvien",
        "deadline": "2030-02-01T09:30", "remind_hours_before": "4", "priority": "urgent"})
    assert ok.status_code == 302 and "/instances/" in ok.headers["Location"]
    assert "Việc mới" in text(client.get(ok.headers["Location"]))


def test_processes_forbidden_unit(client, login, unit_id):
    login(client, "chuyenvien")  # staff: may not start "Giao việc"
    body = text(client.get("/processes"))
    assert 'action="/processes/task_assignment/start"' not in body
    response = client.post("/processes/task_assignment/start", data={
        "unit_id": str(unit_id("102.08")), "title": "Việc trái phép", "assignee": "chuyenvien",
        "deadline": "2030-02-01T09:30", "remind_hours_before": "4"})
    assert response.status_code == 403


# ----------------------------------------------------------------------------------------- csrf, i18n
def test_csrf_enforced(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    assert client.post("/login", data={"username": "lanhdao", "password": "demo1234"}).status_code == 400
    page = text(client.get("/login"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": "lanhdao", "password": "demo1234",
                                       "csrf_token": token}).status_code == 302
    token = re.search(r'name="csrf-token" content="([^"]+)"', text(client.get("/processes"))).group(1)
    with app.app_context():
        from engine.orgtree import unit_by_code

        unit = unit_by_code(db.session, "102.08").id
    data = {"unit_id": str(unit), "title": "Việc CSRF", "assignee": "chuyenvien",
            "deadline": "2030-02-01T09:30", "remind_hours_before": "4"}
    refused = client.post("/processes/task_assignment/start", data=data)
    assert refused.status_code == 400 and "Yêu cầu không hợp lệ" in text(refused)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
    assert client.post("/processes/task_assignment/start", data={**data, "csrf_token": token}).status_code == 302
    with app.app_context():
        task = db.session.scalar(select(HumanTask))
    assert client.post(f"/inbox/tasks/{task.id}/claim").status_code == 400
    assert client.post("/inbox/filters", data={"name": "x"}).status_code == 400


def test_language_switch_to_english(client, login, start_assignment):
    start_assignment()
    login(client, "chuyenvien")
    assert "Hộp việc" in text(client.get("/inbox"))
    client.post("/lang/en", data={"next": "/inbox"})
    body = text(client.get("/inbox"))
    assert "Inbox" in body and "Claim" in body and "Hộp việc" not in body
    task_id = re.search(r"/tasks/(\d+)", body).group(1)
    page = text(client.get(f"/tasks/{task_id}"))
    assert "Save draft" in page and "Complete" in page
    assert "Start a process" in text(client.get("/processes"))
    bad = client.post(f"/tasks/{task_id}", data={"action": "complete", "progress_percent": "x", "result": "y"})
    assert "Wrong data type" in text(bad) and "The form data is not valid" in text(bad)
    assert "Task not found" in text(client.get("/tasks/99999"))
    client.post("/lang/vi", data={"next": "/inbox"})
    assert "Hộp việc" in text(client.get("/inbox"))
