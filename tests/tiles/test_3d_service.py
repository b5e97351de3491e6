"""3D tiles through the shared caches: as-of reads, exact invalidation on edits, the disk tier."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from shapely.geometry import LineString

from layers.db import connect
from layers.temporal import AsOf
from layers.versioning import FeatureIn, insert_feature, open_changeset, update_feature
from tests.citydata import CENTRE
from tests.cityfixtures import City
from tests.tiles.threed_checks import glb_property, leaf_address, leaves
from tiles.service import TileService
from tiles.threed_kinds import CONTENT_ZOOM, PIPE_ZOOM
from tiles.threed_query import cell_size_deg
from tiles.threed_service import NoSuchTile, ThreeDService


def _cell(lon: float, lat: float, zoom: int = CONTENT_ZOOM) -> tuple[int, int]:
    size = cell_size_deg(zoom)
    return int((lon + 180) // size), int((90 - lat) // size)


async def _wait_for(service: TileService, count: int) -> None:
    for _ in range(300):
        if service.notifications >= count:
            await service.settled()
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the edit notification never arrived")


async def test_a_past_date_excludes_a_later_pipe(service: TileService, city: City) -> None:
    threed = ThreeDService(service)
    layer = service.registry.get("pipeline_water_segments")
    lon, lat = CENTRE[0] + 0.011, CENTRE[1] + 0.0085  # in a cell of its own, off both fixture runs
    conn = await connect(city.url)
    try:
        cs = await open_changeset(conn, actor="pytest", source="test")
        props = {"segment_no": "JS-NEW-1", "category": "JS", "subcategory": "JP", "start_point": "N1",
                 "end_point": "N2", "start_depth_m": 1.0, "end_depth_m": 1.1, "material": "PE", "diameter_mm": 200,
                 "status": "0"}
        ref = await insert_feature(conn, layer=layer, feature=FeatureIn(LineString([(lon, lat), (lon + 0.0005, lat)]),
                                                                         props),
                                   changeset_id=cs, valid_from=dt.datetime(2024, 6, 1, tzinfo=dt.UTC))
    finally:
        await conn.close()
    x, y = _cell(lon + 0.00025, lat, PIPE_ZOOM)
    now = await threed.tileset(layer)
    past = await threed.tileset(layer, AsOf(dt.datetime(2020, 1, 1, tzinfo=dt.UTC)), query="datetime=2020-01-01")
    assert (PIPE_ZOOM, x, y) in {leaf_address(t) for t in leaves(now["root"])}
    assert (PIPE_ZOOM, x, y) not in {leaf_address(t) for t in leaves(past["root"])}
    assert all(t["content"]["uri"].endswith("?datetime=2020-01-01") for t in leaves(past["root"]))
    current = (await threed.content(layer, PIPE_ZOOM, x, y)).data
    assert ref.fid in glb_property(current, "id")
    i = glb_property(current, "segment_no").index("JS-NEW-1")
    # Its points N1 and N2 do not exist, no surveyed point lies within 50 m and the fixture city lies
    # outside the sample terrain: no elevation, and it says so.
    assert glb_property(current, "elevation_source")[i] == "default"
    assert glb_property(current, "elev_start_m")[i] == -9999.0  # noData
    then = await threed.content(layer, PIPE_ZOOM, x, y, AsOf(dt.datetime(2020, 1, 1, tzinfo=dt.UTC)))
    assert then.features == 0


async def test_an_edit_drops_exactly_the_touched_3d_tiles(service: TileService, city: City) -> None:
    threed = ThreeDService(service)
    buildings = service.registry.get("buildings")
    doc = await threed.tileset(buildings)
    cells = [leaf_address(t) for t in leaves(doc["root"])]
    assert len(cells) >= 3
    conn = await connect(city.url)
    try:
        row = await conn.fetchrow(
            "SELECT fid, (ST_XMin(geom) + ST_XMax(geom)) / 2 AS lon, (ST_YMin(geom) + ST_YMax(geom)) / 2 AS lat "
            "FROM data.buildings WHERE valid_to IS NULL ORDER BY fid LIMIT 1")
        here = (CONTENT_ZOOM, *_cell(row["lon"], row["lat"]))
        others = [c for c in cells if abs(c[1] - here[1]) > 1 or abs(c[2] - here[2]) > 1]
        assert here in cells and others
        for z, x, y in [here, *others]:
            assert (await threed.content(buildings, z, x, y)).source == "database"
        assert (await threed.content(buildings, *here)).source == "memory"
        assert service.disk is not None and service.disk.count() >= 1 + len(others)

        seen = service.notifications
        cs = await open_changeset(conn, actor="pytest", source="test")
        await update_feature(conn, layer=buildings, fid=row["fid"], patch={"height_m": 99.0}, geometry=None,
                             changeset_id=cs)
        await _wait_for(service, seen + 1)
    finally:
        await conn.close()
    again = await threed.content(buildings, *here)
    assert again.source == "database"  # dropped from memory and disk
    i = glb_property(again.data, "id").index(row["fid"])
    assert glb_property(again.data, "height_m")[i] == pytest.approx(99.0)
    for z, x, y in others:
        assert (await threed.content(buildings, z, x, y)).source == "memory"  # untouched tiles stay
    key = threed._key(buildings, 0, 1, 0, "tileset:?")
    assert service.memory.get(key) is None  # the tileset was dropped too


async def test_disk_tier_serves_a_fresh_process(service: TileService, city: City) -> None:
    threed = ThreeDService(service)
    layer = service.registry.get("pipeline_water_points")
    z, x, y = leaf_address(leaves((await threed.tileset(layer))["root"])[0])
    first = await threed.content(layer, z, x, y)
    service.memory.clear()
    second = await threed.content(layer, z, x, y)
    assert second.source == "disk" and second.data == first.data


async def test_addresses_outside_the_tileset_are_refused(service: TileService) -> None:
    threed = ThreeDService(service)
    layer = service.registry.get("buildings")
    x, y = _cell(*CENTRE)
    await threed.check_address(layer, CONTENT_ZOOM, x, y)
    with pytest.raises(NoSuchTile, match="level"):
        await threed.check_address(layer, CONTENT_ZOOM - 1, x // 2, y // 2)
    with pytest.raises(NoSuchTile, match="extent"):
        await threed.check_address(layer, CONTENT_ZOOM, x + 500, y)
    with pytest.raises(NoSuchTile, match="grid"):
        await threed.check_address(layer, CONTENT_ZOOM, 2**40, y)


async def test_a_point_edit_drops_the_pipe_tiles_showing_its_ground(service: TileService, city: City) -> None:
    threed = ThreeDService(service)
    pipes = service.registry.get("pipeline_water_segments")
    points = service.registry.get("pipeline_water_points")
    cells = [leaf_address(t) for t in leaves((await threed.tileset(pipes))["root"])]
    conn = await connect(city.url)
    try:
        seg = await conn.fetchrow(
            "SELECT fid, start_point, (ST_XMin(geom) + ST_XMax(geom)) / 2 AS lon, "
            "(ST_YMin(geom) + ST_YMax(geom)) / 2 AS lat FROM data.pipeline_water_segments "
            "WHERE valid_to IS NULL ORDER BY fid LIMIT 1")
        here = (PIPE_ZOOM, *_cell(seg["lon"], seg["lat"], PIPE_ZOOM))
        far = [c for c in cells if abs(c[1] - here[1]) > 2 or abs(c[2] - here[2]) > 2]
        assert here in cells and far
        before = await threed.content(pipes, *here)
        i = glb_property(before.data, "id").index(seg["fid"])
        assert glb_property(before.data, "ground_start_m")[i] == pytest.approx(45.0)
        assert glb_property(before.data, "elevation_source")[i] == "delivered"
        await threed.content(pipes, *far[0])
        point = await conn.fetchval("SELECT fid FROM data.pipeline_water_points WHERE point_no = $1 "
                                    "AND valid_to IS NULL", seg["start_point"])
        seen = service.notifications
        cs = await open_changeset(conn, actor="pytest", source="test")
        await update_feature(conn, layer=points, fid=point, patch={"ground_elev_m": 47.5}, geometry=None,
                             changeset_id=cs)
        await _wait_for(service, seen + 1)
    finally:
        await conn.close()
    after = await threed.content(pipes, *here)
    assert after.source == "database"
    i = glb_property(after.data, "id").index(seg["fid"])
    assert glb_property(after.data, "ground_start_m")[i] == pytest.approx(47.5)
    assert glb_property(after.data, "elev_start_m")[i] == pytest.approx(47.5 - 1.2)
    assert (await threed.content(pipes, *far[0])).source == "memory"  # a pipe tile two cells away stays
