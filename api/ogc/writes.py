"""OGC API Features Part 4: create, replace, update (JSON merge patch) and delete (retire).

Every write goes through :mod:`layers.versioning` inside a changeset naming the
caller, so the previous version is closed, never changed, and the audit trail
(``onemap.changes``) records who, when, which feature and which versions.

``If-Match`` is optional, because no write can lose data here: an unconditional write
(no ``If-Match``, or ``If-Match: *``, which matches any current version per RFC 9110) still
closes the version it replaces and is marked ``unconditional`` in the audit row. A stale or
foreign ETag gets 412. Clients that cannot send ``If-Match`` (OWSLib's Part 4 calls, for one)
therefore work; a layer registered with ``require_if_match`` refuses them with 428.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import unquote

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.auth import PrincipalDep, writable_layer
from api.context import AppContext, get_context
from api.errors import ApiError, InvalidParameter, PreconditionRequired
from api.ogc.bodies import content_crs, feature_parts, geometry_from, read_json_body
from api.ogc.items import crs_headers, etag, feature_url, parse_fid, vector
from api.ogc.links import GEOJSON
from layers.errors import FieldError, ValidationFailed, VersionConflict
from layers.model import Layer
from layers.principals import Principal
from layers.query.instants import parse_instant
from layers.query.items import fetch_item
from layers.query.limits import unstorable
from layers.versioning import (
    FeatureIn,
    VersionRef,
    in_own_transaction,
    insert_feature,
    open_changeset,
    replace_feature,
    retire_feature,
    update_feature,
)
from spatial.crs import CRS84

router = APIRouter(tags=["features: writes"])
Ctx = Annotated[AppContext, Depends(get_context)]
MUTATION_TIME = "ogc-mutation-datetime"
COMMENT_HEADER = "onemap-comment"
CHANGESET_HEADER = "OneMap-Changeset"
MAX_COMMENT = 2000


class VersionUriNotMutable(ApiError):
    """405: a write sent to a past version's URI (``?datetime=``)."""

    status = 405
    type_slug = "version-not-mutable"
    title = "A feature version cannot be changed"


def _no_version_uri(request: Request) -> None:
    if "datetime" in request.query_params:
        raise VersionUriNotMutable(
            "this URI names a past version (datetime=…); send writes to the feature URI without datetime",
            headers={"Allow": "GET"},
        )
    extra = set(request.query_params) - {"f", "repair"}
    if extra:
        raise InvalidParameter(f"unknown query parameter(s) on a write: {', '.join(sorted(extra))}")


def _repair(request: Request) -> bool:
    """``?repair=true``: mend an invalid geometry with make_valid (keeping its type) instead of a 422."""
    raw = request.query_params.get("repair", "false").lower()
    if raw not in ("true", "false"):
        raise InvalidParameter("repair must be true or false", extra={"parameter": "repair"})
    return raw == "true"


def _valid_time(request: Request) -> dt.datetime | None:
    raw = request.headers.get(MUTATION_TIME)
    return parse_instant(raw, parameter="OGC-Mutation-Datetime") if raw else None


@dataclass(frozen=True, slots=True)
class Precondition:
    """What a write to an existing feature promises about the version it replaces.

    Attributes:
        version: The version If-Match named; ``None`` when any current version will do.
        unconditional: The write named no version (no If-Match, or ``*``); recorded in the audit row.
    """

    version: int | None
    unconditional: bool


ANY_VERSION = Precondition(version=None, unconditional=True)


def precondition(request: Request, layer: Layer, fid: int) -> Precondition:
    """The version ``If-Match`` names (our ETags are ``"<fid>.<version>"``), if it names one.

    Raises:
        PreconditionRequired: 428 when If-Match is missing and the layer requires it.
        VersionConflict: 412 when it names another feature or nothing we issued.
    """
    return named_version(request.headers.get("if-match"), layer, fid)


def named_version(header: str | None, layer: Layer, fid: int) -> Precondition:
    """What an If-Match value (header, or a changeset edit's ``if_match``) promises; see :func:`precondition`."""
    if header is None or not header.strip():
        if layer.require_if_match:
            raise PreconditionRequired(
                f"{layer.id} requires If-Match with the ETag from your last GET of this feature "
                "(or If-Match: * to replace whatever version is current)"
            )
        return ANY_VERSION
    if header.strip() == "*":
        return ANY_VERSION
    for tag in header.split(","):
        text = tag.strip().removeprefix("W/").strip('"')
        f, _, v = text.partition(".")
        if f == str(fid) and v.isdigit():
            return Precondition(version=int(v), unconditional=False)
    raise VersionConflict(f"If-Match {header} does not match feature {fid}; read it again for its ETag")


def _answer(request: Request, layer: Layer, fid: int, row: asyncpg.Record, *, status: int, cs: int) -> Response:
    """The feature as this write stored it (CRS84 GeoJSON), with its new ETag, Location and changeset."""
    headers = {
        **crs_headers(CRS84),
        "ETag": etag(fid, row["version"]),
        "Location": feature_url(request, layer, fid),
        CHANGESET_HEADER: str(cs),
    }
    return Response(row["f"].encode(), status_code=status, media_type=GEOJSON, headers=headers)


async def _as_written(conn: asyncpg.Connection, layer: Layer, fid: int) -> asyncpg.Record:
    """The feature's current row, read in the write's own transaction while it holds the lock.

    Read after commit, a concurrent writer's newer version could be answered instead, and its
    ETag would let this client overwrite a version it never saw.
    """
    row = await fetch_item(conn, layer=layer, fid=fid, crs=CRS84, at=None)
    assert row is not None  # we have just written it
    return row


def _changeset_note(request: Request) -> str:
    """The changeset's note: the method and path of the write, for readers of the audit trail."""
    return f"{request.method} {request.url.path}"


def _changeset_details(request: Request, valid_from: dt.datetime | None) -> dict[str, Any]:
    """The changeset's details: the editor's reason (``OneMap-Comment``, percent-encoded UTF-8) and valid time."""
    details: dict[str, Any] = {}
    raw = request.headers.get(COMMENT_HEADER)
    if raw:
        try:
            comment = unquote(raw, errors="strict")
        except UnicodeDecodeError:
            comment = ""
        if not comment or len(comment) > MAX_COMMENT or unstorable(comment) is not None:
            raise InvalidParameter(f"OneMap-Comment must be percent-encoded UTF-8 of at most {MAX_COMMENT} characters",
                                   extra={"parameter": COMMENT_HEADER})
        details["comment"] = comment
    if valid_from is not None:
        details["valid_from"] = valid_from.isoformat()
    return details


async def _open(
    conn: asyncpg.Connection, request: Request, principal: Principal, valid_from: dt.datetime | None
) -> int:
    return await open_changeset(conn, actor=principal.name, source="api", note=_changeset_note(request),
                                details=_changeset_details(request, valid_from))


def _existing(
    request: Request, ctx: AppContext, principal: Principal, collection_id: str, feature_id: str
) -> tuple[Layer, int, Precondition]:
    """The layer, fid and what If-Match promises, for a write to an existing feature."""
    layer = vector(writable_layer(ctx, principal, collection_id))
    _no_version_uri(request)
    fid = parse_fid(feature_id)
    return layer, fid, precondition(request, layer, fid)


async def _body_for(
    request: Request, ctx: AppContext, fid: int, *, partial: bool
) -> tuple[Any, Any, dict[str, Any] | None]:
    """The request's feature body, refusing one whose id names another feature."""
    body = await read_json_body(request, ctx.settings.api.max_body_bytes)
    geom_value, props, body_id = feature_parts(body, partial=partial)
    if body_id is not None and str(body_id) != str(fid):
        raise ValidationFailed(errors=[FieldError("id", "mismatch", f"the body's id {body_id} is not {fid}")])
    return body, geom_value, props


async def _edit(
    request: Request, ctx: AppContext, principal: Principal, layer: Layer,
    write: Callable[[asyncpg.Connection, int], Awaitable[VersionRef]], *, answer: bool = True,
    fid: int, pre: Precondition, valid_from: dt.datetime | None,
) -> tuple[asyncpg.Record | None, int]:
    """Run ``write(conn, changeset_id)`` on an existing feature in its own transaction.

    Concurrent edits of one feature queue on its row lock; one overtaken by a writer that began
    later is redone from the start (:func:`layers.versioning.in_own_transaction`), so
    unconditional writes all land, in order, and If-Match losers get 412.

    Returns:
        (the feature as written (see :func:`_as_written`) when ``answer``, else None; the changeset id).

    Raises:
        VersionConflict: 412 with ``conflicts`` holding the current version, for the conflict view.
    """

    async def attempt(conn: asyncpg.Connection) -> tuple[asyncpg.Record | None, int]:
        cs = await _open(conn, request, principal, valid_from)
        ref = await write(conn, cs)
        return (await _as_written(conn, layer, ref.fid) if answer else None), cs

    async with ctx.pool.acquire() as conn:
        try:
            return await in_own_transaction(conn, attempt)
        except VersionConflict as exc:
            if pre.version is None:
                raise
            current = await current_feature(conn, layer, fid)
            raise VersionConflict(str(exc), conflicts=[{
                "collection": layer.id, "id": fid, "sent_etag": etag(fid, pre.version),
                "current_etag": etag(fid, current[0]) if current else None,
                "current": current[1] if current else None,
            }]) from None


async def current_feature(conn: asyncpg.Connection, layer: Layer, fid: int) -> tuple[int, Any] | None:
    """(version, GeoJSON Feature in CRS84) of a feature's current version, or None if it has none."""
    row = await fetch_item(conn, layer=layer, fid=fid, crs=CRS84, at=None)
    return (row["version"], orjson.loads(row["f"])) if row is not None else None


@router.post("/collections/{collectionId}/items", status_code=201, summary="Create a feature (editor)")
async def create_item(request: Request, collectionId: str, ctx: Ctx, principal: PrincipalDep) -> Response:
    """Create a feature as version 1 (``OGC-Mutation-Datetime`` sets its valid time); 201 with its ETag."""
    layer = vector(writable_layer(ctx, principal, collectionId))
    _no_version_uri(request)
    body = await read_json_body(request, ctx.settings.api.max_body_bytes)
    geom_value, props, _ = feature_parts(body, partial=False)
    geom = geometry_from(geom_value, content_crs(request))
    valid_from = _valid_time(request)
    repair = _repair(request)
    async with ctx.pool.acquire() as conn, conn.transaction():
        cs = await _open(conn, request, principal, valid_from)
        ref = await insert_feature(
            conn, layer=layer, feature=FeatureIn(geom, props or {}), changeset_id=cs, valid_from=valid_from,
            make_valid=repair,
        )
        row = await _as_written(conn, layer, ref.fid)
    return _answer(request, layer, ref.fid, row, status=201, cs=cs)


@router.put("/collections/{collectionId}/items/{featureId}", summary="Replace a feature (new version)")
async def replace_item(
    request: Request, collectionId: str, featureId: str, ctx: Ctx, principal: PrincipalDep
) -> Response:
    """Replace a feature's geometry and properties with a new version; If-Match optional (see module)."""
    layer, fid, pre = _existing(request, ctx, principal, collectionId, featureId)
    _, geom_value, props = await _body_for(request, ctx, fid, partial=False)
    geom = geometry_from(geom_value, content_crs(request))
    valid_from = _valid_time(request)
    repair = _repair(request)
    row, cs = await _edit(request, ctx, principal, layer, lambda conn, cs: replace_feature(
        conn, layer=layer, fid=fid, feature=FeatureIn(geom, props or {}), changeset_id=cs,
        valid_from=valid_from, expected_version=pre.version, unconditional=pre.unconditional, make_valid=repair,
    ), fid=fid, pre=pre, valid_from=valid_from)
    assert row is not None
    return _answer(request, layer, fid, row, status=200, cs=cs)


@router.patch("/collections/{collectionId}/items/{featureId}", summary="Update a feature (JSON merge patch)")
async def patch_item(
    request: Request, collectionId: str, featureId: str, ctx: Ctx, principal: PrincipalDep
) -> Response:
    """Merge-patch a feature (RFC 7396) into a new version; If-Match optional (see module)."""
    layer, fid, pre = _existing(request, ctx, principal, collectionId, featureId)
    body, geom_value, props = await _body_for(request, ctx, fid, partial=True)
    if "geometry" in body and geom_value is None:
        raise ValidationFailed(
            errors=[FieldError("geometry", "required", "a feature's geometry cannot be removed")]
        )
    geom = geometry_from(geom_value, content_crs(request)) if geom_value is not None else None
    valid_from = _valid_time(request)
    repair = _repair(request)
    row, cs = await _edit(request, ctx, principal, layer, lambda conn, cs: update_feature(
        conn, layer=layer, fid=fid, patch=props or {}, geometry=geom, changeset_id=cs,
        valid_from=valid_from, expected_version=pre.version, unconditional=pre.unconditional, make_valid=repair,
    ), fid=fid, pre=pre, valid_from=valid_from)
    assert row is not None
    return _answer(request, layer, fid, row, status=200, cs=cs)


@router.delete(
    "/collections/{collectionId}/items/{featureId}",
    status_code=204,
    summary="Retire a feature (its versions stay)",
)
async def delete_item(
    request: Request, collectionId: str, featureId: str, ctx: Ctx, principal: PrincipalDep
) -> Response:
    """Retire a feature: its current version is closed, every version stays readable; 204."""
    layer, fid, pre = _existing(request, ctx, principal, collectionId, featureId)
    valid_to = _valid_time(request)
    _, cs = await _edit(request, ctx, principal, layer, lambda conn, cs: retire_feature(
        conn, layer=layer, fid=fid, changeset_id=cs, valid_to=valid_to,
        expected_version=pre.version, unconditional=pre.unconditional,
    ), answer=False, fid=fid, pre=pre, valid_from=valid_to)
    return Response(status_code=204, headers={CHANGESET_HEADER: str(cs)})
