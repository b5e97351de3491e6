"""The planners' web map at ``/map``: its page, static files, configuration, and search.

The page is static; ``/map/config`` tells it what the caller may see (layer tree, fields, time
range, where to start), so signing in only means fetching the configuration and style again.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.responses import FileResponse, HTMLResponse, Response

from api.auth import PrincipalDep
from api.errors import ApiError, InvalidParameter
from api.tiles.style_routes import MAP_STYLE_ID, visible_layers
from api.tiles.tile_routes import CtxDep, TilesDep
from layers.model import GROUPS_EN
from layers.search import search as search_features
from styles.catalog import source_for

MAP_DIR = FsPath(__file__).resolve().parent.parent / "map"
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".html": "text/html"}
CHANGSHA = (112.939, 28.228)
GROUP_ORDER = ["一张图", "管线", "建筑", "网格", "overlay"]
EARLIEST_YEAR = 1970
FOCUS_LAYERS = ("streets_sample", "grid_cells", "buildings")


class MapFileNotFound(ApiError):
    status = 404
    type_slug = "map-file-not-found"
    title = "No such web map file"


router = APIRouter(tags=["web map"])


@router.get("/map", response_class=HTMLResponse, summary="The planners' web map (一张图)")
async def map_page() -> Response:
    return FileResponse(
        MAP_DIR / "index.html", media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"}
    )


@router.get("/map/static/{name}", include_in_schema=False)
async def map_static(name: Annotated[str, Path(pattern=r"^[a-z0-9_.-]+$")]) -> Response:
    path = (MAP_DIR / name).resolve()
    if not path.is_relative_to(MAP_DIR) or not path.is_file() or path.suffix not in STATIC_TYPES:
        raise MapFileNotFound(f"no web map file {name!r}")
    return FileResponse(
        path, media_type=STATIC_TYPES[path.suffix] + "; charset=utf-8", headers={"Cache-Control": "no-cache"}
    )


def _year(value: dt.datetime | None) -> int | None:
    return value.year if value is not None else None


@router.get("/map/config", summary="What the web map shows the caller: layer tree, fields, time range")
async def map_config(ctx: CtxDep, principal: PrincipalDep, tiles: TilesDep) -> dict[str, Any]:
    layers = visible_layers(ctx, principal)
    collections: dict[str, Any] = {}
    years: list[int] = []
    epochs: dict[str, list[int]] = {}
    for layer in layers:
        info = layer.metadata.raster
        if info is not None:
            epochs[layer.id] = sorted(e.datetime.year for e in info.epochs)
            years += epochs[layer.id]
        elif (start := _year(layer.temporal_start)) is not None:
            years.append(start)
        collections[layer.id] = {
            "title_zh": layer.title_zh,
            "title_en": layer.title_en,
            "group": layer.group,
            "kind": layer.kind,
            "geometry_type": layer.geometry_type,
            "access": layer.access,
            "sample": layer.metadata.sample,
            "min_zoom": layer.min_zoom,
            "max_zoom": layer.max_zoom,
            "label": layer.attributes.label,
            "style": source_for(layer).id,
            "fields": {f.name: {"zh": f.title_zh, "en": f.title_en, "unit": f.unit} for f in layer.attributes.fields},
            "attribution": layer.metadata.attribution,
        }
    groups = []
    for group in sorted(
        {layer.group for layer in layers}, key=lambda g: GROUP_ORDER.index(g) if g in GROUP_ORDER else 99
    ):
        groups.append(
            {
                "id": group,
                "title_zh": group if group != "overlay" else "专题叠加",
                "title_en": GROUPS_EN.get(group, group),
                "collections": [layer.id for layer in layers if layer.group == group],
            }
        )
    centre = CHANGSHA
    # Start over the urban core: where the street grid (and with it pipes and grid cells) lies.
    for focus_id in FOCUS_LAYERS:
        focus = next((layer for layer in layers if layer.id == focus_id), None)
        box = await tiles.extent(focus, data_dir=ctx.settings.api.data_dir) if focus else None
        if box is not None:
            centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
            break
    this_year = dt.datetime.now(dt.UTC).year
    first = max(EARLIEST_YEAR, min(years)) if years else this_year - 30
    return {
        "style": f"/styles/{MAP_STYLE_ID}",
        "legend": f"/styles/{MAP_STYLE_ID}/legend",
        "search": "/search",
        "signIn": "/auth/token",
        "principal": {"name": principal.name, "anonymous": principal.is_anonymous, "roles": sorted(principal.roles)},
        "center": list(centre),
        "zoom": 13,
        "time": {"min": min(first, this_year), "max": this_year, "rasterEpochs": epochs},
        "groups": groups,
        "collections": collections,
        "gkZone": 38,
        "gkEpsg": 4547,
    }


@router.get("/search", summary="Find grid cells, buildings, stations … by code, name or address")
async def search(
    ctx: CtxDep,
    principal: PrincipalDep,
    q: Annotated[str, Query(min_length=1, max_length=100, description="Text to look for")],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    collections: Annotated[str | None, Query(description="Comma-separated collection ids")] = None,
) -> dict[str, Any]:
    layers = visible_layers(ctx, principal)
    if collections:
        wanted = {c.strip() for c in collections.split(",") if c.strip()}
        unknown = wanted - {layer.id for layer in layers}
        if unknown:
            raise InvalidParameter(f"unknown collections: {', '.join(sorted(unknown))}")
        layers = [layer for layer in layers if layer.id in wanted]
    async with ctx.pool.acquire() as conn:
        hits = await search_features(conn, layers=layers, text=q, limit=limit)
    titles = {layer.id: (layer.title_zh, layer.title_en) for layer in layers}
    return {
        "query": q,
        "results": [
            {
                "collection": h.collection,
                "title_zh": titles[h.collection][0],
                "title_en": titles[h.collection][1],
                "fid": h.fid,
                "label": h.label,
                "field": h.field,
                "value": h.value,
                "bbox": list(h.bbox),
                "point": list(h.point),
                "href": f"/collections/{h.collection}/items/{h.fid}",
            }
            for h in hits
        ],
    }
