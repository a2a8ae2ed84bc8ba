"""Business durations: working days skip weekends and Vietnamese public holidays."""
from __future__ import annotations

from datetime import date, datetime, time

import pytest

from engine.clock import VN_TZ
from engine.durations import add_working_days, is_holiday, is_working_day, parse_working_days


def vn(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VN_TZ)


@pytest.mark.parametrize("start, days, expected", [
    (vn(2026, 3, 2), 1, vn(2026, 3, 3)),            # Mon → Tue
    (vn(2026, 3, 6), 1, vn(2026, 3, 9)),            # Fri → Mon (weekend skipped)
    (vn(2026, 3, 7), 1, vn(2026, 3, 9)),            # Sat → Mon (started on a weekend)
    (vn(2026, 3, 2), 5, vn(2026, 3, 9)),            # a full working week
    (vn(2026, 3, 2), 0, vn(2026, 3, 2)),
    (vn(2026, 4, 29), 1, vn(2026, 5, 4)),           # 30/4 and 1/5 holidays, then the weekend
    (vn(2026, 8, 31), 1, vn(2026, 9, 3)),           # Quốc khánh 1–2/9
    (vn(2026, 2, 13), 1, vn(2026, 2, 23)),          # Tết Nguyên đán 2026 (14–22/2)
    (vn(2026, 4, 24), 1, vn(2026, 4, 27)),          # Giỗ Tổ Hùng Vương 26/4/2026 falls on a Sunday
    (vn(2025, 12, 31), 1, vn(2026, 1, 2)),          # New Year's Day
])
def test_add_working_days_skips_weekends_and_holidays(start, days, expected):
    assert add_working_days(start, days) == expected


def test_off_hours_start_ends_at_close_of_business():
    assert add_working_days(vn(2026, 3, 2, 20, 30), 2) == vn(2026, 3, 4, 17, 0)
    assert add_working_days(vn(2026, 3, 2, 6, 0), 1).time() == time(17, 0)
    assert add_working_days(vn(2026, 3, 2, 16, 59), 1).time() == time(16, 59)


def test_utc_input_is_read_in_vietnam_time():
    from datetime import timezone

    start = datetime(2026, 3, 6, 2, 0, tzinfo=timezone.utc)   # Friday 09:00 in Vietnam
    assert add_working_days(start, 1) == vn(2026, 3, 9, 9, 0)


def test_holiday_calendar():
    assert is_holiday(date(2026, 9, 2)) and is_holiday(date(2027, 2, 8)) and is_holiday(date(2025, 4, 7))
    assert not is_holiday(date(2026, 3, 3))
    assert is_working_day(date(2026, 3, 3)) and not is_working_day(date(2026, 3, 7))
    assert not is_working_day(date(2026, 2, 16))


@pytest.mark.parametrize("text, days", [("5 working days", 5), ("1 working day", 1), ("3 ngày làm việc", 3),
                                        (" 10 WD ", 10), ("PT5H", None), ("5 days", None), ("", None)])
def test_parse_working_days(text, days):
    assert parse_working_days(text) == days
