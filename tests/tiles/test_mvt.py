"""Vector tiles from ST_AsMVT, decoded by mapbox-vector-tile and by GDAL's MVT driver."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from pathlib import Path
from typing import Any

import asyncpg
import mapbox_vector_tile
import pytest

from layers.temporal import AsOf
from spatial.tms import TMS_IDS, WEB_MERCATOR_QUAD, tile_bounds, tile_bounds_lonlat, tile_range
from tests.citydata import AREA_4490, BUILT_LATE
from tests.cityfixtures import City
from tiles.mvt import TileAddress
from tiles.query import TileQuery
from tiles.service import TileService

EXTENT = 4096


def _decode(data: bytes) -> dict[str, dict]:
    return mapbox_vector_tile.decode(data) if data else {}


async def _ids_in_tile(conn: asyncpg.Connection, table: str, tile: TileAddress, *, extra: str = "") -> set[int]:
    """Current features whose geometry meets the tile (its EPSG:4490 box), straight from SQL."""
    west, south, east, north = tile_bounds_lonlat(tile.tms, tile.z, tile.x, tile.y)
    rows = await conn.fetch(
        f"SELECT fid FROM data.{table} WHERE valid_to IS NULL {extra} AND "
        "ST_Intersects(geom, ST_MakeEnvelope($1, $2, $3, $4, 4490))",
        west,
        south,
        east,
        north,
    )
    return {r["fid"] for r in rows}


@pytest.mark.parametrize("tms_id", TMS_IDS)
async def test_tile_holds_exactly_the_features_of_its_extent(service: TileService, city: City, tms_id: str) -> None:
    z = 16
    registry = service.registry
    layers = [registry.get("buildings"), registry.get("pipeline_water_segments"), registry.get("grid_cells")]
    conn = await asyncpg.connect(city.url)
    try:
        checked = 0
        for x, y in tile_range(tms_id, AREA_4490, z).tiles():
            tile = TileAddress(tms_id, z, x, y)
            decoded = _decode((await service.vector_tile(layers, tile)).data)
            for layer in layers:
                expected = await _ids_in_tile(conn, layer.id, tile)
                got = {f["id"] for f in decoded.get(layer.id, {}).get("features", [])}
                # The 64-unit buffer adds features just outside the tile; none inside may be missing.
                assert expected <= got, (layer.id, tile)
                checked += len(expected)
            for name, lay in decoded.items():
                assert lay["extent"] == EXTENT
                for f in lay["features"]:
                    xs, ys = _coords(f["geometry"])
                    assert min(xs) >= -64 and max(xs) <= EXTENT + 64, name
                    assert min(ys) >= -64 and max(ys) <= EXTENT + 64, name
        assert checked > 400
    finally:
        await conn.close()


async def _ogrinfo(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        "ogrinfo", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()


def _coords(geometry: dict) -> tuple[list[float], list[float]]:
    flat: list[tuple[float, float]] = []

    def walk(node: object) -> None:
        if isinstance(node, (list, tuple)) and node and isinstance(node[0], (int, float)):
            flat.append((float(node[0]), float(node[1])))
        elif isinstance(node, (list, tuple)):
            for child in node:
                walk(child)

    walk(geometry["coordinates"])
    return [p[0] for p in flat], [p[1] for p in flat]


async def test_attributes_are_thinned_below_full_zoom(service: TileService) -> None:
    buildings = service.registry.get("buildings")
    low = tile_range(WEB_MERCATOR_QUAD, AREA_4490, 13)
    high = tile_range(WEB_MERCATOR_QUAD, AREA_4490, 17)
    low_props = _all_keys(
        _decode((await service.vector_tile([buildings], TileAddress(WEB_MERCATOR_QUAD, 13, low.x0, low.y0))).data)
    )
    high_props: set[str] = set()
    for x, y in list(high.tiles())[:40]:
        high_props |= _all_keys(
            _decode((await service.vector_tile([buildings], TileAddress(WEB_MERCATOR_QUAD, 17, x, y))).data)
        )
    assert low_props and low_props <= {"name", "use", "height_m", "floors"}
    assert {"source_id", "height_source", "year_built"} <= high_props


def _all_keys(decoded: dict[str, dict]) -> set[str]:
    return {k for lay in decoded.values() for f in lay["features"] for k in f["properties"]}


async def test_properties_selects_attributes(service: TileService) -> None:
    buildings = service.registry.get("buildings")
    rng = tile_range(WEB_MERCATOR_QUAD, AREA_4490, 14)
    tile = TileAddress(WEB_MERCATOR_QUAD, 14, rng.x0, rng.y0)
    decoded = _decode((await service.vector_tile([buildings], tile, TileQuery(properties=("use",)))).data)
    assert decoded and _all_keys(decoded) == {"use"}


async def test_as_of_tiles_show_the_city_of_that_year(service: TileService) -> None:
    buildings = service.registry.get("buildings")
    counts = {}
    for label, query in [
        ("now", TileQuery()),
        ("2000", TileQuery(selection=AsOf(dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))),
        ("1990", TileQuery(selection=AsOf(dt.datetime(1990, 1, 1, tzinfo=dt.UTC)))),
    ]:
        total = 0
        for x, y in tile_range(WEB_MERCATOR_QUAD, AREA_4490, 15).tiles():
            decoded = _decode(
                (await service.vector_tile([buildings], TileAddress(WEB_MERCATOR_QUAD, 15, x, y), query)).data
            )
            total += len({f["id"] for f in decoded.get("buildings", {}).get("features", [])})
        counts[label] = total
    assert counts["1990"] == 0
    assert 0 < counts["2000"] < counts["now"]
    assert BUILT_LATE.year > 2000


async def test_empty_tile_is_empty_bytes(service: TileService) -> None:
    buildings = service.registry.get("buildings")
    far = tile_range(WEB_MERCATOR_QUAD, (100.0, 40.0, 100.001, 40.001), 15)
    result = await service.vector_tile([buildings], TileAddress(WEB_MERCATOR_QUAD, 15, far.x0, far.y0))
    assert result.data == b""
    # Layers outside their registry zoom range are left out of a tile (buildings start at 12).
    rng = tile_range(WEB_MERCATOR_QUAD, AREA_4490, 11)
    assert (await service.vector_tile([buildings], TileAddress(WEB_MERCATOR_QUAD, 11, rng.x0, rng.y0))).data == b""


async def test_size_ceiling_generalises_until_the_tile_fits(service: TileService) -> None:
    buildings = service.registry.get("buildings")
    tiles = [TileAddress(WEB_MERCATOR_QUAD, 14, x, y) for x, y in tile_range(WEB_MERCATOR_QUAD, AREA_4490, 14).tiles()]
    sized = [(len((await service.vector_tile([buildings], t, use_cache=False)).data), t) for t in tiles]
    tile = max(sized, key=lambda s: s[0])[1]
    full = await service.vector_tile([buildings], tile, use_cache=False)
    ceiling = len(full.data) // 4
    service.settings.max_tile_bytes = ceiling
    try:
        small = await service.vector_tile([buildings], tile, use_cache=False)
    finally:
        service.settings.max_tile_bytes = 500_000
    assert 0 < len(small.data) <= ceiling < len(full.data)
    assert small.levels["buildings"] > 0
    n_full = len(_decode(full.data)["buildings"]["features"])
    n_small = len(_decode(small.data)["buildings"]["features"])
    assert n_small < n_full


@pytest.mark.gdal
async def test_gdal_mvt_driver_reads_our_tiles(service: TileService, tmp_path: Path) -> None:
    registry = service.registry
    layers = [registry.get("buildings"), registry.get("pipeline_water_segments")]
    z = 15
    rng = tile_range(WEB_MERCATOR_QUAD, AREA_4490, z)
    expected: dict[str, int] = {}
    out_dir = tmp_path / "mvt"
    for x, y in rng.tiles():
        data = (await service.vector_tile(layers, TileAddress(WEB_MERCATOR_QUAD, z, x, y))).data
        if not data:
            continue
        path = out_dir / str(z) / str(x) / f"{y}.pbf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        decoded = _decode(data)
        for name, lay in decoded.items():
            expected[name] = expected.get(name, 0) + len(lay["features"])
        if "buildings" in decoded:
            one = path
    out = await _ogrinfo("-ro", "-so", "-al", str(one))
    assert "Layer name: buildings" in out
    # GDAL georeferences z/x/y.pbf in EPSG:3857: the extent must sit inside that tile (plus buffer).
    xmin, ymin, xmax, ymax = tile_bounds(WEB_MERCATOR_QUAD, z, int(one.parent.name), int(one.stem))
    ext_line = next(line for line in out.splitlines() if line.startswith("Extent:"))
    nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", ext_line)]
    pad = (xmax - xmin) * 64 / 4096 + 1
    assert xmin - pad <= nums[0] <= nums[2] <= xmax + pad and ymin - pad <= nums[1] <= nums[3] <= ymax + pad
    # The zoom folder, read as one dataset, holds the tiles' features (GDAL shows our fid as mvt_id).
    listing = await _ogrinfo("-ro", "-al", "-q", "-geom=NO", str(out_dir / str(z)))
    seen: dict[str, set[int]] = {}
    for lname, fid in re.findall(r"^OGRFeature\((\w+)\):\d+\n\s+mvt_id \(Integer64\) = (\d+)", listing, flags=re.M):
        seen.setdefault(lname, set()).add(int(fid))
    distinct: dict[str, set[int]] = {}
    for x, y in rng.tiles():
        data = (await service.vector_tile(layers, TileAddress(WEB_MERCATOR_QUAD, z, x, y))).data
        for lname, lay in _decode(data).items():
            distinct.setdefault(lname, set()).update(f["id"] for f in lay["features"])
    assert set(seen) == {"buildings", "pipeline_water_segments"}
    assert {k: len(v) for k, v in seen.items()} == {k: len(v) for k, v in distinct.items()}
    assert sum(expected.values()) >= sum(len(v) for v in distinct.values())


async def test_a_combined_tile_over_the_ceiling_is_fitted_together(service: TileService) -> None:
    layers = [service.registry.get("buildings"), service.registry.get("grid_cells")]
    tiles = [TileAddress(WEB_MERCATOR_QUAD, 14, x, y) for x, y in tile_range(WEB_MERCATOR_QUAD, AREA_4490, 14).tiles()]
    sized = [(len((await service.vector_tile(layers, t)).data), t) for t in tiles]
    size, tile = max(sized, key=lambda s: s[0])
    each = [len((await service.vector_tile([layer], tile)).data) for layer in layers]
    assert size == sum(each)  # a combined tile is its cached layers, concatenated
    service.settings.max_tile_bytes = max(each) + 1  # each layer fits alone, not together
    try:
        fitted = await service.vector_tile(layers, tile)
    finally:
        service.settings.max_tile_bytes = 500_000
    assert 0 < len(fitted.data) <= max(each) + 1 and fitted.levels
    assert set(_decode(fitted.data)) == {"buildings", "grid_cells"}


@pytest.mark.gdal
async def test_gdal_cuts_the_same_cgcs2000_tiles(service: TileService, city: City, tmp_path: Path) -> None:
    """GDAL's MVT writer, given the Tianditu "c" tiling scheme (EPSG:4490, origin −180/90, zoom 0 two
    180° tiles), puts the fixture buildings in exactly the CGCS2000Quad tiles we serve them in."""
    buildings = service.registry.get("buildings")
    z = 15
    ours: dict[tuple[int, int], int] = {}
    for x, y in tile_range("CGCS2000Quad", AREA_4490, z).tiles():
        data = (await service.vector_tile([buildings], TileAddress("CGCS2000Quad", z, x, y))).data
        if data:
            ours[(x, y)] = len(_decode(data)["buildings"]["features"])
    out = tmp_path / "gdal"
    proc = await asyncio.create_subprocess_exec(
        "ogr2ogr",
        "-f",
        "MVT",
        str(out),
        f"PG:{city.url}",
        "-sql",
        "SELECT fid, geom FROM data.buildings WHERE valid_to IS NULL",
        "-nln",
        "buildings",
        "-dsco",
        "TILING_SCHEME=EPSG:4490,-180,90,180",
        "-dsco",
        f"MINZOOM={z}",
        "-dsco",
        f"MAXZOOM={z}",
        "-dsco",
        "BUFFER=64",
        "-dsco",
        "COMPRESS=NO",
        "-dsco",
        "MAX_SIZE=10000000",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    theirs = {
        (int(p.parent.name), int(p.stem)): len(mapbox_vector_tile.decode(p.read_bytes())["buildings"]["features"])
        for p in (out / str(z)).glob("*/*.pbf")
    }
    assert ours and set(ours) == set(theirs)
    # Both clip with a 64-unit buffer, so each tile holds the same number of buildings.
    assert ours == theirs


async def test_dense_tile_starts_at_the_level_that_fits(service: TileService, monkeypatch: pytest.MonkeyPatch) -> None:
    """A density count picks the level up front, so an over-full tile renders once, not once per level."""
    import tiles.density

    buildings = service.registry.get("buildings")
    tiles_ = [TileAddress(WEB_MERCATOR_QUAD, 14, x, y) for x, y in tile_range(WEB_MERCATOR_QUAD, AREA_4490, 14).tiles()]
    sized = [(len((await service.vector_tile([buildings], t, use_cache=False)).data), t) for t in tiles_]
    size, tile = max(sized, key=lambda s: s[0])
    full = _decode((await service.vector_tile([buildings], tile, use_cache=False)).data)["buildings"]["features"]

    assert len(full) >= 40
    # Counted level by level through the (tile_zoom, geom) index, each count stopping at the cap.
    kwargs = {"generalisation": service.generalisation, "extent": service.settings.extent,
              "buffer": service.settings.buffer}
    async with service.pool.acquire() as conn:
        plan = service.plan(buildings, tile.z, TileQuery())
        assert await tiles.density.density(conn, plan, tile, cap=10 * len(full), **kwargs) is None  # level 0 fits
        cap = len(full) // 2
        counts = await tiles.density.density(conn, plan, tile, cap=cap, **kwargs)
    assert counts is not None and counts == sorted(counts, reverse=True)
    assert counts[0] == cap and counts[-1] < cap

    renders = 0
    real_run = service._run

    async def counting_run(*args: object, **kwargs: object) -> list[bytes]:
        nonlocal renders
        renders += 1
        return await real_run(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "_run", counting_run)
    service.settings.max_tile_bytes = size // 3
    try:
        small = await service.vector_tile([buildings], tile, use_cache=False)
    finally:
        service.settings.max_tile_bytes = 500_000
    assert 0 < len(small.data) <= size // 3
    assert small.levels["buildings"] > 0 and renders == 1


async def test_a_layer_smaller_than_a_tile_skips_the_density_count(
    service: TileService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No tile of a table holding fewer rows than a tile may can be too full: it renders without counting."""
    import tiles.service

    buildings = service.registry.get("buildings")
    async with service.pool.acquire() as conn:
        await conn.execute(f"ANALYZE {buildings.table}")
        rows = await conn.fetchval(f"SELECT count(*) FROM {buildings.table}")
        assert rows <= await service._rows_at_most(conn, buildings) < float("inf")
    counted = 0
    # Counted by key (a Web Mercator tile of current rows): the count and a level-0 render in one statement.
    real_count = tiles.service.render_if_fits

    async def counting(*args: Any, **kwargs: Any) -> tuple[bytes | None, list[int]]:
        nonlocal counted
        counted += 1
        return await real_count(*args, **kwargs)

    monkeypatch.setattr(tiles.service, "render_if_fits", counting)
    tiles_ = [TileAddress(WEB_MERCATOR_QUAD, 14, x, y) for x, y in tile_range(WEB_MERCATOR_QUAD, AREA_4490, 14).tiles()]
    sized = [(len((await service.vector_tile([buildings], t, use_cache=False)).data), t) for t in tiles_]
    size, tile = max(sized, key=lambda s: s[0])
    assert size > 0 and counted == 0  # 500 KB holds ~10,000 polygons; the fixture city has fewer buildings
    # A ceiling the table overflows brings the count back (and the tile still fits it).
    service.settings.max_tile_bytes = int(rows * 42 / 0.9 / 4)
    try:
        small = await service.vector_tile([buildings], tile, use_cache=False)
    finally:
        service.settings.max_tile_bytes = 500_000
    assert counted == 1 and len(small.data) <= int(rows * 42 / 0.9 / 4)


async def test_web_mercator_tiles_match_a_direct_cgcs2000_transform(
    service: TileService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tiles cut through the WGS84 twin of the stored CGCS2000 coordinates are byte for byte the tiles
    of a direct EPSG:4490 -> 3857 transform (PROJ has no datum shift between the two)."""
    import tiles.mvt

    layers = [service.registry.get("buildings")]
    tiles_ = [TileAddress(WEB_MERCATOR_QUAD, z, x, y) for z in (13, 16)
              for x, y in tile_range(WEB_MERCATOR_QUAD, AREA_4490, z).tiles()][:40]
    ours = [(await service.vector_tile(layers, t, use_cache=False)).data for t in tiles_]
    monkeypatch.setattr(tiles.mvt, "to_web_mercator", lambda geom: f"ST_Transform({geom}, 3857)")
    direct = [(await service.vector_tile(layers, t, use_cache=False)).data for t in tiles_]
    assert sum(1 for d in ours if d) >= 10
    assert ours == direct
