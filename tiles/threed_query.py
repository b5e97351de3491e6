"""SQL of the 3D tiles: which cells of a layer hold features, and the rows of one cell.

Statements live in ``sql/threed_*.sql``; identifiers are registry-vouched (quoted), every value a
bound parameter, and the temporal predicate is :func:`layers.temporal.predicate`'s, so a tileset
as of a date reads exactly the versions the Features API would.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import asyncpg

from layers.model import Layer
from layers.registry import Registry
from layers.sql import Params, quote_ident
from layers.temporal import Selection, predicate
from spatial.tms import CGCS2000_QUAD, tile_bounds_lonlat
from tiles.threed_kinds import Kind, points_layer_id

# How far from a segment's end a point's 地面高程 may be borrowed when its own point is missing (≈ 50 m).
NEAREST_GROUND_DEG = 0.0005


@cache
def _template(name: str) -> str:
    return resources.files("tiles").joinpath("sql", name).read_text(encoding="utf-8")


def cell_size_deg(z: int) -> float:
    """Width (and height) of a CGCS2000Quad cell at level ``z``, in degrees."""
    west, _, east, _ = tile_bounds_lonlat(CGCS2000_QUAD, z, 0, 0)
    return east - west


@dataclass(frozen=True, slots=True)
class Cell:
    """A non-empty content cell: address, feature count, features' extent and height range (m)."""

    x: int
    y: int
    count: int
    box: tuple[float, float, float, float]
    low: float
    high: float


def _where(selection: Selection, params: Params, kind: Kind, coarse: bool) -> str:
    where = predicate(selection, params, alias="t")
    return f"{where} AND {kind.lod_sql}" if coarse and kind.lod_sql else where


async def cells(conn: asyncpg.Connection, layer: Layer, kind: Kind, z: int, selection: Selection, *,
                coarse: bool = False) -> list[Cell]:
    """Every cell of level ``z`` holding at least one of ``layer``'s features as ``selection`` reads them
    (only the features the kind's coarse tiles keep when ``coarse``)."""
    params = Params()
    params.add(cell_size_deg(z), "float8")
    text = _template("threed_cells.sql").format(
        table=layer.table, where=_where(selection, params, kind, coarse), low=kind.low_sql, high=kind.high_sql
    )
    rows = await conn.fetch(text, *params.values)
    return [
        Cell(r["x"], r["y"], r["n"], (r["west"], r["south"], r["east"], r["north"]),
             float(r["low"] if r["low"] is not None else -10.0), float(r["high"]))
        for r in rows
    ]


async def cell_rows(
    conn: asyncpg.Connection,
    registry: Registry,
    layer: Layer,
    kind: Kind,
    z: int,
    x: int,
    y: int,
    selection: Selection,
    *,
    coarse: bool = False,
) -> list[dict[str, Any]]:
    """The rows of cell ``z/x/y`` (fid, wkb, the kind's columns, and ground elevations of segment ends);
    only the features the kind's coarse tiles keep when ``coarse``."""
    params = Params()
    west, south, east, north = tile_bounds_lonlat(CGCS2000_QUAD, z, x, y)
    for value in (west, south, east, north, cell_size_deg(z)):
        params.add(value, "float8")
    params.add(float(x))
    params.add(float(y))
    where = _where(selection, params, kind, coarse)
    names = [c for c in kind.columns if c in layer.attributes.names]
    columns = "".join(f", t.{quote_ident(c)}" for c in names)
    joins, ground = "", ""
    points = registry.find(points_layer_id(layer.id)) if kind.name == "segments" else None
    if points is not None:
        joins = _template("threed_ground.sql").format(points=points.table,
                                                      point_where=predicate(selection, params, alias="p"),
                                                      reach=params.add(NEAREST_GROUND_DEG, "float8"))
        ground = (", gs.ground_elev_m AS ground_start, ge.ground_elev_m AS ground_end,"
                  " gs_near.ground_elev_m AS ground_start_near, ge_near.ground_elev_m AS ground_end_near")
    text = _template("threed_content.sql").format(
        columns=columns, ground=ground, table=layer.table, joins=joins, where=where
    )
    return [dict(r) for r in await conn.fetch(text, *params.values)]
