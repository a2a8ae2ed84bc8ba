"""Shared web fixtures: an app over a temp SQLite file DB with the demo data, a client, a CLI runner, login."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from engine import demo

DEMO_PASSWORD = demo.DEMO_PASSWORD


def build_app(tmp: Path, **overrides: object) -> Flask:
    """create_app over a fresh SQLite file, schema by migrations, demo data seeded and processes deployed."""
    from flask_migrate import upgrade

    from web import create_app
    from web.context import runtime
    from web.extensions import db

    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'test.db'}",
        "WTF_CSRF_ENABLED": False,
        "UPLOAD_DIR": str(tmp / "uploads"),
        "DEPLOY_ON_START": False,
    }
    config.update(overrides)
    app = create_app(config)
    with app.app_context():
        upgrade()
        demo.seed(db.session)
        runtime().deploy(db.session)
        db.session.commit()
    return app


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    app = build_app(tmp_path)
    yield app
    from web.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def login() -> Callable[..., object]:
    """login(client, username, password=demo1234) → the response of POST /login (not followed)."""

    def do_login(client: FlaskClient, username: str, password: str = DEMO_PASSWORD):
        client.post("/logout")
        return client.post("/login", data={"username": username, "password": password})

    return do_login


@pytest.fixture
def app_factory(tmp_path: Path) -> Callable[..., Flask]:
    """app_factory(**config) → another app over its own temp DB (e.g. WTF_CSRF_ENABLED=True)."""
    made: list[Flask] = []

    def make(**overrides: object) -> Flask:
        folder = tmp_path / f"app{len(made)}"
        folder.mkdir()
        built = build_app(folder, **overrides)
        made.append(built)
        return built

    yield make
    from web.extensions import db

    for built in made:
        with built.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def unit_id(app: Flask) -> Callable[[str], int]:
    """unit_id("102.08") → the id of a unit by its code."""
    from engine.orgtree import unit_by_code
    from web.extensions import db

    def find(code: str) -> int:
        with app.app_context():
            return unit_by_code(db.session, code).id

    return find


@pytest.fixture
def start_assignment(client: FlaskClient, login, unit_id) -> Callable[..., int]:
    """As ``lanhdao``, start "Giao việc" at 102.08 for ``assignee``; returns the instance id (logged in as lanhdao)."""

    def start(title: str = "Chuẩn bị hội nghị", assignee: str = "chuyenvien",
              deadline: str = "2030-01-15T17:00", **extra: str) -> int:
        login(client, "lanhdao")
        data = {"unit_id": str(unit_id("102.08")), "title": title, "assignee": assignee, "deadline": deadline,
                "remind_hours_before": "24", "priority": "normal", **extra}
        response = client.post("/processes/task_assignment/start", data=data)
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])

    return start
