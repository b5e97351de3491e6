"""OGC API Styles routes: the whole map's style, one style per style source, per-collection
styles, their metadata and legends. The documents are built in :mod:`api.styles.documents`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import JSONResponse, Response

from api.auth import PrincipalDep, ReadableCollection
from api.errors import ApiError
from api.styles import documents
from api.styles.documents import MAP_STYLE_ID, MAPBOX_STYLE, build_style, style_entry, style_layers, visible_layers
from api.tiles.dependencies import CtxDep, base_url
from layers.model import Layer
from styles.catalog import source_for, style_ids
from styles.legend import legend

MAP_TITLE = "One Map 一张图"


class StyleNotFound(ApiError):
    """404: no such style, or none the caller may see."""

    status = 404
    type_slug = "unknown-style"
    title = "No such style"


def _check_f(f: str | None) -> None:
    if f is not None and f.lower() not in ("mapbox", "json"):
        raise ApiError("f must be mapbox (MapLibre style JSON)")


def _style_response(doc: dict[str, Any]) -> Response:
    return JSONResponse(
        doc, media_type=MAPBOX_STYLE, headers={"Cache-Control": "private, no-cache", "Vary": "Authorization, Cookie"}
    )


def _found(layers: list[Layer], style_id: str) -> list[Layer]:
    if not layers:
        raise StyleNotFound(f"there is no style {style_id!r}")
    return layers


def _collection_style_id(layer: Layer, style_id: str) -> None:
    if style_id != source_for(layer).id:
        raise StyleNotFound(f"collection {layer.id} has no style {style_id!r}")


def _title(style_id: str, layers: list[Layer]) -> str:
    return MAP_TITLE if style_id == MAP_STYLE_ID else source_for(layers[0]).title_zh


router = APIRouter(tags=["styles"])
StyleId = Annotated[str, Path(description="Style id: 'onemap' for the whole map, or a layer style id")]
DatetimeQ = Annotated[str | None, Query(description="Valid time the style's tile URLs ask for")]
MAPBOX_ANSWER: dict[int | str, dict[str, Any]] = {200: {"content": {MAPBOX_STYLE: {}}}}


@router.get("/styles", summary="Styles you may use")
async def styles_list(request: Request, ctx: CtxDep, principal: PrincipalDep) -> dict[str, Any]:
    """The whole map's style and one style per style source the caller can see a layer of."""
    base = base_url(request, ctx)
    visible = visible_layers(ctx, principal)
    available = {source_for(layer).id for layer in visible}
    entries = [style_entry(base, MAP_STYLE_ID, MAP_TITLE + " (all layers you may see)")]
    for sid in style_ids():
        if sid in available:
            first = next(layer for layer in visible if source_for(layer).id == sid)
            entries.append(style_entry(base, sid, source_for(first).title_zh + " / " + source_for(first).title_en))
    return {"default": MAP_STYLE_ID, "styles": entries, "links": [{"rel": "self", "href": f"{base}/styles"}]}


@router.get(
    "/styles/{styleId}",
    summary="A MapLibre style (application/vnd.mapbox.style+json)",
    response_class=JSONResponse,
    responses=MAPBOX_ANSWER,
)
async def style(
    styleId: StyleId,
    request: Request,
    ctx: CtxDep,
    principal: PrincipalDep,
    f: str | None = None,
    datetime: DatetimeQ = None,
) -> Response:
    """The MapLibre style JSON of ``styleId``, drawing only layers the caller may read."""
    _check_f(f)
    layers = _found(style_layers(ctx, principal, styleId), styleId)
    doc = build_style(base_url(request, ctx), layers, name=_title(styleId, layers), datetime=datetime)
    return _style_response(doc)


@router.get("/styles/{styleId}/metadata", summary="Style metadata")
async def style_metadata(styleId: StyleId, request: Request, ctx: CtxDep, principal: PrincipalDep) -> dict[str, Any]:
    """What ``styleId`` draws: its layers, with links to sample data."""
    layers = _found(style_layers(ctx, principal, styleId), styleId)
    return documents.style_metadata(base_url(request, ctx), styleId, _title(styleId, layers), layers)


@router.get("/styles/{styleId}/legend", summary="The style's legend (JSON), as the web map draws it")
async def style_legend(styleId: StyleId, ctx: CtxDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """The legend of ``styleId``: one entry per layer, with its classes and colours."""
    return legend(_found(style_layers(ctx, principal, styleId), styleId))


@router.get("/collections/{collectionId}/styles", summary="Styles of one collection")
async def collection_styles(layer: ReadableCollection, request: Request, ctx: CtxDep) -> dict[str, Any]:
    """The one style a collection has: its style source's."""
    base = base_url(request, ctx)
    sid = source_for(layer).id
    return {
        "default": sid,
        "styles": [style_entry(base, sid, source_for(layer).title_zh, prefix=f"/collections/{layer.id}")],
    }


@router.get(
    "/collections/{collectionId}/styles/{styleId}",
    summary="A collection's MapLibre style",
    response_class=JSONResponse,
    responses=MAPBOX_ANSWER,
)
async def collection_style(
    layer: ReadableCollection,
    styleId: StyleId,
    request: Request,
    ctx: CtxDep,
    f: str | None = None,
    datetime: DatetimeQ = None,
) -> Response:
    """A MapLibre style drawing this collection alone."""
    _check_f(f)
    _collection_style_id(layer, styleId)
    return _style_response(build_style(base_url(request, ctx), [layer], name=layer.title_zh, datetime=datetime))


@router.get("/collections/{collectionId}/styles/{styleId}/metadata", summary="A collection style's metadata")
async def collection_style_metadata(
    layer: ReadableCollection,
    styleId: StyleId,
    request: Request,
    ctx: CtxDep,
) -> dict[str, Any]:
    """The metadata of a collection's style."""
    _collection_style_id(layer, styleId)
    base = base_url(request, ctx)
    return {
        **style_entry(base, styleId, layer.title_zh, prefix=f"/collections/{layer.id}"),
        "scope": "style",
        "layers": [{"id": layer.id, "description": layer.title_zh}],
    }


@router.get("/collections/{collectionId}/styles/{styleId}/legend", summary="A collection style's legend")
async def collection_style_legend(layer: ReadableCollection, styleId: StyleId) -> list[dict[str, Any]]:
    """The legend of a collection's style."""
    _collection_style_id(layer, styleId)
    return legend([layer])
