"""The case event log: one row per case version in ``onemap.case_events``, which is both the case's
history and the live feed's source. Each INSERT statement notifies ``onemap_cases`` (see migration
0011_cases) with its last id; a feed reads the rows after the last id it sent, so a client that
reconnects with ``Last-Event-ID`` — to this or any other instance — misses nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import asyncpg

from cases.access import Scope
from cases.statements import bound

CASES_CHANNEL = "onemap_cases"
EVENT_FIELDS = ("case_no", "state", "kind", "big_class", "small_class", "grid_code", "district", "department")


def event_data(fid: int, props: dict[str, Any], *, action: str, at: dt.datetime) -> dict[str, Any]:
    """The JSON a live-feed ``case`` event carries."""
    return {"id": fid, **{k: props.get(k) for k in EVENT_FIELDS}, "action": action, "at": at.isoformat()}


async def record_event(
    conn: asyncpg.Connection, *, fid: int, version: int, action: str, from_state: str | None, props: dict[str, Any],
    actor: str, at: dt.datetime, reason: str | None = None, details: dict[str, Any] | None = None,
    attachments: Sequence[int] = (),
) -> int:
    """Append the event of a new case version; returns its id (the feed's event id)."""
    sql, args = bound("event_insert", {
        "fid": fid, "version": version, "action": action, "from_state": from_state, "to_state": props["state"],
        "actor": actor, "at": at, "reason": reason, "details": details or {}, "attachments": list(attachments),
        "department": props.get("department"), "data": event_data(fid, props, action=action, at=at),
    })
    event_id: int = await conn.fetchval(sql, *args)
    return event_id


async def events_since(conn: asyncpg.Connection, *, after_id: int, scope: Scope, limit: int = 500
                       ) -> list[tuple[int, dict[str, Any]]]:
    """(id, data) of the events after ``after_id`` the scope sees, oldest first."""
    sql, args = bound("events_since", {"after_id": after_id, "see_all": scope.all,
                                       "department": scope.department, "limit": limit})
    return [(int(r["id"]), dict(r["data"])) for r in await conn.fetch(sql, *args)]


async def last_event_id(conn: asyncpg.Connection) -> int:
    """The newest event id (0 when there is none): where a new feed without Last-Event-ID starts."""
    value: int | None = await conn.fetchval("SELECT max(id) FROM onemap.case_events")
    return value or 0
