"""No stale tile after an edit: NOTIFY from the versioned write path drops exactly the touched tiles."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import mapbox_vector_tile
import orjson
import pytest
import shapely
from shapely.affinity import translate

from layers.bulk import copy_rows, create_staging, upsert_by_key
from layers.db import connect, create_pool
from layers.registry import Registry
from layers.settings import DatabaseSettings
from layers.versioning import FeatureIn, open_changeset, prepare, update_feature
from spatial.tms import WEB_MERCATOR_QUAD, tile_range
from tests.cityfixtures import City
from tiles.cache import MemoryTileCache, TileKey
from tiles.invalidation import TileInvalidator, parse_edit
from tiles.mvt import TileAddress
from tiles.service import TileService
from tiles.settings import TileSettings


async def _wait_for(service: TileService, count: int) -> None:
    for _ in range(200):
        if service.notifications >= count:
            await service.settled()
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the edit notification never arrived")


def _tile_of(lon: float, lat: float, z: int) -> TileAddress:
    rng = tile_range(WEB_MERCATOR_QUAD, (lon, lat, lon, lat), z)
    assert rng is not None
    return TileAddress(WEB_MERCATOR_QUAD, z, rng.x0, rng.y0)


def _ids(data: bytes, layer: str) -> dict[int, dict]:
    if not data:
        return {}
    return {f["id"]: f["properties"] for f in mapbox_vector_tile.decode(data).get(layer, {}).get("features", [])}


async def _building(conn: asyncpg.Connection) -> asyncpg.Record:
    return await conn.fetchrow(
        "SELECT fid, ST_X(ST_Centroid(geom)) AS lon, ST_Y(ST_Centroid(geom)) AS lat FROM data.buildings "
        "WHERE valid_to IS NULL ORDER BY fid DESC LIMIT 1"
    )


async def test_an_edit_drops_its_tiles_and_only_those(service: TileService, city: City) -> None:
    buildings = service.registry.get("buildings")
    conn = await connect(city.url)
    try:
        row = await _building(conn)
        here = _tile_of(row["lon"], row["lat"], 16)
        far = _tile_of(row["lon"] - 0.02, row["lat"], 16)
        first = await service.vector_tile([buildings], here)
        assert first.source == "database" and row["fid"] in _ids(first.data, "buildings")
        await service.vector_tile([buildings], far)
        assert (await service.vector_tile([buildings], here)).source == "memory"

        seen = service.notifications
        cs = await open_changeset(conn, actor="pytest", source="test")
        await update_feature(
            conn,
            layer=buildings,
            fid=row["fid"],
            patch={"use": "office", "name": "新名字"},
            geometry=None,
            changeset_id=cs,
        )
        await _wait_for(service, seen + 1)

        after = await service.vector_tile([buildings], here)
        assert after.source != "memory"
        assert _ids(after.data, "buildings")[row["fid"]]["use"] == "office"
        assert (await service.vector_tile([buildings], far)).source == "memory"
    finally:
        await conn.close()


async def test_a_bulk_merge_that_moves_a_feature_drops_old_and_new_tiles(service: TileService, city: City) -> None:
    buildings = service.registry.get("buildings")
    conn = await connect(city.url)
    try:
        row = await conn.fetchrow(
            "SELECT fid, source_id, ST_AsBinary(geom) AS wkb, use, height_m FROM data.buildings "
            "WHERE valid_to IS NULL ORDER BY fid LIMIT 1"
        )
        geom = shapely.from_wkb(bytes(row["wkb"]))
        moved = translate(geom, xoff=0.01)  # about 1 km east: a different z16 tile
        old_tile = _tile_of(geom.centroid.x, geom.centroid.y, 16)
        new_tile = _tile_of(moved.centroid.x, moved.centroid.y, 16)
        assert old_tile != new_tile
        assert row["fid"] in _ids((await service.vector_tile([buildings], old_tile)).data, "buildings")
        assert row["fid"] not in _ids((await service.vector_tile([buildings], new_tile)).data, "buildings")

        seen = service.notifications
        async with conn.transaction():
            cs = await open_changeset(conn, actor="pytest", source="test")
            staging = await create_staging(conn, buildings)
            wkb, props = prepare(
                buildings,
                FeatureIn(moved, {"source_id": row["source_id"], "use": row["use"], "height_m": row["height_m"]}),
            )
            await copy_rows(conn, staging, [[0, wkb, None, *[props.get(f.name) for f in buildings.attributes.fields]]])
            counts = await upsert_by_key(conn, staging, key=["source_id"], changeset_id=cs)
        assert counts.new_versions == 1
        await _wait_for(service, seen + 1)

        assert row["fid"] not in _ids((await service.vector_tile([buildings], old_tile)).data, "buildings")
        assert row["fid"] in _ids((await service.vector_tile([buildings], new_tile)).data, "buildings")
    finally:
        await conn.close()


async def test_disk_tiles_of_edits_made_while_no_server_listened_are_dropped(city: City, tmp_path: Path) -> None:
    settings = TileSettings(cache_dir=tmp_path / "tiles", memory_cache_bytes=0)
    pool = await create_pool(city.url, DatabaseSettings(pool_min_size=1, pool_max_size=2))
    try:
        async with pool.acquire() as c:
            registry = await Registry.load(c)
        buildings = registry.get("buildings")

        async def serve() -> TileService:
            svc = TileService(pool=pool, registry=lambda: registry, settings=settings, var_dir=tmp_path)
            await svc.start(city.url)
            return svc

        svc = await serve()
        conn = await connect(city.url)
        row = await _building(conn)
        here = _tile_of(row["lon"], row["lat"], 17)
        far = _tile_of(row["lon"] + 0.02, row["lat"], 17)
        await svc.vector_tile([buildings], here)
        await svc.vector_tile([buildings], far)
        assert (await svc.vector_tile([buildings], here)).source == "disk"
        await svc.stop()

        cs = await open_changeset(conn, actor="pytest", source="test")
        await update_feature(
            conn, layer=buildings, fid=row["fid"], patch={"name": "离线修改"}, geometry=None, changeset_id=cs
        )
        await conn.close()

        svc = await serve()  # start-up reconciles the disk tier against onemap.changes
        try:
            fresh = await svc.vector_tile([buildings], here)
            assert fresh.source == "database"
            assert (await svc.vector_tile([buildings], far)).source == "disk"
        finally:
            await svc.stop()
    finally:
        await pool.close()


def test_edit_notifications_are_parsed_or_refused() -> None:
    payload = orjson.dumps({"layer": "buildings", "bboxes": [[112.9, 28.2, 112.91, 28.21]]}).decode()
    assert parse_edit(payload) == ("buildings", [(112.9, 28.2, 112.91, 28.21)])
    assert parse_edit('{"layer": "roads"}') == ("roads", [])
    for bad in ("not json", '{"bboxes": []}', '{"layer": "x", "bboxes": [["a", 1, 2, 3]]}'):
        with pytest.raises(ValueError, match="unreadable edit notification"):
            parse_edit(bad)


def test_invalidating_a_layer_drops_its_tiles_and_tells_derived_caches() -> None:
    memory = MemoryTileCache(1 << 20)
    heard: list[str] = []
    invalidator = TileInvalidator(
        pool=None, registry=lambda: None, memory=memory, disk=None, on_layer_changed=heard.append  # type: ignore[arg-type]
    )
    here = _tile_of(112.95, 28.2, 16)
    key = TileKey(("buildings",), here.tms, here.z, here.x, here.y)
    other = TileKey(("roads",), here.tms, here.z, here.x, here.y)
    for k in (key, other):
        assert memory.put(k, b"tile", memory.token(k.layers))
    assert invalidator.invalidate("buildings", [(112.95, 28.2, 112.95, 28.2)]) == 1
    assert heard == ["buildings"] and memory.get(key) is None and memory.get(other) == b"tile"
    assert not invalidator.disk_usable(["buildings"])  # no disk tier at all


async def test_while_edits_are_unheard_no_tile_is_cached_and_caching_resumes_after(
    service: TileService, city: City
) -> None:
    buildings = service.registry.get("buildings")
    conn = await connect(city.url)
    try:
        row = await _building(conn)
        tile = _tile_of(row["lon"], row["lat"], 16)
        await service.vector_tile([buildings], tile)
        assert (await service.vector_tile([buildings], tile)).source == "memory"
        listener = service.invalidation._listener
        assert listener is not None and listener._conn is not None
        await conn.fetchval("SELECT pg_terminate_backend($1)", listener._conn.get_server_pid())
        for _ in range(100):
            if not service.invalidation.listening:
                break
            await asyncio.sleep(0.01)
        # Until LISTEN is back an edit would evict nothing, so nothing is kept (disk tier included).
        if not service.invalidation.listening:
            assert (await service.vector_tile([buildings], tile)).source == "database"
        for _ in range(300):
            if service.invalidation.listening and not service.memory.paused:
                break
            await asyncio.sleep(0.02)
        assert listener.reconnects == 1 and not service.memory.paused
        # Caught up: an edit made now is heard and evicts the tile again.
        await service.vector_tile([buildings], tile)
        assert (await service.vector_tile([buildings], tile)).source == "memory"
        seen = service.notifications
        cs = await open_changeset(conn, actor="pytest", source="test")
        await update_feature(
            conn, layer=buildings, fid=row["fid"], patch={"name": "重连后修改"}, geometry=None, changeset_id=cs
        )
        await _wait_for(service, seen + 1)
        assert (await service.vector_tile([buildings], tile)).source == "database"
    finally:
        await conn.close()
