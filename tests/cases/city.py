"""A tiny real city for the case tests: a 3 × 2 block of unit grid cells in 岳麓区 and a few
components, written through the bulk write path.

Cells are 0.001° squares (EPSG:4490) with corners on round numbers, so a point can sit exactly
on a shared edge: cell 01 spans lon 112.950–112.951, cell 02 112.951–112.952, cell 03
112.952–112.953 (north row, lat 28.201–28.202); cells 04–06 the row south of it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import shapely
from shapely.geometry import MultiPolygon, Point, box

from layers.bulk import copy_rows, create_staging, insert_all
from layers.registry import Registry
from layers.versioning import open_changeset

SINCE = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
WEST, NORTH, STEP = 112.950, 28.202, 0.001
DISTRICT = "430104"
WATER_COVER = "4301040101000001"
WATER_COVER_AT = (112.95050, 28.20150)  # in cell 01
BIN = "4301040302000001"
BIN_AT = (112.95250, 28.20050)  # in cell 06
GAS_COVER = "4301040111000001"
GAS_COVER_AT = (112.95150, 28.20150)  # in cell 02


def cell_code(n: int) -> str:
    """The grid code of cell ``n`` (1–6): 岳麓区, street 001, community 001."""
    return f"{DISTRICT}001001{n:02d}"


def cells() -> list[tuple[str, MultiPolygon]]:
    """(code, EPSG:4490 square) of the six cells, north row first, west to east."""
    out = []
    for n in range(6):
        row, col = divmod(n, 3)
        x0, y1 = WEST + col * STEP, NORTH - row * STEP
        out.append((cell_code(n + 1), MultiPolygon([box(x0, y1 - STEP, x0 + STEP, y1)])))
    return out


async def _bulk(conn: asyncpg.Connection, layer_id: str, rows: list[tuple[Any, ...]]) -> None:
    layer = (await Registry.load(conn)).get(layer_id)
    cs = await open_changeset(conn, actor="pytest-city", source="test")
    staging = await create_staging(conn, layer)
    await copy_rows(conn, staging, rows)
    await insert_all(conn, staging, changeset_id=cs)


async def seed_city(conn: asyncpg.Connection) -> None:
    """Write the six cells and three components (a water cover, a gas cover, a litter bin)."""
    grid = [(i, shapely.to_wkb(geom), SINCE, code, DISTRICT, "001", "001", 10_000.0)
            for i, (code, geom) in enumerate(cells())]
    await _bulk(conn, "grid_cells", grid)
    comps = [
        (WATER_COVER, "上水井盖", "01", "0101", WATER_COVER_AT, "长沙水业集团有限公司"),
        (GAS_COVER, "燃气井盖", "01", "0111", GAS_COVER_AT, "长沙新奥燃气有限公司"),
        (BIN, "垃圾箱", "03", "0302", BIN_AT, "长沙市城市管理和综合执法局"),
    ]
    rows = [(i, shapely.to_wkb(Point(*at)), SINCE, code, name, major, minor, None, owner, None, "1", None, "B")
            for i, (code, name, major, minor, at, owner) in enumerate(comps)]
    await _bulk(conn, "city_components", rows)
