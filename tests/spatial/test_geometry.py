"""Geometry checks on the way into storage."""

from __future__ import annotations

import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from spatial.geometry import check_geometry, coerce_type

SQUARE = Polygon([(112.95, 28.19), (112.96, 28.19), (112.96, 28.2), (112.95, 28.2)])
BOWTIE = Polygon([(112.95, 28.19), (112.96, 28.2), (112.96, 28.19), (112.95, 28.2)])


def test_polygon_promoted_to_multipolygon() -> None:
    geom, problems, _ = check_geometry(SQUARE, target="MultiPolygon")
    assert not problems and isinstance(geom, MultiPolygon)


def test_single_part_multi_accepted_for_single_layer() -> None:
    out = coerce_type(MultiPolygon([SQUARE]), "Polygon")
    assert isinstance(out, Polygon)


def test_wrong_type_rejected() -> None:
    geom, problems, _ = check_geometry(Point(112.95, 28.19), target="LineString")
    assert geom is None and problems[0].code == "wrong-type"


def test_invalid_rejected_unless_make_valid() -> None:
    geom, problems, _ = check_geometry(BOWTIE, target="MultiPolygon")
    assert geom is None and problems[0].code == "invalid" and "Self-intersection" in problems[0].message
    fixed, problems, repairs = check_geometry(BOWTIE, target="MultiPolygon", make_valid=True)
    assert not problems and fixed is not None and fixed.is_valid and repairs


def test_outside_city_flags_swapped_axes() -> None:
    swapped = LineString([(28.19, 112.95), (28.2, 112.96)])
    geom, problems, _ = check_geometry(swapped, target="LineString")
    assert geom is None and problems[0].code in {"out-of-range", "outside-city"}
    far = LineString([(116.3, 39.9), (116.4, 39.9)])
    geom, problems, _ = check_geometry(far, target="LineString")
    assert problems[0].code == "outside-city"


def test_empty_and_3d() -> None:
    assert check_geometry(None, target="Point")[1][0].code == "empty"
    geom, problems, _ = check_geometry(Point(112.95, 28.19, 45.0), target="Point")
    assert not problems and geom is not None and not geom.has_z


def test_invalid_geometry_names_where_it_fails() -> None:
    _, problems, _ = check_geometry(BOWTIE, target="MultiPolygon")
    assert problems[0].location is not None
    x, y = problems[0].location
    crossing = shapely.intersection(LineString(BOWTIE.exterior.coords[0:2]), LineString(BOWTIE.exterior.coords[2:4]))
    assert (round(x, 9), round(y, 9)) == (round(crossing.x, 9), round(crossing.y, 9))


def test_repair_that_would_change_the_type_is_refused() -> None:
    geom, problems, repairs = check_geometry(BOWTIE, target="Polygon", make_valid=True)
    assert geom is None and repairs and problems[0].code == "repair-changes-type"
