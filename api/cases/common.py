"""What every /cases route shares: the case layer, the caller's scope, JSON answers, the body of a
report (JSON or a GeoJSON Feature) and of an action."""

from __future__ import annotations

import math
from typing import Annotated, Any

import orjson
from fastapi import Depends
from starlette.responses import Response

from api.auth import PrincipalDep
from api.context import AppContext, get_context
from api.errors import NotAuthenticated
from cases.access import CASE_LAYER, Scope, case_scope
from cases.errors import InvalidReport
from cases.reports import ReportIn
from cases.workflow import ActionIn
from layers.model import Layer
from layers.principals import Principal

Ctx = Annotated[AppContext, Depends(get_context)]
REPORT_FIELDS = {"geometry", "kind", "big_class", "small_class", "description", "source", "component_code"}
ACTION_FIELDS = {"reason", "department", "deadline_hours", "small_class", "big_class", "verdict", "attachments",
                 "approve"}


def case_layer(ctx: AppContext) -> Layer:
    """The registered ``city_cases`` layer."""
    return ctx.registry.get(CASE_LAYER)


async def signed_in(principal: PrincipalDep) -> Principal:
    """Dependency: any signed-in caller (the case endpoints say nothing to anonymous ones)."""
    if principal.is_anonymous:
        raise NotAuthenticated("the case system needs a signed-in user or an API key")
    return principal


SignedIn = Annotated[Principal, Depends(signed_in)]


def scope_of(principal: Principal) -> Scope:
    """The cases the caller sees."""
    return case_scope(principal)


def json_response(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """orjson-encoded JSON."""
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def _text(data: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidReport(f"{name} is required")
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise InvalidReport(f"{name} must be text")
    return str(value).strip()


def _crs84_point(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    coords = value.get("coordinates") if isinstance(value, dict) else None
    if not isinstance(value, dict) or value.get("type") != "Point" or not isinstance(coords, list) or len(coords) < 2:
        raise InvalidReport("geometry must be a GeoJSON Point [lon, lat] in CRS84")
    try:
        lon, lat = float(coords[0]), float(coords[1])
    except (TypeError, ValueError):
        raise InvalidReport("geometry coordinates must be numbers") from None
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidReport("geometry coordinates must be lon −180…180, lat −90…90 (CRS84)")
    return lon, lat


def report_from(data: Any, *, default_source: str = "inspector") -> ReportIn:
    """A :class:`ReportIn` from the ``report`` JSON (point in CRS84, which is EPSG:4490's lon/lat order).

    Raises:
        InvalidReport: not an object, unknown fields, or a bad value.
    """
    if not isinstance(data, dict):
        raise InvalidReport("the report must be a JSON object")
    unknown = sorted(set(data) - REPORT_FIELDS)
    if unknown:
        raise InvalidReport(f"unknown report field(s) {', '.join(unknown)}; fields: {', '.join(sorted(REPORT_FIELDS))}")
    point = _crs84_point(data.get("geometry"))
    kind = _text(data, "kind", required=True)
    if kind not in ("component", "event"):
        raise InvalidReport("kind must be component (部件) or event (事件)")
    return ReportIn(
        kind=kind, big_class=_text(data, "big_class"), small_class=str(_text(data, "small_class", required=True)),
        description=_text(data, "description"), source=_text(data, "source") or default_source,
        component_code=_text(data, "component_code"),
        lon=point[0] if point else None, lat=point[1] if point else None,
    )


def action_from(data: Any) -> ActionIn:
    """An :class:`ActionIn` from an action's JSON body (an empty body is an empty object).

    Raises:
        InvalidReport: not an object, unknown fields, or a value of the wrong type.
    """
    if data is None:
        return ActionIn()
    if not isinstance(data, dict):
        raise InvalidReport("the action body must be a JSON object")
    unknown = sorted(set(data) - ACTION_FIELDS)
    if unknown:
        raise InvalidReport(f"unknown field(s) {', '.join(unknown)}; fields: {', '.join(sorted(ACTION_FIELDS))}")
    hours = data.get("deadline_hours")
    if hours is not None and (isinstance(hours, bool) or not isinstance(hours, int | float)
                              or not math.isfinite(hours)):
        raise InvalidReport("deadline_hours must be a number")
    ids = data.get("attachments") or []
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise InvalidReport("attachments must be a list of attachment ids")
    approve = data.get("approve")
    if approve is not None and not isinstance(approve, bool):
        raise InvalidReport("approve must be true or false")
    return ActionIn(
        reason=_text(data, "reason"), department=_text(data, "department"),
        deadline_hours=float(hours) if hours is not None else None, small_class=_text(data, "small_class"),
        big_class=_text(data, "big_class"), verdict=_text(data, "verdict"), attachments=list(ids), approve=approve,
    )
