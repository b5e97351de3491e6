"""``tile_zoom``: written by every write path, kept per version, indexed, and added to existing data
by the migration."""

from __future__ import annotations

import asyncio
import itertools
import math

import asyncpg
import shapely
from alembic import command
from shapely.geometry import LineString, MultiPolygon, box

from layers.bulk import copy_rows, create_staging, insert_all, upsert_by_key
from layers.db import connect
from layers.migrate import alembic_config
from layers.model import Layer
from layers.overview import KEY_ZOOM, tile_key_range
from layers.registry import Registry
from layers.versioning import FeatureIn, open_changeset, prepare, update_feature

REVISION = "0009_overviews"


def expected_zoom(geom: shapely.Geometry) -> int:
    """The first Web Mercator zoom at which the bounding box spans half a pixel (layers.overview)."""
    x0, y0, x1, y1 = geom.bounds
    size = max(x1 - x0, (y1 - y0) / math.cos(math.radians((y0 + y1) / 2)))
    return math.ceil(-1 - math.log2(size / (360 / 256)))


def _building(side_deg: float, lon: float = 112.97, lat: float = 28.2) -> MultiPolygon:
    return MultiPolygon([box(lon, lat, lon + side_deg, lat + side_deg / 2)])


async def _stage_buildings(conn: asyncpg.Connection, layer: Layer, rows: list[tuple[str, MultiPolygon]]) -> object:
    staging = await create_staging(conn, layer)
    records = []
    for i, (source_id, geom) in enumerate(rows):
        wkb, clean = prepare(layer, FeatureIn(geom, {"source_id": source_id, "use": "residential"}))
        records.append([i, wkb, None, *[clean.get(f.name) for f in layer.attributes.fields]])
    await copy_rows(conn, staging, records)
    return staging


async def _zooms(conn: asyncpg.Connection, layer: Layer) -> dict[tuple[str, int], int]:
    rows = await conn.fetch(f"SELECT source_id, version, tile_zoom FROM {layer.table}")
    return {(r["source_id"], r["version"]): r["tile_zoom"] for r in rows}


async def test_the_bulk_and_the_per_feature_paths_write_tile_zoom_per_version(
    db: asyncpg.Connection, registry: Registry, changeset: int
) -> None:
    buildings = registry.get("buildings")
    small, big, grown = _building(0.0002), _building(0.004, lon=112.9), _building(0.0016)
    staging = await _stage_buildings(db, buildings, [("a", small), ("b", big)])
    await insert_all(db, staging, changeset_id=changeset)  # type: ignore[arg-type]
    assert await _zooms(db, buildings) == {("a", 1): expected_zoom(small), ("b", 1): expected_zoom(big)}
    assert expected_zoom(big) < expected_zoom(small)

    # A re-delivery that grows "a": the new version has its own zoom, the closed one keeps the old.
    staging = await _stage_buildings(db, buildings, [("a", grown), ("b", big)])
    await upsert_by_key(db, staging, key=["source_id"], changeset_id=changeset)  # type: ignore[arg-type]
    zooms = await _zooms(db, buildings)
    assert zooms[("a", 1)] == expected_zoom(small) and zooms[("a", 2)] == expected_zoom(grown)
    assert ("b", 2) not in zooms  # unchanged: no new version

    # An edit through the per-feature path shrinks it again.
    fid = await db.fetchval("SELECT fid FROM data.buildings WHERE source_id = 'a' AND valid_to IS NULL")
    await update_feature(db, layer=buildings, fid=fid, patch={}, geometry=small, changeset_id=changeset)
    assert (await _zooms(db, buildings))[("a", 3)] == expected_zoom(small)


async def test_points_lines_and_degenerate_shapes_get_a_finite_zoom(db: asyncpg.Connection) -> None:
    got = await db.fetch(
        "SELECT onemap.tile_zoom(ST_GeomFromText(w, 4490)) AS z FROM unnest($1::text[]) WITH ORDINALITY u(w, i) "
        "ORDER BY i",
        ["POINT(112.9 28.2)", "LINESTRING(112.9 28.2, 113.0 28.2)", "LINESTRING(0 89.99, 0 90)"],
    )
    zooms = [r["z"] for r in got]
    assert zooms[0] > 30  # a point never passes an overview's size test
    assert zooms[1] == expected_zoom(LineString([(112.9, 28.2), (113.0, 28.2)]))
    assert zooms[2] is not None


async def test_line_and_polygon_layers_have_the_overview_index_and_point_layers_do_not(
    db: asyncpg.Connection,
) -> None:
    rows = await db.fetch(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relname LIKE '%\\_cur\\_zoom\\_geom'"
    )
    names = {r["relname"] for r in rows}
    assert {"buildings_cur_zoom_geom", "grid_cells_cur_zoom_geom", "pipeline_water_segments_cur_zoom_geom"} <= names
    assert "rail_stations_cur_zoom_geom" not in names and "pipeline_water_points_cur_zoom_geom" not in names


async def seed_then_downgrade(url: str, rows: list[tuple[str, MultiPolygon]], revision: str) -> Layer:
    """Insert ``rows`` into ``buildings`` of the fresh database at ``url``, then downgrade it to just
    before ``revision``; returns the buildings layer."""
    conn = await connect(url)
    try:
        buildings = (await Registry.load(conn)).get("buildings")
        changeset = await open_changeset(conn, actor="pytest", source="test")
        staging = await _stage_buildings(conn, buildings, rows)
        await insert_all(conn, staging, changeset_id=changeset)  # type: ignore[arg-type]
    finally:
        await conn.close()
    await asyncio.to_thread(command.downgrade, alembic_config(url), f"{revision}-1")
    return buildings


async def test_the_migration_gives_existing_versions_their_zoom(fresh_db_url: str) -> None:
    buildings = await seed_then_downgrade(fresh_db_url, [("a", _building(0.0002))], REVISION)
    cfg = alembic_config(fresh_db_url)
    conn = await connect(fresh_db_url)
    try:
        assert await conn.fetchval("SELECT to_regprocedure('onemap.tile_zoom(geometry)')") is None
        # Written while the column did not exist: the migration must compute it.
        staging = await _stage_buildings(conn, buildings, [("a", _building(0.001))])
        changeset = await open_changeset(conn, actor="pytest", source="test")
        await upsert_by_key(conn, staging, key=["source_id"], changeset_id=changeset)  # type: ignore[arg-type]
    finally:
        await conn.close()
    await asyncio.to_thread(command.upgrade, cfg, "head")
    conn = await connect(fresh_db_url)
    try:
        assert await _zooms(conn, buildings) == {("a", 1): expected_zoom(_building(0.0002)),
                                                 ("a", 2): expected_zoom(_building(0.001))}
        assert await conn.fetchval("SELECT to_regclass('data.buildings_cur_zoom_geom') IS NOT NULL")
    finally:
        await conn.close()


def _mercator_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The Web Mercator tile holding lon/lat, by the usual slippy-map formula."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


async def test_tile_key_falls_in_the_key_range_of_every_tile_holding_the_centre(db: asyncpg.Connection) -> None:
    shapes = [_building(0.0002, lon=112.9 + i * 0.0137, lat=28.1 + i * 0.0071) for i in range(20)]
    shapes.append(MultiPolygon([box(-179.9, -84.0, -179.8, -83.9)]))  # far corners of the Mercator square
    shapes.append(MultiPolygon([box(179.8, 84.9, 179.9, 85.0)]))
    keys = await db.fetch(
        "SELECT onemap.tile_key(ST_GeomFromWKB(w, 4490)) AS k FROM unnest($1::bytea[]) WITH ORDINALITY u(w, i) "
        "ORDER BY i", [shapely.to_wkb(s) for s in shapes],
    )
    for shape, row in zip(shapes, keys, strict=True):
        x0, y0, x1, y1 = shape.bounds
        for z in (0, 5, 12, 16, 20, KEY_ZOOM):
            lo, hi = tile_key_range(z, *_mercator_tile((x0 + x1) / 2, (y0 + y1) / 2, z))
            assert lo <= row["k"] < hi, (shape.bounds, z)
    # Neighbouring tiles' ranges are disjoint and together cover their parent's.
    parent = tile_key_range(12, 3330, 1712)
    children = sorted(tile_key_range(13, 6660 + dx, 3424 + dy) for dx in (0, 1) for dy in (0, 1))
    assert children[0][0] == parent[0] and children[-1][1] == parent[1]
    assert all(a[1] == b[0] for a, b in itertools.pairwise(children))


async def test_the_tile_key_migration_gives_existing_versions_their_key(fresh_db_url: str) -> None:
    cfg = alembic_config(fresh_db_url)
    await asyncio.to_thread(command.downgrade, cfg, "0012_feed")
    conn = await connect(fresh_db_url)
    try:
        assert await conn.fetchval("SELECT to_regprocedure('onemap.tile_key(geometry)')") is None
        buildings = (await Registry.load(conn)).get("buildings")
        changeset = await open_changeset(conn, actor="pytest", source="test")
        staging = await _stage_buildings(conn, buildings, [("a", _building(0.001))])
        await insert_all(conn, staging, changeset_id=changeset)  # type: ignore[arg-type]
    finally:
        await conn.close()
    await asyncio.to_thread(command.upgrade, cfg, "head")
    conn = await connect(fresh_db_url)
    try:
        key = await conn.fetchval("SELECT tile_key FROM data.buildings WHERE source_id = 'a'")
        lo, hi = tile_key_range(16, *_mercator_tile(112.97 + 0.0005, 28.2 + 0.00025, 16))
        assert key is not None and lo <= key < hi
        assert await conn.fetchval("SELECT to_regclass('data.buildings_cur_zoom_key') IS NOT NULL")
        assert await conn.fetchval("SELECT to_regclass('data.rail_stations_cur_zoom_key') IS NULL")  # points
    finally:
        await conn.close()
