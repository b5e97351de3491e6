"""How full a vector tile would be at each generalisation level, counted before it is rendered.

:class:`tiles.service.TileService` renders an over-full tile once, at the first level that fits,
instead of rendering it level by level to learn its size. Two ways to count:

* **by key** (current rows of a line or polygon layer in a Web Mercator tile, no filter): one
  index-only scan of the ``(tile_zoom, tile_key)`` btree (:mod:`layers.overview`) returns how many
  features of each overview zoom have their bounding-box centre in the tile, which gives every
  level's count at once without reading a row. Measured on 1,000,000 buildings: the densest z13
  tile's counts read ~100 index pages instead of ~26,000 heap pages (benchmarks/tile_sweep.py);
* **by probe** (``datetime``, CQL2 filters, points, geographic tile matrix sets): each level is
  counted through the ``(tile_zoom, geom)`` GiST on the tile's buffered box, each count stopping
  at ``cap`` rows, from the most generalised level down (``sql/level_count.sql``).

The key count leaves out features that only reach into the tile (their centre lies outside) and the
buffer, so it may be a little low; the size ceiling's retry loop still tightens a tile that overflows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from layers.model import Layer
from layers.overview import KEY_ZOOM, POINT_TYPES, TILE_KEY, TILE_ZOOM, tile_key_range
from layers.query.cql2 import translate
from layers.sql import Params
from layers.temporal import Current, Selection, predicate
from spatial.tms import WEB_MERCATOR_QUAD
from tiles.generalise import Generalisation, overview_zoom
from tiles.mvt import MAX_LEVEL, LayerPlan, TileAddress, TileSql, layer_subquery, size_filter, template

# The smallest tile_zoom a feature can have: a bounding box as wide as the world (-1 - log2(256)).
MIN_TILE_ZOOM = -9


def by_key(layer: Layer, tile: TileAddress, selection: Selection | None, filters: dict[str, Any] | None) -> bool:
    """Whether the ``(tile_zoom, tile_key)`` index can count ``layer`` in ``tile``: current rows,
    no filter, a line or polygon layer, a Web Mercator tile at most :data:`KEY_ZOOM`."""
    return (
        isinstance(selection or Current(), Current)
        and not (filters and layer.id in filters)
        and layer.geometry_type not in POINT_TYPES
        and tile.tms == WEB_MERCATOR_QUAD
        and tile.z <= KEY_ZOOM
    )


def key_density_sql(layer: Layer, tile: TileAddress, *, most: int, params: Params | None = None) -> TileSql:
    """Current features of ``layer`` per overview zoom up to ``most`` whose bounding-box centre lies
    in the Web Mercator ``tile``: rows ``(z, n)``.

    ``tile_zoom = ANY(...)`` rather than ``<=``: the btree then scans one key range per zoom, not
    every key of every zoom below ``most``.
    """
    params = params or Params()
    lo, hi = tile_key_range(tile.z, tile.x, tile.y)
    zooms = params.add(list(range(MIN_TILE_ZOOM, most + 1)), "int2[]")
    text = (
        f"SELECT t.{TILE_ZOOM} AS z, count(*) AS n FROM {layer.table} t "  # noqa: S608 - registry table
        f"WHERE t.valid_to IS NULL AND t.{TILE_ZOOM} = ANY({zooms}) "
        f"AND t.{TILE_KEY} >= {params.add(lo, 'int8')} AND t.{TILE_KEY} < {params.add(hi, 'int8')} "
        f"GROUP BY t.{TILE_ZOOM}"
    )
    return TileSql(text, params.values)


def _thresholds(plan: LayerPlan, tile: TileAddress, generalisation: Generalisation) -> list[int]:
    """The largest tile_zoom each level 0..MAX_LEVEL keeps in ``tile``."""
    return [
        overview_zoom(tile.tms, tile.z, generalisation.for_level(plan.layer, tile.z, level).min_size_px)
        for level in range(MAX_LEVEL + 1)
    ]


def _levels(per_zoom: dict[int, int], thresholds: list[int], cap: int) -> list[int]:
    return [min(cap, sum(n for z, n in per_zoom.items() if z <= k)) for k in thresholds]


async def key_density(
    conn: asyncpg.Connection, plan: LayerPlan, tile: TileAddress, *, cap: int, generalisation: Generalisation
) -> list[int]:
    """Features surviving each level 0..MAX_LEVEL in ``tile`` by key (see :func:`by_key`), each at most ``cap``."""
    thresholds = _thresholds(plan, tile, generalisation)
    sql = key_density_sql(plan.layer, tile, most=thresholds[0])
    per_zoom = {int(r["z"]): int(r["n"]) for r in await conn.fetch(sql.text, *sql.params)}
    return _levels(per_zoom, thresholds, cap)


async def render_if_fits(
    conn: asyncpg.Connection, plan: LayerPlan, tile: TileAddress, *, cap: int, generalisation: Generalisation,
    extent: int, buffer: int,
) -> tuple[bytes | None, list[int]]:
    """``plan`` (level 0) rendered in ``tile`` if fewer than ``cap`` features survive level 0 by key,
    counted in the same statement; else None. With the counts per level (each at most ``cap``).

    Most tiles fit: they then cost one round trip, not a count and a render. The render is an
    InitPlan under a CASE, so PostgreSQL runs it only when the count lets it.
    """
    thresholds = _thresholds(plan, tile, generalisation)
    params = Params()
    count = key_density_sql(plan.layer, tile, most=thresholds[0], params=params)
    shapes = layer_subquery(plan, tile, params, selection=Current(), generalisation=generalisation,
                            extent=extent, buffer=buffer)
    text = (
        f"WITH c AS MATERIALIZED ({count.text}) "  # noqa: S608 - built from bound parameters and registry names
        f"SELECT CASE WHEN (SELECT coalesce(sum(n), 0) FROM c) < {params.add(cap, 'int8')} "
        f"THEN ({shapes}) END AS tile, ARRAY(SELECT z FROM c) AS zs, ARRAY(SELECT n FROM c) AS ns"
    )
    row = await conn.fetchrow(text, *params.values)
    assert row is not None
    per_zoom = dict(zip(row["zs"], row["ns"], strict=True))
    return (None if row["tile"] is None else bytes(row["tile"])), _levels(per_zoom, thresholds, cap)


def density_sql(
    plan: LayerPlan,
    tile: TileAddress,
    *,
    cap: int,
    levels: Sequence[int] = range(MAX_LEVEL, -1, -1),
    selection: Selection | None = None,
    generalisation: Generalisation,
    extent: int,
    buffer: int,
    filters: dict[str, Any] | None = None,
) -> TileSql:
    """Features of ``plan.layer`` surviving each of ``levels`` (most generalised first) in ``tile``,
    each count stopping at ``cap``, until one reaches ``cap``.

    Every count goes through the ``(tile_zoom, geom)`` index and reads at most ``cap`` rows, so
    learning that a tile is too full costs about one tile's worth of rows, however much lies
    under it. One row, columns ``l<level>``; a level not counted (a higher one already reached
    ``cap``) is ``cap``.
    """
    layer = plan.layer
    params = Params()
    bbox = ", ".join(params.add(v, "float8") for v in tile.lonlat_bounds(buffer_fraction=buffer / extent))
    where = [predicate(selection or Current(), params, alias="t")]
    if filters and layer.id in filters:
        where.append(translate(filters[layer.id], layer=layer, params=params))
    cap_p = params.add(cap, "int4")
    blocks: list[str] = []
    for level in levels:
        test = size_filter(layer, tile, generalisation.for_level(layer, tile.z, level))
        blocks.append(template("level_count.sql").format(
            name=f"l{level}",
            above=f"l{level + 1}" if blocks else "(SELECT 0::bigint AS n)",
            table=layer.table,
            bbox_4490=bbox,
            where=" AND ".join([*where, *([test] if test else [])]),
            cap=cap_p,
        ))
    columns = ", ".join(f"(SELECT n FROM l{level}) AS l{level}" for level in levels)  # noqa: S608 - CTE names
    return TileSql(f"WITH {', '.join(blocks)} SELECT {columns}", params.values)


async def density(
    conn: asyncpg.Connection, plan: LayerPlan, tile: TileAddress, *, cap: int, use_key: bool = True, **kwargs: Any
) -> list[int] | None:
    """Features surviving each generalisation level, each count stopping at ``cap``; None when
    level 0 holds fewer than ``cap`` (so level 0 will do).

    By key when :func:`by_key` allows (and ``use_key``), else by probe: level 0 is counted on its own first (most
    tiles fit, and one capped count is cheaper to plan and run than the whole chain), and only a
    tile that does not fit pays for the levels above.
    """
    generalisation: Generalisation = kwargs["generalisation"]
    if use_key and by_key(plan.layer, tile, kwargs.get("selection"), kwargs.get("filters")):
        counts = await key_density(conn, plan, tile, cap=cap, generalisation=generalisation)
        return None if counts[0] < cap else counts
    first = density_sql(plan, tile, cap=cap, levels=(0,), **kwargs)
    level0 = await conn.fetchval(first.text, *first.params)
    if level0 < cap:
        return None
    rule = generalisation.for_level(plan.layer, tile.z, 0)
    if size_filter(plan.layer, tile, rule) is None:  # nothing is dropped by size: every level is as full
        return [cap] * (MAX_LEVEL + 1)
    rest = density_sql(plan, tile, cap=cap, levels=range(MAX_LEVEL, 0, -1), **kwargs)
    row = await conn.fetchrow(rest.text, *rest.params)
    assert row is not None
    return [int(level0), *(int(row[f"l{level}"]) for level in range(1, MAX_LEVEL + 1))]
