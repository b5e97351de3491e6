"""Reading cases: the current version as a GeoJSON Feature with its timers, its history and photos.

Timers (``time_used_h``, ``time_left_h``, ``overdue``) are computed when read, on the working-time
calendar, so they are right at the moment of the request and never stored stale.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import asyncpg

from cases.access import Scope
from cases.calendar import work_calendar
from cases.codes import FINAL_STATES
from cases.errors import CaseNotFound
from cases.statements import bound
from layers.model import Layer
from layers.sql import quote_ident

ATTACHMENT_URL = "/cases/{fid}/attachments/{aid}"


def columns_sql(layer: Layer, prefix: str = "") -> str:
    """``, "a", "b" …``: every attribute column of the case layer, for a SELECT list."""
    return "".join(f", {prefix}{quote_ident(f.name)}" for f in layer.attributes.fields)


@dataclass(frozen=True, slots=True)
class Timers:
    """Working hours used since the report, left until the deadline (negative: late), and overdue."""

    time_used_h: float
    time_left_h: float | None
    overdue: bool

    def as_dict(self) -> dict[str, Any]:
        """As the API shows them."""
        return {"time_used_h": self.time_used_h, "time_left_h": self.time_left_h, "overdue": self.overdue}


WITH_DEPARTMENT = ("dispatched", "returned", "extended")  # the department's clock is running
TIMED = ("accepted", *WITH_DEPARTMENT)


def timers(props: dict[str, Any], now: dt.datetime) -> Timers:
    """The timers of a case's properties at ``now`` (the same rule as the statistics' ``overdue``).

    Time used runs from the report to closure (or, for a case finished otherwise, to its last
    move ``_stopped_at``; else now). Time left runs to the deadline while the case waits for
    dispatch or is with a department. Overdue: dispatched, and disposal finished after the
    deadline, or not finished while still with the department and the deadline has passed.
    """
    cal = work_calendar()
    state = props.get("state")
    reported: dt.datetime | None = props.get("reported_at")
    end = props.get("closed_at") or (props.get("_stopped_at") if state in FINAL_STATES else None) or now
    used = round(cal.working_hours_between(reported, end), 2) if reported else 0.0
    deadline: dt.datetime | None = props.get("deadline_at")
    done: dt.datetime | None = props.get("completed_at")
    left = round(cal.working_hours_between(now, deadline), 2) if deadline and state in TIMED else None
    finish = done or (now if state in WITH_DEPARTMENT else None)
    overdue = bool(deadline and props.get("dispatched_at") and finish and finish > deadline)
    return Timers(used, left, overdue)


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime | dt.date) else value


def feature(row: asyncpg.Record | dict[str, Any], layer: Layer, now: dt.datetime | None = None) -> dict[str, Any]:
    """A case row (``fid``, ``version``, ``lon``, ``lat`` and the columns) as a GeoJSON Feature with timers."""
    props = {f.name: row[f.name] for f in layer.attributes.fields}
    clock = timers({**props, "_stopped_at": row["valid_from"]}, now or dt.datetime.now(dt.UTC))
    out = {k: _json(v) for k, v in props.items()}
    out.update(clock.as_dict())
    return {
        "type": "Feature", "id": row["fid"],
        "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
        "properties": out, "version": row["version"],
    }


async def current_row(conn: asyncpg.Connection, layer: Layer, fid: int, scope: Scope) -> asyncpg.Record:
    """The current version of case ``fid`` if the scope sees it.

    Raises:
        CaseNotFound: no such case, or not visible to the scope (the same 404).
    """
    sql, args = bound("case_current", {"fid": fid}, columns=columns_sql(layer))
    row = await conn.fetchrow(sql, *args)
    if row is None or not scope.sees(row["department"]):
        raise CaseNotFound(f"there is no case {fid}")
    return row


def attachment_link(fid: int, aid: int) -> str:
    """The URL path of one photo of a case."""
    return ATTACHMENT_URL.format(fid=fid, aid=aid)


async def attachments(conn: asyncpg.Connection, fid: int) -> list[dict[str, Any]]:
    """The photos of a case: id, checksum, type, size, who and when, and their URL."""
    sql, args = bound("attachment_list", {"fid": fid})
    return [
        {"id": r["id"], "sha256": bytes(r["sha256"]).hex(), "media_type": r["media_type"], "size": r["size"],
         "width": r["width"], "height": r["height"], "uploaded_by": r["uploaded_by"],
         "uploaded_at": r["uploaded_at"].isoformat(), "url": attachment_link(fid, r["id"])}
        for r in await conn.fetch(sql, *args)
    ]


async def history(conn: asyncpg.Connection, fid: int) -> list[dict[str, Any]]:
    """One entry per version of the case: version, state, action, actor, time, reason and photos."""
    sql, args = bound("history", {"fid": fid})
    return [
        {"version": r["version"], "state": r["to_state"], "from_state": r["from_state"], "action": r["action"],
         "actor": r["actor"], "at": r["at"].isoformat(), "reason": r["reason"], "details": dict(r["details"]),
         "attachments": [{"id": a, "url": attachment_link(fid, a)} for a in r["attachments"]]}
        for r in await conn.fetch(sql, *args)
    ]


async def case_detail(conn: asyncpg.Connection, layer: Layer, fid: int, scope: Scope) -> dict[str, Any]:
    """What GET /cases/{id} answers: the case, its history, its photos and its timers."""
    row = await current_row(conn, layer, fid, scope)
    feat = feature(row, layer)
    props = feat["properties"]
    return {
        "case": feat, "history": await history(conn, fid), "attachments": await attachments(conn, fid),
        "timers": {k: props[k] for k in ("time_used_h", "time_left_h", "overdue")},
    }
