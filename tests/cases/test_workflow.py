"""The workflow in the domain: deadlines set by the calendar, timers, rework, extensions."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from cases.access import Scope
from cases.errors import IllegalTransition, InvalidReport
from cases.records import current_row, timers
from cases.reports import ReportIn, file_report
from cases.workflow import ActionIn, act
from layers.model import Layer
from layers.principals import Principal

CST = ZoneInfo("Asia/Shanghai")
ALL = Scope(all=True)
OPERATOR = Principal("op", frozenset({"operator"}), kind="user")
DISPATCHER = Principal("disp", frozenset({"dispatcher"}), kind="user")
SUPERVISOR = Principal("sup", frozenset({"supervisor"}), kind="user")
HANDLER = Principal("h", frozenset({"handler"}), kind="user", department="cg-430104")
INSPECTOR = Principal("insp", frozenset({"inspector"}), kind="user")


def at(y: int, m: int, d: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=CST)


async def _case(conn: asyncpg.Connection, layer: Layer, when: dt.datetime, small: str = "0501") -> int:
    filed = await file_report(conn, layer=layer, report=ReportIn("event", None, small, "示例", "inspector",
                                                                     lon=112.9525, lat=28.2015),
                              photos=[], actor="insp", now=when)
    return filed.fid


async def _do(conn: asyncpg.Connection, layer: Layer, fid: int, action: str, who: Principal, when: dt.datetime,
              **body: object) -> asyncpg.Record:
    await act(conn, layer=layer, fid=fid, action=action, body=ActionIn(**body),  # type: ignore[arg-type]
              principal=who, scope=ALL, now=when)
    return await current_row(conn, layer, fid, ALL)


async def test_dispatch_deadline_crosses_a_weekend(city: asyncpg.Connection, case_layer: Layer) -> None:
    fid = await _case(city, case_layer, at(2026, 3, 13, 15))
    await _do(city, case_layer, fid, "accept", OPERATOR, at(2026, 3, 13, 15, 30))
    # 占道经营: 2 working hours [GK]; dispatched Friday 17:00 → Monday 09:30.
    row = await _do(city, case_layer, fid, "dispatch", DISPATCHER, at(2026, 3, 13, 17))
    assert row["deadline_at"] == at(2026, 3, 16, 9, 30)
    assert row["department"] == "cg-430104"
    props = dict(row)
    assert timers(props, at(2026, 3, 14, 12)).overdue is False  # Saturday: the clock stands still
    assert timers(props, at(2026, 3, 14, 12)).time_left_h == pytest.approx(1.0)
    late = timers(props, at(2026, 3, 16, 10))
    assert late.overdue is True and late.time_left_h == pytest.approx(-0.5)


async def test_deadline_in_days_crosses_a_holiday(city: asyncpg.Connection, case_layer: Layer) -> None:
    fid = await _case(city, case_layer, at(2026, 9, 30, 9), small="0601")  # 其他事件: 5 working days [GK]
    await _do(city, case_layer, fid, "accept", OPERATOR, at(2026, 9, 30, 10))
    row = await _do(city, case_layer, fid, "dispatch", DISPATCHER, at(2026, 9, 30, 11))
    # 30 Sep 11:00 → 6 h left that day; 国庆 1–7 Oct; then 8, 9, 10 (Sat, worked), 11 is Sunday, 12, 13.
    assert row["deadline_at"] == at(2026, 10, 13, 11)


async def test_redispatch_counts_rework_and_extension_moves_the_deadline(city: asyncpg.Connection,
                                                                         case_layer: Layer) -> None:
    fid = await _case(city, case_layer, at(2026, 3, 2, 9))
    await _do(city, case_layer, fid, "accept", OPERATOR, at(2026, 3, 2, 9, 10))
    await _do(city, case_layer, fid, "dispatch", DISPATCHER, at(2026, 3, 2, 9, 20), deadline_hours=3)
    row = await _do(city, case_layer, fid, "extend", HANDLER, at(2026, 3, 2, 10), reason="需要协调", deadline_hours=7)
    assert row["state"] == "extended" and row["deadline_at"] == at(2026, 3, 2, 14, 50)
    row = await _do(city, case_layer, fid, "extend", SUPERVISOR, at(2026, 3, 2, 11), approve=True)
    assert row["state"] == "dispatched" and row["deadline_at"] == at(2026, 3, 3, 14, 50)  # + 7 working hours
    with pytest.raises(InvalidReport):  # completing needs a photo
        await _do(city, case_layer, fid, "complete", HANDLER, at(2026, 3, 3, 9))
    photo = await city.fetchval(
        "INSERT INTO onemap.case_attachments (case_fid, sha256, media_type, bytes, size, width, height, uploaded_by) "
        "VALUES ($1, sha256('x'), 'image/png', 'x', 1, 1, 1, 'h') RETURNING id", fid)
    await _do(city, case_layer, fid, "complete", HANDLER, at(2026, 3, 3, 9), attachments=[photo])
    await _do(city, case_layer, fid, "verify", INSPECTOR, at(2026, 3, 3, 10), verdict="not_fixed")
    row = await current_row(city, case_layer, fid, ALL)
    assert row["state"] == "dispatched" and row["rework_count"] == 1 and row["completed_at"] is None
    with pytest.raises(IllegalTransition):
        await _do(city, case_layer, fid, "close", INSPECTOR, at(2026, 3, 3, 11))
    events = await city.fetch("SELECT version, action, to_state FROM onemap.case_events WHERE case_fid = $1 "
                              "ORDER BY version", fid)
    assert [e["action"] for e in events] == ["report", "accept", "dispatch", "extend", "extend", "complete",
                                              "verify", "redispatch"]
    assert [e["version"] for e in events] == list(range(1, 9))


async def test_case_numbers_count_per_day(city: asyncpg.Connection, case_layer: Layer) -> None:
    first = await _case(city, case_layer, at(2026, 4, 1, 23, 59))
    second = await _case(city, case_layer, at(2026, 4, 1, 23, 59, ))
    third = await _case(city, case_layer, at(2026, 4, 2, 0, 1))
    numbers = [(await current_row(city, case_layer, f, ALL))["case_no"] for f in (first, second, third)]
    assert numbers[0][:8] == numbers[1][:8] == "20260401" and int(numbers[1][8:]) == int(numbers[0][8:]) + 1
    assert numbers[2].startswith("20260402")
