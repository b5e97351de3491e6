"""OGC API Tiles routes: tile matrix sets, tileset lists and metadata, TileJSON, and the tiles.

Access is the Features API's: ``ReadableCollection`` answers 404 for a layer the caller may
not read, so a restricted layer's tiles do not exist for anyone without the grant.
"""

from __future__ import annotations

import zlib
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from api.audit import note_tile_read
from api.auth import PrincipalDep, ReadableCollection
from api.context import AppContext
from api.errors import InvalidParameter
from api.tiles import documents as docs
from api.tiles.dependencies import CtxDep, TilesDep, base_url
from api.tiles.params import check_indices, parse_datetime, parse_list, readable_layers, tile_query
from layers.model import Layer
from spatial.tms import TMS_IDS, check_tile, get_tms
from tiles.mvt import TileAddress
from tiles.service import RenderResult, TileService

TmsId = Annotated[str, Path(description="Tile matrix set: " + ", ".join(TMS_IDS))]
Z = Annotated[int, Path(description="Tile matrix (zoom level)")]
Row = Annotated[int, Path(description="Tile row (y)")]
Col = Annotated[int, Path(description="Tile column (x)")]
DatetimeQ = Annotated[str | None, Query(description="Valid time: an instant (as-of tiles) or an interval a/b")]
PropertiesQ = Annotated[str | None, Query(description="Comma-separated attributes to include")]
FilterQ = Annotated[str | None, Query(description="CQL2 filter")]
FilterLangQ = Annotated[str | None, Query(alias="filter-lang", description="cql2-text (default) or cql2-json")]
CollectionsQ = Annotated[str | None, Query(description="Comma-separated collection ids (default: all you may read)")]
FormatQ = Annotated[str | None, Query(description="json (default) or tilejson")]


def tile_headers(data: bytes, *, private: bool, source: str) -> dict[str, str]:
    """Headers of a tile answer. ``no-cache``: browsers revalidate (ETag), so an edit shows at once."""
    headers = {
        "Cache-Control": ("private" if private else "public") + ", no-cache",
        "Vary": "Authorization, Cookie",
        "X-Tile-Source": source,
    }
    if data:
        # A content checksum: a strong hash of every cold tile cost more than rendering's Python share.
        headers["ETag"] = f'"{len(data):x}-{zlib.crc32(data):08x}"'
    return headers


def _tile_response(request: Request, result: RenderResult, media: str, *, private: bool) -> Response:
    headers = tile_headers(result.data, private=private, source=result.source)
    if not result.data:
        return Response(status_code=204, headers=headers)
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    return Response(result.data, media_type=media, headers=headers)


def _address(tms: str, z: int, y: int, x: int) -> TileAddress:
    check_indices(z, y, x)
    get_tms(tms)
    check_tile(tms, z, x, y)
    return TileAddress(tms, z, x, y)


def _area(tile: TileAddress) -> str:
    """The audit log's area of a tile, in the OGC order z/y/x (row before column)."""
    return f"tile:{tile.tms}/{tile.z}/{tile.y}/{tile.x}"


def _format(f: str | None) -> str:
    value = (f or "json").lower()
    if value not in ("json", "tilejson"):
        raise InvalidParameter("f must be json or tilejson")
    return value


router = APIRouter(tags=["tiles"])


@router.get("/tileMatrixSets", summary="Tile matrix sets this server tiles in")
async def tile_matrix_sets(request: Request, ctx: CtxDep) -> dict[str, Any]:
    """The tile matrix sets this server tiles in (WebMercatorQuad, WorldCRS84Quad, CGCS2000Quad)."""
    return docs.tms_list(base_url(request, ctx))


@router.get("/tileMatrixSets/{tileMatrixSetId}", summary="One tile matrix set (OGC TMS 2.0 JSON)")
async def tile_matrix_set(tileMatrixSetId: TmsId, request: Request, ctx: CtxDep) -> dict[str, Any]:
    """One tile matrix set's definition (OGC TMS 2.0 JSON)."""
    get_tms(tileMatrixSetId)
    return docs.tms_document(base_url(request, ctx), tileMatrixSetId)


# ---- one collection -------------------------------------------------------------------------------
def _tilesets(base: str, tiles_base: str, layer: Layer | None, data_type: str) -> dict[str, Any]:
    rel_media = docs.MVT if data_type == "vector" else docs.PNG
    sets = []
    for tms_id in TMS_IDS:
        sets.append(
            {
                "title": f"{layer.title_en if layer else 'One Map'} — {tms_id}",
                "dataType": data_type,
                "crs": str(get_tms(tms_id).crs.root),
                "tileMatrixSetURI": docs.TMS_URI.format(id=tms_id)
                if tms_id != "CGCS2000Quad"
                else f"{base}/tileMatrixSets/{tms_id}",
                "links": [
                    {"rel": "self", "type": "application/json", "href": f"{tiles_base}/{tms_id}"},
                    {
                        "rel": docs.TILING_SCHEME_REL,
                        "type": "application/json",
                        "href": f"{base}/tileMatrixSets/{tms_id}",
                    },
                    {
                        "rel": "item",
                        "type": rel_media,
                        "templated": True,
                        "href": f"{tiles_base}/{tms_id}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}",
                    },
                ],
            }
        )
    return {"tilesets": sets, "links": [{"rel": "self", "href": tiles_base}]}


@router.get("/collections/{collectionId}/tiles", summary="Tilesets of one collection")
async def collection_tilesets(layer: ReadableCollection, request: Request, ctx: CtxDep) -> dict[str, Any]:
    """One collection's tilesets, one per tile matrix set (vector, or map tiles for rasters)."""
    base = base_url(request, ctx)
    if layer.is_vector:
        return _tilesets(base, f"{base}/collections/{layer.id}/tiles", layer, "vector")
    return _tilesets(base, f"{base}/collections/{layer.id}/map/tiles", layer, "map")


@router.get("/collections/{collectionId}/map/tiles", summary="Map (PNG) tilesets of a raster collection")
async def collection_map_tilesets(layer: ReadableCollection, request: Request, ctx: CtxDep) -> dict[str, Any]:
    """A raster collection's PNG map tilesets; vector collections answer 400."""
    if layer.is_vector:
        raise InvalidParameter(f"{layer.id} is a vector layer; its tiles are at /collections/{layer.id}/tiles")
    base = base_url(request, ctx)
    return _tilesets(base, f"{base}/collections/{layer.id}/map/tiles", layer, "map")


async def _collection_tileset(
    layer: Layer,
    tms: str,
    f: str | None,
    request: Request,
    ctx: AppContext,
    tiles: TileService,
) -> dict[str, Any]:
    get_tms(tms)
    base = base_url(request, ctx)
    data_type = "vector" if layer.is_vector else "map"
    tiles_base = f"{base}/collections/{layer.id}/" + ("tiles" if layer.is_vector else "map/tiles")
    extent = await tiles.extent(layer, data_dir=ctx.settings.api.data_dir)
    if _format(f) == "tilejson":
        return docs.tilejson(
            tiles_base=tiles_base,
            tms_id=tms,
            layers=[layer],
            extents=[extent],
            name=layer.title_zh,
            data_type=data_type,
            attribution=layer.metadata.attribution,
        )
    return docs.tileset_metadata(
        base=base,
        tiles_base=tiles_base,
        tms_id=tms,
        layers=[layer],
        extents=[extent],
        title=f"{layer.title_zh} / {layer.title_en}",
        data_type=data_type,
    )


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}", summary="Tileset metadata (or TileJSON)")
async def collection_tileset(
    layer: ReadableCollection,
    tileMatrixSetId: TmsId,
    request: Request,
    ctx: CtxDep,
    tiles: TilesDep,
    f: FormatQ = None,
) -> dict[str, Any]:
    """A collection's tileset metadata in one matrix set, or its TileJSON with ``f=tilejson``."""
    return await _collection_tileset(layer, tileMatrixSetId, f, request, ctx, tiles)


@router.get("/collections/{collectionId}/map/tiles/{tileMatrixSetId}", summary="Map tileset metadata (or TileJSON)")
async def collection_map_tileset(
    layer: ReadableCollection,
    tileMatrixSetId: TmsId,
    request: Request,
    ctx: CtxDep,
    tiles: TilesDep,
    f: FormatQ = None,
) -> dict[str, Any]:
    """A raster collection's map tileset metadata (or TileJSON); vector collections answer 400."""
    if layer.is_vector:
        raise InvalidParameter(f"{layer.id} is a vector layer; its tiles are at /collections/{layer.id}/tiles")
    return await _collection_tileset(layer, tileMatrixSetId, f, request, ctx, tiles)


async def _raster(
    layer: Layer,
    tile: TileAddress,
    datetime: str | None,
    request: Request,
    ctx: AppContext,
    tiles: TileService,
) -> Response:
    result = await tiles.raster_tile(layer, tile, parse_datetime(datetime), data_dir=ctx.settings.api.data_dir)
    note_tile_read(request, ctx, [layer], area=_area(tile), data=result.data, source=result.source)
    return _tile_response(request, result, docs.PNG, private=layer.access != "public")


@router.get(
    "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
    summary="One tile of one collection (z/y/x): MVT for vector layers, PNG for rasters",
    responses={200: {"content": {docs.MVT: {}, docs.PNG: {}}}, 204: {"description": "Empty tile"}},
)
async def collection_tile(
    layer: ReadableCollection,
    tileMatrixSetId: TmsId,
    tileMatrix: Z,
    tileRow: Row,
    tileCol: Col,
    request: Request,
    ctx: CtxDep,
    tiles: TilesDep,
    datetime: DatetimeQ = None,
    properties: PropertiesQ = None,
    filter: FilterQ = None,
    filter_lang: FilterLangQ = None,
) -> Response:
    """One tile of one collection at z/y/x: MVT (204 when empty), or PNG for a raster layer."""
    tile = _address(tileMatrixSetId, tileMatrix, tileRow, tileCol)
    if not layer.is_vector:
        return await _raster(layer, tile, datetime, request, ctx, tiles)
    query = tile_query(
        [layer], datetime=datetime, properties=properties, filter_text=filter, filter_lang=filter_lang,
        limits=ctx.settings.api.filter_limits(),
    )
    result = await tiles.vector_tile([layer], tile, query)
    note_tile_read(request, ctx, [layer], area=_area(tile), data=result.data, source=result.source)
    return _tile_response(request, result, docs.MVT, private=layer.access != "public")


@router.get(
    "/collections/{collectionId}/map/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
    summary="One PNG map tile of a raster collection (z/y/x)",
    responses={200: {"content": {docs.PNG: {}}}, 204: {"description": "Empty tile"}},
)
async def collection_map_tile(
    layer: ReadableCollection,
    tileMatrixSetId: TmsId,
    tileMatrix: Z,
    tileRow: Row,
    tileCol: Col,
    request: Request,
    ctx: CtxDep,
    tiles: TilesDep,
    datetime: DatetimeQ = None,
) -> Response:
    """One PNG map tile of a raster collection at z/y/x, for the epoch ``datetime`` picks."""
    if layer.is_vector:
        raise InvalidParameter(f"{layer.id} is a vector layer; its tiles are at /collections/{layer.id}/tiles")
    return await _raster(layer, _address(tileMatrixSetId, tileMatrix, tileRow, tileCol), datetime, request, ctx, tiles)


# ---- several collections in one tile ----------------------------------------------------------------
def _passthrough(request: Request, *names: str) -> str:
    pairs = [(n, request.query_params[n]) for n in names if n in request.query_params]
    return urlencode(pairs, safe=",:/")


@router.get("/tiles", summary="Tilesets of the whole dataset (all collections you may read)")
async def dataset_tilesets(request: Request, ctx: CtxDep) -> dict[str, Any]:
    """The dataset's tilesets: every collection the caller may read, one tileset per matrix set."""
    base = base_url(request, ctx)
    return _tilesets(base, f"{base}/tiles", None, "vector")


@router.get("/tiles/{tileMatrixSetId}", summary="Dataset tileset metadata (or TileJSON); collections= selects layers")
async def dataset_tileset(
    tileMatrixSetId: TmsId,
    request: Request,
    ctx: CtxDep,
    tiles: TilesDep,
    principal: PrincipalDep,
    collections: CollectionsQ = None,
    f: FormatQ = None,
) -> dict[str, Any]:
    """The dataset tileset's metadata (or TileJSON) in one matrix set; ``collections=`` selects layers."""
    get_tms(tileMatrixSetId)
    layers = readable_layers(ctx, principal, parse_list(collections))
    base = base_url(request, ctx)
    extents = [await tiles.extent(layer, data_dir=ctx.settings.api.data_dir) for layer in layers]
    query = _passthrough(request, "collections", "datetime", "properties")
    if _format(f) == "tilejson":
        return docs.tilejson(
            tiles_base=f"{base}/tiles",
            tms_id=tileMatrixSetId,
            layers=layers,
            extents=extents,
            name="One Map 一张图",
            query=query,
        )
    return docs.tileset_metadata(
        base=base,
        tiles_base=f"{base}/tiles",
        tms_id=tileMatrixSetId,
        layers=layers,
        extents=extents,
        title="One Map 一张图",
        query=query,
    )


@router.get(
    "/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
    summary="One MVT tile holding several collections (z/y/x)",
    responses={200: {"content": {docs.MVT: {}}}, 204: {"description": "Empty tile"}},
)
async def dataset_tile(
    tileMatrixSetId: TmsId,
    tileMatrix: Z,
    tileRow: Row,
    tileCol: Col,
    request: Request,
    ctx: CtxDep,
    tiles: TilesDep,
    principal: PrincipalDep,
    collections: CollectionsQ = None,
    datetime: DatetimeQ = None,
    properties: PropertiesQ = None,
    filter: FilterQ = None,
    filter_lang: FilterLangQ = None,
) -> Response:
    """One MVT tile holding every requested collection (one MVT layer each) at z/y/x."""
    tile = _address(tileMatrixSetId, tileMatrix, tileRow, tileCol)
    layers = readable_layers(ctx, principal, parse_list(collections))
    query = tile_query(
        layers, datetime=datetime, properties=properties, filter_text=filter, filter_lang=filter_lang,
        limits=ctx.settings.api.filter_limits(),
    )
    result = await tiles.vector_tile(layers, tile, query)
    note_tile_read(request, ctx, layers, area=_area(tile), data=result.data, source=result.source)
    private = any(layer.access != "public" for layer in layers)
    return _tile_response(request, result, docs.MVT, private=private)
