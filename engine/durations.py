"""Business durations for process designers: working days in Vietnam.

Saturdays, Sundays and public holidays (fixed-date ones, plus Tết and Hùng Kings' day listed per year)
are skipped. See docs/process-design.md.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from engine.clock import VN_TZ

# Lunar-calendar holidays, published yearly by the government (Tết Nguyên đán, Giỗ Tổ Hùng Vương).
LUNAR_HOLIDAYS: dict[int, list[tuple[int, int]]] = {
    2025: [(1, 25), (1, 26), (1, 27), (1, 28), (1, 29), (1, 30), (1, 31), (2, 1), (2, 2), (4, 7)],
    2026: [(2, 14), (2, 15), (2, 16), (2, 17), (2, 18), (2, 19), (2, 20), (2, 21), (2, 22), (4, 26)],
    2027: [(2, 5), (2, 6), (2, 7), (2, 8), (2, 9), (2, 10), (2, 11), (2, 12), (2, 13), (4, 16)],
}
FIXED_HOLIDAYS: list[tuple[int, int]] = [(1, 1), (4, 30), (5, 1), (9, 1), (9, 2)]

_WORKING_DAYS = re.compile(r"^\s*(\d+)\s*(working days?|ngày làm việc|wd)\s*$", re.IGNORECASE)


def is_holiday(day: date) -> bool:
    if (day.month, day.day) in FIXED_HOLIDAYS:
        return True
    return (day.month, day.day) in LUNAR_HOLIDAYS.get(day.year, [])


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and not is_holiday(day)


def add_working_days(start: datetime, days: int) -> datetime:
    """The moment ``days`` working days after ``start``: same local time of day, end of day if off-hours."""
    local = start.astimezone(VN_TZ)
    day = local.date()
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    result = datetime.combine(day, local.time(), tzinfo=VN_TZ)
    if not time(7, 30) <= local.time() <= time(17, 0):
        result = datetime.combine(day, time(17, 0), tzinfo=VN_TZ)
    return result


def parse_working_days(text: str) -> int | None:
    """``"5 working days"`` / ``"5 ngày làm việc"`` → 5; anything else → None."""
    match = _WORKING_DAYS.match(text)
    return int(match.group(1)) if match else None
