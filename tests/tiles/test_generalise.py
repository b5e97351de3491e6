"""Overview tiles: the size filter served by the (tile_zoom, geom) index keeps exactly the features
at least half a pixel big in the whole tile, now and as of a past instant, and follows edits."""

from __future__ import annotations

import asyncio
import datetime as dt
import math

import asyncpg
import mapbox_vector_tile
import pytest
import shapely
from shapely.affinity import scale

from layers.db import connect
from layers.model import Layer
from layers.sql import Params
from layers.temporal import AsOf, Current, Selection, predicate
from layers.versioning import open_changeset, update_feature
from spatial.tms import CGCS2000_QUAD, TMS_IDS, WEB_MERCATOR_QUAD, WORLD_CRS84_QUAD, tile_range
from tests.citydata import AREA_4490, BUILT_EARLY, BUILT_LATE
from tests.cityfixtures import City
from tiles.generalise import Generalisation, overview_zoom
from tiles.mvt import TileAddress
from tiles.query import TileQuery
from tiles.service import TileService

BUFFER_FRACTION = 64 / 4096
# The Mercator-plane size of a version's bounding box, in degrees of longitude, written out
# independently of layers.overview so the tests check the index against the definition.
SIZE = ("greatest(ST_XMax(t.geom) - ST_XMin(t.geom), "
        "(ST_YMax(t.geom) - ST_YMin(t.geom)) / cos(radians((ST_YMin(t.geom) + ST_YMax(t.geom)) / 2)))")


def _buildings(service: TileService) -> Layer:
    """The buildings layer, drawn from zoom 0 here (the registry starts it at 12) to test overviews."""
    return service.registry.get("buildings").model_copy(update={"min_zoom": 0})


def _fids(data: bytes, layer: str) -> set[int]:
    if not data:
        return set()
    return {f["id"] for f in mapbox_vector_tile.decode(data).get(layer, {}).get("features", [])}


async def _expected(conn: asyncpg.Connection, layer: Layer, tile: TileAddress, selection: Selection) -> set[int]:
    """Features at least half a pixel big (Mercator plane) meeting the tile's buffered box, by plain SQL."""
    params = Params()
    box = ", ".join(params.add(v, "float8") for v in tile.lonlat_bounds(buffer_fraction=BUFFER_FRACTION))
    threshold = params.add(0.5 * 360 / 256 / 2**tile.z, "float8")
    rows = await conn.fetch(
        f"SELECT t.fid FROM {layer.table} t WHERE {predicate(selection, params, alias='t')} "
        f"AND t.geom && ST_MakeEnvelope({box}, 4490) AND {SIZE} >= {threshold}",
        *params.values,
    )
    return {r["fid"] for r in rows}


async def _collapsed(conn: asyncpg.Connection, layer: Layer, tile: TileAddress, fids: set[int]) -> set[int]:
    """Which of ``fids`` ST_AsMVTGeom reduces to nothing in ``tile`` (a sliver below one tile unit)."""
    rows = await conn.fetch(
        f"SELECT DISTINCT fid FROM {layer.table} WHERE fid = ANY($1::bigint[]) AND "
        "ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope($2, $3, $4), 4096, 64, true) IS NULL",
        list(fids), tile.z, tile.x, tile.y,
    )
    return {r["fid"] for r in rows}


async def _check_tiles(
    service: TileService, conn: asyncpg.Connection, layer: Layer, z: int, selection: Selection
) -> tuple[int, int]:
    """Every tile of the fixture area at ``z`` holds exactly the features big enough; returns (kept, dropped)."""
    rng = tile_range(WEB_MERCATOR_QUAD, AREA_4490, z)
    assert rng is not None
    kept = dropped = 0
    for x, y in rng.tiles():
        tile = TileAddress(WEB_MERCATOR_QUAD, z, x, y)
        result = await service.vector_tile([layer], tile, TileQuery(selection=selection), use_cache=False)
        assert result.levels.get(layer.id, 0) == 0, "the fixture never fills a tile"
        got = _fids(result.data, layer.id)
        expected = await _expected(conn, layer, tile, selection)
        everything = await _expected_all(conn, layer, tile, selection)
        assert got <= expected, (z, sorted(got - expected)[:5])
        missing = expected - got
        assert missing == await _collapsed(conn, layer, tile, missing), (z, sorted(missing)[:5])
        kept += len(got)
        dropped += len(everything - expected)
    return kept, dropped


async def _expected_all(conn: asyncpg.Connection, layer: Layer, tile: TileAddress, selection: Selection) -> set[int]:
    params = Params()
    box = ", ".join(params.add(v, "float8") for v in tile.lonlat_bounds(buffer_fraction=BUFFER_FRACTION))
    rows = await conn.fetch(
        f"SELECT t.fid FROM {layer.table} t WHERE {predicate(selection, params, alias='t')} "
        f"AND t.geom && ST_MakeEnvelope({box}, 4490)",
        *params.values,
    )
    return {r["fid"] for r in rows}


@pytest.mark.parametrize(("tms_id", "z", "expected"), [
    (WEB_MERCATOR_QUAD, 10, 10), (WEB_MERCATOR_QUAD, 0, 0), (WORLD_CRS84_QUAD, 10, 11), (CGCS2000_QUAD, 12, 13),
])
def test_overview_zoom_counts_in_mercator_zooms(tms_id: str, z: int, expected: int) -> None:
    assert overview_zoom(tms_id, z, 0.5) == expected
    # Each generalisation level doubles the size threshold: one zoom less.
    assert overview_zoom(tms_id, z, 2.0) == expected - 2
    # A threshold between powers of two rounds to the stricter one.
    assert overview_zoom(tms_id, z, 0.7) == expected - 1


def test_every_level_threshold_is_a_power_of_two() -> None:
    g = Generalisation()
    for tms_id in TMS_IDS:
        for level in range(6):
            rule = g.for_level(None, 12, level)  # type: ignore[arg-type]  # the rule ignores the layer
            assert math.log2(rule.min_size_px).is_integer()
            assert overview_zoom(tms_id, 12, rule.min_size_px) == overview_zoom(tms_id, 12, 0.5) - level


async def test_overview_tiles_hold_every_feature_big_enough_over_the_whole_extent(
    service: TileService, city: City
) -> None:
    buildings = _buildings(service)
    conn = await connect(city.url)
    try:
        totals = {z: await _check_tiles(service, conn, buildings, z, Current()) for z in (10, 11, 13)}
    finally:
        await conn.close()
    # The check above could fail both ways: at z10 some buildings are drawn and some dropped.
    assert totals[10][0] > 20 and totals[10][1] > 20, totals
    assert totals[13][0] > totals[11][0] > totals[10][0]


async def test_overview_tiles_are_exact_as_of_a_past_instant(service: TileService, city: City) -> None:
    buildings = _buildings(service)
    conn = await connect(city.url)
    try:
        then = AsOf(BUILT_EARLY + (BUILT_LATE - BUILT_EARLY) / 2)  # before half the city was built
        kept_then, _ = await _check_tiles(service, conn, buildings, 10, then)
        kept_now, _ = await _check_tiles(service, conn, buildings, 10, Current())
        assert 0 < kept_then < kept_now
    finally:
        await conn.close()


async def _small_building(conn: asyncpg.Connection, z: int) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"SELECT t.fid, ST_AsBinary(t.geom) AS wkb, t.tile_zoom FROM data.buildings t "
        f"WHERE t.valid_to IS NULL AND {SIZE} < $1 AND {SIZE} > $1 / 3 "
        "AND t.geom && ST_MakeEnvelope($2, $3, $4, $5, 4490) ORDER BY t.fid LIMIT 1",
        0.5 * 360 / 256 / 2**z, *AREA_4490,
    )
    assert row is not None
    return row


async def test_an_edit_that_grows_a_building_puts_it_into_the_next_overview_tile(
    service: TileService, city: City
) -> None:
    """Through the per-feature write path, with the tile cache on: the grown building appears,
    and a tile as of before the edit still shows the building as it was (dropped)."""
    buildings = _buildings(service)
    z = 10
    conn = await connect(city.url)
    try:
        row = await _small_building(conn, z)
        geom = shapely.from_wkb(bytes(row["wkb"]))
        rng = tile_range(WEB_MERCATOR_QUAD, geom.centroid.bounds, z)
        assert rng is not None
        tile = TileAddress(WEB_MERCATOR_QUAD, z, rng.x0, rng.y0)
        before = await service.vector_tile([buildings], tile)
        assert row["fid"] not in _fids(before.data, "buildings")
        assert (await service.vector_tile([buildings], tile)).source == "memory"
        edited_at = dt.datetime.now(dt.UTC)

        seen = service.notifications
        cs = await open_changeset(conn, actor="pytest", source="test")
        await update_feature(conn, layer=buildings, fid=row["fid"], patch={}, geometry=scale(geom, 4, 4),
                             changeset_id=cs)
        for _ in range(200):
            if service.notifications > seen:
                break
            await asyncio.sleep(0.01)
        await service.settled()

        after = await service.vector_tile([buildings], tile)
        assert after.source == "database"
        assert row["fid"] in _fids(after.data, "buildings")
        new_zoom = await conn.fetchval(
            "SELECT tile_zoom FROM data.buildings WHERE fid = $1 AND valid_to IS NULL", row["fid"]
        )
        assert new_zoom < row["tile_zoom"] and new_zoom <= z  # drawn from an earlier zoom, this one included
        past = await service.vector_tile([buildings], tile, TileQuery(selection=AsOf(edited_at)))
        assert row["fid"] not in _fids(past.data, "buildings")
        assert _fids(past.data, "buildings") == _fids(before.data, "buildings")
    finally:
        await conn.close()
