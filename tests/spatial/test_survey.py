"""Which CRS and axis order a delivery is in: declared, given, or told from the numbers."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import CRS

from spatial.errors import InvalidCoordinates, UnsupportedCrs
from spatial.survey import decide_crs, srid_from_declared

# Central Changsha in EPSG:4547 (no zone prefix): easting ~ 399 000, northing ~ 3 121 000.
E = np.array([398_500.0, 399_200.0, 400_100.0])
N = np.array([3_120_500.0, 3_121_000.0, 3_121_900.0])


def test_plain_gk_metres_assume_zone_38_and_say_so() -> None:
    d = decide_crs(E, N)
    assert (d.crs.srid, d.swap_xy) == (4547, False)
    assert "assumed zone 38" in d.reason


def test_prefixed_eastings_read_their_zone() -> None:
    d = decide_crs(E + 38_000_000, N)
    assert d.crs.srid == 4526 and "prefix 38" in d.reason


def test_survey_table_with_x_northing_is_swapped() -> None:
    d = decide_crs(N, E)
    assert (d.crs.srid, d.swap_xy) == (4547, True)
    assert "X = north" in d.reason
    with pytest.raises(InvalidCoordinates):  # told X is the easting, the numbers make no sense
        decide_crs(N, E, xy_order="en")
    assert decide_crs(N, E, xy_order="ne").swap_xy is True


def test_degrees_with_or_without_swapped_axes() -> None:
    lon, lat = np.array([112.9, 113.0]), np.array([28.1, 28.3])
    assert (decide_crs(lon, lat).crs.srid, decide_crs(lon, lat).swap_xy) == (4490, False)
    assert decide_crs(lat, lon).swap_xy is True
    assert decide_crs(lon, lat, given="gcj02").crs.offset == "gcj02"


def test_declared_esri_prj_is_recognised_and_legacy_datums_refused() -> None:
    esri = CRS.from_epsg(4547).to_wkt(version="WKT1_ESRI")
    assert srid_from_declared(esri) == 4547
    with pytest.raises(UnsupportedCrs, match="Xian 1980"):
        srid_from_declared("EPSG:2383")
    with pytest.raises(UnsupportedCrs):
        srid_from_declared("EPSG:3003")


def test_numbers_that_fit_nothing_are_refused() -> None:
    with pytest.raises(InvalidCoordinates, match="--crs"):
        decide_crs(np.array([1_650_000.0]), np.array([4_944_000.0]))
