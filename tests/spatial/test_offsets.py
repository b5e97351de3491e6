"""GCJ-02 / BD-09 conversions against the published Changsha check point and round trips."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from spatial import offsets

# changsha/SOURCES.md: WGS84 (112.958, 28.185) becomes GCJ-02 (112.9635, 28.1815).
WGS = (112.958, 28.185)


def test_forward_matches_published_changsha_shift() -> None:
    lon, lat = offsets.wgs84_to_gcj02(*WGS)
    assert abs(float(lon) - 112.9635) < 5e-5
    assert abs(float(lat) - 28.1815) < 5e-5
    # ≈ 540 m east and 385 m south (SOURCES.md), i.e. clearly not a no-op.
    assert float(lon) - WGS[0] > 0.005
    assert float(lat) - WGS[1] < -0.003


def test_outside_china_is_unchanged() -> None:
    lon, lat = offsets.wgs84_to_gcj02(2.35, 48.85)
    assert float(lon) == 2.35 and float(lat) == 48.85


@settings(max_examples=200, deadline=None)
@given(st.floats(111.8, 114.3), st.floats(27.8, 28.7))
def test_gcj_inverse_round_trip_below_a_millimetre(lon: float, lat: float) -> None:
    back_lon, back_lat = offsets.gcj02_to_wgs84(*offsets.wgs84_to_gcj02(lon, lat))
    assert abs(float(back_lon) - lon) < 1e-8
    assert abs(float(back_lat) - lat) < 1e-8


@settings(max_examples=200, deadline=None)
@given(st.floats(111.8, 114.3), st.floats(27.8, 28.7))
def test_bd_inverse_round_trip(lon: float, lat: float) -> None:
    back_lon, back_lat = offsets.bd09_to_wgs84(*offsets.wgs84_to_bd09(lon, lat))
    assert abs(float(back_lon) - lon) < 1e-8
    assert abs(float(back_lat) - lat) < 1e-8


def test_vectorised_arrays() -> None:
    lons = np.array([112.9, 113.0, 112.95])
    lats = np.array([28.1, 28.2, 28.25])
    glon, glat = offsets.wgs84_to_gcj02(lons, lats)
    assert glon.shape == (3,) and np.all(glon > lons)
    wlon, wlat = offsets.gcj02_to_wgs84(glon, glat)
    assert np.allclose(wlon, lons, atol=1e-9) and np.allclose(wlat, lats, atol=1e-9)
