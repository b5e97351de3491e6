"""The working-time calendar that 处置时限 run on: working periods of a day, weekends, public
holidays and 调休 working weekends (``cases/data/calendar.yaml``; 2025–2026 dates tagged [GK]).

Every function takes and returns timezone-aware datetimes; the calendar's own zone (Asia/Shanghai)
decides which day an instant falls on.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

# add_working_hours walks day by day; no deadline reaches further than this.
MAX_DAYS = 800


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """Working periods (local times) on working days; holidays and 调休 workdays override weekends."""

    zone: ZoneInfo
    periods: tuple[tuple[dt.time, dt.time], ...]
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]
    gk: bool = True

    @property
    def hours_per_day(self) -> float:
        """Working hours in one working day (a ``working_days`` limit counts this many hours a day)."""
        return sum(_hours(a, b) for a, b in self.periods)

    def is_working_day(self, day: dt.date) -> bool:
        """A 调休 workday, or a weekday that is not a public holiday."""
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def _spans(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        if not self.is_working_day(day):
            return []
        return [(dt.datetime.combine(day, a, self.zone), dt.datetime.combine(day, b, self.zone))
                for a, b in self.periods]

    def add_working_hours(self, start: dt.datetime, hours: float) -> dt.datetime:
        """The instant ``hours`` working hours after ``start`` (``start`` itself when hours ≤ 0)."""
        left = dt.timedelta(hours=hours)
        if left <= dt.timedelta(0):
            return start
        day = start.astimezone(self.zone).date()
        for _ in range(MAX_DAYS * 4):
            for a, b in self._spans(day):
                a = max(a, start)
                if a >= b:
                    continue
                if b - a >= left:
                    return (a + left).astimezone(start.tzinfo)
                left -= b - a
            day += dt.timedelta(days=1)
        raise ValueError(f"{hours} working hours reach beyond the calendar")

    def working_hours_between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Working hours from ``start`` to ``end``; negative when ``end`` is earlier.

        The first and last days are cut to the instants; the whole days between count
        :attr:`hours_per_day` each, from a cumulative count of working days (a case open for a
        year is as cheap to time as one opened today).
        """
        if end < start:
            return -self.working_hours_between(end, start)
        first, last = start.astimezone(self.zone).date(), end.astimezone(self.zone).date()
        if first == last:
            return self._within(first, start, end)
        total = self._within(first, start, end) + self._within(last, start, end)
        whole = self._working_days_before(last) - self._working_days_before(first + dt.timedelta(days=1))
        return total + whole * self.hours_per_day

    def _within(self, day: dt.date, start: dt.datetime, end: dt.datetime) -> float:
        seconds = 0.0
        for a, b in self._spans(day):
            a, b = max(a, start), min(b, end)
            if b > a:
                seconds += (b - a).total_seconds()
        return seconds / 3600.0

    def _working_days_before(self, day: dt.date) -> int:
        """Working days in [``_EPOCH``, ``day``): a cumulative table, grown on demand."""
        return _cumulative(self)[(day - _EPOCH).days] if _EPOCH <= day < _EPOCH + _SPAN else \
            self._count_slow(day)

    def _count_slow(self, day: dt.date) -> int:
        if day < _EPOCH:
            return -sum(self.is_working_day(_EPOCH - dt.timedelta(days=k)) for k in range(1, (_EPOCH - day).days + 1))
        table = _cumulative(self)
        extra = sum(self.is_working_day(_EPOCH + _SPAN + dt.timedelta(days=k))
                    for k in range((day - _EPOCH - _SPAN).days))
        return table[-1] + extra


_EPOCH = dt.date(2000, 1, 1)
_SPAN = dt.timedelta(days=366 * 60)


@cache
def _cumulative(cal: WorkCalendar) -> tuple[int, ...]:
    counts = [0]
    day = _EPOCH
    for _ in range(_SPAN.days):
        counts.append(counts[-1] + cal.is_working_day(day))
        day += dt.timedelta(days=1)
    return tuple(counts)


def _hours(a: dt.time, b: dt.time) -> float:
    return (dt.datetime.combine(dt.date.min, b) - dt.datetime.combine(dt.date.min, a)).total_seconds() / 3600.0


def _days(entries: list[Any]) -> frozenset[dt.date]:
    out: set[dt.date] = set()
    for entry in entries or []:
        if isinstance(entry, list):
            day, end = entry
            while day <= end:
                out.add(day)
                day += dt.timedelta(days=1)
        else:
            out.add(entry)
    return frozenset(out)


def calendar_from(raw: dict[str, Any]) -> WorkCalendar:
    """A calendar from its YAML mapping (``periods`` as "HH:MM" pairs, dates as YAML dates)."""
    periods = tuple((dt.time.fromisoformat(a), dt.time.fromisoformat(b)) for a, b in raw["periods"])
    if any(a >= b for a, b in periods):
        raise ValueError("each working period must end after it starts")
    return WorkCalendar(ZoneInfo(raw.get("timezone", "Asia/Shanghai")), periods, _days(raw.get("holidays", [])),
                        _days(raw.get("workdays", [])), bool(raw.get("gk", True)))


@cache
def work_calendar() -> WorkCalendar:
    """The configured calendar (``ONEMAP_CASES_CALENDAR`` names a replacement YAML file)."""
    override = os.environ.get("ONEMAP_CASES_CALENDAR")
    text = Path(override).read_text(encoding="utf-8") if override else \
        resources.files("cases").joinpath("data", "calendar.yaml").read_text(encoding="utf-8")
    return calendar_from(yaml.safe_load(text))
