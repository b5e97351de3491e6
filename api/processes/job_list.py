"""The ``/jobs`` query (OGC API Processes job-list): ``type``, ``processID``, ``status``, ``datetime``,
``minDuration``, ``maxDuration``, ``limit``, ``offset``; read into a :class:`layers.jobs.JobFilter`."""

from __future__ import annotations

from fastapi import Request

from api.errors import InvalidParameter
from api.ogc.params import check_known
from layers.jobs import STATUSES, JobFilter
from layers.principals import Principal
from layers.query.instants import parse_datetime
from layers.temporal import AsOf, During

JOB_LIST_PARAMS = frozenset({"f", "type", "processID", "status", "datetime", "minDuration", "maxDuration", "limit",
                             "offset"})
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100


def _several(request: Request, name: str) -> tuple[str, ...]:
    return tuple(v.strip() for raw in request.query_params.getlist(name) for v in raw.split(",") if v.strip())


def _seconds(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidParameter(f"{name} is a whole number of seconds, not {raw!r}", extra={"parameter": name})
    return int(raw)


def _whole(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or len(raw) > 9 or int(raw) > maximum or (name == "limit" and int(raw) < 1):
        raise InvalidParameter(f"{name} must be a whole number up to {maximum}, not {raw!r}",
                               extra={"parameter": name})
    return int(raw)


def job_filter(request: Request, principal: Principal) -> tuple[JobFilter, int, int]:
    """(filter, limit, offset) for this caller: their own jobs, or everyone's for an admin."""
    check_known(request, JOB_LIST_PARAMS)
    kinds = _several(request, "type")
    if any(k != "process" for k in kinds):
        raise InvalidParameter("type: One Map's jobs are all of type 'process'", extra={"parameter": "type"})
    statuses = _several(request, "status")
    bad = [s for s in statuses if s not in STATUSES]
    if bad:
        raise InvalidParameter(f"status {bad[0]!r} is not one of {', '.join(STATUSES)}", extra={"parameter": "status"})
    created_from = created_to = None
    if "datetime" in request.query_params:
        selection = parse_datetime(request.query_params["datetime"])
        if isinstance(selection, AsOf):
            created_from = created_to = selection.at
        elif isinstance(selection, During):
            created_from, created_to = selection.start, selection.end
    where = JobFilter(
        owner=None if principal.is_admin else principal.name,
        process_ids=_several(request, "processID"), statuses=statuses,
        created_from=created_from, created_to=created_to,
        min_duration_s=_seconds(request, "minDuration"), max_duration_s=_seconds(request, "maxDuration"),
    )
    return where, _whole(request, "limit", DEFAULT_LIMIT, MAX_LIMIT), _whole(request, "offset", 0, 10**9)
