"""The column-wise validator says exactly what the single-feature write path says, value for value."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon

from ingest.validate import PropertyValidator, check_geometries
from layers.definitions import builtin_layers
from layers.model import LayerDef
from layers.schema import validate_properties
from spatial.geometry import check_geometry

LAYERS: dict[str, LayerDef] = {layer.id: layer for layer in builtin_layers()}
SCHEMAS = ["pipeline_gas_segments", "pipeline_water_points", "buildings", "grid_cells", "landuse", "city_components"]

# Values survey columns really hold: good codes, labels, junk, numbers as text, blanks, extremes.
VALUES = st.one_of(
    st.none(), st.just(""), st.just("  "), st.booleans(),
    st.integers(-5, 6000), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["ZT", "PE", "JS", "RQ", "TR", "GD", "0", "1", "9", "ZA", "D", "CGA", "ST", "JCJ", "FM", "铸铁",
                     "residential", "other", "430104", "43010400701203", "0701", "1207", "ydyh", "2023", "现状",
                     "4301040101000001", "01", "0101", "51041000", "53031000", "1.5", "2015", "2015-06-01",
                     "300x200", "DN300", "measured", "survey", "x"]),
    st.text(max_size=6),
)


def _row_strategy(layer: LayerDef) -> st.SearchStrategy[dict[str, Any]]:
    names = layer.attributes.names
    return st.dictionaries(st.sampled_from(names), VALUES, max_size=len(names))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_properties_match_validate_properties(data: st.DataObject) -> None:
    layer = LAYERS[data.draw(st.sampled_from(SCHEMAS))]
    rows = data.draw(st.lists(_row_strategy(layer), min_size=1, max_size=8))
    # A column exists when any row has the field; rows lacking it hold None (an empty cell).
    present = sorted({k for r in rows for k in r})
    columns = {k: [r.get(k) for r in rows] for k in present}
    validator = PropertyValidator(layer.attributes)
    clean, errors = validator.validate(columns, len(rows))
    for i, row in enumerate(rows):
        as_cells = {k: row.get(k) for k in present}
        want_clean, want_errors = validate_properties(layer.attributes, as_cells)
        assert errors.get(i, []) == want_errors, (layer.id, as_cells)
        if not want_errors:
            got = {k: clean[k][i] for k in clean}
            assert got == want_clean


COORD = st.floats(-200, 200, allow_nan=False)
NEAR = st.floats(112.0, 114.0), st.floats(28.0, 28.6)


@st.composite
def geometries(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["point", "line", "poly", "bowtie", "mpoly", "mline", "mpoint", "none", "empty",
                                 "far", "z"]))
    x, y = draw(NEAR[0]), draw(NEAR[1])
    d = draw(st.floats(1e-5, 0.01))
    if kind == "point":
        return Point(x, y)
    if kind == "line":
        return LineString([(x, y), (x + d, y + d)])
    if kind == "poly":
        return shapely.box(x, y, x + d, y + d)
    if kind == "bowtie":
        return Polygon([(x, y), (x + d, y + d), (x + d, y), (x, y + d), (x, y)])
    if kind == "mpoly":
        n = draw(st.integers(1, 2))
        return MultiPolygon([shapely.box(x + k * 2 * d, y, x + k * 2 * d + d, y + d) for k in range(n)])
    if kind == "mline":
        n = draw(st.integers(1, 2))
        return MultiLineString([[(x + k * d, y), (x + k * d, y + d)] for k in range(n)])
    if kind == "mpoint":
        return MultiPoint([(x, y)] * draw(st.integers(1, 2)))
    if kind == "none":
        return None
    if kind == "empty":
        return Polygon()
    if kind == "z":
        return Point(x, y, 12.5)
    return Point(draw(COORD), draw(COORD))


@settings(max_examples=150, deadline=None)
@given(geoms=st.lists(geometries(), min_size=1, max_size=10),
       target=st.sampled_from(["Point", "LineString", "Polygon", "MultiPolygon", "MultiLineString", "MultiPoint"]),
       make_valid=st.booleans())
def test_geometries_match_check_geometry(geoms: list[Any], target: str, make_valid: bool) -> None:
    array = np.empty(len(geoms), dtype=object)  # not np.array(geoms): that would unpack multi-geometries
    array[:] = geoms
    wkb, errors, repairs = check_geometries(array, target=target, make_valid=make_valid)
    for i, g in enumerate(geoms):
        want_geom, problems, fixed = check_geometry(g, target=target, make_valid=make_valid)
        assert [e.message for e in errors.get(i, [])] == [p.message for p in problems]
        assert [e.code for e in errors.get(i, [])] == [p.code for p in problems]
        assert repairs.get(i, []) == fixed
        if want_geom is None:
            assert wkb[i] is None
        else:
            got = shapely.from_wkb(wkb[i])
            assert got.geom_type == want_geom.geom_type
            assert shapely.equals_exact(got, shapely.force_2d(want_geom), tolerance=0)
