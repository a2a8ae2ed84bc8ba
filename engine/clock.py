"""Time source for the engine. Tests swap in a controllable clock.

SpiffWorkflow's timer definitions call ``datetime.now(timezone.utc)`` on their module's own ``datetime``
name; ``install`` points that name at a subclass whose ``now`` asks our clock, so that timers, due dates
and scripts all see one time.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class Clock:
    """Real wall-clock time (UTC)."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FrozenClock(Clock):
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(timezone.utc)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now = self._now + delta
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when


_current: Clock = Clock()


class _ClockDatetime(datetime):
    @classmethod
    def now(cls, tz=None):  # noqa: ANN001, ANN206
        value = _current.now()
        return value.astimezone(tz) if tz is not None else value.astimezone(VN_TZ).replace(tzinfo=None)


spiff_timer.datetime = _ClockDatetime
# A timer value without an offset means Vietnam time, as everywhere else in the platform (host.next_due,
# forms, scripts); SpiffWorkflow would read it in the server's zone, so next_due_at and the timer disagreed.
spiff_timer.LOCALTZ = VN_TZ


def install(clock: Clock) -> Clock:
    """Make ``clock`` the engine's time source; returns the previous one."""
    global _current
    previous, _current = _current, clock
    return previous


def now() -> datetime:
    return _current.now()


def today() -> date:
    """Today's date in Vietnam."""
    return now().astimezone(VN_TZ).date()
