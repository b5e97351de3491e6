"""Tile matrix sets One Map publishes (OGC API Tiles, OGC TMS 2.0), built with morecantile.

Three sets:

* ``WebMercatorQuad`` — EPSG:3857, the web-map standard (same grid as Tianditu "w", level L = zoom L).
* ``WorldCRS84Quad`` — OGC CRS84 (lon, lat degrees), 2×1 tiles at zoom 0.
* ``CGCS2000Quad`` — EPSG:4490, **the same grid as Tianditu "c"**: Tianditu level L is zoom L−1
  here (domain.md §3.3). Its EPSG axis order is (lat, lon), so ``pointOfOrigin`` reads "90 −180",
  as in Tianditu's capabilities.

The DPI gotcha: Tianditu's ScaleDenominators assume 96 DPI (0.0254/96 m per pixel), OGC's assume
0.28 mm pixels, so the same grid has scale denominators 5.8 % apart. Clients must use the explicit
``cellSize`` (CRS units per pixel) that we publish for every tile matrix, never a scale
denominator from the other convention.

Every function here works in **x/y order** (x = longitude or easting, y = latitude or northing),
whatever the CRS's axis order, and says which CRS its coordinates are in.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import morecantile
from pyproj import CRS

from spatial.errors import SpatialError

WEB_MERCATOR_QUAD = "WebMercatorQuad"
WORLD_CRS84_QUAD = "WorldCRS84Quad"
CGCS2000_QUAD = "CGCS2000Quad"
TMS_IDS: tuple[str, ...] = (WEB_MERCATOR_QUAD, WORLD_CRS84_QUAD, CGCS2000_QUAD)

OGC_PIXEL_M = 0.00028
TIANDITU_PIXEL_M = 0.0254 / 96
# One degree of arc on the ellipsoid's equator, in metres, as OGC TMS 2.0 uses for degree CRSs.
METRES_PER_DEGREE = 2 * math.pi * 6378137.0 / 360.0
TIANDITU_LEVEL_OFFSET = 1
CGCS2000_MAX_ZOOM = 21


class UnknownTileMatrixSet(SpatialError):
    status = 404
    type_slug = "unknown-tile-matrix-set"
    title = "No such tile matrix set"


class TileOutOfRange(SpatialError):
    status = 404
    type_slug = "tile-out-of-range"
    title = "The tile is outside the tile matrix set"


@dataclass(frozen=True, slots=True)
class TmsInfo:
    """What One Map needs to know about a tile matrix set besides the grid itself.

    Attributes:
        id: The OGC identifier used in URLs.
        srid: The PostGIS SRID tiles are cut in (CRS84 → 4326, x = lon).
        title_zh / title_en: Human titles.
        geographic: True when CRS units are degrees.
    """

    id: str
    srid: int
    title_zh: str
    title_en: str
    geographic: bool


_INFO: dict[str, TmsInfo] = {
    WEB_MERCATOR_QUAD: TmsInfo(
        WEB_MERCATOR_QUAD,
        3857,
        "Web 墨卡托四叉树（天地图 w 网格）",
        "Web Mercator quad (Tianditu 'w' grid)",
        False,
    ),
    WORLD_CRS84_QUAD: TmsInfo(WORLD_CRS84_QUAD, 4326, "CRS84 经纬度四叉树", "CRS84 geographic quad", True),
    CGCS2000_QUAD: TmsInfo(
        CGCS2000_QUAD,
        4490,
        "CGCS2000 经纬度四叉树（与天地图 c 网格相同，级别 = 天地图级别 − 1）",
        "CGCS2000 geographic quad (Tianditu 'c' grid; zoom = Tianditu level − 1)",
        True,
    ),
}


@cache
def get_tms(tms_id: str) -> morecantile.TileMatrixSet:
    """The morecantile grid for ``tms_id``.

    Raises:
        UnknownTileMatrixSet: for ids other than :data:`TMS_IDS`.
    """
    if tms_id == CGCS2000_QUAD:
        return _cgcs2000_quad()
    if tms_id in (WEB_MERCATOR_QUAD, WORLD_CRS84_QUAD):
        return morecantile.tms.get(tms_id)
    raise UnknownTileMatrixSet(f"there is no tile matrix set {tms_id!r}; use one of {', '.join(TMS_IDS)}")


def tms_info(tms_id: str) -> TmsInfo:
    """Titles, CRS and URIs of tile matrix set ``tms_id``; raises if it is not one of ours."""
    get_tms(tms_id)
    return _INFO[tms_id]


def _cgcs2000_quad() -> morecantile.TileMatrixSet:
    base = morecantile.TileMatrixSet.custom(
        [-180.0, -90.0, 180.0, 90.0],
        CRS.from_epsg(4490),
        matrix_scale=[2, 1],
        id=CGCS2000_QUAD,
        minzoom=0,
        maxzoom=CGCS2000_MAX_ZOOM,
        title="CGCS2000 geographic quad — same grid as Tianditu 'c' (zoom = Tianditu level − 1)",
    )
    data = base.model_dump(mode="json", exclude_none=True)
    data["description"] = (
        "Equal to Tianditu's 'c' tile matrix set (EPSG:4490): Tianditu level L is tile matrix L−1 here. "
        "Tianditu publishes 96-DPI scale denominators (level 1 = 2.958293554545656E8); the scale "
        "denominators here follow OGC's 0.28 mm pixel, so they differ by 5.8 %. Use cellSize "
        "(degrees per pixel), which is exact in both."
    )
    data["keywords"] = ["CGCS2000", "EPSG:4490", "Tianditu", "天地图", "c"]
    for matrix in data["tileMatrices"]:
        z = int(matrix["id"])
        matrix["title"] = f"Tianditu level {z + TIANDITU_LEVEL_OFFSET}"
        matrix["description"] = (
            f"cellSize {matrix['cellSize']!r} °/px; Tianditu level {z + TIANDITU_LEVEL_OFFSET}; "
            f"Tianditu (96 DPI) scale denominator {_tdt_scale(matrix['cellSize']):.10g}"
        )
    return morecantile.TileMatrixSet.model_validate(data)


def tianditu_level(zoom: int) -> int:
    """Tianditu "c" level of a CGCS2000Quad (or WorldCRS84Quad) zoom."""
    return zoom + TIANDITU_LEVEL_OFFSET


def tianditu_scale_denominator(zoom: int) -> float:
    """The 96-DPI scale denominator Tianditu prints for CGCS2000Quad ``zoom`` (level zoom+1)."""
    return _tdt_scale(cell_size(CGCS2000_QUAD, zoom))


def _tdt_scale(cell_size_deg: float) -> float:
    return cell_size_deg * METRES_PER_DEGREE / TIANDITU_PIXEL_M


def cell_size(tms_id: str, zoom: int) -> float:
    """Pixel size at ``zoom`` in the TMS CRS units (metres for 3857, degrees otherwise)."""
    return float(_matrix(tms_id, zoom).cell)


def check_tile(tms_id: str, z: int, x: int, y: int) -> None:
    """Raise :class:`TileOutOfRange` unless (z, x=col, y=row) exists in the TMS.

    Raises:
        TileOutOfRange: for negative indices, zooms beyond the set, or rows/cols past the matrix.
    """
    tms = get_tms(tms_id)
    if z < tms.minzoom or z > tms.maxzoom:
        raise TileOutOfRange(f"{tms_id} has tile matrices {tms.minzoom}–{tms.maxzoom}, not {z}")
    m = _matrix(tms_id, z)
    if not (0 <= x < m.width and 0 <= y < m.height):
        raise TileOutOfRange(
            f"tile matrix {z} of {tms_id} has rows 0–{m.height - 1} and "
            f"columns 0–{m.width - 1}; row {y}, column {x} does not exist"
        )


@dataclass(frozen=True, slots=True)
class _Matrix:
    """A quad matrix as plain numbers: origin (x/y order), tile span and size, in CRS units."""

    origin_x: float
    origin_y: float
    span_x: float
    span_y: float
    width: int
    height: int
    cell: float


@cache
def _matrix(tms_id: str, z: int) -> _Matrix:
    tms = get_tms(tms_id)
    m = tms.matrix(z)
    ox, oy = tms._matrix_origin(m)
    return _Matrix(
        ox, oy, m.tileWidth * m.cellSize, m.tileHeight * m.cellSize, m.matrixWidth, m.matrixHeight, m.cellSize
    )


_R = 6378137.0


def tile_bounds(tms_id: str, z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) of a tile in the TMS CRS, x/y order (lon/lat for degree sets).

    Closed form from the matrix origin and span: this runs for every tile request.
    """
    m = _matrix(tms_id, z)
    xmin = m.origin_x + x * m.span_x
    ymax = m.origin_y - y * m.span_y
    return (xmin, ymax - m.span_y, xmin + m.span_x, ymax)


def tile_bounds_lonlat(tms_id: str, z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a tile in geographic degrees (EPSG:4490 ≈ WGS84, lon/lat order)."""
    xmin, ymin, xmax, ymax = tile_bounds(tms_id, z, x, y)
    if tms_id != WEB_MERCATOR_QUAD:
        return (xmin, ymin, xmax, ymax)
    return (
        math.degrees(xmin / _R),
        math.degrees(math.atan(math.sinh(ymin / _R))),
        math.degrees(xmax / _R),
        math.degrees(math.atan(math.sinh(ymax / _R))),
    )


@dataclass(frozen=True, slots=True)
class TileRange:
    """Columns ``x0..x1`` and rows ``y0..y1`` (inclusive) of one tile matrix."""

    z: int
    x0: int
    x1: int
    y0: int
    y1: int

    @property
    def count(self) -> int:
        return (self.x1 - self.x0 + 1) * (self.y1 - self.y0 + 1)

    def __contains__(self, tile: object) -> bool:
        if not isinstance(tile, tuple) or len(tile) != 2:
            return False
        x, y = tile
        return bool(self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1)

    def tiles(self) -> Iterator[tuple[int, int]]:
        for y in range(self.y0, self.y1 + 1):
            for x in range(self.x0, self.x1 + 1):
                yield x, y


def tile_range(
    tms_id: str, bbox_4490: tuple[float, float, float, float], z: int, *, buffer_px: float = 0.0
) -> TileRange | None:
    """The tiles of matrix ``z`` whose (buffered) extent meets ``bbox_4490``.

    Args:
        tms_id: Tile matrix set id.
        bbox_4490: (west, south, east, north) in EPSG:4490 degrees, lon/lat order.
        z: Tile matrix (zoom).
        buffer_px: Tile buffer in pixels of a 256-px tile; a feature this close to a tile's edge is
            drawn in that tile too, so the range grows by it.

    Returns:
        The inclusive range, or None when the box lies outside the set (e.g. beyond ±85.05° in 3857).
    """
    west, south, east, north = bbox_4490
    if tms_id == WEB_MERCATOR_QUAD:
        limit = 85.0511287798066
        south, north = max(south, -limit), min(north, limit)
        if south > north:
            return None
    m = _matrix(tms_id, z)
    # Pad in CRS units; 3857 pixels are a fixed size in metres, so convert via the projected box.
    xmin, ymin, xmax, ymax = _project_box(tms_id, (west, south, east, north))
    pad = buffer_px * m.cell
    x0 = math.floor((xmin - pad - m.origin_x) / m.span_x)
    x1 = math.floor((xmax + pad - m.origin_x) / m.span_x)
    y0 = math.floor((m.origin_y - (ymax + pad)) / m.span_y)
    y1 = math.floor((m.origin_y - (ymin - pad)) / m.span_y)
    x0, x1 = max(x0, 0), min(x1, m.width - 1)
    y0, y1 = max(y0, 0), min(y1, m.height - 1)
    if x0 > x1 or y0 > y1:
        return None
    return TileRange(z, x0, x1, y0, y1)


def _project_box(tms_id: str, bbox: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """A lon/lat box in the TMS CRS, x/y order. Web Mercator keeps boxes axis-aligned."""
    if tms_id != WEB_MERCATOR_QUAD:
        return bbox
    west, south, east, north = bbox
    return (
        _R * math.radians(west),
        _R * math.log(math.tan(math.pi / 4 + math.radians(south) / 2)),
        _R * math.radians(east),
        _R * math.log(math.tan(math.pi / 4 + math.radians(north) / 2)),
    )


def tiles_in_bbox(
    tms_id: str, bbox_4490: tuple[float, float, float, float], zooms: range
) -> Iterator[tuple[int, int, int]]:
    """(z, x=col, y=row) of every tile meeting ``bbox_4490`` (EPSG:4490 lon/lat) at each zoom."""
    for z in zooms:
        rng = tile_range(tms_id, bbox_4490, z)
        if rng is None:
            continue
        for x, y in rng.tiles():
            yield z, x, y


def count_tiles(tms_id: str, bbox_4490: tuple[float, float, float, float], zooms: range) -> int:
    """How many tiles of ``tms_id`` cover ``bbox_4490`` (lon/lat degrees, CGCS2000) at ``zooms``."""
    total = 0
    for z in zooms:
        rng = tile_range(tms_id, bbox_4490, z)
        total += rng.count if rng else 0
    return total


def degrees_per_pixel(tms_id: str, z: int, *, lat: float) -> tuple[float, float]:
    """Size of one pixel at ``z`` in EPSG:4490 degrees (Δlon, Δlat) near latitude ``lat``.

    Used to drop features smaller than a pixel before projecting them. Web Mercator pixels are a
    fixed width in longitude and shrink in latitude by cos(lat).
    """
    size = cell_size(tms_id, z)
    if tms_id != WEB_MERCATOR_QUAD:
        return size, size
    dlon = math.degrees(size / 6378137.0)
    return dlon, dlon * math.cos(math.radians(lat))
