"""The graph cache: reused while nothing changed, rebuilt after an edit in any connection."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg
import shapely
from shapely.geometry import LineString

from analysis.network.cache import NETWORKS, NetworkCache
from analysis.network.categories import resolve_category
from layers.bulk import copy_rows, create_staging, insert_all
from layers.db import connect
from layers.registry import Registry
from layers.versioning import open_changeset
from tests.analysis import networks
from tests.analysis.networks import Built

WATER = resolve_category("water")


async def test_cached_until_an_edit_then_exact(pool: asyncpg.Pool, water: Built, module_db_url: str) -> None:
    cache = NetworkCache()
    first = await cache.get(pool, WATER, None)
    assert await cache.get(pool, WATER, None) is first and cache.builds == 1
    conn = await connect(module_db_url)  # another connection, as another worker or instance would write
    try:
        await networks.write(conn, "water", points={"N1": (700, 0, {})}, segments={"n": ("J3", "N1", {})},
                             at_xy={"J3": (600, 0)})
        after_add = await cache.get(pool, WATER, None)
        assert after_add is not first and "n" in after_add.seg_by_no and cache.builds == 2
        await networks.retire(conn, "pipeline_water_segments", int(after_add.seg_fid[after_add.seg_by_no["n"]]))
        after_retire = await cache.get(pool, WATER, None)
        assert "n" not in after_retire.seg_by_no and cache.builds == 3
    finally:
        await conn.close()


async def test_a_past_graph_follows_a_valid_time_edit(pool: asyncpg.Pool, water: Built, module_db_url: str) -> None:
    cache = NetworkCache()
    past = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
    before = await cache.get(pool, WATER, past)
    assert "late" not in before.seg_by_no
    conn = await connect(module_db_url)
    try:  # recorded today, valid since 2020: it changes what was true in 2021
        await networks.write(conn, "water", points={"L1": (0, -500, {})}, segments={"late": ("S", "L1", {})},
                             at_xy={"S": (0, 0)}, valid_from=dt.datetime(2020, 6, 1, tzinfo=dt.UTC))
    finally:
        await conn.close()
    assert "late" in (await cache.get(pool, WATER, past)).seg_by_no


async def test_a_writer_in_flight_during_the_build_is_seen_when_it_commits(
    pool: asyncpg.Pool, water: Built, module_db_url: str,
) -> None:
    """Change ids are drawn at insert, not commit: a slow writer's ids can sit below the stamp."""
    cache = NetworkCache()
    slow = await connect(module_db_url)
    quick = await connect(module_db_url)
    try:
        tx = slow.transaction()
        await tx.start()
        await networks.write(slow, "water", points={"Q1": (0, 600, {})}, segments={"slow": ("K1", "Q1", {})},
                             at_xy={"K1": (0, 300)})
        await networks.write(quick, "water", points={"Q2": (100, 600, {})}, segments={"quick": ("K2", "Q2", {})},
                             at_xy={"K2": (100, 300)})
        built = await cache.get(pool, WATER, None)  # sees quick (higher id), not slow (lower id, uncommitted)
        assert "quick" in built.seg_by_no and "slow" not in built.seg_by_no
        assert await cache.get(pool, WATER, None) is built  # slow still running: nothing to see yet
        await tx.commit()
        assert "slow" in (await cache.get(pool, WATER, None)).seg_by_no
    finally:
        await slow.close()
        await quick.close()


async def test_concurrent_first_calls_build_once(pool: asyncpg.Pool, water: Built) -> None:
    cache = NetworkCache()
    graphs = await asyncio.gather(*(cache.get(pool, WATER, None) for _ in range(4)))
    assert cache.builds == 1 and all(g is graphs[0] for g in graphs)


def test_the_process_cache_is_bounded() -> None:
    assert NETWORKS.max_graphs >= 2


async def test_a_bulk_import_is_seen_like_an_edit(pool: asyncpg.Pool, water: Built, module_db_url: str) -> None:
    # A bulk merge audits one onemap.bulk_changes row per layer, not a row per feature: the stamp
    # must read both tables, or a graph cached before an import would outlive it.
    cache = NetworkCache()
    first = await cache.get(pool, WATER, None)
    conn = await connect(module_db_url)
    try:
        layer = (await Registry.load(conn)).get("pipeline_water_segments")
        staging = await create_staging(conn, layer)
        props = {"segment_no": "bulk1", "category": "JS", "subcategory": "JP", "start_point": "J3",
                 "end_point": "B1", "start_depth_m": 1.2, "end_depth_m": 1.2, "material": "PE",
                 "diameter_mm": 200, "status": "0"}
        line = LineString([networks.lonlat(600, 0), networks.lonlat(650, 50)])
        row = {"row_no": 1, "geom_wkb": shapely.to_wkb(line), "valid_from": None, **props}
        await copy_rows(conn, staging, [tuple(row.get(c) for c in staging.columns)])
        cs = await open_changeset(conn, actor="pytest", source="test")
        await insert_all(conn, staging, changeset_id=cs)
        assert await conn.fetchval("SELECT count(*) FROM onemap.bulk_changes WHERE changeset_id = $1", cs) == 1
    finally:
        await conn.close()
    after = await cache.get(pool, WATER, None)
    assert after is not first and "bulk1" in after.seg_by_no
