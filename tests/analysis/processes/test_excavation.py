"""excavation-impact: the depth rule per category's depth convention, owners, access, bad input."""

from __future__ import annotations

import asyncpg
import pytest

from analysis.catalogue import PROCESSES
from analysis.contract import InvalidInput
from tests.analysis.networks import Built, context, lonlat

DIG = PROCESSES["excavation-impact"]


def _area(x0: float, y0: float, x1: float, y1: float) -> dict:
    ring = [lonlat(x0, y0), lonlat(x1, y0), lonlat(x1, y1), lonlat(x0, y1), lonlat(x0, y0)]
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}


def _nos(fc: dict) -> set[str]:
    return {f["properties"]["segment_no"] for f in fc["features"]}


async def test_pressure_pipe_top_is_its_depth(pool: asyncpg.Pool, water: Built, storm: Built) -> None:
    area = _area(120, -10, 180, 10)  # across b (water, top 1.2 m)
    shallow = await DIG.run(context(pool), {"area": area, "depth_m": 0.6})  # 0.6 + 0.5 < 1.2
    deep = await DIG.run(context(pool), {"area": area, "depth_m": 0.8})
    assert _nos(shallow["pipes"]) == set() and _nos(deep["pipes"]) == {"b"}
    pipe = deep["pipes"]["features"][0]
    assert pipe["id"] == water.segments["b"] and pipe["properties"]["top_depth_m"] == pytest.approx(1.2)
    assert pipe["properties"]["margin_to_dig_m"] == pytest.approx(0.4)
    assert deep["owners"] == [{"owner": "长沙水业集团", "categories": ["给水"], "pipes": 1, "segment_nos": ["b"]}]
    assert deep["owners_csv"].splitlines() == ["权属单位,管线类别,管段数,管段编号", "长沙水业集团,给水,1,b"]


async def test_gravity_pipe_top_is_invert_minus_diameter(pool: asyncpg.Pool, storm: Built) -> None:
    # s1's invert runs 1.5 → 1.8 m deep; inside x 10–40 its shallowest top is 1.56 − 0.2 = 1.36 m.
    area = _area(10, 990, 40, 1010)
    hit = await DIG.run(context(pool), {"area": area, "depth_m": 0.9})
    miss = await DIG.run(context(pool), {"area": area, "depth_m": 0.8})
    assert _nos(hit["pipes"]) == {"s1"} and _nos(miss["pipes"]) == set()
    assert hit["pipes"]["features"][0]["properties"]["top_depth_m"] == pytest.approx(1.36, abs=0.01)


async def test_margin_is_a_setting(pool: asyncpg.Pool, water: Built) -> None:
    out = await DIG.run(context(pool, excavation_margin_m=0.0), {"area": _area(120, -10, 180, 10), "depth_m": 1.1})
    assert _nos(out["pipes"]) == set() and out["summary"]["margin_m"] == 0.0


async def test_unreadable_categories_are_left_out(pool: asyncpg.Pool, water: Built) -> None:
    out = await DIG.run(context(pool, readable=lambda layer: "water" not in layer),
                        {"area": _area(120, -10, 180, 10), "depth_m": 3})
    assert out["pipes"]["features"] == [] and "pipeline_water_segments" in out["summary"]["unreadable_layers"]


@pytest.mark.parametrize(("inputs", "says"), [
    ({"area": _area(0, 0, 10, 10), "depth_m": -1}, "negative"),
    ({"area": {"type": "Polygon", "coordinates": [[list(lonlat(0, 0)), list(lonlat(10, 10)), list(lonlat(10, 0)),
                                                   list(lonlat(0, 10)), list(lonlat(0, 0))]]}, "depth_m": 1},
     "Self-intersection"),
    ({"area": {"type": "LineString", "coordinates": [list(lonlat(0, 0)), list(lonlat(10, 10))]}, "depth_m": 1},
     "expected a Polygon"),
    ({"area": _area(0, 0, 10, 10)}, "required"),
    ({"area": _area(0, 0, 3000, 3000), "depth_m": 1}, "larger than"),
])
async def test_bad_input(pool: asyncpg.Pool, inputs: dict, says: str) -> None:
    with pytest.raises(InvalidInput) as err:
        DIG.reads(inputs)
        await DIG.run(context(pool), inputs)
    assert says in err.value.detail
