"""3D Tiles 1.1 routes: a layer's ``tileset.json`` and its glb content tiles.

``GET /collections/{id}/3dtiles/tileset.json[?datetime=…]`` answers the tileset
(:mod:`tiles.threed_tileset` explains its quadtree); its content URIs are relative
(``{level}/{x}/{y}.glb``) and carry ``datetime`` through, so a viewer that opens the tileset of a
past date gets that date's pipes in every tile. Access is the Features API's: a restricted layer's
tileset and tiles do not exist (404) for a caller without the grant, anonymous callers included.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from api.audit import note_read
from api.auth import ReadableCollection
from api.errors import InvalidParameter
from api.ogc.geovolumes import TILES3D_JSON
from api.tiles.dependencies import CtxDep
from api.tiles.params import parse_datetime
from api.tiles.tile_routes import tile_headers
from layers.temporal import AsOf, Current, During, Selection
from tiles.threed_service import GLB, ThreeDService

router = APIRouter(tags=["3d tiles"])
DatetimeQ = Annotated[
    str | None, Query(description="An instant: the city as it stood then (RFC 3339 date or date-time)")
]
TILESET_JSON = TILES3D_JSON  # the GeoVolumes draft's media type for a 3D Tiles tileset


def threed(request: Request) -> ThreeDService:
    """The process's 3D tile service, over the tile service the tiles router started."""
    service: ThreeDService | None = getattr(request.app.state, "threed", None)
    if service is None or service.tiles is not request.app.state.tiles:
        service = ThreeDService(request.app.state.tiles)
        request.app.state.threed = service
    return service


def instant(datetime: str | None) -> tuple[Selection, str]:
    """``datetime`` → a current or as-of selection and the query string content URIs carry (400 for intervals)."""
    selection = parse_datetime(datetime)
    if isinstance(selection, During) and datetime and "/" not in datetime:
        # A date: the city as it stood at the day's end (everything built that day stands).
        assert selection.end is not None
        selection = AsOf(selection.end)
    if not isinstance(selection, (Current, AsOf)):
        raise InvalidParameter("datetime must be one instant for 3D tiles (the city as it stood then), not an interval")
    query = urlencode({"datetime": datetime.strip()}, safe=":") if datetime and datetime.strip() else ""
    return selection, query


@router.get(
    "/collections/{collectionId}/3dtiles/tileset.json",
    summary="3D Tiles 1.1 tileset of a pipeline or building collection",
    responses={200: {"content": {TILESET_JSON: {}}}},
)
async def tileset(layer: ReadableCollection, request: Request, ctx: CtxDep, datetime: DatetimeQ = None) -> Response:
    """The collection's tileset: an explicit quadtree whose leaves are glb tiles of its features."""
    service = threed(request)
    service.kind(layer)
    selection, query = instant(datetime)
    doc: dict[str, Any] = await service.tileset(layer, selection, query=query)
    note_read(request, ctx, layer, kind="read.tile", area="3dtiles:tileset.json", features=None)
    private = layer.access != "public"
    headers = {"Cache-Control": ("private" if private else "public") + ", no-cache", "Vary": "Authorization, Cookie"}
    return Response(orjson.dumps(doc), media_type=TILESET_JSON, headers=headers)


@router.get(
    "/collections/{collectionId}/3dtiles/{level}/{x}/{y}.glb",
    summary="One glb content tile of a 3D tileset (level/x/y of CGCS2000Quad)",
    responses={200: {"content": {GLB: {}}}},
)
async def content(
    layer: ReadableCollection,
    level: Annotated[int, Path(ge=0, le=30, description="CGCS2000Quad level: the tileset's leaves, or its "
                                                        "city-scale level two above them")],
    x: Annotated[int, Path(ge=0, description="Column")],
    y: Annotated[int, Path(ge=0, description="Row")],
    request: Request,
    ctx: CtxDep,
    datetime: DatetimeQ = None,
) -> Response:
    """A content tile: the features whose box centre lies in cell level/x/y, as glb with feature metadata
    (at the city-scale level only trunk mains and high-rises, simplified)."""
    service = threed(request)
    service.kind(layer)
    selection, _ = instant(datetime)
    await service.check_address(layer, level, x, y)
    result = await service.content(layer, level, x, y, selection)
    note_read(request, ctx, layer, kind="read.tile", area=f"3dtiles:CGCS2000Quad/{level}/{x}/{y}",
              features=result.features if result.features >= 0 else None)
    headers = tile_headers(result.data, private=layer.access != "public", source=result.source)
    if request.headers.get("if-none-match") == headers.get("ETag"):
        return Response(status_code=304, headers=headers)
    return Response(result.data, media_type=GLB, headers=headers)
