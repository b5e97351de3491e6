"""Vector tiles from PostGIS ``ST_AsMVT``: one SQL statement renders every layer of a tile.

Each layer becomes a scalar subquery built from ``sql/layer_tile.sql``; PostgreSQL returns one
MVT blob per layer, and a tile is their concatenation (MVT layers are independent protobuf
messages, so concatenating them is a valid tile).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import asyncpg

from layers.model import Layer
from layers.overview import TILE_ZOOM
from layers.query.cql2 import translate
from layers.sql import Params, quote_ident
from layers.temporal import Current, Selection, predicate
from spatial.tms import degrees_per_pixel, tile_bounds, tile_bounds_lonlat, tms_info
from tiles.generalise import Generalisation, LevelRule, filters_by_size, overview_zoom

MAX_LEVEL = 5
SIMPLIFY_MIN_POINTS = 24


@cache
def template(name: str) -> str:
    """The SQL template ``name`` from tiles/sql."""
    return resources.files("tiles").joinpath("sql", name).read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class TileAddress:
    """One tile: tile matrix set, zoom, column (x) and row (y). OGC URLs order them z/y/x."""

    tms: str
    z: int
    x: int
    y: int

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """Tile extent in the tile matrix set's CRS, x/y order."""
        return tile_bounds(self.tms, self.z, self.x, self.y)

    def lonlat_bounds(self, *, buffer_fraction: float = 0.0) -> tuple[float, float, float, float]:
        """The tile's extent in EPSG:4490 degrees (lon/lat), grown by ``buffer_fraction`` of its size."""
        west, south, east, north = tile_bounds_lonlat(self.tms, self.z, self.x, self.y)
        dx, dy = (east - west) * buffer_fraction, (north - south) * buffer_fraction
        return (west - dx, max(south - dy, -90.0), east + dx, min(north + dy, 90.0))

    @property
    def centre_lat(self) -> float:
        """Latitude of the tile's centre in EPSG:4490 degrees."""
        _, south, _, north = tile_bounds_lonlat(self.tms, self.z, self.x, self.y)
        return (south + north) / 2


@dataclass(frozen=True, slots=True)
class LayerPlan:
    """What to put into one tile for one layer.

    Attributes:
        layer: The registry layer.
        columns: Attribute columns to encode (already validated against the schema).
        level: Generalisation level (0 = normal; each step doubles the size threshold).
        limit: Keep only the largest ``limit`` features (last resort for over-full tiles).
        label: For polygon layers, a property to emit as one label point per feature in an extra
            MVT layer ``<layer>_labels`` (so a polygon spread over many tiles is labelled once).
    """

    layer: Layer
    columns: tuple[str, ...]
    level: int = 0
    limit: int | None = None
    label: str | None = None


LABELS_SUFFIX = "_labels"


@dataclass(slots=True)
class TileSql:
    """One SELECT returning one bytea column per layer, and its parameters."""

    text: str
    params: list[object] = field(default_factory=list)


def layer_subquery(
    plan: LayerPlan,
    tile: TileAddress,
    params: Params,
    *,
    selection: Selection,
    generalisation: Generalisation,
    extent: int,
    buffer: int,
    extra_where: str | None = None,
) -> str:
    """The scalar subquery producing ``plan.layer``'s MVT bytes for ``tile``."""
    layer = plan.layer
    info = tms_info(tile.tms)
    xmin, ymin, xmax, ymax = tile.bounds
    tile_env = ", ".join(params.add(v, "float8") for v in (xmin, ymin, xmax, ymax))
    bbox = tile.lonlat_bounds(buffer_fraction=buffer / extent)
    bbox_4490 = ", ".join(params.add(v, "float8") for v in bbox)
    dlon, dlat = degrees_per_pixel(tile.tms, tile.z, lat=tile.centre_lat)
    g = generalisation.for_level(layer, tile.z, plan.level)

    where = [predicate(selection, params, alias="t")]
    test = size_filter(layer, tile, g)
    if test is not None:
        # The size test the (tile_zoom, geom) index answers (layers.overview): no row below the
        # threshold is read, so an overview tile costs what it draws, not what lies under it.
        where.append(test)
    if extra_where:
        where.append(extra_where)

    geom = "t.geom"
    if g.simplify_px > 0 and layer.geometry_type not in ("Point", "MultiPoint"):
        tol = params.add(g.simplify_px * min(dlon, dlat), "float8")
        # Small shapes (buildings, parcels) gain nothing from simplifying but still pay for it.
        geom = (
            f"CASE WHEN ST_NPoints({geom}) > {SIMPLIFY_MIN_POINTS} "
            f"THEN ST_Simplify({geom}, {tol}, false) ELSE {geom} END"
        )
    if info.srid == 3857:
        geom = to_web_mercator(geom)
    # CRS84 and CGCS2000 tiles are cut straight from the stored degrees: CGCS2000 and WGS84 differ
    # by centimetres, far below a tile pixel, and PROJ treats the pair as a null transform anyway.

    order_limit = ""
    if plan.limit is not None:
        order_limit = (
            "ORDER BY (ST_XMax(t.geom) - ST_XMin(t.geom)) * (ST_YMax(t.geom) - ST_YMin(t.geom)) DESC, t.fid "
            f"LIMIT {params.add(plan.limit, 'int4')}"
        )
    columns = "".join(f", t.{quote_ident(c)}" for c in plan.columns)
    shapes = template("layer_tile.sql").format(
        name=params.add(layer.id, "text"),
        extent=params.add(extent, "int4"),
        buffer=params.add(buffer, "int4"),
        geom=geom,
        tile_env=tile_env,
        columns=columns,
        table=layer.table,
        bbox_4490=bbox_4490,
        where=" AND ".join(where),
        order_limit=order_limit,
    )
    if plan.label is None:
        return shapes
    point = "ST_PointOnSurface(t.geom)"
    if info.srid == 3857:
        point = to_web_mercator(point)
    west, south, east, north = tile.lonlat_bounds()
    labels = template("label_points.sql").format(
        name=params.add(layer.id + LABELS_SUFFIX, "text"),
        extent=params.add(extent, "int4"),
        point=point,
        tile_env=tile_env,
        label=quote_ident(plan.label),
        table=layer.table,
        bbox_4490=bbox_4490,
        tile_4490=", ".join(params.add(v, "float8") for v in (west, south, east, north)),
        where=" AND ".join(where),
    )
    return f"({shapes}) || ({labels})"


def to_web_mercator(geom: str) -> str:
    """SQL turning the EPSG:4490 expression ``geom`` into Web Mercator (EPSG:3857), as its WGS84 twin.

    PROJ has no CGCS2000 -> WGS84 datum shift (a null "ballpark" step, centimetres apart), so the
    coordinates come out byte-identical (checked on 20,000 buildings and every sample pipe). But
    finding that out costs each PostgreSQL session 150-250 ms on its first 4490 -> 3857 transform
    (PROJ searches its database for a transformation), which the first cold tile on every new
    pooled connection paid; 4326 -> 3857 is a single known step.
    """
    return f"ST_Transform(ST_SetSRID({geom}, 4326), 3857)"


def tile_sql(
    plans: list[LayerPlan],
    tile: TileAddress,
    *,
    selection: Selection | None = None,
    generalisation: Generalisation,
    extent: int,
    buffer: int,
    filters: dict[str, Any] | None = None,
) -> TileSql:
    """One statement rendering every plan; column ``l<i>`` holds plan ``i``'s MVT bytes.

    ``filters`` maps a layer id to a parsed CQL2 tree (:func:`layers.query.cql2.parse`),
    translated here into the statement's own bound parameters.
    """
    params = Params()
    parts = []
    for i, plan in enumerate(plans):
        extra = None
        if filters and plan.layer.id in filters:
            extra = translate(filters[plan.layer.id], layer=plan.layer, params=params)
        sub = layer_subquery(
            plan,
            tile,
            params,
            selection=selection or Current(),
            generalisation=generalisation,
            extent=extent,
            buffer=buffer,
            extra_where=extra,
        )
        parts.append(f"({sub}) AS l{i}")
    return TileSql("SELECT " + ",\n".join(parts), params.values)


async def render_layers(
    conn: asyncpg.Connection,
    plans: list[LayerPlan],
    tile: TileAddress,
    *,
    selection: Selection | None = None,
    generalisation: Generalisation,
    extent: int,
    buffer: int,
    filters: dict[str, Any] | None = None,
) -> list[bytes]:
    """Render ``plans`` for ``tile`` in one round trip; returns MVT bytes per plan (b"" = empty)."""
    if not plans:
        return []
    sql = tile_sql(
        plans,
        tile,
        selection=selection,
        generalisation=generalisation,
        extent=extent,
        buffer=buffer,
        filters=filters,
    )
    row = await conn.fetchrow(sql.text, *sql.params)
    assert row is not None
    return [bytes(row[i]) if row[i] is not None else b"" for i in range(len(plans))]


def size_filter(layer: Layer, tile: TileAddress, rule: LevelRule) -> str | None:
    """The overview-zoom test keeping ``layer``'s features that ``rule`` finds big enough in ``tile``,
    or None when it drops nothing (points, full detail).

    The bound is an integer literal, computed here from the zoom and level, never from input: so
    the planner reads its selectivity from ``tile_zoom``'s statistics even in a generic plan,
    and never mistakes ``tile_zoom <= 10`` (a few features) for a third of the table.
    """
    if not filters_by_size(layer, rule):
        return None
    # smallint like the column: btree_gist has no cross-type operators, so an int4 would miss the index.
    return f"t.{TILE_ZOOM} <= {int(overview_zoom(tile.tms, tile.z, rule.min_size_px))}::smallint"


def features_budget(size: int, count_hint: int, budget: int) -> int:
    """How many features to keep so a layer of ``size`` bytes with ``count_hint`` features fits ``budget``."""
    if count_hint <= 0 or size <= 0:
        return 0
    per_feature = size / count_hint
    return max(1, math.floor(budget * 0.9 / per_feature))
