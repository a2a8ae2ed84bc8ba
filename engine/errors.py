"""Domain errors. Messages are Vietnamese-first; web/ translates them through Babel keys."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


class PlatformError(Exception):
    """Base of every error the platform reports to a user instead of crashing."""

    code = "error"

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


class NotFound(PlatformError):
    code = "not_found"


class Forbidden(PlatformError):
    code = "forbidden"


class InvalidInput(PlatformError):
    code = "invalid"

    def __init__(self, message: str, field_errors: dict[str, str] | None = None, **params: object) -> None:
        super().__init__(message, **params)
        self.field_errors = field_errors or {}


@dataclass
class AlreadyCompleted(PlatformError):
    """Someone else completed (or the engine closed) the task first."""

    task_name: str
    by: str | None
    at: datetime | None
    code: str = field(default="conflict", init=False)

    def __post_init__(self) -> None:
        PlatformError.__init__(self, "Công việc đã được xử lý", by=self.by, at=self.at)


class Conflict(PlatformError):
    code = "conflict"


class ScriptTimeout(Exception):
    """A BPMN script ran past its time limit."""
