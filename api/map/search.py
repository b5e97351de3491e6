"""``/search``: find grid cells, buildings, stations … by code, name or address, among the
collections the caller may read (the web map's search box)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api.audit import note_event, note_read
from api.auth import PrincipalDep
from api.errors import InvalidParameter
from api.styles.documents import visible_layers
from api.tiles.dependencies import CtxDep
from layers.model import Layer
from layers.search import SearchHit
from layers.search import search as search_features

router = APIRouter(tags=["web map"])


def _selected(layers: list[Layer], collections: str | None) -> list[Layer]:
    if not collections:
        return layers
    wanted = {c.strip() for c in collections.split(",") if c.strip()}
    unknown = wanted - {layer.id for layer in layers}
    if unknown:
        raise InvalidParameter(f"unknown collections: {', '.join(sorted(unknown))}")
    return [layer for layer in layers if layer.id in wanted]


def _result(hit: SearchHit, titles: dict[str, tuple[str, str]]) -> dict[str, Any]:
    return {
        "collection": hit.collection,
        "title_zh": titles[hit.collection][0],
        "title_en": titles[hit.collection][1],
        "fid": hit.fid,
        "label": hit.label,
        "field": hit.field,
        "value": hit.value,
        "bbox": list(hit.bbox),
        "point": list(hit.point),
        "href": f"/collections/{hit.collection}/items/{hit.fid}",
    }


def _audit(request: Request, ctx: Any, layers: list[Layer], hits: list[SearchHit]) -> None:
    """Log, per internal or restricted layer, how many of its features the answer named."""
    found: dict[str, int] = {}
    for hit in hits:
        found[hit.collection] = found.get(hit.collection, 0) + 1
    for layer in layers:
        if found.get(layer.id) and layer.access != "public":
            note_read(request, ctx, layer, kind="read.search", area="search", features=found[layer.id])


def _audit_hidden(request: Request, ctx: Any, visible: list[Layer], collections: str | None) -> None:
    """Log asking for layers that exist but that the caller may not read (answered as unknown)."""
    seen = {layer.id for layer in visible}
    for wanted in (collections or "").split(","):
        layer_id = wanted.strip()
        if layer_id and layer_id not in seen and ctx.registry.find(layer_id) is not None:
            note_event(ctx, request, kind="auth.refused", status=400, layer=layer_id,
                       detail={"reason": "search in a layer the caller may not read", "method": request.method})


@router.get("/search", summary="Find grid cells, buildings, stations … by code, name or address")
async def search(
    request: Request,
    ctx: CtxDep,
    principal: PrincipalDep,
    q: Annotated[str, Query(min_length=1, max_length=100, description="Text to look for")],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    collections: Annotated[str | None, Query(description="Comma-separated collection ids")] = None,
) -> dict[str, Any]:
    """Features whose code, name or address matches ``q``, best first, with where to fly to."""
    visible = visible_layers(ctx, principal)
    _audit_hidden(request, ctx, visible, collections)
    layers = _selected(visible, collections)
    async with ctx.pool.acquire() as conn:
        hits = await search_features(conn, layers=layers, text=q, limit=limit)
    titles = {layer.id: (layer.title_zh, layer.title_en) for layer in layers}
    _audit(request, ctx, layers, hits)
    return {"query": q, "results": [_result(h, titles) for h in hits]}
