"""OGC API Styles: the whole map's style, one style per style source, per-collection styles,
legends, and the glyphs the styles use (served from our own npm copy; nothing leaves the server).

What a style contains depends on the caller: layers they may not read are left out, exactly as
they are absent from ``/collections``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import FileResponse, JSONResponse, Response

from api.auth import PrincipalDep, ReadableCollection
from api.context import AppContext
from api.errors import ApiError
from api.tiles.tile_routes import CtxDep, base_url
from layers.model import Layer
from layers.principals import Principal
from styles.catalog import source_for, style_ids
from styles.legend import legend
from styles.maplibre import style_document

MAPBOX_STYLE = "application/vnd.mapbox.style+json"
MAP_STYLE_ID = "onemap"
GLYPH_PACKAGE = "tileserver-gl-styles"
TILE_SOURCE_MAXZOOM = 16
STYLESHEET_REL = "stylesheet"
GROUP_SOURCE = {
    "一张图": "onemap-base",
    "管线": "onemap-pipelines",
    "建筑": "onemap-buildings",
    "网格": "onemap-grid",
    "overlay": "onemap-overlays",
}


class StyleNotFound(ApiError):
    status = 404
    type_slug = "unknown-style"
    title = "No such style"


class GlyphsNotFound(ApiError):
    status = 404
    type_slug = "glyphs-not-found"
    title = "No such glyph range"


def visible_layers(ctx: AppContext, principal: Principal) -> list[Layer]:
    return [layer for layer in ctx.registry.all() if principal.can_read(layer)]


def _style_layers(ctx: AppContext, principal: Principal, style_id: str) -> list[Layer]:
    layers = visible_layers(ctx, principal)
    if style_id == MAP_STYLE_ID:
        return layers
    return [layer for layer in layers if source_for(layer).id == style_id]


def build_style(base: str, layers: Sequence[Layer], *, name: str, datetime: str | None = None) -> dict[str, Any]:
    """A MapLibre style drawing ``layers``: one vector source per group (one request per tile for
    all of a group's layers), one raster source per raster layer."""
    sources: dict[str, Any] = {}
    source_of: dict[str, str] = {}
    when = f"&datetime={datetime}" if datetime else ""
    groups: dict[str, list[Layer]] = {}
    for layer in layers:
        if layer.is_vector:
            groups.setdefault(layer.group, []).append(layer)
        else:
            sid = f"raster-{layer.id}"
            sources[sid] = {
                "type": "raster",
                "tileSize": 256,
                "minzoom": layer.min_zoom,
                "maxzoom": layer.max_zoom,
                "tiles": [
                    f"{base}/collections/{layer.id}/map/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}"
                    + (f"?datetime={datetime}" if datetime else "")
                ],
                "attribution": layer.metadata.attribution or "",
            }
            source_of[layer.id] = sid
    for group, members in groups.items():
        sid = GROUP_SOURCE.get(group, "onemap-" + group)
        ids = ",".join(layer.id for layer in members)
        attributions = sorted({layer.metadata.attribution for layer in members if layer.metadata.attribution})
        sources[sid] = {
            "type": "vector",
            "tiles": [f"{base}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}?collections={ids}{when}"],
            "minzoom": min(layer.min_zoom for layer in members),
            "maxzoom": min(TILE_SOURCE_MAXZOOM, max(layer.max_zoom for layer in members)),
            "attribution": "; ".join(attributions),
        }
        for layer in members:
            source_of[layer.id] = sid
    return style_document(
        name=name,
        layers=layers,
        sources=sources,
        source_of=source_of,
        glyphs=f"{base}/fonts/{{fontstack}}/{{range}}.pbf",
    )


def _style_entry(base: str, style_id: str, title: str, prefix: str = "") -> dict[str, Any]:
    return {
        "id": style_id,
        "title": title,
        "links": [
            {
                "rel": STYLESHEET_REL,
                "type": MAPBOX_STYLE,
                "title": "MapLibre / Mapbox GL style",
                "href": f"{base}{prefix}/styles/{style_id}?f=mapbox",
            },
            {"rel": "describedby", "type": "application/json", "href": f"{base}{prefix}/styles/{style_id}/metadata"},
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/legend",
                "type": "application/json",
                "href": f"{base}{prefix}/styles/{style_id}/legend",
            },
        ],
    }


def _check_f(f: str | None) -> None:
    if f is not None and f.lower() not in ("mapbox", "json"):
        raise ApiError("f must be mapbox (MapLibre style JSON)")


def _style_response(doc: dict[str, Any]) -> Response:
    return JSONResponse(
        doc, media_type=MAPBOX_STYLE, headers={"Cache-Control": "private, no-cache", "Vary": "Authorization, Cookie"}
    )


router = APIRouter(tags=["styles"])
StyleId = Annotated[str, Path(description="Style id: 'onemap' for the whole map, or a layer style id")]
DatetimeQ = Annotated[str | None, Query(description="Valid time the style's tile URLs ask for")]


@router.get("/styles", summary="Styles you may use")
async def styles_list(request: Request, ctx: CtxDep, principal: PrincipalDep) -> dict[str, Any]:
    base = base_url(request, ctx)
    visible = visible_layers(ctx, principal)
    available = {source_for(layer).id for layer in visible}
    entries = [_style_entry(base, MAP_STYLE_ID, "One Map 一张图 (all layers you may see)")]
    for sid in style_ids():
        if sid in available:
            first = next(layer for layer in visible if source_for(layer).id == sid)
            entries.append(_style_entry(base, sid, source_for(first).title_zh + " / " + source_for(first).title_en))
    return {"default": MAP_STYLE_ID, "styles": entries, "links": [{"rel": "self", "href": f"{base}/styles"}]}


@router.get(
    "/styles/{styleId}",
    summary="A MapLibre style (application/vnd.mapbox.style+json)",
    response_class=JSONResponse,
    responses={200: {"content": {MAPBOX_STYLE: {}}}},
)
async def style(
    styleId: StyleId,
    request: Request,
    ctx: CtxDep,
    principal: PrincipalDep,
    f: str | None = None,
    datetime: DatetimeQ = None,
) -> Response:
    _check_f(f)
    layers = _style_layers(ctx, principal, styleId)
    if not layers:
        raise StyleNotFound(f"there is no style {styleId!r}")
    name = "One Map 一张图" if styleId == MAP_STYLE_ID else source_for(layers[0]).title_zh
    return _style_response(build_style(base_url(request, ctx), layers, name=name, datetime=datetime))


@router.get("/styles/{styleId}/metadata", summary="Style metadata")
async def style_metadata(styleId: StyleId, request: Request, ctx: CtxDep, principal: PrincipalDep) -> dict[str, Any]:
    layers = _style_layers(ctx, principal, styleId)
    if not layers:
        raise StyleNotFound(f"there is no style {styleId!r}")
    base = base_url(request, ctx)
    entry = _style_entry(base, styleId, "One Map 一张图" if styleId == MAP_STYLE_ID else source_for(layers[0]).title_zh)
    return {
        **entry,
        "scope": "style",
        "version": "1.0",
        "layers": [
            {
                "id": layer.id,
                "description": layer.title_zh,
                "dataType": "vector" if layer.is_vector else "raster",
                "sampleData": {"href": f"{base}/collections/{layer.id}/items?limit=10"} if layer.is_vector else None,
            }
            for layer in layers
        ],
    }


@router.get("/styles/{styleId}/legend", summary="The style's legend (JSON), as the web map draws it")
async def style_legend(styleId: StyleId, ctx: CtxDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    layers = _style_layers(ctx, principal, styleId)
    if not layers:
        raise StyleNotFound(f"there is no style {styleId!r}")
    return legend(layers)


@router.get("/collections/{collectionId}/styles", summary="Styles of one collection")
async def collection_styles(layer: ReadableCollection, request: Request, ctx: CtxDep) -> dict[str, Any]:
    base = base_url(request, ctx)
    sid = source_for(layer).id
    return {
        "default": sid,
        "styles": [_style_entry(base, sid, source_for(layer).title_zh, prefix=f"/collections/{layer.id}")],
    }


@router.get(
    "/collections/{collectionId}/styles/{styleId}",
    summary="A collection's MapLibre style",
    response_class=JSONResponse,
    responses={200: {"content": {MAPBOX_STYLE: {}}}},
)
async def collection_style(
    layer: ReadableCollection,
    styleId: StyleId,
    request: Request,
    ctx: CtxDep,
    f: str | None = None,
    datetime: DatetimeQ = None,
) -> Response:
    _check_f(f)
    if styleId != source_for(layer).id:
        raise StyleNotFound(f"collection {layer.id} has no style {styleId!r}")
    return _style_response(build_style(base_url(request, ctx), [layer], name=layer.title_zh, datetime=datetime))


@router.get("/collections/{collectionId}/styles/{styleId}/metadata", summary="A collection style's metadata")
async def collection_style_metadata(
    layer: ReadableCollection,
    styleId: StyleId,
    request: Request,
    ctx: CtxDep,
) -> dict[str, Any]:
    if styleId != source_for(layer).id:
        raise StyleNotFound(f"collection {layer.id} has no style {styleId!r}")
    base = base_url(request, ctx)
    return {
        **_style_entry(base, styleId, layer.title_zh, prefix=f"/collections/{layer.id}"),
        "scope": "style",
        "layers": [{"id": layer.id, "description": layer.title_zh}],
    }


@router.get("/collections/{collectionId}/styles/{styleId}/legend", summary="A collection style's legend")
async def collection_style_legend(layer: ReadableCollection, styleId: StyleId) -> list[dict[str, Any]]:
    if styleId != source_for(layer).id:
        raise StyleNotFound(f"collection {layer.id} has no style {styleId!r}")
    return legend([layer])


@router.get("/fonts/{fontstack}/{fontrange}.pbf", summary="SDF glyphs for map labels", include_in_schema=False)
async def glyphs(fontstack: str, fontrange: str, ctx: CtxDep) -> FileResponse:
    root = (FsPath(ctx.settings.api.node_modules_dir) / GLYPH_PACKAGE / "fonts").resolve()
    parts = fontrange.split("-")
    if (
        len(parts) != 2
        or not all(p.isdigit() for p in parts)
        or int(parts[0]) % 256
        or int(parts[1]) != int(parts[0]) + 255
        or int(parts[1]) > 65535
    ):
        raise GlyphsNotFound(f"{fontrange!r} is not a 256-glyph range such as 0-255")
    # A stack names fallbacks; serve the first font we have (CJK is drawn by the browser's own fonts).
    for font in [*fontstack.split(","), "Noto Sans Regular"]:
        path = (root / font.strip() / f"{fontrange}.pbf").resolve()
        if path.is_relative_to(root) and path.is_file():
            return FileResponse(
                path, media_type="application/x-protobuf", headers={"Cache-Control": "public, max-age=604800"}
            )
    raise GlyphsNotFound(f"no glyphs for {fontstack!r}; run scripts/bootstrap.sh to install them")
