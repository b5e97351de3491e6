"""Tile matrix sets: the CGCS2000 grid equals Tianditu's "c", published cell sizes, tile ranges."""

from __future__ import annotations

import math

import pytest

from spatial import tms

TIANDITU_L1_SCALE = 2.958293554545656e8  # Tianditu "c" capabilities, level 1 (96 DPI)
TIANDITU_L18_SCALE = 2256.998866688275


def test_cgcs2000_quad_is_tianditu_c_grid() -> None:
    grid = tms.get_tms(tms.CGCS2000_QUAD)
    level1 = grid.matrix(0)
    assert (level1.matrixWidth, level1.matrixHeight) == (2, 1)
    assert tuple(level1.pointOfOrigin) == (90.0, -180.0)  # EPSG:4490 is lat, lon — as Tianditu prints it
    level18 = grid.matrix(17)
    assert (level18.matrixWidth, level18.matrixHeight) == (262144, 131072)
    for z in (0, 5, 17):
        assert tms.cell_size(tms.CGCS2000_QUAD, z) == pytest.approx(0.703125 / 2**z)
        assert tms.tianditu_level(z) == z + 1


def test_tianditu_scale_denominators_use_96_dpi() -> None:
    assert tms.tianditu_scale_denominator(0) == pytest.approx(TIANDITU_L1_SCALE, rel=1e-9)
    assert tms.tianditu_scale_denominator(17) == pytest.approx(TIANDITU_L18_SCALE, rel=1e-9)
    ogc = tms.get_tms(tms.CGCS2000_QUAD).matrix(0).scaleDenominator
    assert TIANDITU_L1_SCALE / ogc == pytest.approx(0.28 / (25.4 / 96), rel=1e-6)  # the 5.8 % gotcha
    doc = tms.get_tms(tms.CGCS2000_QUAD).model_dump(mode="json", exclude_none=True)
    assert "96" in doc["tileMatrices"][0]["description"] and "cellSize" in doc["description"]


def test_same_grid_as_world_crs84_quad() -> None:
    crs84 = tms.get_tms(tms.WORLD_CRS84_QUAD)
    for z in (3, 12):
        assert tms.tile_bounds(tms.CGCS2000_QUAD, z, 5, 2) == pytest.approx(
            tms.tile_bounds(tms.WORLD_CRS84_QUAD, z, 5, 2)
        )
        assert crs84.matrix(z).cellSize == pytest.approx(tms.cell_size(tms.CGCS2000_QUAD, z))


@pytest.mark.parametrize("tms_id", tms.TMS_IDS)
def test_tile_range_matches_morecantile(tms_id: str) -> None:
    bbox = (112.9, 28.1, 113.0, 28.2)
    grid = tms.get_tms(tms_id)
    for z in (8, 12, 15):
        expected = {(t.x, t.y) for t in grid.tiles(*bbox, [z])}
        rng = tms.tile_range(tms_id, bbox, z)
        assert rng is not None
        assert set(rng.tiles()) == expected


def test_buffer_widens_range_only_near_edges() -> None:
    z = 14
    west, south, east, north = tms.tile_bounds_lonlat(tms.WEB_MERCATOR_QUAD, z, 13330, 6850)
    inner = (
        west + (east - west) * 0.4,
        south + (north - south) * 0.4,
        west + (east - west) * 0.6,
        south + (north - south) * 0.6,
    )
    assert tms.tile_range(tms.WEB_MERCATOR_QUAD, inner, z, buffer_px=4).count == 1
    edge = (east - (east - west) * 0.001, inner[1], east - (east - west) * 0.0005, inner[3])
    plain = tms.tile_range(tms.WEB_MERCATOR_QUAD, edge, z)
    buffered = tms.tile_range(tms.WEB_MERCATOR_QUAD, edge, z, buffer_px=4)
    assert plain.count == 1 and buffered.count == 2 and (13331, 6850) in buffered


def test_out_of_range_tiles_are_refused() -> None:
    tms.check_tile(tms.CGCS2000_QUAD, 0, 1, 0)
    with pytest.raises(tms.TileOutOfRange):
        tms.check_tile(tms.CGCS2000_QUAD, 0, 0, 1)
    with pytest.raises(tms.TileOutOfRange):
        tms.check_tile(tms.WEB_MERCATOR_QUAD, 25, 0, 0)
    with pytest.raises(tms.UnknownTileMatrixSet):
        tms.get_tms("GoogleMapsCompatible")
    assert tms.tile_range(tms.WEB_MERCATOR_QUAD, (0.0, 86.0, 1.0, 89.0), 5) is None


def test_degrees_per_pixel_in_web_mercator_shrinks_with_latitude() -> None:
    dlon, dlat = tms.degrees_per_pixel(tms.WEB_MERCATOR_QUAD, 10, lat=28.2)
    assert dlon == pytest.approx(360 / 256 / 2**10)
    assert dlat == pytest.approx(dlon * math.cos(math.radians(28.2)))
    assert tms.degrees_per_pixel(tms.CGCS2000_QUAD, 10, lat=28.2) == (0.703125 / 1024, 0.703125 / 1024)


@pytest.mark.parametrize("tms_id", tms.TMS_IDS)
def test_closed_form_bounds_match_morecantile(tms_id: str) -> None:
    import morecantile

    grid = tms.get_tms(tms_id)
    for z, x, y in [(0, 0, 0), (10, 835, 420), (16, 53337, 26663), (18, 213350, 106655)]:
        if tms_id != tms.WEB_MERCATOR_QUAD:
            y //= 2
        b = grid.xy_bounds(morecantile.Tile(x, y, z))
        assert tms.tile_bounds(tms_id, z, x, y) == pytest.approx((b.left, b.bottom, b.right, b.top), abs=1e-6)
        g = grid.bounds(morecantile.Tile(x, y, z))
        assert tms.tile_bounds_lonlat(tms_id, z, x, y) == pytest.approx((g.left, g.bottom, g.right, g.top), abs=1e-9)
