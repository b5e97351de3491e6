"""Changesets: several edits in one all-or-nothing write with a comment; read, list and undo them.

POST /changesets takes the edits a map editor saves together (see docs/DESIGN.md "Map editing"):
each names its collection (editor role and write access to it, as Part 4), its feature and the
ETag it read (``if_match``). The SQL and versioning rules live in :mod:`layers.changesets`,
:mod:`layers.undo` and :mod:`layers.versioning`; this module reads the request and shapes answers.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.audit import note_event
from api.auth import AdminDep, PrincipalDep, readable_layer, writable_layer
from api.context import AppContext, get_context
from api.errors import InvalidParameter, NotAuthenticated
from api.ogc.bodies import content_crs, feature_parts, geometry_from, read_json_body
from api.ogc.items import etag, vector
from api.ogc.links import JSON, base_url, link
from api.ogc.writes import CHANGESET_HEADER, current_feature, named_version
from layers.changesets import (
    Conflict,
    Edit,
    Written,
    apply_edits,
    changeset_edits,
    changeset_layers,
    changeset_row,
    derived_of,
    list_changesets,
    stale_edits,
)
from layers.errors import ChangesetNotFound, FieldError, InvalidEdit, ValidationFailed, VersionConflict
from layers.principals import Principal
from layers.query.instants import parse_instant, rfc3339
from layers.undo import undo_changeset
from layers.versioning import in_own_transaction

router = APIRouter(tags=["map editing: changesets"])
Ctx = Annotated[AppContext, Depends(get_context)]
OPS = ("insert", "replace", "update", "retire")
MAX_EDITS = 1000
MAX_COMMENT = 2000


def _fid(value: Any, index: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise InvalidEdit(f"edit {index}: id must be a feature id (a whole number)")
    return int(value)


def _edit(request: Request, ctx: AppContext, principal: Principal, index: int, raw: Any) -> Edit:
    """One edit of the body, checked against the caller's access (403/404) and parsed."""
    if not isinstance(raw, dict) or raw.get("op") not in OPS or not isinstance(raw.get("collection"), str):
        raise InvalidEdit(f"edit {index}: needs op ({', '.join(OPS)}) and collection")
    op = raw["op"]
    layer = vector(writable_layer(ctx, principal, raw["collection"]))
    if op == "insert":
        geom_value, props, _ = feature_parts(raw.get("feature"), partial=False)
        return Edit(index, op, layer, geometry=geometry_from(geom_value, content_crs(request)), properties=props or {})
    fid = _fid(raw.get("id"), index)
    if_match = raw.get("if_match")
    if if_match is not None and not isinstance(if_match, str):
        raise InvalidEdit(f'edit {index}: if_match must be an ETag string such as "\\"{fid}.3\\"" or "*"')
    expected = named_version(if_match, layer, fid).version
    if op == "retire":
        return Edit(index, op, layer, fid, expected)
    if op == "replace":
        geom_value, props, _ = feature_parts(raw.get("feature"), partial=False)
    else:
        patch = raw.get("patch")
        geom_value, props, _ = feature_parts(patch, partial=True)
        if isinstance(patch, dict) and "geometry" in patch and geom_value is None:
            raise ValidationFailed(errors=[FieldError("geometry", "required", "a feature's geometry cannot be "
                                                      "removed", index=index)])
    geom = geometry_from(geom_value, content_crs(request)) if geom_value is not None else None
    return Edit(index, op, layer, fid, expected, geometry=geom, properties=props or {})


def body_text(body: dict[str, Any], name: str) -> str | None:
    """A text member of a request body (a comment), at most MAX_COMMENT characters, or None."""
    value = body.get(name)
    if value is not None and (not isinstance(value, str) or len(value) > MAX_COMMENT):
        raise InvalidEdit(f"{name} must be text of at most {MAX_COMMENT} characters")
    return value


def body_instant(body: dict[str, Any]) -> dt.datetime | None:
    """The body's ``valid_from`` (RFC 3339), or None for "now"."""
    value = body.get("valid_from")
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidEdit("valid_from must be an RFC 3339 date-time")
    return parse_instant(value, parameter="valid_from")


def body_flag(body: dict[str, Any], name: str) -> bool:
    """A true/false member of a request body (absent: false)."""
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise InvalidEdit(f"{name} must be true or false")
    return value


async def _object_body(request: Request, ctx: AppContext) -> dict[str, Any]:
    body = await read_json_body(request, ctx.settings.api.max_body_bytes)
    if not isinstance(body, dict):
        raise InvalidEdit("the body must be a JSON object")
    return body


def _indexed_field_errors(exc: ValidationFailed, index: int) -> ValidationFailed:
    return ValidationFailed(errors=[e if e.index is not None else FieldError(
        e.field, e.code, e.message, e.location, index) for e in exc.errors])


def _parse_edits(request: Request, ctx: AppContext, principal: Principal, body: dict[str, Any]) -> list[Edit]:
    raw_edits = body.get("edits")
    if not isinstance(raw_edits, list) or not raw_edits:
        raise InvalidEdit("edits must be a non-empty list")
    if len(raw_edits) > MAX_EDITS:
        raise InvalidEdit(f"a changeset holds at most {MAX_EDITS} edits; send several")
    edits, errors = [], []
    for i, raw in enumerate(raw_edits):
        try:
            edits.append(_edit(request, ctx, principal, i, raw))
        except ValidationFailed as exc:  # collect the body's geometry/shape problems of every edit
            errors += _indexed_field_errors(exc, i).errors
    if errors:
        raise ValidationFailed(errors=errors)
    return edits


async def _conflicts(conn: asyncpg.Connection, stale: list[Conflict]) -> list[dict[str, Any]]:
    out = []
    for c in stale:
        current = await current_feature(conn, c.layer, c.fid)
        out.append({"index": c.index, "collection": c.layer.id, "id": c.fid, "sent_etag": etag(c.fid, c.sent_version),
                    "current_etag": etag(c.fid, current[0]) if current else None,
                    "current": current[1] if current else None})
    return out


def _conflict_error(conflicts: list[dict[str, Any]]) -> VersionConflict:
    where = ", ".join(f"edit {c['index']} ({c['collection']} {c['id']})" for c in conflicts)
    return VersionConflict(f"features changed since they were read: {where}; nothing was written",
                           conflicts=conflicts)


def changeset_url(request: Request, cs: int) -> str:
    """Absolute URL of a changeset."""
    return f"{base_url(request)}/changesets/{cs}"


def _written(w: Written) -> dict[str, Any]:
    return {"index": w.edit.index, "op": w.edit.op, "collection": w.edit.layer.id, "id": w.ref.fid,
            "version": w.ref.version, "etag": etag(w.ref.fid, w.ref.version)}


@router.post("/changesets", status_code=201, summary="Save several edits as one changeset (editor)")
async def post_changeset(request: Request, ctx: Ctx, principal: PrincipalDep) -> Response:
    """All edits or none, in one changeset with a comment; 412 lists every stale ``if_match``."""
    body = await _object_body(request, ctx)
    comment, valid_from, repair = body_text(body, "comment"), body_instant(body), body_flag(body, "repair")
    edits = _parse_edits(request, ctx, principal, body)

    async def work(conn: asyncpg.Connection) -> tuple[int, list[Written], asyncpg.Record]:
        stale = await stale_edits(conn, edits)
        if stale:
            raise _conflict_error(await _conflicts(conn, stale))
        cs, written = await apply_edits(conn, edits, actor=principal.name, comment=comment,
                                        valid_from=valid_from, repair=repair)
        row = await changeset_row(conn, cs)
        return cs, written, row

    async with ctx.pool.acquire() as conn:
        try:
            cs, written, row = await in_own_transaction(conn, work)
        except VersionConflict as exc:
            if exc.conflicts:
                raise
            # A concurrent writer won between our check and our lock: say which edits are stale now.
            conflicts = await _conflicts(conn, await stale_edits(conn, edits))
            if not conflicts:
                raise
            raise _conflict_error(conflicts) from None
    doc = {
        "id": cs, "comment": comment, "actor": principal.name, "recorded_at": rfc3339(row["recorded_at"]),
        "valid_from": rfc3339(valid_from or row["recorded_at"]),
        "results": [_written(w) for w in written],
        "derived": [d.as_dict() for d in derived_of(written)],
        "links": [link(changeset_url(request, cs), "self", JSON)],
    }
    return Response(orjson.dumps(doc), status_code=201, media_type=JSON,
                    headers={"Location": changeset_url(request, cs), CHANGESET_HEADER: str(cs)})


def _signed_in(principal: Principal) -> None:
    if principal.is_anonymous:
        raise NotAuthenticated("changesets name who edited; sign in or send an API key")


def _summary(request: Request, row: asyncpg.Record) -> dict[str, Any]:
    details = row["details"] or {}
    return {
        "id": row["id"], "actor": row["actor"], "source": row["source"], "recorded_at": rfc3339(row["recorded_at"]),
        "comment": details.get("comment"),
        "valid_from": details.get("valid_from") or rfc3339(row["recorded_at"]),
        "undone_by": details.get("undone_by"), "undoes": details.get("undoes"),
        "links": [link(changeset_url(request, row["id"]), "self", JSON)],
    }


async def changeset_document(request: Request, ctx: AppContext, principal: Principal, cs: int) -> dict[str, Any]:
    """GET /changesets/{id}: the changeset with the edits on layers the caller may read.

    Raises:
        ChangesetNotFound: no such changeset, or it touched only layers the caller may not read.
    """
    async with ctx.pool.acquire() as conn:
        row = await changeset_row(conn, cs)
        rows = await changeset_edits(conn, cs) if row is not None else []
        touched = await changeset_layers(conn, cs) if row is not None else []
    readable = {lid for lid in touched if _may_read(ctx, principal, lid)}
    if row is None or (touched and not readable):
        raise ChangesetNotFound(f"there is no changeset {cs}")
    edits = [{"collection": r["layer_id"], "id": r["fid"], "op": r["op"], "version_before": r["version_before"],
              "version_after": r["version_after"]} for r in rows if r["layer_id"] in readable]
    return {**_summary(request, row), "collections": sorted(readable), "edits": edits,
            "complete": len(readable) == len(touched) and len(edits) == len(rows)}


def _may_read(ctx: AppContext, principal: Principal, layer_id: str) -> bool:
    layer = ctx.registry.find(layer_id)
    return layer is not None and principal.can_read(layer)


def _cs_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise ChangesetNotFound(f"there is no changeset {raw!r}")
    return int(raw)


@router.get("/changesets/{changesetId}", summary="A changeset: who, when, why, and what it changed")
async def get_changeset(changesetId: str, request: Request, ctx: Ctx, principal: PrincipalDep) -> Response:
    """The changeset, its comment, undo links and per-feature edits (those on readable layers)."""
    _signed_in(principal)
    doc = await changeset_document(request, ctx, principal, _cs_id(changesetId))
    return Response(orjson.dumps(doc), media_type=JSON)


def _int_param(request: Request, name: str, default: int | None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or len(raw) > 18:
        raise InvalidParameter(f"{name} must be a whole number", extra={"parameter": name})
    return int(raw)


@router.get("/changesets", summary="Changesets, newest first (filter by collection, actor)")
async def get_changesets(request: Request, ctx: Ctx, principal: PrincipalDep) -> Response:
    """Changesets touching layers the caller may read, newest first, paged with ``before``."""
    _signed_in(principal)
    extra = set(request.query_params) - {"collection", "actor", "limit", "before", "f"}
    if extra:
        raise InvalidParameter(f"unknown query parameter(s): {', '.join(sorted(extra))}")
    collection = request.query_params.get("collection")
    if collection is not None:
        readable_layer(ctx, principal, collection)
    limit = min(max(_int_param(request, "limit", 50) or 1, 1), 500)
    before = _int_param(request, "before", None)
    async with ctx.pool.acquire() as conn:
        rows = await list_changesets(conn, actor=request.query_params.get("actor"), collection=collection,
                                     before=before, limit=limit)
    items = []
    for r in rows:
        layers = [lid for lid in r["layers"] if _may_read(ctx, principal, lid)]
        if layers:
            items.append({**_summary(request, r), "collections": layers})
    links = [link(str(request.url), "self", JSON)]
    if len(rows) == limit:
        links.append(link(str(request.url.include_query_params(before=rows[-1]["id"])), "next", JSON))
    return Response(orjson.dumps({"changesets": items, "links": links}), media_type=JSON)


@router.post("/changesets/{changesetId}/undo", status_code=201, summary="Undo a changeset as a new one (admin)")
async def post_undo(changesetId: str, request: Request, ctx: Ctx, principal: AdminDep) -> Response:
    """Restore the versions before the changeset, in a new changeset; 409 if edited since, unless force."""
    cs = _cs_id(changesetId)
    raw = await request.body()
    body = await _object_body(request, ctx) if raw.strip() else {}
    comment, force, valid_from = body_text(body, "comment"), body_flag(body, "force"), body_instant(body)

    async def work(conn: asyncpg.Connection) -> int:
        return await undo_changeset(conn, cs, actor=principal.name, comment=comment, force=force,
                                    layer_of=ctx.registry.get, valid_from=valid_from)

    async with ctx.pool.acquire() as conn:
        new = await in_own_transaction(conn, work)
    note_event(ctx, request, kind="changeset.undone", who=principal.name, status=201,
               detail={"changeset": cs, "undo": new, "force": force, "comment": (comment or "")[:300]})
    doc = await changeset_document(request, ctx, principal, new)
    return Response(orjson.dumps(doc), status_code=201, media_type=JSON,
                    headers={"Location": changeset_url(request, new), CHANGESET_HEADER: str(new)})
