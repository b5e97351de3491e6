"""CRS parsing, Gauss-Krüger zones and transforms into storage CRS."""

from __future__ import annotations

import numpy as np
import pytest

from spatial.crs import (
    CRS84,
    STORAGE,
    gk3_srid,
    gk3_zone_for_longitude,
    gk3_zone_of_srid,
    guess_gk3,
    parse_crs,
    transform_xy,
)
from spatial.errors import InvalidCoordinates, UnsupportedCrs


@pytest.mark.parametrize(
    ("text", "srid", "lat_first"),
    [
        ("http://www.opengis.net/def/crs/EPSG/0/4490", 4490, True),
        ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", 4326, False),
        ("http://www.opengis.net/def/crs/EPSG/0/4326", 4326, True),
        ("EPSG:4547", 4547, False),
        ("[EPSG:4526]", 4526, False),
        ("urn:ogc:def:crs:EPSG::3857", 3857, False),
        ("4490", 4490, True),
    ],
)
def test_parse_supported(text: str, srid: int, lat_first: bool) -> None:
    ref = parse_crs(text)
    assert ref.srid == srid
    assert ref.lat_first is lat_first


def test_crs84_is_lon_lat_and_distinct_uri() -> None:
    assert CRS84.uri.endswith("CRS84")
    assert parse_crs("CRS84") == CRS84


@pytest.mark.parametrize("text", ["EPSG:2000", "EPSG:4548x", "http://example.org/crs/1", "WGS 84", "EPSG:900913"])
def test_parse_refuses(text: str) -> None:
    with pytest.raises(UnsupportedCrs):
        parse_crs(text)


def test_gcj_and_bd_pseudo_crs() -> None:
    assert parse_crs("gcj02").offset == "gcj02"
    assert parse_crs("BD-09").offset == "bd09"


def test_gk_zone_codes_follow_epsg_pattern() -> None:
    # domain.md §3.1: zone 38 is 4526 with prefix and 4547 without; zone 37 is 4525/4546.
    assert gk3_srid(38, prefixed=True) == 4526
    assert gk3_srid(38, prefixed=False) == 4547
    assert gk3_srid(37, prefixed=False) == 4546
    assert gk3_zone_of_srid(4547) == (38, False)
    assert gk3_zone_of_srid(4548) == (39, False)  # 4548 is CM 117E, not zone 38 (domain.md pitfall)
    assert gk3_zone_for_longitude(112.97) == 38
    assert gk3_zone_for_longitude(112.2) == 37


def test_transform_zone38_round_trip_centimetres() -> None:
    lon, lat = np.array([112.97092]), np.array([28.19860])  # 五一广场 station
    e, n = transform_xy(lon, lat, src=STORAGE, dst_srid=4547)
    assert 380_000 < e[0] < 420_000 and 3_110_000 < n[0] < 3_130_000
    back_lon, back_lat = transform_xy(e, n, src=parse_crs(4547))
    # 1e-7° ≈ 1 cm
    assert abs(back_lon[0] - lon[0]) < 1e-7 and abs(back_lat[0] - lat[0]) < 1e-7
    e38, _ = transform_xy(lon, lat, src=STORAGE, dst_srid=4526)
    assert abs(e38[0] - (38_000_000 + e[0])) < 1e-3


def test_gcj_input_lands_back_on_wgs() -> None:
    lon, lat = transform_xy([112.9635], [28.1815], src=parse_crs("gcj02"))
    assert abs(lon[0] - 112.958) < 1e-4 and abs(lat[0] - 28.185) < 1e-4


def test_guess_gk_zone() -> None:
    prefixed = guess_gk3([38_501_548.722, 38_502_000.0])
    assert prefixed.srid == 4526 and prefixed.prefixed
    plain = guess_gk3([501_548.722])
    assert plain.srid == 4547 and "assumed zone 38" in plain.reason
    with pytest.raises(InvalidCoordinates, match="swapped"):
        guess_gk3([3_379_503.338])  # a northing passed as easting
    with pytest.raises(InvalidCoordinates, match="several zone"):
        guess_gk3([38_500_000.0, 39_500_000.0])
