"""Restricted script environment for BPMN scripts, conditions and timer expressions.

Scripts are compiled with RestrictedPython's ``compile_restricted`` (underscore attributes such as
``__class__`` are refused at compile time), run with guarded builtins and an allow-list of helpers,
and stopped after a time limit by a trace function.
"""
from __future__ import annotations

import contextvars
import sys
import time
from datetime import date, datetime, timedelta
from functools import lru_cache
from types import CodeType
from typing import Any, Callable

from RestrictedPython import compile_restricted, limited_builtins, safe_builtins, utility_builtins
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from RestrictedPython.PrintCollector import PrintCollector
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from engine import clock
from engine.durations import add_working_days
from engine.errors import ScriptTimeout

DEFAULT_TIME_LIMIT_S = 2.0

# Side effects requested by scripts (notifications), collected per host operation.
current_effects: contextvars.ContextVar[list[dict[str, Any]] | None] = contextvars.ContextVar(
    "current_effects", default=None
)

_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": lambda a, b: a + b, "-=": lambda a, b: a - b, "*=": lambda a, b: a * b,
    "/=": lambda a, b: a / b, "//=": lambda a, b: a // b, "%=": lambda a, b: a % b,
    "|=": lambda a, b: a | b, "&=": lambda a, b: a & b,
}


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    if op not in _INPLACE:
        raise SyntaxError(f"operator {op} is not allowed")
    return _INPLACE[op](x, y)


def notify(target: str, message: str) -> None:
    """Ask the host to notify a user (username), a role at the subject unit, or 'assignee'/'initiator'."""
    effects = current_effects.get()
    if effects is None:
        raise RuntimeError("notify() is only available while a process runs")
    effects.append({"kind": "notify", "target": str(target), "message": str(message)})


def _now() -> datetime:
    return clock.now()


def _parse_date(text: str) -> date:
    return datetime.strptime(str(text), "%d/%m/%Y").date() if "/" in str(text) else date.fromisoformat(str(text))


def _to_datetime(value: Any) -> datetime:
    """An ISO string or a datetime (from a form) → an aware datetime in Vietnam time."""
    result = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return result if result.tzinfo else result.replace(tzinfo=clock.VN_TZ)


HELPERS: dict[str, Any] = {
    "datetime": datetime, "date": date, "timedelta": timedelta,
    "now": _now, "parse_date": _parse_date, "to_datetime": _to_datetime,
    "add_working_days": add_working_days, "notify": notify,
}


def _builtins() -> dict[str, Any]:
    allowed = dict(safe_builtins)
    allowed.update(limited_builtins)
    allowed.update(utility_builtins)
    for name in ("dict", "list", "enumerate", "sum", "min", "max", "any", "all", "map", "filter", "reversed"):
        allowed[name] = __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
    return allowed


GUARDS: dict[str, Any] = {
    "__builtins__": _builtins(),
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
    "_print_": PrintCollector,
}


@lru_cache(maxsize=4096)
def compile_script(source: str) -> CodeType:
    """Compile a script; raises SyntaxError with the restriction reasons."""
    return compile_restricted(source, filename="<string>", mode="exec")


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> CodeType:
    return compile_restricted(source.strip(), filename="<string>", mode="eval")


class _Deadline:
    """A trace function that raises ScriptTimeout once the deadline has passed."""

    def __init__(self, limit_s: float) -> None:
        self.deadline = time.monotonic() + limit_s
        self.count = 0

    def __call__(self, frame, event, arg):  # noqa: ANN001, ANN204
        self.count += 1
        if self.count % 64 == 0 and time.monotonic() > self.deadline:
            raise ScriptTimeout("script exceeded its time limit")
        return self


def _run_limited(fn: Callable[[], Any], limit_s: float) -> Any:
    previous = sys.gettrace()
    sys.settrace(_Deadline(limit_s))
    try:
        return fn()
    finally:
        sys.settrace(previous)


class RestrictedEnvironment(TaskDataEnvironment):
    """TaskDataEnvironment with restricted compilation, guards, helper allow-list and a time limit."""

    def __init__(self, helpers: dict[str, Any] | None = None, time_limit_s: float = DEFAULT_TIME_LIMIT_S):
        super().__init__(dict(helpers or HELPERS))
        self.time_limit_s = time_limit_s

    def evaluate(self, expression, context, external_context=None):  # noqa: ANN001, ANN201
        code = compile_expression(expression)
        scope = dict(GUARDS)
        scope.update(self.globals)
        scope.update(external_context or {})
        scope.update(context)
        return _run_limited(lambda: eval(code, scope), self.time_limit_s)  # noqa: S307 - restricted code

    def execute(self, script, context, external_context=None):  # noqa: ANN001, ANN201
        code = compile_script(script)
        self.check_for_overwrite(context, external_context or {})
        context.update(GUARDS)
        context.update(self.globals)
        context.update(external_context or {})
        try:
            _run_limited(lambda: exec(code, context), self.time_limit_s)  # noqa: S102 - restricted code
        finally:
            for key in list(GUARDS) + ["_print", "printed"]:
                context.pop(key, None)
            self._remove_globals_and_functions_from_context(context, external_context)
        return True


class HostScriptEngine(PythonScriptEngine):
    """The script engine with service tasks dispatched to the host's registry of domain operations."""

    def __init__(self, environment: RestrictedEnvironment, services: Any = None) -> None:
        super().__init__(environment=environment)
        self.services = services

    def call_service(self, task, **kwargs):  # noqa: ANN001, ANN201
        from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException

        if self.services is None:
            raise WorkflowTaskException("Không có thao tác hệ thống nào được cấu hình", task=task)
        try:
            return self.services.call(kwargs["operation_name"], kwargs.get("operation_params") or {}, task.data)
        except ScriptTimeout:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure puts the instance in the error state
            raise WorkflowTaskException(str(exc), task=task, exception=exc) from exc


def make_script_engine(time_limit_s: float = DEFAULT_TIME_LIMIT_S, services: Any = None) -> PythonScriptEngine:
    engine = HostScriptEngine(RestrictedEnvironment(time_limit_s=time_limit_s), services)
    engine.validate = lambda expression: compile_expression(expression)  # type: ignore[method-assign]
    return engine
