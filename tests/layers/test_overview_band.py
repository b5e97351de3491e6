"""The overview index holds only what an overview tile can draw (``tile_zoom <= OVERVIEW_MAX_ZOOM``):
every overview tile's size test can use it, finer tiles use ``cur_geom``, and migration
0015_overview_band narrows an existing index without touching the rows."""

from __future__ import annotations

import asyncio

import asyncpg
from alembic import command

from layers.bulk import insert_all
from layers.db import connect
from layers.migrate import alembic_config
from layers.overview import OVERVIEW_MAX_ZOOM
from layers.registry import Registry
from spatial.tms import WEB_MERCATOR_QUAD
from tests.layers.test_overview import _building, _stage_buildings, expected_zoom, seed_then_downgrade
from tiles.generalise import Generalisation
from tiles.mvt import TileAddress, size_filter

REVISION = "0015_overview_band"
BOX = "ST_MakeEnvelope(112.8, 28.1, 113.1, 28.3, 4490)"


async def _predicate(conn: asyncpg.Connection, index: str) -> str:
    return str(await conn.fetchval(
        "SELECT pg_get_expr(indpred, indrelid) FROM pg_index WHERE indexrelid = to_regclass($1)", index))


async def _plan(conn: asyncpg.Connection, where: str) -> str:
    """The plan of a size-tested box query on current buildings, with sequential scans priced out."""
    async with conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        rows = await conn.fetch(
            f"EXPLAIN SELECT fid FROM data.buildings t WHERE t.valid_to IS NULL AND {where} AND t.geom && {BOX}")
    return "\n".join(r[0] for r in rows)


async def test_the_overview_index_keeps_only_what_overview_tiles_draw(db: asyncpg.Connection) -> None:
    predicate = await _predicate(db, "data.buildings_cur_zoom_geom")
    assert "valid_to IS NULL" in predicate and f"tile_zoom <= ({OVERVIEW_MAX_ZOOM})::smallint" in predicate
    assert f"tile_zoom <= ({OVERVIEW_MAX_ZOOM})::smallint" in await _predicate(db, "data.grid_cells_cur_zoom_geom")


async def test_every_overview_tiles_size_test_can_use_it_and_finer_tiles_read_the_rest(
    db: asyncpg.Connection, registry: Registry, changeset: int
) -> None:
    buildings = registry.get("buildings")
    big, medium, small = _building(0.02, lon=112.85), _building(0.0001, lon=112.9), _building(0.00003)
    assert expected_zoom(big) <= OVERVIEW_MAX_ZOOM < expected_zoom(medium) == 13 < expected_zoom(small)
    staging = await _stage_buildings(db, buildings, [("big", big), ("medium", medium), ("small", small)])
    await insert_all(db, staging, changeset_id=changeset)  # type: ignore[arg-type]
    rule = Generalisation().for_level(buildings, 12, 0)
    overview = size_filter(buildings, TileAddress(WEB_MERCATOR_QUAD, 12, 3333, 1713), rule)
    finer = size_filter(buildings, TileAddress(WEB_MERCATOR_QUAD, 13, 6666, 3426), rule)
    assert overview is not None and finer is not None
    # The size test's literal bound lets the planner prove the partial index's predicate.
    assert "buildings_cur_zoom_geom" in await _plan(db, overview)
    # A finer tile's bound does not imply the predicate: the index cannot serve it (cur_geom does).
    assert "buildings_cur_zoom_geom" not in await _plan(db, finer)
    # Either way the answer is the size test's: the big building at z12, the medium one too at z13
    # (it is not in the overview index: cur_geom must find it).
    for where, expected in ((overview, {"big"}), (finer, {"big", "medium"})):
        got = {r["source_id"] for r in await db.fetch(
            f"SELECT source_id FROM data.buildings t WHERE t.valid_to IS NULL AND {where} AND t.geom && {BOX}")}
        assert got == expected


async def test_the_migration_narrows_an_existing_index_and_keeps_the_rows(fresh_db_url: str) -> None:
    await seed_then_downgrade(fresh_db_url, [("a", _building(0.02)), ("b", _building(0.0002))], REVISION)
    cfg = alembic_config(fresh_db_url)
    conn = await connect(fresh_db_url)
    try:
        assert "tile_zoom" not in await _predicate(conn, "data.buildings_cur_zoom_geom")
    finally:
        await conn.close()
    await asyncio.to_thread(command.upgrade, cfg, "head")
    conn = await connect(fresh_db_url)
    try:
        assert f"tile_zoom <= ({OVERVIEW_MAX_ZOOM})::smallint" in await _predicate(conn, "data.buildings_cur_zoom_geom")
        assert await conn.fetchval("SELECT count(*) FROM data.buildings WHERE valid_to IS NULL") == 2
    finally:
        await conn.close()
