"""Shared fixtures for the engine, contract and web tests.

Databases: every test that takes ``db_url`` (or ``sessions``) runs twice, on SQLite (a WAL file in
tmp_path) and on PostgreSQL (a fresh database on one throwaway server per run, see tests/pg.py).
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine import accounts, clock  # noqa: E402
from engine.db import Base, make_engine, make_sessionmaker  # noqa: E402
from engine.models import OrgUnit, ProcessInstance, ProcessVersion, User  # noqa: E402
from engine.runtime import FORMS_DIR, PROCESSES_DIR, Runtime, build_runtime  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
GOOD_PROCESSES = FIXTURES / "good" / "processes"
GOOD_FORMS = FIXTURES / "good" / "forms"
FROZEN_AT = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # Monday 08:00 in Vietnam
PASSWORD = "matkhau123"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


# ----------------------------------------------------------------------------------------- databases
@pytest.fixture(scope="session")
def pg_server():
    """One throwaway PostgreSQL server per test run."""
    try:
        from tests.pg import PostgresUnavailable, start_postgres
    except ImportError as exc:  # pragma: no cover - depends on the checkout
        if _in_ci():
            pytest.fail(f"tests/pg.py cannot be imported: {exc}")
        pytest.skip(f"tests/pg.py cannot be imported: {exc}")
    base = Path(tempfile.mkdtemp(prefix="congdoan-pg-"))
    os.chmod(base, 0o755)
    try:
        server = start_postgres(base)
    except PostgresUnavailable as exc:
        shutil.rmtree(base, ignore_errors=True)
        if _in_ci() or "no PostgreSQL server binaries" not in str(exc):
            pytest.fail(f"PostgreSQL could not be started: {exc}")
        pytest.skip(f"PostgreSQL binaries are not installed (CI not set): {exc}")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"),
                        pytest.param("postgresql", id="pg", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    server = request.getfixturevalue("pg_server")
    return server.create_database(f"t_{uuid.uuid4().hex[:16]}")


@pytest.fixture
def db_engine(db_url):
    engine = make_engine(db_url, pool_size=25, max_overflow=10)
    Base.metadata.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def sessions(db_engine):
    """A sessionmaker over a fresh, empty schema."""
    return make_sessionmaker(db_engine)


# ----------------------------------------------------------------------------------------- clock
@pytest.fixture
def frozen_clock():
    frozen = clock.FrozenClock(FROZEN_AT)
    previous = clock.install(frozen)
    try:
        yield frozen
    finally:
        clock.install(previous)


# ----------------------------------------------------------------------------------------- runtime
def make_runtime(processes_dir: Path = GOOD_PROCESSES, forms_dir: Path = GOOD_FORMS,
                 script_time_limit_s: float = 2.0) -> Runtime:
    """A runtime over a process folder (default: the test fixtures in tests/fixtures/good)."""
    return build_runtime(Path(processes_dir), Path(forms_dir), script_time_limit_s)


@pytest.fixture
def runtime() -> Runtime:
    """The runtime over the real processes/ and forms/."""
    return build_runtime(PROCESSES_DIR, FORMS_DIR)


@pytest.fixture
def fixture_runtime() -> Runtime:
    """The runtime over tests/fixtures/good/{processes,forms}."""
    return make_runtime()


@pytest.fixture
def build_fixture_runtime():
    """A factory: build_fixture_runtime(processes_dir=..., forms_dir=...)."""
    return make_runtime


def reload_instance(sessions, instance_id: int) -> tuple[ProcessInstance, Any]:
    """Save→load round trip: read the instance in a fresh session and restore its workflow through a
    brand-new store (no spec cache), from the version stored in the database."""
    from engine.sandbox import make_script_engine
    from engine.store import WorkflowStore

    with sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        version = session.get(ProcessVersion, instance.version_id)
        session.expunge_all()
    workflow = WorkflowStore(make_script_engine()).load(version, instance.state_json)
    return instance, workflow


def ready_names(workflow) -> list[str]:
    from SpiffWorkflow import TaskState

    return sorted(t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY, manual=True))


# ----------------------------------------------------------------------------------------- org tree
_REAL_HASH = accounts.hash_password
_CHEAP_HASH: dict[str, str] = {}


def _cheap_hash(password: str) -> str:
    """scrypt is deliberately slow; hash each test password once per run."""
    if password not in _CHEAP_HASH:
        _CHEAP_HASH[password] = _REAL_HASH(password)
    return _CHEAP_HASH[password]


@dataclass
class Org:
    """Ids of the units and users built by the ``org`` fixture; load them in your own session."""

    units: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)

    def unit(self, session, code: str) -> OrgUnit:
        return session.get(OrgUnit, self.units[code])

    def user(self, session, username: str) -> User:
        return session.get(User, self.users[username])


# code, name, kind, parent code
UNITS = [
    ("P1", "LĐLĐ tỉnh Bắc Ninh", "provincial_federation", None),
    ("D1", "LĐLĐ huyện Tiên Du", "district_federation", "P1"),
    ("G1", "CĐCS Công ty May Tiên Sơn", "grassroots", "D1"),
    ("G1B", "CĐCS Trường THCS Lim", "grassroots", "D1"),
    ("P2", "LĐLĐ thành phố Hải Phòng", "provincial_federation", None),
    ("C2", "Công đoàn phường Hồng Bàng", "commune_union", "P2"),
    ("G2", "CĐCS Công ty Cảng Hải Phòng", "grassroots", "C2"),
    ("G3", "CĐCS Sở Giáo dục Hải Phòng", "grassroots", "P2"),
]
# username, full name, unit, role
USERS = [
    ("lead_g1", "Nguyễn Văn Lãnh", "G1", "leader"),
    ("staff_g1", "Trần Thị Thu", "G1", "staff"),
    ("staff2_g1", "Lê Văn Hai", "G1", "staff"),
    ("officer_g1", "Phạm Thị Cơ", "G1", "grassroots_officer"),
    ("reviewer_d1", "Hoàng Văn Duyệt", "D1", "upper_reviewer"),
    ("printer_p1", "Vũ Thị In", "P1", "province_printer"),
    ("lead_g2", "Đỗ Văn Hải", "G2", "leader"),
    ("staff_g2", "Bùi Thị Cảng", "G2", "staff"),
    ("officer_g2", "Ngô Văn Phường", "G2", "grassroots_officer"),
    ("reviewer_c2", "Đinh Thị Xã", "C2", "upper_reviewer"),
    ("officer_g3", "Lý Văn Trường", "G3", "grassroots_officer"),
    ("reviewer_p2", "Mai Thị Tỉnh", "P2", "upper_reviewer"),
    ("printer_p2", "Tạ Văn Thẻ", "P2", "province_printer"),
]


def build_org(session) -> Org:
    from engine.orgtree import create_unit

    org = Org()
    units: dict[str, OrgUnit] = {}
    for code, name, kind, parent in UNITS:
        units[code] = create_unit(session, code, name, kind, units.get(parent) if parent else None)
        org.units[code] = units[code].id
    for username, full_name, unit, role in USERS:
        user = accounts.create_user(session, username, full_name, PASSWORD, email=f"{username}@congdoan.vn")
        accounts.grant_role(session, user, units[unit], role)
        org.users[username] = user.id
    admin = accounts.create_user(session, "admin", "Quản trị", PASSWORD, is_admin=True)
    org.users["admin"] = admin.id
    return org


@pytest.fixture
def org(sessions, monkeypatch) -> Org:
    """A 3-level tree (P1 → D1 → G1, G1B) and post-2025 2-level ones (P2 → C2 → G2; P2 → G3), with
    leaders, staff and role holders (see UNITS / USERS)."""
    monkeypatch.setattr(accounts, "hash_password", _cheap_hash)
    with sessions() as session:
        result = build_org(session)
        session.commit()
    return result
