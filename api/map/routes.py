"""The planners' web map at ``/map``: its page, its static files, and its configuration.

The page is static; ``/map/config`` tells it what the caller may see (layer tree, fields, time
range, where to start), so signing in only means fetching the configuration and style again.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Path
from starlette.responses import FileResponse, HTMLResponse, Response

from api.auth import PrincipalDep
from api.context import AppContext
from api.errors import ApiError
from api.static_files import NO_CACHE, page_file
from api.styles.documents import MAP_STYLE_ID, visible_layers
from api.tiles.dependencies import CtxDep, TilesDep
from layers.model import GROUPS_EN, Layer
from layers.principals import Principal
from styles.catalog import source_for
from tiles.service import TileService

MAP_DIR = FsPath(__file__).resolve().parent
STATIC_DIR = MAP_DIR / "static"
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".html": "text/html"}
CHANGSHA = (112.939, 28.228)
GROUP_ORDER = ["一张图", "管线", "建筑", "网格", "overlay"]
EARLIEST_YEAR = 1970
FOCUS_LAYERS = ("streets_sample", "grid_cells", "buildings")


class MapFileNotFound(ApiError):
    """404: no such file under ``api/map/static``."""

    status = 404
    type_slug = "map-file-not-found"
    title = "No such web map file"


router = APIRouter(tags=["web map"])


@router.get("/map", response_class=HTMLResponse, summary="The planners' web map (一张图)")
async def map_page() -> Response:
    """The web map's page (``api/map/index.html``); everything else it loads comes from this server."""
    return FileResponse(MAP_DIR / "index.html", media_type="text/html; charset=utf-8", headers=NO_CACHE)


@router.get("/map/static/{name}", include_in_schema=False)
async def map_static(name: Annotated[str, Path(pattern=r"^[a-z0-9_.-]+$")]) -> Response:
    """One of the web map's files from ``api/map/static`` (its ES modules and stylesheet)."""
    return page_file(STATIC_DIR, name, STATIC_TYPES, lambda n: MapFileNotFound(f"no web map file {n!r}"))


def _year(value: dt.datetime | None) -> int | None:
    return value.year if value is not None else None


def _collection(layer: Layer, principal: Principal) -> dict[str, Any]:
    return {
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
        # Whether the caller may edit it (editor role and a grant, or admin): the map offers its editor.
        "editable": layer.kind == "vector" and principal.can_write(layer),
    }


def _groups(layers: list[Layer]) -> list[dict[str, Any]]:
    ordered = sorted({layer.group for layer in layers}, key=lambda g: GROUP_ORDER.index(g) if g in GROUP_ORDER else 99)
    return [
        {
            "id": group,
            "title_zh": group if group != "overlay" else "专题叠加",
            "title_en": GROUPS_EN.get(group, group),
            "collections": [layer.id for layer in layers if layer.group == group],
        }
        for group in ordered
    ]


def _time_range(layers: list[Layer]) -> dict[str, Any]:
    years: list[int] = []
    epochs: dict[str, list[int]] = {}
    for layer in layers:
        info = layer.metadata.raster
        if info is not None:
            epochs[layer.id] = sorted(e.datetime.year for e in info.epochs)
            years += epochs[layer.id]
        elif (start := _year(layer.temporal_start)) is not None:
            years.append(start)
    this_year = dt.datetime.now(dt.UTC).year
    first = max(EARLIEST_YEAR, min(years)) if years else this_year - 30
    return {"min": min(first, this_year), "max": this_year, "rasterEpochs": epochs}


async def _centre(layers: list[Layer], ctx: AppContext, tiles: TileService) -> tuple[float, float]:
    # Start over the urban core: where the street grid (and with it pipes and grid cells) lies.
    for focus_id in FOCUS_LAYERS:
        focus = next((layer for layer in layers if layer.id == focus_id), None)
        box = await tiles.extent(focus, data_dir=ctx.settings.api.data_dir) if focus else None
        if box is not None:
            return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    return CHANGSHA


@router.get("/map/config", summary="What the web map shows the caller: layer tree, fields, time range")
async def map_config(ctx: CtxDep, principal: PrincipalDep, tiles: TilesDep) -> dict[str, Any]:
    """The layer tree, fields, time range and starting view for the collections the caller may read."""
    layers = visible_layers(ctx, principal)
    return {
        "style": f"/styles/{MAP_STYLE_ID}",
        "legend": f"/styles/{MAP_STYLE_ID}/legend",
        "search": "/search",
        "signIn": "/auth/token",
        "principal": {"name": principal.name, "anonymous": principal.is_anonymous, "roles": sorted(principal.roles)},
        "center": list(await _centre(layers, ctx, tiles)),
        "zoom": 13,
        "time": _time_range(layers),
        "groups": _groups(layers),
        "collections": {layer.id: _collection(layer, principal) for layer in layers},
        "gkZone": 38,
        "gkEpsg": 4547,
    }
