"""Domain operations that BPMN service tasks call (``spiffworkflow:serviceTaskOperator id="…"``).

A process designer names an operation and passes parameters (expressions over the task data); the
operation runs inside the host's transaction with a ``ServiceContext`` (session, instance, upload folder,
a progress reporter) and returns a JSON-serialisable value stored in the task's result variable.

Forms can also have a domain check (``ServiceRegistry.form_check``): it runs when a user task with that
form is completed, after the JSON Schema check, and raises InvalidInput with field errors.
"""
from __future__ import annotations

import contextvars
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import text
from sqlalchemy.orm import Session

from engine.errors import PlatformError


@dataclass
class ServiceContext:
    session: Session
    instance: Any  # ProcessInstance (typed loosely: engine.models imports nothing from here)
    upload_dir: Path
    actor_id: int | None = None
    # Runs fn(session) in its own short transaction (progress bars); best effort, see apart_writer.
    apart: Callable[[Callable[[Session], None]], bool] = field(default=lambda fn: False)
    task_data: dict[str, Any] | None = None  # the calling service task's data (read-only use)


Operation = Callable[..., Any]
FormCheck = Callable[[ServiceContext, dict[str, Any], dict[str, Any]], None]

log = logging.getLogger(__name__)

current_context: contextvars.ContextVar[ServiceContext | None] = contextvars.ContextVar(
    "current_service_context", default=None)


def apart_writer(session: Session) -> Callable[[Callable[[Session], None]], bool]:
    """A writer that commits small updates (progress) on a second connection while the caller's
    transaction is still open, so that another request sees them. Best effort, never raises: on SQLite it
    writes only while the caller holds no write lock; on PostgreSQL a row the caller has locked makes the
    write give up after a short lock timeout. After one failure it stops trying for this operation."""
    state = {"off": False}

    def write(fn: Callable[[Session], None]) -> bool:
        if state["off"]:
            return False
        try:
            real = session.registry() if hasattr(session, "registry") else session  # a scoped_session
            bind = real.get_bind()
            if bind.dialect.name == "sqlite" and real.in_transaction():
                raw = real.connection().connection.dbapi_connection
                if getattr(raw, "in_transaction", False):
                    state["off"] = True
                    return False
            with Session(bind=bind) as apart:
                if bind.dialect.name == "postgresql":
                    apart.execute(text("SET LOCAL lock_timeout = '100ms'"))
                fn(apart)
                apart.commit()
            return True
        except Exception:  # noqa: BLE001 - a progress write must never break the operation
            log.info("progress write skipped", exc_info=True)
            state["off"] = True
            return False

    return write


class ServiceError(Exception):
    """An operation refused its input; the instance goes to the error state with this message."""


class ServiceRegistry:
    def __init__(self) -> None:
        self.operations: dict[str, Operation] = {}
        self.form_checks: dict[str, FormCheck] = {}

    def operation(self, name: str) -> Callable[[Operation], Operation]:
        def register(fn: Operation) -> Operation:
            self.operations[name] = fn
            return fn
        return register

    def form_check(self, form: str) -> Callable[[FormCheck], FormCheck]:
        def register(fn: FormCheck) -> FormCheck:
            self.form_checks[form] = fn
            return fn
        return register

    def names(self) -> frozenset[str]:
        return frozenset(self.operations)

    def call(self, name: str, params: dict[str, Any], task_data: dict[str, Any] | None = None) -> str:
        """Run an operation in the current context; returns its result as JSON (what SpiffWorkflow expects)."""
        fn = self.operations.get(name)
        if fn is None:
            raise ServiceError(f"Không có thao tác hệ thống '{name}'")
        ctx = current_context.get()
        if ctx is None:
            raise ServiceError(f"Thao tác '{name}' chỉ chạy được trong một quy trình")
        values = {key: spec["value"] if isinstance(spec, dict) else spec for key, spec in params.items()}
        ctx.task_data = task_data
        try:
            result = fn(ctx, **values)
        except PlatformError as exc:  # a domain refusal: keep the Vietnamese message
            raise ServiceError(exc.message) from exc
        return json.dumps(result, ensure_ascii=False, default=str)

    def check_form(self, form: str | None, ctx: ServiceContext, task_data: dict[str, Any],
                   clean: dict[str, Any]) -> None:
        check = self.form_checks.get(form or "")
        if check is not None:
            check(ctx, task_data, clean)
