"""Density counts by key: the (tile_zoom, tile_key) index counts, per generalisation level, exactly the
current features whose bounding-box centre lies in the Web Mercator tile and which are big enough;
they follow edits; as-of and filtered tiles are counted by probe; and overview tiles stay complete
when every tile is counted."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import pytest
import shapely
from shapely.affinity import translate

import tiles.mvt
from layers.db import connect
from layers.model import Layer
from layers.temporal import AsOf, Current
from layers.versioning import open_changeset, update_feature
from spatial.tms import CGCS2000_QUAD, WEB_MERCATOR_QUAD, tile_range
from tests.citydata import AREA_4490
from tests.cityfixtures import City
from tests.tiles.test_generalise import SIZE, _check_tiles
from tiles.density import by_key, density, key_density, render_if_fits
from tiles.mvt import MAX_LEVEL, TileAddress
from tiles.query import TileQuery
from tiles.service import TileService

# The centre of a version's bounding box on the Web Mercator plane, written out with PostGIS's own
# transform and tile envelope rather than layers.overview's arithmetic.
CENTRE_IN_TILE = (
    "ST_Intersects(ST_Transform(ST_SetSRID(ST_MakePoint((ST_XMin(t.geom) + ST_XMax(t.geom)) / 2, "
    "(ST_YMin(t.geom) + ST_YMax(t.geom)) / 2), 4326), 3857), ST_TileEnvelope($1, $2, $3))"
)


def _buildings(service: TileService) -> Layer:
    return service.registry.get("buildings").model_copy(update={"min_zoom": 0})


async def _expected(conn: asyncpg.Connection, layer: Layer, tile: TileAddress) -> list[int]:
    """Per level, current features centred in ``tile`` at least 2**level half-pixels big, by plain SQL."""
    out = []
    for level in range(MAX_LEVEL + 1):
        threshold = 0.5 * 2**level * 360 / 256 / 2**tile.z
        out.append(await conn.fetchval(
            f"SELECT count(*) FROM {layer.table} t WHERE t.valid_to IS NULL AND {CENTRE_IN_TILE} "
            f"AND {SIZE} >= $4 * (1 - 1e-9)",
            tile.z, tile.x, tile.y, threshold,
        ))
    return out


async def _busiest(service: TileService, layer: Layer, z: int) -> TileAddress:
    rng = tile_range(WEB_MERCATOR_QUAD, AREA_4490, z)
    assert rng is not None
    best: tuple[int, TileAddress] | None = None
    async with service.pool.acquire() as conn:
        for x, y in rng.tiles():
            tile = TileAddress(WEB_MERCATOR_QUAD, z, x, y)
            n = (await key_density(conn, service.plan(layer, z, TileQuery()), tile, cap=10**9,
                                   generalisation=service.generalisation))[0]
            if best is None or n > best[0]:
                best = (n, tile)
    assert best is not None
    return best[1]


@pytest.mark.parametrize("z", [10, 12, 14])
async def test_key_counts_are_the_features_centred_in_the_tile_per_level(
    service: TileService, city: City, z: int
) -> None:
    layer = _buildings(service)
    tile = await _busiest(service, layer, z)
    conn = await connect(city.url)
    try:
        got = await key_density(conn, service.plan(layer, z, TileQuery()), tile, cap=10**9,
                                generalisation=service.generalisation)
        expected = await _expected(conn, layer, tile)
    finally:
        await conn.close()
    assert got == expected
    assert got[0] > 0 and got == sorted(got, reverse=True)
    if z == 12:
        assert got[0] > got[-1]  # the levels differ: the check above could fail


async def test_key_counts_follow_an_edit_and_past_tiles_are_counted_by_probe(service: TileService, city: City) -> None:
    """A building moved into a tile is counted there at once (the index is the table's own); a tile as
    of before the edit is counted through the versions (by probe), without the moved building."""
    layer = _buildings(service)
    z = 14
    tile = await _busiest(service, layer, z)
    plan = service.plan(layer, z, TileQuery())
    kwargs: dict[str, Any] = {"generalisation": service.generalisation, "extent": service.settings.extent,
              "buffer": service.settings.buffer}
    conn = await connect(city.url)
    try:
        before = await key_density(conn, plan, tile, cap=10**9, generalisation=service.generalisation)
        # A building centred elsewhere, moved so its centre is the tile's centre.
        row = await conn.fetchrow(
            f"SELECT t.fid, ST_AsBinary(t.geom) AS wkb FROM {layer.table} t WHERE t.valid_to IS NULL "
            f"AND NOT {CENTRE_IN_TILE} AND {SIZE} >= $4 ORDER BY t.fid LIMIT 1",
            tile.z, tile.x, tile.y, 0.5 * 360 / 256 / 2**z,
        )
        geom = shapely.from_wkb(bytes(row["wkb"]))
        west, south, east, north = tile.lonlat_bounds()
        moved = translate(geom, (west + east) / 2 - geom.centroid.x, (south + north) / 2 - geom.centroid.y)
        edited_at = dt.datetime.now(dt.UTC)
        changeset = await open_changeset(conn, actor="pytest", source="test")
        await update_feature(conn, layer=layer, fid=row["fid"], patch={}, geometry=moved, changeset_id=changeset)

        after = await key_density(conn, plan, tile, cap=10**9, generalisation=service.generalisation)
        assert after == await _expected(conn, layer, tile)
        assert after[0] == before[0] + 1

        past = AsOf(edited_at)
        assert not by_key(layer, tile, past, None)
        cap = before[0] // 2
        then = await density(conn, plan, tile, cap=cap, selection=past, **kwargs)
        now = await density(conn, plan, tile, cap=cap, selection=Current(), **kwargs)
    finally:
        await conn.close()
    assert then is not None and now is not None
    assert then[0] == now[0] == cap  # both over-full at level 0 …
    assert then == sorted(then, reverse=True) and then[-1] < cap  # … and the probe's levels thin out


def test_only_current_unfiltered_web_mercator_line_and_polygon_tiles_are_counted_by_key(service: TileService) -> None:
    buildings = _buildings(service)
    stations = service.registry.get("rail_stations")
    mercator, geographic = TileAddress(WEB_MERCATOR_QUAD, 14, 0, 0), TileAddress(CGCS2000_QUAD, 14, 0, 0)
    assert by_key(buildings, mercator, None, None) and by_key(buildings, mercator, Current(), {})
    assert not by_key(buildings, geographic, None, None)
    assert not by_key(stations, mercator, None, None)  # points: no size, no key index
    assert not by_key(buildings, mercator, None, {"buildings": object()})
    assert not by_key(buildings, TileAddress(WEB_MERCATOR_QUAD, 25, 0, 0), None, None)


async def test_overview_tiles_stay_complete_when_every_tile_is_counted(
    service: TileService, city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the whole-table shortcut off, every tile goes through the key count and still holds every
    building at least half a pixel big (level 0)."""
    async def unknown(*_args: object) -> float:
        return float("inf")

    monkeypatch.setattr(service, "_rows_at_most", unknown)
    layer = _buildings(service)
    conn = await connect(city.url)
    try:
        kept, dropped = await _check_tiles(service, conn, layer, 10, Current())
    finally:
        await conn.close()
    assert kept > 20 and dropped > 20


async def test_a_tile_that_fits_comes_back_rendered_with_its_count(service: TileService, city: City) -> None:
    """The count and the level-0 render in one statement: the same bytes as the render on its own when
    the tile fits, nothing rendered (None) when it does not, and the same counts either way."""
    layer = _buildings(service)
    tile = await _busiest(service, layer, 14)
    plan = service.plan(layer, tile.z, TileQuery())
    kwargs: dict[str, Any] = {"generalisation": service.generalisation, "extent": service.settings.extent,
              "buffer": service.settings.buffer}
    async with service.pool.acquire() as conn:
        counts = await key_density(conn, plan, tile, cap=10**9, generalisation=service.generalisation)
        (alone,) = await tiles.mvt.render_layers(conn, [plan], tile, **kwargs)
        fits, fits_counts = await render_if_fits(conn, plan, tile, cap=counts[0] + 1, **kwargs)
        over, over_counts = await render_if_fits(conn, plan, tile, cap=counts[0], **kwargs)
    assert alone and fits == alone
    assert over is None
    assert fits_counts == counts and over_counts == [min(n, counts[0]) for n in counts]


async def test_count_by_key_off_counts_by_probe(service: TileService, monkeypatch: pytest.MonkeyPatch) -> None:
    """The switch the sweep's ``--density probe`` uses: no key count anywhere, and the tile still renders."""
    import tiles.density
    import tiles.service

    async def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("counted by key")

    async def unknown(*_args: object) -> float:
        return float("inf")

    monkeypatch.setattr(tiles.service, "render_if_fits", refuse)
    monkeypatch.setattr(tiles.density, "key_density", refuse)
    monkeypatch.setattr(service, "_rows_at_most", unknown)
    service.count_by_key = False
    layer = _buildings(service)
    tile = await _busiest(service, layer, 13)
    result = await service.vector_tile([layer], tile, use_cache=False)
    assert result.data and result.levels[layer.id] == 0
