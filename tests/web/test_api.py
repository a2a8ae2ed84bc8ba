"""REST API /api/v1 and its OpenAPI document (fixtures: tests/web/conftest.py)."""
from __future__ import annotations

from datetime import datetime

import pytest

from engine.models import AuditEntry, HumanTask, ProcessInstance
from engine.orgtree import unit_by_code
from web.extensions import db

START_DATA = {"title": "Tổng hợp báo cáo quý I", "description": "Số liệu đoàn viên", "assignee": "chuyenvien",
              "deadline": "2030-03-31T17:00", "remind_hours_before": 24, "priority": "urgent"}
REPORT = {"progress_percent": 100, "result": "Đã tổng hợp xong",
          "steps": [{"content": "Thu thập số liệu", "done_on": "2030-03-20", "finished": True}]}


@pytest.fixture
def as_user(app, login):
    """as_user(username) → a logged-in client of its own (each user keeps a separate session)."""

    def make(username: str):
        client = app.test_client()
        response = login(client, username)
        assert response.status_code == 302, response.data[:300]
        return client

    return make


@pytest.fixture
def unit_102(app) -> int:
    with app.app_context():
        return unit_by_code(db.session, "102.08").id


def start(client, unit: int, data: dict | None = None):
    return client.post("/api/v1/processes/task_assignment/instances", json={"unit_id": unit,
                                                                            "data": data or START_DATA})


def iso(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, value
    return parsed


# ------------------------------------------------------------------------------------- full path
def test_task_assignment_through_the_api(app, as_user, unit_102):
    lanhdao, chuyenvien = as_user("lanhdao"), as_user("chuyenvien")

    processes = lanhdao.get("/api/v1/processes")
    assert processes.status_code == 200
    entry = next(p for p in processes.get_json()["items"] if p["process_id"] == "task_assignment")
    assert unit_102 in [u["id"] for u in entry["units"]]
    assert entry["start_form_schema"]["type"] == "object"

    created = start(lanhdao, unit_102)
    assert created.status_code == 201, created.get_json()
    instance = created.get_json()
    assert created.headers["Location"].endswith(f"/api/v1/instances/{instance['id']}")
    assert instance["status"] in ("running", "waiting")
    assert instance["title"] == START_DATA["title"]
    assert instance["unit"]["code"] == "102.08"
    assert instance["version"] and instance["error"] is None
    iso(instance["created_at"])
    [work] = instance["open_tasks"]
    assert work["element_id"] == "do_work" and work["candidate"]["username"] == "chuyenvien"
    iso(work["due_at"])

    inbox = chuyenvien.get("/api/v1/tasks")
    assert inbox.status_code == 200
    page = inbox.get_json()
    assert {"items", "total", "page", "pages"} <= set(page)
    assert work["id"] in [t["id"] for t in page["items"]]
    filtered = chuyenvien.get("/api/v1/tasks", query_string={"process": "task_assignment", "q": "báo cáo"})
    assert work["id"] in [t["id"] for t in filtered.get_json()["items"]]
    assert chuyenvien.get("/api/v1/tasks", query_string={"process": "other"}).get_json()["total"] == 0

    detail = chuyenvien.get(f"/api/v1/tasks/{work['id']}").get_json()
    assert detail["form"] == "task_assignment_report.json"
    assert "progress_percent" in detail["form_schema"]["properties"]
    assert detail["draft"] is None

    claimed = chuyenvien.post(f"/api/v1/tasks/{work['id']}/claim")
    assert claimed.status_code == 200 and claimed.get_json()["assignee"]["username"] == "chuyenvien"
    mine = chuyenvien.get("/api/v1/tasks", query_string={"mine": "1"}).get_json()
    assert [t["id"] for t in mine["items"]] == [work["id"]]

    done = chuyenvien.post(f"/api/v1/tasks/{work['id']}/complete", json={"data": REPORT})
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["task"]["status"] == "completed" and body["task"]["completed_by"]["username"] == "chuyenvien"
    [review] = body["instance"]["open_tasks"]
    assert review["element_id"] == "review"
    completed = chuyenvien.get("/api/v1/tasks", query_string={"status": "completed"}).get_json()
    assert work["id"] in [t["id"] for t in completed["items"]]

    assert review["id"] in [t["id"] for t in lanhdao.get("/api/v1/tasks").get_json()["items"]]
    accepted = lanhdao.post(f"/api/v1/tasks/{review['id']}/complete",
                            json={"data": {"decision": "accept", "review_comment": "Đạt"}})
    assert accepted.status_code == 200, accepted.get_json()
    final = lanhdao.get(f"/api/v1/instances/{instance['id']}").get_json()
    assert final["status"] == "completed" and final["open_tasks"] == []

    with app.app_context():
        actions = [a.action for a in db.session.query(AuditEntry).filter_by(instance_id=instance["id"])]
    assert {"start", "claim", "complete", "end"} <= set(actions)


def test_unclaim_reassign_cancel(app, as_user, unit_102):
    lanhdao, chuyenvien = as_user("lanhdao"), as_user("chuyenvien")
    instance = start(lanhdao, unit_102).get_json()
    task_id = instance["open_tasks"][0]["id"]
    assert chuyenvien.post(f"/api/v1/tasks/{task_id}/claim").status_code == 200
    released = chuyenvien.post(f"/api/v1/tasks/{task_id}/unclaim")
    assert released.status_code == 200 and released.get_json()["assignee"] is None

    moved = lanhdao.post(f"/api/v1/tasks/{task_id}/reassign", json={"username": "chuyenvien2"})
    assert moved.status_code == 200 and moved.get_json()["assignee"]["username"] == "chuyenvien2"
    nobody = lanhdao.post(f"/api/v1/tasks/{task_id}/reassign", json={"username": "khongco"})
    assert nobody.status_code == 422 and "username" in nobody.get_json()["fields"]
    assert chuyenvien.post(f"/api/v1/tasks/{task_id}/reassign", json={"username": "chuyenvien"}).status_code == 403

    cancelled = lanhdao.post(f"/api/v1/instances/{instance['id']}/cancel", json={"reason": "Không cần nữa"})
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    again = lanhdao.post(f"/api/v1/instances/{instance['id']}/cancel")
    assert again.status_code == 409 and again.get_json()["error"] == "conflict"
    retry = lanhdao.post(f"/api/v1/instances/{instance['id']}/retry")
    assert retry.status_code == 409


# ------------------------------------------------------------------------------------- errors
def test_wrong_types_are_422_with_fields(app, as_user, unit_102):
    lanhdao = as_user("lanhdao")
    bad = lanhdao.post("/api/v1/processes/task_assignment/instances", json={"unit_id": "102.08", "data": [1]})
    assert bad.status_code == 422
    body = bad.get_json()
    assert body["error"] == "invalid" and set(body["fields"]) == {"unit_id", "data"}
    assert body["fields"]["unit_id"] == "Phải là số nguyên"

    missing = lanhdao.post("/api/v1/processes/task_assignment/instances", json={"data": {}})
    assert missing.status_code == 422 and missing.get_json()["fields"]["unit_id"] == "Trường này là bắt buộc"
    unknown = lanhdao.post("/api/v1/processes/task_assignment/instances", json={"unit_id": unit_102, "x": 1})
    assert unknown.status_code == 422 and "x" in unknown.get_json()["fields"]
    not_json = lanhdao.post("/api/v1/processes/task_assignment/instances", data="unit_id=1")
    assert not_json.status_code == 422

    form = start(lanhdao, unit_102, {**START_DATA, "remind_hours_before": "nhiều", "title": ""})
    assert form.status_code == 422
    assert {"remind_hours_before", "title"} <= set(form.get_json()["fields"])

    assert lanhdao.get("/api/v1/tasks", query_string={"page": "abc"}).status_code == 422
    assert lanhdao.get("/api/v1/tasks", query_string={"status": "lost"}).status_code == 422

    instance = start(lanhdao, unit_102).get_json()
    chuyenvien = as_user("chuyenvien")
    task_id = instance["open_tasks"][0]["id"]
    wrong = chuyenvien.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"progress_percent": "xong"}})
    assert wrong.status_code == 422
    assert set(wrong.get_json()["fields"]) == {"progress_percent", "result"}
    assert chuyenvien.post(f"/api/v1/tasks/{task_id}/complete", json={"progress_percent": 5}).status_code == 422
    with app.app_context():
        assert db.session.get(HumanTask, task_id).status == "open"
    with app.app_context():  # nothing was started by the refused requests
        assert db.session.query(ProcessInstance).count() == 1


def test_404_and_401(app, as_user):
    lanhdao = as_user("lanhdao")
    for url in ("/api/v1/instances/9999", "/api/v1/tasks/9999"):
        response = lanhdao.get(url)
        assert response.status_code == 404 and response.get_json()["error"] == "not_found"
    assert lanhdao.post("/api/v1/tasks/9999/claim").status_code == 404
    assert lanhdao.post("/api/v1/processes/no_such_process/instances",
                        json={"unit_id": 1, "data": {}}).status_code == 404
    anonymous = app.test_client().get("/api/v1/tasks")
    assert anonymous.status_code == 401 and anonymous.get_json()["error"] == "unauthorized"


def test_403_for_a_user_of_another_unit(app, as_user, unit_102):
    lanhdao, cdcs = as_user("lanhdao"), as_user("cdcs")
    instance = start(lanhdao, unit_102).get_json()
    task_id = instance["open_tasks"][0]["id"]
    for response in (cdcs.get(f"/api/v1/instances/{instance['id']}"), cdcs.get(f"/api/v1/tasks/{task_id}"),
                     cdcs.post(f"/api/v1/tasks/{task_id}/claim"),
                     cdcs.post(f"/api/v1/tasks/{task_id}/complete", json={"data": REPORT}),
                     cdcs.post(f"/api/v1/instances/{instance['id']}/cancel"),
                     start(cdcs, unit_102)):
        assert response.status_code == 403, response.get_json()
        assert response.get_json()["error"] == "forbidden"
    assert task_id not in [t["id"] for t in cdcs.get("/api/v1/tasks").get_json()["items"]]


def test_double_complete_is_409_with_who_and_when(app, as_user, unit_102):
    lanhdao, chuyenvien = as_user("lanhdao"), as_user("chuyenvien")
    task_id = start(lanhdao, unit_102).get_json()["open_tasks"][0]["id"]
    assert chuyenvien.post(f"/api/v1/tasks/{task_id}/complete", json={"data": REPORT}).status_code == 200
    again = chuyenvien.post(f"/api/v1/tasks/{task_id}/complete", json={"data": REPORT})
    assert again.status_code == 409
    body = again.get_json()
    assert body["error"] == "conflict" and body["by"] == "Trần Thị Thuỷ"
    iso(body["at"])
    assert chuyenvien.post(f"/api/v1/tasks/{task_id}/claim").status_code == 409


def test_csrf_header_is_required_when_enabled(app_factory, login):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    page = client.get("/login")
    token = page.data.decode().split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"username": "lanhdao", "password": "demo1234", "csrf_token": token})
    assert client.get("/api/v1/processes").status_code == 200
    assert client.post("/api/v1/tasks/1/claim").status_code == 400
    api_token = client.get("/api/v1/csrf-token").get_json()["csrf_token"]
    assert client.post("/api/v1/tasks/9999/claim", headers={"X-CSRFToken": api_token}).status_code == 404


# ------------------------------------------------------------------------------------- OpenAPI
def test_openapi_document(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] and spec["info"]["version"]
    paths = spec["paths"]
    expected = {
        "/api/v1/processes": {"get"}, "/api/v1/processes/{process_id}/instances": {"post"},
        "/api/v1/instances/{instance_id}": {"get"}, "/api/v1/instances/{instance_id}/cancel": {"post"},
        "/api/v1/instances/{instance_id}/retry": {"post"}, "/api/v1/tasks": {"get"},
        "/api/v1/tasks/{task_id}": {"get"}, "/api/v1/tasks/{task_id}/claim": {"post"},
        "/api/v1/tasks/{task_id}/unclaim": {"post"}, "/api/v1/tasks/{task_id}/complete": {"post"},
        "/api/v1/tasks/{task_id}/reassign": {"post"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), path
        for method in methods:
            assert paths[path][method]["summary"]
            assert "200" in paths[path][method]["responses"] or "201" in paths[path][method]["responses"]
    schemas = spec["components"]["schemas"]
    for name in ("Task", "TaskDetail", "TaskPage", "Instance", "Process", "StartInstance", "CompleteTask",
                 "Error", "Conflict"):
        assert name in schemas and schemas[name]["type"] == "object"
    assert schemas["StartInstance"]["required"] == ["unit_id"]
    assert schemas["Task"]["properties"]["due_at"]["format"] == "date-time"
    start_op = paths["/api/v1/processes/{process_id}/instances"]["post"]
    assert start_op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/StartInstance")
    query = {p["name"] for p in paths["/api/v1/tasks"]["get"]["parameters"]}
    assert {"mine", "overdue", "process", "q", "status", "page"} <= query

    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for item in node:
                yield from refs(item)

    for ref in refs(spec):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref

    try:
        from openapi_spec_validator import validate
    except ImportError:
        return
    validate(spec)


def test_docs_page_lists_endpoints(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.data.decode()
    assert "/api/v1/tasks/{task_id}/complete" in html and "CompleteTask" in html and "TaskPage" in html
    assert "cdn" not in html.lower()
