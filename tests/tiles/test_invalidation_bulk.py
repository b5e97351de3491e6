"""The disk tier catches up with bulk merges too: they keep one audit row per changeset, not per feature."""

from __future__ import annotations

from pathlib import Path

import shapely
from shapely.affinity import translate

from layers.bulk import copy_rows, create_staging, upsert_by_key
from layers.db import connect, create_pool
from layers.registry import Registry
from layers.settings import DatabaseSettings
from layers.versioning import FeatureIn, open_changeset, prepare
from tests.cityfixtures import City
from tests.tiles.test_invalidation import _tile_of
from tiles.service import TileService
from tiles.settings import TileSettings


async def test_disk_tiles_of_a_delivery_merged_while_no_server_listened_are_dropped(
    city: City, tmp_path: Path
) -> None:
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

        conn = await connect(city.url)
        row = await conn.fetchrow(
            "SELECT fid, source_id, use, height_m, ST_AsBinary(geom) AS wkb FROM data.buildings "
            "WHERE valid_to IS NULL ORDER BY fid LIMIT 1"
        )
        geom = shapely.from_wkb(bytes(row["wkb"]))
        moved = translate(geom, xoff=0.01)  # about 1 km east
        old_tile = _tile_of(geom.centroid.x, geom.centroid.y, 17)
        new_tile = _tile_of(moved.centroid.x, moved.centroid.y, 17)
        far = _tile_of(geom.centroid.x, geom.centroid.y + 0.03, 17)
        svc = await serve()
        for tile in (old_tile, new_tile, far):
            await svc.vector_tile([buildings], tile)
            assert (await svc.vector_tile([buildings], tile)).source == "disk"
        await svc.stop()

        async with conn.transaction():  # an import run from the command line: nobody listens
            cs = await open_changeset(conn, actor="pytest", source="test")
            staging = await create_staging(conn, buildings)
            wkb, props = prepare(
                buildings,
                FeatureIn(moved, {"source_id": row["source_id"], "use": row["use"], "height_m": row["height_m"]}),
            )
            await copy_rows(conn, staging, [[0, wkb, None, *[props.get(f.name) for f in buildings.attributes.fields]]])
            assert (await upsert_by_key(conn, staging, key=["source_id"], changeset_id=cs)).new_versions == 1
        assert await conn.fetchval("SELECT count(*) FROM onemap.changes WHERE changeset_id = $1", cs) == 0
        await conn.close()

        svc = await serve()  # start-up reconciles the disk tier against both audit tables
        try:
            assert (await svc.vector_tile([buildings], old_tile)).source == "database"
            assert (await svc.vector_tile([buildings], new_tile)).source == "database"
            assert (await svc.vector_tile([buildings], far)).source == "disk"
        finally:
            await svc.stop()
    finally:
        await pool.close()
