"""The queue the console and the task lists show: current cases by state, newest first, with their
timers, and how many cases each state holds — all within what the caller may see."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from cases.access import Scope
from cases.codes import FINAL_STATES, STATES
from cases.errors import InvalidReport
from cases.records import columns_sql, feature
from cases.statements import bound
from layers.model import Layer

# The partial "open" indexes of migration 0011_cases list exactly these states.
OPEN_STATES = tuple(s for s in STATES if s not in FINAL_STATES)
MAX_LIMIT = 500


def parse_states(text: str | None) -> list[str]:
    """``state=a,b`` as a list of known states; none given means every open state.

    Raises:
        InvalidReport: an unknown state.
    """
    if not text:
        return list(OPEN_STATES)
    states = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in states if s not in STATES]
    if unknown:
        raise InvalidReport(f"unknown state(s) {', '.join(unknown)}; states: {', '.join(STATES)}")
    return states


async def queue(
    conn: asyncpg.Connection, *, layer: Layer, scope: Scope, states: list[str], department: str | None = None,
    limit: int = 50, offset: int = 0, now: dt.datetime | None = None,
) -> dict[str, Any]:
    """{cases: [Features with timers], counts: {state: n}} for the scope (empty when it sees none)."""
    if scope.none:
        return {"cases": [], "counts": dict.fromkeys(states, 0)}
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise InvalidReport(f"limit must be 1–{MAX_LIMIT} and offset ≥ 0")
    values = {"states": states, "department": department, "see_all": scope.all,
              "scope_department": scope.department}
    sql, args = bound("queue", {**values, "limit": limit, "offset": offset}, columns=columns_sql(layer))
    rows = await conn.fetch(sql, *args)
    sql, args = bound("queue_counts", values)
    counts = dict.fromkeys(states, 0) | {r["state"]: int(r["n"]) for r in await conn.fetch(sql, *args)}
    clock = now or dt.datetime.now(dt.UTC)
    return {"cases": [feature(r, layer, clock) for r in rows], "counts": counts}
