"""valve-isolation on the hand-built water network (tests/analysis/networks.py draws it)."""

from __future__ import annotations

import asyncpg
import pytest
from shapely.geometry import Point, box

from analysis.catalogue import PROCESSES
from analysis.contract import InvalidInput
from layers.db import connect
from layers.registry import Registry
from layers.versioning import FeatureIn, insert_feature, open_changeset
from tests.analysis.networks import Built, context, lonlat

ISOLATE = PROCESSES["valve-isolation"]


def _nos(fc: dict, key: str) -> set[str]:
    return {f["properties"][key] for f in fc["features"]}


@pytest.fixture(scope="module")
async def houses(module_db_url: str, water: Built) -> dict[str, int]:
    """A building 10 m from pipe h (cut off), one 80 m from everything, a manhole cover 5 m from c."""
    conn = await connect(module_db_url)
    reg = await Registry.load(conn)
    out = {}
    try:
        async with conn.transaction():
            cs = await open_changeset(conn, actor="pytest", source="test")
            for name, (x, y) in {"near_h": (210, -150), "far": (700, -300)}.items():
                (x0, y0), (x1, y1) = lonlat(x, y), lonlat(x + 8, y + 8)
                ref = await insert_feature(conn, layer=reg.get("buildings"), changeset_id=cs, feature=FeatureIn(
                    box(x0, y0, x1, y1), {"name": name, "use": "residential", "height_m": 10.0}))
                out[name] = ref.fid
            ref = await insert_feature(conn, layer=reg.get("city_components"), changeset_id=cs, feature=FeatureIn(
                Point(*lonlat(250, 5)), {"obj_code": "4301040101000001", "obj_name": "上水井盖", "major_code": "01",
                                          "minor_code": "0101", "obj_state": "1"}))
            out["cover"] = ref.fid
    finally:
        await conn.close()
    return out


async def test_break_closes_the_bounding_valves(pool: asyncpg.Pool, water: Built, houses: dict[str, int]) -> None:
    out = await ISOLATE.run(context(pool), {"category": "water", "break": "c"})
    assert _nos(out["valves"], "point_no") == {"V1", "V2", "V4"}
    assert _nos(out["isolated"], "segment_no") == {"b", "c", "g"}
    # Behind the closed V2 and V4 nothing reaches the source S any more.
    assert _nos(out["cut_off"], "segment_no") == {"d", "e", "f", "h"}
    assert {f["id"] for f in out["affected_buildings"]["features"]} == {houses["near_h"]}
    assert {f["id"] for f in out["affected_components"]["features"]} == {houses["cover"]}
    s = out["summary"]
    assert s["bounded"] and s["valves"] == 3 and s["isolated_length_m"] == pytest.approx(300, abs=0.5)
    assert "message" not in s


async def test_a_failed_valve_pushes_the_search_on(pool: asyncpg.Pool, water: Built) -> None:
    out = await ISOLATE.run(context(pool), {"category": "water", "break": water.segments["c"],
                                            "failed_valves": ["V2"]})
    assert _nos(out["valves"], "point_no") == {"V1", "V3", "V4"}
    assert _nos(out["isolated"], "segment_no") == {"b", "c", "d", "e", "g"}
    assert _nos(out["cut_off"], "segment_no") == {"f", "h"}
    assert _nos(out["failed_valves"], "point_no") == {"V2"}


async def test_no_valve_bounds_the_break(pool: asyncpg.Pool, water: Built) -> None:
    out = await ISOLATE.run(context(pool), {"category": "water", "break": "x"})
    assert out["summary"]["bounded"] is False and "no valve bounds the break" in out["summary"]["message"]
    assert _nos(out["isolated"], "segment_no") >= {"x", "y"} and out["valves"]["features"] == []


async def test_sources_override_the_flag(pool: asyncpg.Pool, water: Built) -> None:
    # Fed from J3 instead of S: closing V1/V2/V4 cuts off a (and h), not d–f.
    out = await ISOLATE.run(context(pool), {"category": "water", "break": "c", "sources": ["J3"]})
    assert _nos(out["cut_off"], "segment_no") == {"a", "h"}


async def test_unreadable_buildings_are_dropped(pool: asyncpg.Pool, water: Built, houses: dict[str, int]) -> None:
    out = await ISOLATE.run(context(pool, readable=lambda layer: layer.startswith("pipeline_")),
                            {"category": "water", "break": "c"})
    assert out["affected_buildings"]["features"] == [] and out["affected_components"]["features"] == []
    assert out["summary"]["buildings_readable"] is False


async def test_buffer_reaches_further(pool: asyncpg.Pool, water: Built, houses: dict[str, int]) -> None:
    out = await ISOLATE.run(context(pool), {"category": "water", "break": "c", "buffer_m": 5})
    assert out["affected_buildings"]["features"] == []


@pytest.mark.parametrize(("inputs", "name"), [
    ({"category": "water", "break": "V1"}, "break"),  # a point, not a segment
    ({"category": "water", "break": "c", "failed_valves": ["nope"]}, "failed_valves"),
    ({"category": "water", "break": "c", "buffer_m": -1}, "buffer_m"),
    ({"category": "天然气管", "break": "c"}, "category"),
])
async def test_bad_input(pool: asyncpg.Pool, water: Built, inputs: dict, name: str) -> None:
    with pytest.raises(InvalidInput) as err:
        await ISOLATE.run(context(pool), inputs)
    assert err.value.input_name == name
