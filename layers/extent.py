"""A layer's spatial extent, computed in one place for collection documents and tiles alike.

The extent of current rows is cached per connection pool (so one process shares it between the
Features API and its tile service, and two databases in one process never mix), until the tile
service hears of an edit to the layer (:meth:`ExtentCache.forget`) or ``TTL_S`` passes, which
bounds staleness in a process that listens for no edits. Small layers get the exact
``ST_Extent``; big ones the planner's ``ST_EstimatedExtent`` (statistics, no scan), which covers
every row the last ANALYZE saw, retired versions included.

An empty layer has no data extent; :func:`published_extent` then gives its nominal one so clients
(QGIS) still learn a CRS and a place to zoom to.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import asyncpg

from layers.model import DATA_SCHEMA, Layer
from spatial.geometry import CHANGSHA_BBOX_4490

Box = tuple[float, float, float, float]
ExtentKind = Literal["exact", "estimate", "nominal"]
EXACT_MAX_ROWS = 200_000
TTL_S = 60.0
_DIGITS = 6  # ≈ 0.1 m: an extent is a hint, not a geometry


@dataclass(frozen=True, slots=True)
class Extent:
    """A box in EPSG:4490 lon/lat (degrees, x = longitude first) and how it was found."""

    bbox_4490: Box
    kind: ExtentKind


@dataclass
class ExtentCache:
    """Data extents by layer id, for one database (one pool)."""

    ttl_s: float = TTL_S
    _hits: dict[str, tuple[float, Extent | None]] = field(default_factory=dict)

    def peek(self, layer_id: str) -> tuple[bool, Extent | None]:
        """(found, extent) without touching the database; stale entries are not found."""
        hit = self._hits.get(layer_id)
        if hit is None or time.monotonic() - hit[0] >= self.ttl_s:
            return False, None
        return True, hit[1]

    def store(self, layer_id: str, extent: Extent | None) -> None:
        """Remember ``extent`` (None: the layer has no current rows)."""
        self._hits[layer_id] = (time.monotonic(), extent)

    def forget(self, layer_id: str) -> None:
        """Drop the layer's extent (its rows changed)."""
        self._hits.pop(layer_id, None)


# id(pool) → (pool, cache). asyncpg pools take no weak references; holding the pool and checking
# identity keeps a recycled id from inheriting another database's extents, and closed pools are
# dropped whenever a new one appears.
_caches: dict[int, tuple[asyncpg.Pool, ExtentCache]] = {}


def extent_cache(pool: asyncpg.Pool) -> ExtentCache:
    """The extent cache shared by everything in this process that reads through ``pool``."""
    hit = _caches.get(id(pool))
    if hit is not None and hit[0] is pool:
        return hit[1]
    for key, (other, _) in list(_caches.items()):
        if other.is_closing():
            del _caches[key]
    cache = ExtentCache()
    _caches[id(pool)] = (pool, cache)
    return cache


async def data_extent(pool: asyncpg.Pool, layer: Layer) -> Extent | None:
    """Extent of ``layer``'s current rows (EPSG:4490 lon/lat), cached; None when it has none."""
    cache = extent_cache(pool)
    found, extent = cache.peek(layer.id)
    if found:
        return extent
    async with pool.acquire() as conn:
        extent = await _compute(conn, layer)
    cache.store(layer.id, extent)
    return extent


async def _compute(conn: asyncpg.Connection, layer: Layer) -> Extent | None:
    rows = await conn.fetchval("SELECT reltuples FROM pg_class WHERE oid = $1::regclass", layer.table)
    kind: ExtentKind
    if rows is None or rows == -1 or 0 <= rows < EXACT_MAX_ROWS:  # -1: never analysed
        box = await conn.fetchrow(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "  # noqa: S608 - quoted identifier
            f"(SELECT ST_Extent(geom) AS e FROM {layer.table} WHERE valid_to IS NULL) x"
        )
        kind = "exact"
    else:
        box = await conn.fetchrow(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_EstimatedExtent($1, $2, 'geom') AS e) x",
            DATA_SCHEMA,
            layer.id,
        )
        kind = "estimate"
    if box is None or box[0] is None:
        return None
    x0, y0, x1, y1 = (round(float(v), _DIGITS) for v in box.values())
    return Extent((x0, y0, x1, y1), kind)


def nominal_extent(layer: Layer) -> Extent:
    """Where an empty layer is meant to hold data: its declared extent, else the city of Changsha."""
    declared = layer.metadata.extent
    return Extent(declared or CHANGSHA_BBOX_4490, "nominal")


async def published_extent(pool: asyncpg.Pool, layer: Layer) -> Extent:
    """The extent a collection document shows: of its data, or nominal while it has none."""
    return await data_extent(pool, layer) or nominal_extent(layer)
