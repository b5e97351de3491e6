"""``/map3d``: the 3D viewer's page, its static files, and ``/map3d/config``.

The configuration is the 2D map's (``/map/config``: who is signed in, time range, starting point)
plus what only the 3D view needs: the pipe categories the caller may read with their CJJ 61
on-screen colours, the 3D Tiles tileset of each layer, and the 2D layers draped on the ground.
"""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Path
from starlette.responses import FileResponse, HTMLResponse, Response

from api.auth import PrincipalDep
from api.errors import ApiError
from api.map.routes import map_config
from api.static_files import NO_CACHE, page_file
from api.tiles.dependencies import CtxDep, TilesDep
from spatial.codelists.cjj61 import PLATFORM_CATEGORIES

MAP3D_DIR = FsPath(__file__).resolve().parent
STATIC_DIR = MAP3D_DIR / "static"
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css"}
TILESET = "/collections/{id}/3dtiles/tileset.json"
BUILDINGS = "buildings"
# Drawn on the ground (from the 2D map's style and vector tiles); pipes and buildings are 3D instead.
DRAPED_SOURCES = ("onemap-base", "onemap-grid")
# Changsha's municipal area (lon/lat): the ground imagery is drawn, and its tiles fetched, only here.
CHANGSHA_EXTENT = (111.88, 27.85, 114.26, 28.67)


class Map3dFileNotFound(ApiError):
    """404: no such file under ``api/map3d/static``."""

    status = 404
    type_slug = "map3d-file-not-found"
    title = "No such 3D viewer file"


router = APIRouter(tags=["web map"])


@router.get("/map3d", response_class=HTMLResponse, summary="The offline 3D viewer (三维展示): pipes underground")
async def map3d_page() -> Response:
    """The 3D viewer's page (``api/map3d/index.html``); CesiumJS and all data come from this server."""
    return FileResponse(MAP3D_DIR / "index.html", media_type="text/html; charset=utf-8", headers=NO_CACHE)


@router.get("/map3d/static/{name}", include_in_schema=False)
async def map3d_static(name: Annotated[str, Path(pattern=r"^[a-z0-9_.-]+$")]) -> Response:
    """One of the 3D viewer's files from ``api/map3d/static`` (its ES modules and stylesheet)."""
    return page_file(STATIC_DIR, name, STATIC_TYPES, lambda n: Map3dFileNotFound(f"no 3D viewer file {n!r}"))


def pipe_categories(readable: set[str]) -> list[dict[str, Any]]:
    """The CJJ 61 platform categories with at least one readable layer, their colours and layers."""
    out = []
    for key, cat in PLATFORM_CATEGORIES.items():
        layers = [i for i in (f"pipeline_{key}_segments", f"pipeline_{key}_points") if i in readable]
        if layers:
            out.append({
                "key": key,
                "title_zh": f"{cat.zh}管线",
                "title_en": f"{cat.en} pipes",
                "code": cat.category,
                "colour": "#{:02x}{:02x}{:02x}".format(*cat.screen_rgb),
                "layers": layers,
            })
    return out


@router.get("/map3d/config", summary="What the 3D viewer shows the caller: pipe categories, tilesets, ground")
async def map3d_config(ctx: CtxDep, principal: PrincipalDep, tiles: TilesDep) -> dict[str, Any]:
    """The 2D map's configuration plus the caller's pipe categories, tilesets and draped layers."""
    config = await map_config(ctx, principal, tiles)
    readable = set(config["collections"])
    config["map3d"] = {
        "tileset": TILESET,
        "categories": pipe_categories(readable),
        "buildings": BUILDINGS if BUILDINGS in readable else None,
        "draped": list(DRAPED_SOURCES),
        "extent": list(CHANGSHA_EXTENT),
    }
    return config
