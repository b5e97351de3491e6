"""The generated parts of the sample city, checked before any database is involved."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from itertools import pairwise

import pytest
import shapely

from sample.build import SampleCity, sample_city
from sample.pipe_specs import SPECS
from sample.sources import find_data_dir
from sample.streets import ARTERIAL, LOCAL, SECONDARY, WIDTH_M, generate_streets
from spatial.codelists.landuse import check_landuse_code

# GB 50289-2016 order from the 道路红线 towards the centre, per side of the street.
LEFT = ["power", "water", "streetlight", "sewage"]
RIGHT = ["telecom", "cabletv", "gas", "signal", "storm"]


@pytest.fixture(scope="module")
def city() -> SampleCity:
    found = find_data_dir()
    assert found is not None
    return sample_city(found)


@pytest.mark.parametrize(("road_class", "width"), [
    (cls, float(w)) for cls, (lo, hi, _) in WIDTH_M.items() for w in (lo, hi)
])
def test_categories_keep_gb50289_order_and_clearance(road_class: str, width: float) -> None:
    for side, order in ((1, LEFT), (-1, RIGHT)):
        present = [k for k in order if road_class in SPECS[k].classes]
        offsets = [SPECS[k].offset_m(road_class, width) for k in present]
        assert all(o * side > 0 for o in offsets), (present, offsets)
        inward = [width / 2 - abs(o) for o in offsets]
        assert inward == sorted(inward), (road_class, width, present, inward)
        assert all(b - a >= 0.5 for a, b in pairwise(inward)), (present, inward)


def test_streets_are_deterministic_and_plausible(city: SampleCity) -> None:
    streets = city.streets
    again = generate_streets(city.terrain)
    assert [(s.street_no, s.name, s.line.wkb) for s in again] == [(s.street_no, s.name, s.line.wkb) for s in streets]
    classes = Counter(s.road_class for s in streets)
    assert classes[ARTERIAL] > 50 and classes[SECONDARY] > 50 and classes[LOCAL] > 50
    for s in streets:
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,6}(大道|路|街|巷)", s.name), s.name
        assert s.first_line.length <= s.line.length + 1e-6
        assert s.extended is None or s.extended > s.built
        crossing = s.line.intersection(city.terrain.channel).length
        assert crossing < 1.0 or s.bridge, (s.street_no, crossing)
    assert sum(1 for s in streets if s.bridge and s.line.intersects(city.terrain.channel)) >= 3


def test_arterials_are_800_to_1000_m_apart(city: SampleCity) -> None:
    arterials = [s for s in city.streets if s.road_class == ARTERIAL and s.family == "ew" and s.line.length > 3000]
    gaps = []
    for s in arterials:
        mid = s.line.interpolate(0.5, normalized=True)
        others = [o.line.distance(mid) for o in arterials if o is not s and o.family == s.family]
        gaps.append(min(others))
    # Lines wander by up to 60 m and pieces may be missing, so look at the typical gap.
    gaps.sort()
    assert 700 < gaps[len(gaps) // 2] < 1100, gaps


def test_grid_cells_tile_the_core_without_overlap(city: SampleCity) -> None:
    cells = city.grid.cells
    codes = [c.code for c in cells]
    assert len(set(codes)) == len(codes)
    per_community = Counter(code[:12] for code in codes)
    assert max(per_community.values()) <= 25
    covered = sum(c.geometry.area for c in cells)
    regions = shapely.union_all(list(city.grid.regions.values()))
    assert abs(covered - regions.area) / regions.area < 1e-6
    recoded = [c for c in cells if c.recoded is not None]
    assert recoded
    # After the splits every 街道's codes are still unique.
    after: dict[str, list[str]] = defaultdict(list)
    for c in cells:
        after[c.code[:9]].append(c.code_at(c.recoded[0]) if c.recoded else c.code)
    for street_codes in after.values():
        assert len(set(street_codes)) == len(street_codes)


def test_landuse_parcels_are_coded_and_do_not_overlap(city: SampleCity) -> None:
    plans = city.landuse_plans
    codes = Counter()
    for p in plans:
        for v in p.versions:
            assert check_landuse_code(v.properties["landuse_code"], scheme="ydyh", version="2023") is None
        codes[p.versions[-1].properties["landuse_code"]] += 1
    assert {"0701", "0901", "1207", "1701"} <= set(codes)
    assert any(len(p.versions) > 1 for p in plans)
    geoms = [p.versions[-1].geometry for p in plans]
    union = shapely.union_all(geoms)
    assert abs(sum(g.area for g in geoms) - union.area) / union.area < 1e-3


def test_pipeline_points_are_typed_by_category(city: SampleCity) -> None:
    kinds = {key: Counter(f.kind for f in cat.facilities) for key, cat in city.pipelines.items()}
    assert {"XFS", "FMJ", "ST", "SIT", "GD"} <= set(kinds["water"])
    assert set(kinds["sewage"]) == {"JCJ"}
    assert set(kinds["storm"]) == {"JCJ", "YB"}
    assert {"TYX", "SIT", "FMJ", "GD"} <= set(kinds["gas"])
    assert {"LDG", "SK"} <= set(kinds["streetlight"])
    assert {"XHD", "SK"} <= set(kinds["signal"])
    # Every storm inlet drains through exactly one lateral into a well.
    storm = city.pipelines["storm"]
    inlets = {f.index for f in storm.facilities if f.kind == "YB"}
    ends = Counter(i for pair in storm.ends for i in pair if i in inlets)
    assert set(ends.values()) == {1} and set(ends) == inlets
