"""Migration 0017_cheaper_tile_functions: ``onemap.tile_zoom`` and ``onemap.tile_key`` give exactly what
the definitions they replace gave (0009_overviews, 0013_tile_keys), and a downgrade puts those back."""

from __future__ import annotations

import asyncio
import importlib

import asyncpg
import numpy as np
import shapely
from alembic import command

from layers.db import connect
from layers.migrate import alembic_config
from layers.overview import FUNCTION_SQL, KEY_FUNCTION_SQL

MIGRATION = importlib.import_module("layers.migrations.versions.0017_cheaper_tile_functions")
REVISION = "0017_cheaper_tile_functions"


def _shapes() -> list[bytes]:
    """Boxes of every size all over the globe, plus the shapes where the guards and clamps matter."""
    rng = np.random.default_rng(17)
    n = 4000
    x0 = rng.uniform(-180, 180, n)
    y0 = rng.uniform(-90, 90, n)
    side = 10.0 ** rng.uniform(-9, 1.5, n)
    boxes = shapely.box(x0, y0, np.minimum(x0 + side, 180), np.minimum(y0 + side * rng.uniform(0, 2, n), 90))
    odd = shapely.from_wkt([
        "POINT(112.9 28.2)", "POINT(-180 -90)", "POINT(180 90)", "MULTIPOINT((0 0),(1e-9 1e-9))",
        "LINESTRING(112.9 28.2, 113.0 28.2)", "LINESTRING(0 89.99, 0 90)", "LINESTRING(-180 0, 180 0)",
        "POLYGON((179.99999 85.06, 180 85.06, 180 85.07, 179.99999 85.06))",
        "POLYGON((-180 -85.06, -179.9 -85.06, -179.9 -85.0, -180 -85.06))",
        "MULTIPOLYGON(((112.9 28.1,112.91 28.1,112.91 28.11,112.9 28.1)),"
        "((113.2 28.3,113.3 28.3,113.3 28.4,113.2 28.3)))",
        "POLYGON EMPTY",
    ])
    return [shapely.to_wkb(g) for g in [*boxes, *odd]]


async def _old_in_temp(conn: asyncpg.Connection) -> None:
    """The replaced definitions as pg_temp functions, next to the live ones."""
    for sql in (MIGRATION.OLD_ZOOM_FUNCTION, MIGRATION.OLD_KEY_FUNCTION):
        await conn.execute(sql.replace("onemap.", "pg_temp."))


async def test_the_new_functions_give_what_the_old_ones_gave(db: asyncpg.Connection) -> None:
    await _old_in_temp(db)
    rows = await db.fetch(
        "SELECT onemap.tile_zoom(g) AS z, pg_temp.tile_zoom(g) AS old_z, onemap.tile_key(g) AS k, "
        "pg_temp.tile_key(g) AS old_k FROM (SELECT ST_GeomFromWKB(w, 4490) AS g FROM unnest($1::bytea[]) w) s",
        _shapes(),
    )
    assert len(rows) == 4011
    assert [(r["z"], r["k"]) for r in rows] == [(r["old_z"], r["old_k"]) for r in rows]
    assert len({r["z"] for r in rows}) > 20 and len({r["k"] for r in rows}) > 3900  # the inputs are varied


async def test_the_module_holds_what_the_migration_installed(db: asyncpg.Connection) -> None:
    # layers.overview's text is what 0011_cases and new code read: the same functions as head's.
    installed = [await db.fetchval("SELECT prosrc FROM pg_proc WHERE oid = to_regprocedure($1)",
                                   f"onemap.{name}(geometry)") for name in ("tile_zoom", "tile_key")]
    assert installed == [FUNCTION_SQL.split("$$")[1], KEY_FUNCTION_SQL.split("$$")[1]]
    assert MIGRATION.KEY_FUNCTION == KEY_FUNCTION_SQL and MIGRATION.ZOOM_FUNCTION == FUNCTION_SQL


async def test_the_downgrade_puts_the_old_definitions_back(fresh_db_url: str) -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(fresh_db_url), f"{REVISION}-1")
    conn = await connect(fresh_db_url)
    try:
        languages = await conn.fetch(
            "SELECT p.proname, l.lanname, p.prosrc FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang "
            "WHERE p.pronamespace = 'onemap'::regnamespace AND p.proname IN ('tile_zoom', 'tile_key') ORDER BY 1")
        assert [(r["proname"], r["lanname"]) for r in languages] == [("tile_key", "plpgsql"), ("tile_zoom", "sql")]
        assert all("box3d" not in r["prosrc"] for r in languages)
    finally:
        await conn.close()
    await asyncio.to_thread(command.upgrade, alembic_config(fresh_db_url), "head")
    conn = await connect(fresh_db_url)
    try:
        assert await conn.fetchval("SELECT prosrc FROM pg_proc WHERE oid = to_regprocedure('onemap.tile_key(geometry)')"
                                   ) == KEY_FUNCTION_SQL.split("$$")[1]
    finally:
        await conn.close()
