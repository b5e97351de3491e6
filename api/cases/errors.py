"""The database's refusals of a case move, as problem+json wherever they surface.

The guard trigger on ``data.city_cases`` raises SQLSTATE ``OC409`` (and the transition function
``OC403``) — codes asyncpg does not know, so they arrive as ``UnknownPostgresError``. Through
``/cases/…`` they are caught and named in :mod:`cases.workflow`; this handler covers the other
paths that write the layer (a Part 4 PUT or PATCH that tries to change a state).
"""

from __future__ import annotations

import logging
import uuid

from asyncpg.exceptions import UnknownPostgresError
from fastapi import FastAPI, Request
from starlette.responses import Response

from api.errors import problem_response
from cases.errors import ActionForbidden, IllegalTransition

log = logging.getLogger("onemap.api")
_BY_STATE = {"OC409": IllegalTransition, "OC403": ActionForbidden}


def install_case_error_handler(app: FastAPI) -> None:
    """Map OC409/OC403 to 409/403; any other unknown SQLSTATE stays a logged 500."""

    async def _unknown(request: Request, exc: Exception) -> Response:
        known = _BY_STATE.get(getattr(exc, "sqlstate", "") or "")
        if known is not None:
            return problem_response(request, status=known.status, type_slug=known.type_slug, title=known.title,
                                    detail=str(exc).split("\n")[0])
        incident = uuid.uuid4().hex[:12]
        log.error("unhandled database error %s on %s %s: %s", incident, request.method, request.url.path, exc)
        return problem_response(request, status=500, type_slug="internal-error", title="Internal server error",
                                detail=f"the error was logged as incident {incident}", extra={"incident": incident})

    app.add_exception_handler(UnknownPostgresError, _unknown)
