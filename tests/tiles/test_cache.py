"""The tile cache on its own: LRU bound, exact invalidation by box, racing renders, the disk tier."""

from __future__ import annotations

from pathlib import Path

from spatial.tms import CGCS2000_QUAD, WEB_MERCATOR_QUAD, tile_bounds_lonlat, tile_range
from tiles.cache import MemoryTileCache, TileKey
from tiles.disk import DiskTileCache

AREA = (112.90, 28.10, 113.10, 28.30)


def _fill(cache: MemoryTileCache, layers: tuple[str, ...], z: int, tms: str = WEB_MERCATOR_QUAD) -> list[TileKey]:
    keys = [TileKey(layers, tms, z, x, y) for x, y in tile_range(tms, AREA, z).tiles()]
    for key in keys:
        assert cache.put(key, b"tile", cache.token(layers))
    return keys


def test_lru_keeps_within_its_byte_budget() -> None:
    cache = MemoryTileCache(max_bytes=40)
    keys = [TileKey(("a",), WEB_MERCATOR_QUAD, 10, x, 0) for x in range(10)]
    for key in keys:
        cache.put(key, b"0123456789", cache.token(["a"]))
    assert cache.size_bytes <= 40 and len(cache) == 4
    assert cache.get(keys[0]) is None and cache.get(keys[-1]) == b"0123456789"


def test_invalidation_drops_exactly_the_tiles_a_box_touches() -> None:
    cache = MemoryTileCache(max_bytes=10_000_000, buffer_px=4)
    buildings = {z: _fill(cache, ("buildings",), z) for z in (12, 14, 16)}
    combined = _fill(cache, ("buildings", "grid_cells"), 14)
    pipes = _fill(cache, ("pipes",), 14)
    geographic = _fill(cache, ("buildings",), 14, CGCS2000_QUAD)
    # An edit well inside one z16 tile.
    west, south, east, north = tile_bounds_lonlat(
        WEB_MERCATOR_QUAD, 16, *next((k.x, k.y) for k in buildings[16][len(buildings[16]) // 2 :])
    )
    edit = (
        west + (east - west) * 0.4,
        south + (north - south) * 0.4,
        west + (east - west) * 0.5,
        south + (north - south) * 0.5,
    )
    before = len(cache)
    dropped = cache.invalidate("buildings", [edit])
    # One tile per zoom and tile matrix set holds the edit, and the combined tile holds it too.
    assert dropped == 5 and len(cache) == before - 5
    for key in [*buildings[12], *buildings[14], *buildings[16], *combined, *geographic]:
        covered = tile_range(key.tms, edit, key.z)
        assert (cache.get(key) is None) == ((key.x, key.y) in covered)
    assert all(cache.get(k) == b"tile" for k in pipes)


def test_a_render_racing_an_edit_is_not_cached() -> None:
    cache = MemoryTileCache(max_bytes=1_000_000)
    key = TileKey(("buildings",), WEB_MERCATOR_QUAD, 14, 1, 1)
    token = cache.token(key.layers)
    cache.invalidate("buildings", [(0.0, 0.0, 1.0, 1.0)])  # anywhere: the layer changed meanwhile
    assert not cache.put(key, b"stale", token)
    assert cache.get(key) is None and cache.stats.refused == 1
    assert cache.put(key, b"fresh", cache.token(key.layers))


def test_invalidating_without_boxes_drops_the_whole_layer() -> None:
    cache = MemoryTileCache(max_bytes=10_000_000)
    keys = _fill(cache, ("landuse",), 13)
    other = _fill(cache, ("roads",), 13)
    assert cache.invalidate("landuse", None) == len(keys)
    assert all(cache.get(k) is None for k in keys) and all(cache.get(k) for k in other)


def test_disk_tier_invalidates_exactly_and_keeps_a_watermark(tmp_path: Path) -> None:
    disk = DiskTileCache(tmp_path, buffer_px=4)
    keys = [
        TileKey(("buildings", "roads"), WEB_MERCATOR_QUAD, 15, x, y)
        for x, y in tile_range(WEB_MERCATOR_QUAD, AREA, 15).tiles()
    ][:200]
    for key in keys:
        disk.put(key, b"x" * 10)
    disk.put(TileKey(("buildings",), WEB_MERCATOR_QUAD, 15, keys[0].x, keys[0].y, "asof"), b"never stored")
    assert disk.count() == len(keys)
    target = keys[57]
    west, south, east, north = tile_bounds_lonlat(WEB_MERCATOR_QUAD, 15, target.x, target.y)
    box = (
        west + (east - west) / 3,
        south + (north - south) / 3,
        east - (east - west) / 3,
        north - (north - south) / 3,
    )
    assert disk.invalidate("roads", [box]) == 1
    assert disk.get(target) is None and disk.get(keys[58]) == b"x" * 10
    assert disk.invalidate("water", [box]) == 0
    assert disk.read_watermark() is None
    disk.write_watermark(42)
    assert disk.read_watermark() == 42
    assert disk.invalidate("buildings", None) == len(keys) - 1 and disk.count() == 0


def test_a_paused_cache_keeps_nothing_and_resuming_refuses_renders_begun_before() -> None:
    cache = MemoryTileCache(1 << 20)
    key = TileKey(("buildings",), WEB_MERCATOR_QUAD, 16, 1, 2)
    assert cache.put(key, b"old", cache.token(key.layers))
    during = cache.token(key.layers)  # a render that starts before the LISTEN connection is lost
    cache.pause()
    assert cache.paused and cache.get(key) is None
    while_paused = cache.token(key.layers)
    assert not cache.put(key, b"x", while_paused) and len(cache) == 0
    cache.resume()
    # Both renders may predate an edit nobody heard: neither is kept; a render begun now is.
    assert not cache.put(key, b"x", during) and not cache.put(key, b"x", while_paused)
    assert cache.put(key, b"new", cache.token(key.layers)) and cache.get(key) == b"new"


def test_clearing_refuses_renders_of_layers_that_had_nothing_cached() -> None:
    cache = MemoryTileCache(1 << 20)
    key = TileKey(("roads",), WEB_MERCATOR_QUAD, 16, 1, 2)
    token = cache.token(key.layers)
    cache.clear()
    assert not cache.put(key, b"x", token)
