"""POST /collections/{id}/bulk-edit: preview, then set one attribute change on a selection.

The selection is a CQL2 filter (``filter``/``filter-lang`` as on ``/items``) and/or a drawn
polygon (``intersects``, CRS84); the rules and SQL are in :mod:`layers.bulk_edit`.
"""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.auth import PrincipalDep, writable_layer
from api.context import AppContext, get_context
from api.ogc.bodies import read_json_body
from api.ogc.changesets import body_flag, body_instant, body_text, changeset_url
from api.ogc.items import vector
from api.ogc.links import GEOJSON, JSON, base_url, link
from api.ogc.writes import CHANGESET_HEADER
from layers.bulk_edit import Selection, apply_bulk_edit, check_set, count_matched, sample, selection
from layers.errors import InvalidEdit
from layers.query import cql2
from layers.versioning import in_own_transaction

router = APIRouter(tags=["map editing: bulk edit"])
Ctx = Annotated[AppContext, Depends(get_context)]


def _filter(ctx: AppContext, body: dict[str, Any]) -> tuple[dict[str, Any] | bool | None, str | None]:
    """The parsed filter (or None) and its text as sent (for the changeset's details)."""
    raw = body.get("filter")
    if raw is None:
        return None, None
    lang = body.get("filter-lang", "cql2-text")
    text = raw if isinstance(raw, str) else orjson.dumps(raw).decode()
    if not isinstance(lang, str):
        raise InvalidEdit("filter-lang must be cql2-text or cql2-json")
    return cql2.parse(text, lang=lang, limits=ctx.settings.api.filter_limits()), text


@router.post("/collections/{collectionId}/bulk-edit", summary="Bulk attribute edit of a selection (editor)")
async def post_bulk_edit(collectionId: str, request: Request, ctx: Ctx, principal: PrincipalDep) -> Response:
    """``preview: true``: how many and a sample, nothing written; else one changeset setting ``set`` on each."""
    layer = vector(writable_layer(ctx, principal, collectionId))
    body = await read_json_body(request, ctx.settings.api.max_body_bytes)
    if not isinstance(body, dict):
        raise InvalidEdit("the body must be a JSON object")
    tree, text = _filter(ctx, body)
    sel: Selection = selection(layer, tree, body.get("intersects"))
    values = check_set(layer, body.get("set"))
    comment, valid_from, preview = body_text(body, "comment"), body_instant(body), body_flag(body, "preview")
    if preview:
        async with ctx.pool.acquire() as conn:
            count = await count_matched(conn, sel)
            features = await sample(conn, sel) if count else b"[]"
        doc = (b'{"count":' + str(count).encode() + b',"sample":{"type":"FeatureCollection","features":'
               + features + b'},"set":' + orjson.dumps(values) + b"}")
        return Response(doc, media_type=JSON)

    async def work(conn: asyncpg.Connection) -> tuple[int | None, int]:
        cs, fids = await apply_bulk_edit(conn, sel, values, actor=principal.name, comment=comment,
                                         valid_from=valid_from, filter_text=text)
        return cs, len(fids)

    async with ctx.pool.acquire() as conn:
        cs, count = await in_own_transaction(conn, work)
    if cs is None:
        return Response(orjson.dumps({"count": 0}), media_type=JSON)
    links = [link(changeset_url(request, cs), "changeset", JSON),
             link(f"{base_url(request)}/collections/{layer.id}/items", "items", GEOJSON)]
    return Response(orjson.dumps({"changeset": cs, "count": count, "links": links}), status_code=201,
                    media_type=JSON, headers={CHANGESET_HEADER: str(cs)})
