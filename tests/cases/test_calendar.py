"""Deadlines on the working-time calendar: weekends, public holidays and 调休 working weekends."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from cases.calendar import calendar_from, work_calendar

CST = ZoneInfo("Asia/Shanghai")


def at(y: int, m: int, d: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=CST)


def test_a_day_has_seven_working_hours() -> None:
    assert work_calendar().hours_per_day == 7.0


def test_deadline_runs_across_a_weekend() -> None:
    cal = work_calendar()
    # Friday 2026-03-13 16:00 + 4 working hours: 2 h on Friday, then Monday 08:30 + 2 h.
    assert cal.add_working_hours(at(2026, 3, 13, 16), 4) == at(2026, 3, 16, 10, 30)
    # Over lunch: 11:00 + 2 h = 11:00–12:00, 14:30–15:30.
    assert cal.add_working_hours(at(2026, 3, 16, 11), 2) == at(2026, 3, 16, 15, 30)


def test_deadline_runs_across_a_holiday_and_a_working_sunday() -> None:
    cal = work_calendar()
    # 国庆 2026: 1–7 October off, Saturday 10 October a working day (调休) [GK].
    # Wednesday 30 September 17:00 + 3 working days (21 h): 1 h on the 30th, then 8, 9, 10 October.
    assert not cal.is_working_day(dt.date(2026, 10, 5))
    assert cal.is_working_day(dt.date(2026, 10, 10))
    assert cal.add_working_hours(at(2026, 9, 30, 17), 21) == at(2026, 10, 10, 17)
    # 元旦 2026: 1–3 January off, Sunday 4 January worked.
    assert cal.add_working_hours(at(2025, 12, 31, 17, 30), 1) == at(2026, 1, 4, 9)


def test_hours_between_is_the_inverse_of_adding() -> None:
    cal = work_calendar()
    start = at(2026, 2, 12, 10, 15)  # before 春节
    for hours in (0.5, 3, 7, 20, 60):
        end = cal.add_working_hours(start, hours)
        assert cal.working_hours_between(start, end) == pytest.approx(hours)
        assert cal.working_hours_between(end, start) == pytest.approx(-hours)


def test_calendar_is_configurable() -> None:
    cal = calendar_from({"periods": [["09:00", "17:00"]], "holidays": [dt.date(2026, 3, 16)],
                         "workdays": [dt.date(2026, 3, 14)]})
    assert cal.hours_per_day == 8
    # Friday 16:00 + 2 h: 1 h Friday, 1 h on the working Saturday.
    assert cal.add_working_hours(at(2026, 3, 13, 16), 2) == at(2026, 3, 14, 10)
    assert cal.add_working_hours(at(2026, 3, 14, 16), 2) == at(2026, 3, 17, 10)  # Sun off, Mon a holiday
    with pytest.raises(ValueError):
        calendar_from({"periods": [["17:00", "09:00"]]})


def test_long_intervals_match_a_day_by_day_count() -> None:
    import random

    cal = work_calendar()

    def walked(s: dt.datetime, e: dt.datetime) -> float:
        total, day = 0.0, s.astimezone(CST).date()
        while day <= e.astimezone(CST).date():
            if cal.is_working_day(day):
                for a, b in cal.periods:
                    lo = max(dt.datetime.combine(day, a, CST), s)
                    hi = min(dt.datetime.combine(day, b, CST), e)
                    total += max(0.0, (hi - lo).total_seconds() / 3600)
            day += dt.timedelta(days=1)
        return total

    rnd = random.Random(7)
    for _ in range(200):
        s = at(2025, 1, 1, 0) + dt.timedelta(hours=rnd.uniform(0, 20000))
        e = s + dt.timedelta(hours=rnd.uniform(0, 5000))
        assert cal.working_hours_between(s, e) == pytest.approx(walked(s, e))
