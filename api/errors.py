"""RFC 9457 problem+json for every error, mapped in one place.

Internal detail (SQL, stack traces) goes to the log with a request id; the caller
gets the id and a safe message.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import asyncpg
import orjson
from asyncpg.exceptions._base import DataError as ArgumentDataError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from api.audit import note_event
from layers.db import DATABASE_OUTAGE_ERRORS
from layers.errors import LayerError, ValidationFailed
from spatial.errors import SpatialError

log = logging.getLogger("onemap.api")
PROBLEM_TYPE = "application/problem+json"
BEARER_CHALLENGE = "Bearer"
BASIC_CHALLENGE = 'Basic realm="One Map", charset="UTF-8"'
_EXTENSIONS = ("parameter", "links", "limit", "maximum", "conflicts", "segments", "features")


def note_refusal(request: Request, status: int, detail: str, *, layer: str | None = None) -> None:
    """Audit an access refusal (401, 403, or 404 for a layer the caller may not see)."""
    note_event(getattr(request.app.state, "ctx", None), request, kind="auth.refused", status=status, layer=layer,
               detail={"reason": detail[:300], "method": request.method})


class ApiError(Exception):
    """Base for errors raised in ``api/`` itself (bad parameters, auth, negotiation)."""

    status: int = 400
    type_slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}
        self.headers = headers or {}


class InvalidParameter(ApiError):
    """400: a query parameter, form field or header value we cannot use."""

    type_slug = "invalid-parameter"
    title = "Invalid query parameter"


class NotAuthenticated(ApiError):
    """401: no credentials, or credentials we cannot accept.

    The answer carries ``WWW-Authenticate`` offering Bearer and, where it can help, HTTP Basic
    (see :func:`challenges`); pass a Bearer challenge in ``headers`` to add ``error=...`` to it,
    and ``offer_basic=False`` where Basic does not apply (the sign-in form's own answer).
    """

    status = 401
    type_slug = "not-authenticated"
    title = "Authentication required"

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None, offer_basic: bool = True) -> None:
        super().__init__(detail, extra=extra, headers=headers)
        self.offer_basic = offer_basic


class Forbidden(ApiError):
    """403: the caller is known but the action is not theirs to take."""

    status = 403
    type_slug = "forbidden"
    title = "Not allowed"


class NotAcceptable(ApiError):
    """406: no representation matches the Accept header or ``f=``."""

    status = 406
    type_slug = "not-acceptable"
    title = "No acceptable representation"


class PreconditionRequired(ApiError):
    """428: the layer requires ``If-Match`` on every edit and the request sent none."""

    status = 428
    type_slug = "precondition-required"
    title = "If-Match is required"


class SignInLocked(ApiError):
    """429: too many failed password checks for this name; it is locked for a while.

    Raised by sign-in and by HTTP Basic alike, before the password is even checked, so a
    locked name cannot be probed. ``Retry-After`` says when to try again.
    """

    status = 429
    type_slug = "sign-in-locked"
    title = "Too many failed sign-ins"


class PayloadTooLarge(ApiError):
    """413: the request body is larger than ``ONEMAP_MAX_BODY_BYTES``."""

    status = 413
    type_slug = "payload-too-large"
    title = "Request body too large"


def challenges(request: Request, bearer: str | None = None, *, offer_basic: bool = True) -> str:
    """The ``WWW-Authenticate`` value of a 401: Bearer (with any error) and HTTP Basic.

    Basic is offered so desktop clients (QGIS, ArcGIS Pro, GDAL, OWSLib) know they may send a name
    and password or an API key. It is left out where it cannot help and a browser would answer it
    with its own password dialog over the map (which has its own sign-in): requests that came with
    a bearer token or the session cookie (their 401 is about that token), and requests a page's
    script made (``Sec-Fetch-Mode`` other than ``navigate``; browsers send it on https and localhost).
    """
    bearer = bearer or BEARER_CHALLENGE
    if "basic" in bearer.lower():
        return bearer
    mode = request.headers.get("sec-fetch-mode")
    scripted = mode is not None and mode != "navigate"
    session = request.headers.get("authorization", "").lower().startswith("bearer") or (
        "onemap_token" in request.cookies
    )
    if not offer_basic or scripted or session:
        return bearer
    return f"{bearer}, {BASIC_CHALLENGE}"


def problem_response(
    request: Request | None, *, status: int, type_slug: str | None, title: str, detail: str | None = None,
    extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
) -> Response:
    """An RFC 9457 ``application/problem+json`` answer; ``instance`` is the request's path."""
    body: dict[str, Any] = {
        "type": f"/problems/{type_slug}" if type_slug else "about:blank",
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if request is not None:
        body["instance"] = str(request.url.path)
    if extra:
        body.update(extra)
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM_TYPE, headers=headers)


def install_error_handlers(app: FastAPI, *, retry_after_s: int = 2) -> None:
    """Map every error family (api, layers, spatial, validation, HTTP, database, unexpected) to problem+json.

    ``retry_after_s`` is the ``Retry-After`` of the 503 answered while the database is away.
    """

    quiet = {"until": 0.0, "unlogged": 0}

    async def _outage(request: Request, exc: Exception) -> Response:
        # A restart or outage of the database, not a bug: 503 with Retry-After, and (unlike the
        # catch-all below, which Starlette re-raises) the keep-alive connection stays open.
        # One log line per second at most: an outage under load would otherwise flood the log.
        now = time.monotonic()
        if now < quiet["until"]:
            quiet["unlogged"] += 1
        else:
            log.warning("database unavailable on %s %s: %s (and %d more 503s)", request.method,
                        request.url.path, exc.__class__.__name__, quiet["unlogged"])
            quiet["until"], quiet["unlogged"] = now + 1.0, 0
        return problem_response(request, status=503, type_slug="database-unavailable",
                                title="The database is not reachable",
                                detail="the database is restarting or unreachable; try again shortly",
                                headers={"Retry-After": str(retry_after_s)})

    for outage in DATABASE_OUTAGE_ERRORS:
        app.add_exception_handler(outage, _outage)

    @app.exception_handler(ValidationFailed)
    async def _validation(request: Request, exc: ValidationFailed) -> Response:
        return problem_response(
            request, status=exc.status, type_slug=exc.type_slug, title=exc.title, detail=str(exc),
            extra={"errors": [e.as_dict() for e in exc.errors]},
        )

    @app.exception_handler(LayerError)
    async def _layer(request: Request, exc: LayerError) -> Response:
        if getattr(exc, "hidden_layer", None):
            note_refusal(request, 404, str(exc), layer=exc.hidden_layer)  # type: ignore[attr-defined]
        if exc.status >= 500:
            log.error("layer error on %s: %s", request.url.path, exc)
        # parameter/links/limit/maximum (and conflicts/segments/features of edits): optional members
        # of some LayerError subclasses.
        extra: dict[str, Any] = {name: getattr(exc, name) for name in _EXTENSIONS if getattr(exc, name, None)}
        if getattr(exc, "index", None) is not None:  # the failing edit of a changeset (0 is an index too)
            extra["index"] = exc.index  # type: ignore[attr-defined]
        return problem_response(request, status=exc.status, type_slug=exc.type_slug, title=exc.title,
                                detail=str(exc), extra=extra, headers=getattr(exc, "headers", None))

    @app.exception_handler(SpatialError)
    async def _spatial(request: Request, exc: SpatialError) -> Response:
        return problem_response(request, status=exc.status, type_slug=exc.type_slug, title=exc.title,
                                detail=str(exc))

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> Response:
        if exc.status in (401, 403):
            note_refusal(request, exc.status, exc.detail)
        headers = dict(exc.headers)
        if isinstance(exc, NotAuthenticated):
            headers["WWW-Authenticate"] = challenges(
                request, headers.get("WWW-Authenticate"), offer_basic=exc.offer_basic
            )
        return problem_response(request, status=exc.status, type_slug=exc.type_slug, title=exc.title,
                                detail=exc.detail, extra=exc.extra, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(request: Request, exc: RequestValidationError) -> Response:
        params = [
            {"name": ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body", "header")),
             "in": str(err.get("loc", ("query",))[0]), "reason": err.get("msg", "invalid")}
            for err in exc.errors()
        ]
        detail = "; ".join(f"{p['name'] or p['in']}: {p['reason']}" for p in params)
        return problem_response(request, status=400, type_slug="invalid-parameter",
                                title="Invalid request", detail=detail, extra={"invalid-params": params})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Method not allowed", 406: "Not acceptable", 413: "Payload too large"}
        return problem_response(
            request, status=exc.status_code, type_slug=None, title=titles.get(exc.status_code, "HTTP error"),
            detail=str(exc.detail) if exc.detail else None, headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(asyncpg.QueryCanceledError)
    async def _timeout(request: Request, exc: asyncpg.QueryCanceledError) -> Response:
        log.warning("statement timeout on %s", request.url.path)
        return problem_response(request, status=503, type_slug="query-timeout", title="The query took too long",
                                detail="narrow the request (bbox, filter or limit) and try again",
                                headers={"Retry-After": "5"})

    @app.exception_handler(asyncpg.DataError)
    @app.exception_handler(ArgumentDataError)
    async def _data(request: Request, exc: Exception) -> Response:
        # SQLSTATE class 22 (and asyncpg's refusal to encode an argument) is about a value, and
        # every value in our SQL is bound from the request: the caller sent something PostgreSQL
        # cannot compute with (division by zero, a number out of range, a bad LIKE pattern …).
        log.warning("data error on %s %s: %s", request.method, request.url.path, exc)
        message = str(exc).split("\n")[0]
        return problem_response(request, status=400, type_slug="invalid-value",
                                title="A value in the request cannot be used", detail=message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        incident = uuid.uuid4().hex[:12]
        log.exception("unhandled error %s on %s %s", incident, request.method, request.url.path)
        return problem_response(request, status=500, type_slug="internal-error", title="Internal server error",
                                detail=f"the error was logged as incident {incident}", extra={"incident": incident})
