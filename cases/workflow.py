"""Moving a case (立案 → 派遣 → 处置 → 核查 → 结案 …): one action, one new version of the case.

The database decides whether a move is legal and whose it is (``onemap.case_transition``, and the
guard trigger on ``data.city_cases``; migration 0011_cases); this module asks it, works out what
the move changes (times, deadline on the working calendar, department, rework count), writes the
new version through :func:`layers.versioning.update_feature` and logs who, when, why and which photos.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from cases.access import Scope
from cases.attachments import owned_by
from cases.calendar import work_calendar
from cases.codes import ACTIONS, case_class, departments
from cases.errors import ActionForbidden, IllegalTransition, InvalidReport
from cases.events import record_event
from cases.records import current_row
from cases.statements import bound
from layers.model import Layer
from layers.principals import Principal
from layers.versioning import open_changeset, update_feature

NEEDS_REASON = frozenset({"reject", "return", "extend", "hang", "cancel"})


@dataclass(frozen=True, slots=True)
class ActionIn:
    """The body of POST /cases/{id}/actions/{action}: what each action may need."""

    reason: str | None = None
    department: str | None = None
    deadline_hours: float | None = None
    small_class: str | None = None
    big_class: str | None = None
    verdict: str | None = None
    attachments: list[int] = field(default_factory=list)
    approve: bool | None = None


@dataclass(frozen=True, slots=True)
class Moved:
    """A move done: the case id, its new version and state, and the events logged."""

    fid: int
    version: int
    state: str
    event_ids: list[int]


async def next_state(conn: asyncpg.Connection, *, state: str, action: str, roles: frozenset[str]) -> str:
    """The state ``action`` leads to from ``state`` for a caller with ``roles``, from the database.

    Raises:
        IllegalTransition: no such move from ``state`` (409).
        ActionForbidden: the roles may not make it (403).
    """
    sql, args = bound("transition", {"from_state": state, "action": action, "roles": sorted(roles)})
    try:
        to_state: str = await conn.fetchval(sql, *args)
    except asyncpg.PostgresError as exc:
        if exc.sqlstate == "OC409":
            raise IllegalTransition(str(exc)) from None
        if exc.sqlstate == "OC403":
            raise ActionForbidden(str(exc)) from None
        raise
    return to_state


def _deadline(start: dt.datetime, hours: float) -> dt.datetime:
    return work_calendar().add_working_hours(start, hours)


def _department(code: str | None) -> str:
    if not code:
        raise InvalidReport("dispatching needs a department (see GET /cases/departments)")
    if code not in departments():
        raise InvalidReport(f"there is no department {code!r} (see GET /cases/departments)")
    return code


async def _patch(conn: asyncpg.Connection, row: asyncpg.Record, action: str, body: ActionIn, *, who: str,
                 now: dt.datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """(property changes, event details) of an action on the case ``row``."""
    kind, small = row["kind"], row["small_class"]
    if body.small_class or body.big_class:  # reclassified at 立案 (or on redispatch)
        small = body.small_class or small
        cls = case_class(kind, small, body.big_class)
    else:
        cls = case_class(kind, small)
    hours = body.deadline_hours if body.deadline_hours is not None else cls.time_limit.hours
    if hours <= 0:
        raise InvalidReport("deadline_hours must be positive")
    patch: dict[str, Any] = {}
    details: dict[str, Any] = {}
    if action == "accept":
        patch = {"accepted_at": now, "big_class": cls.big_class, "small_class": cls.small_class,
                 "urgency": cls.urgency, "deadline_at": _deadline(now, hours)}
    elif action in ("dispatch", "redispatch"):
        dept = _department(body.department or row["department"])
        patch = {"department": dept, "dispatched_at": now, "deadline_at": _deadline(now, hours),
                 "completed_at": None, "handler": None}
        if action == "redispatch":
            patch["rework_count"] = (row["rework_count"] or 0) + 1
        details = {"deadline_hours": hours}
    elif action == "complete":
        if not body.attachments:
            raise InvalidReport("completing needs at least one photo of the result (attachments)")
        patch = {"completed_at": now, "handler": who}
    elif action == "close":
        patch = {"closed_at": now}
    elif action == "extend" and row["state"] == "dispatched":
        if body.deadline_hours is None or body.deadline_hours <= 0:
            raise InvalidReport("an extension request needs deadline_hours (the working hours asked for)")
        details = {"deadline_hours": body.deadline_hours}
    elif action == "extend":  # the supervisor decides on the pending request
        if body.approve is None:
            raise InvalidReport("deciding on an extension needs approve: true or false")
        details = {"approve": body.approve}
        if body.approve:
            asked = body.deadline_hours
            if asked is None:
                sql, args = bound("last_extension", {"fid": row["fid"]})
                asked = await conn.fetchval(sql, *args) or cls.time_limit.hours
            base = max(row["deadline_at"] or now, now)
            patch = {"deadline_at": _deadline(base, float(asked))}
            details["deadline_hours"] = asked
    if body.verdict is not None:
        details["verdict"] = body.verdict
    return patch, details


async def act(
    conn: asyncpg.Connection, *, layer: Layer, fid: int, action: str, body: ActionIn, principal: Principal,
    scope: Scope, expected_version: int | None = None, now: dt.datetime | None = None,
) -> Moved:
    """Take ``action`` on case ``fid`` as ``principal``; a ``verify`` with a verdict goes on to
    ``close`` (fixed) or ``redispatch`` (not fixed) in the same transaction.

    Raises:
        CaseNotFound: no such case, or not visible (404).
        IllegalTransition: 409. ActionForbidden: 403. InvalidReport: a missing or bad field (400).
        VersionConflict: ``expected_version`` is not current (412).
    """
    if action not in ACTIONS or action == "report":
        raise InvalidReport(f"unknown action {action!r}; actions: {', '.join(a for a in ACTIONS if a != 'report')}")
    if body.verdict not in (None, "fixed", "not_fixed"):
        raise InvalidReport("verdict must be fixed or not_fixed")
    async with conn.transaction():
        moved = await _one(conn, layer, fid, action, body, principal, scope, expected_version, now)
        if action == "verify" and body.verdict is not None:
            follow = "close" if body.verdict == "fixed" else "redispatch"
            more = await _one(conn, layer, fid, follow, ActionIn(reason=body.reason, verdict=body.verdict),
                              principal, scope, None, now)
            moved = Moved(fid, more.version, more.state, moved.event_ids + more.event_ids)
    return moved


async def _one(conn: asyncpg.Connection, layer: Layer, fid: int, action: str, body: ActionIn, principal: Principal,
               scope: Scope, expected_version: int | None, now: dt.datetime | None) -> Moved:
    when = now or dt.datetime.now(dt.UTC)
    row = await current_row(conn, layer, fid, scope)
    to_state = await next_state(conn, state=row["state"], action=action, roles=principal.roles)
    if action in NEEDS_REASON and not (body.reason or "").strip() and not (action == "extend" and
                                                                         row["state"] == "extended"):
        raise InvalidReport(f"{action} needs a reason")
    photos = await owned_by(conn, fid=fid, ids=body.attachments) if body.attachments else []
    if len(photos) != len(set(body.attachments)):
        raise InvalidReport("attachments must be photos uploaded to this case (POST /cases/{id}/attachments)")
    patch, details = await _patch(conn, row, action, body, who=principal.name, now=when)
    patch["state"] = to_state
    await conn.execute("SELECT set_config('onemap.case_action', $1, true)", action)
    cs = await open_changeset(conn, actor=principal.name, source="api", note=f"case {action}",
                              details={"case": fid, "action": action})
    ref = await update_feature(conn, layer=layer, fid=fid, patch=patch, geometry=None, changeset_id=cs,
                               valid_from=now, expected_version=expected_version)
    await conn.execute("SELECT set_config('onemap.case_action', '', true)")
    props = {**{f.name: row[f.name] for f in layer.attributes.fields}, **patch}
    event = await record_event(conn, fid=fid, version=ref.version, action=action, from_state=row["state"],
                               props=props, actor=principal.name, at=when, reason=body.reason, details=details,
                               attachments=photos)
    return Moved(fid, ref.version, to_state, [event])
