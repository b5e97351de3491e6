"""clearance-check against the GB 50289 table: horizontal, vertical at crossings, buildings."""

from __future__ import annotations

import asyncpg
import pytest
from shapely.geometry import Polygon

from analysis.catalogue import PROCESSES
from analysis.clearance import rules
from analysis.contract import InvalidInput
from layers.db import connect
from layers.registry import Registry
from layers.versioning import FeatureIn, insert_feature, open_changeset
from tests.analysis.networks import Built, context, lonlat

CHECK = PROCESSES["clearance-check"]


@pytest.fixture(scope="module")
async def house(module_db_url: str, water: Built) -> int:
    """A building whose wall is 0.8 m north of water pipe b's centre line."""
    conn = await connect(module_db_url)
    try:
        reg = await Registry.load(conn)
        async with conn.transaction():
            cs = await open_changeset(conn, actor="pytest", source="test")
            # Corners placed in GK metres: a lon/lat box would be turned by the grid convergence (~0.5°).
            walls = Polygon([lonlat(140, 0.8), lonlat(160, 0.8), lonlat(160, 12), lonlat(140, 12)])
            ref = await insert_feature(conn, layer=reg.get("buildings"), changeset_id=cs,
                                       feature=FeatureIn(walls, {"name": "紧邻楼", "use": "residential"}))
            return ref.fid
    finally:
        await conn.close()


def _line(*pts: tuple[float, float]) -> dict:
    return {"type": "LineString", "coordinates": [list(lonlat(*p)) for p in pts]}


async def test_proposed_gas_main_too_close_to_a_water_pipe(pool: asyncpg.Pool, water: Built, house: int) -> None:
    proposed = {"geometry": _line((120, -0.3), (180, -0.3)), "category": "燃气", "diameter_mm": 200, "depth_m": 1.0,
                "pressure_class": "ZA"}
    out = await CHECK.run(context(pool), {"proposed": proposed})
    hits = {f["properties"].get("segment_no") or f["properties"].get("name"): f for f in out["violations"]["features"]}
    b = hits["b"]["properties"]
    assert hits["b"]["id"] == water.segments["b"] and b["check"] == "horizontal"
    assert b["required_m"] == 0.5 and b["actual_m"] == pytest.approx(0.1, abs=0.01)  # 0.3 − 0.1 − 0.1
    assert "表4.1.9" in b["clause"] and b["confidence"] == "GK"
    assert out["summary"]["confidence"] == "GK" and out["summary"]["subject"]["fid"] is None


async def test_existing_pipe_against_a_building(pool: asyncpg.Pool, water: Built, house: int) -> None:
    out = await CHECK.run(context(pool), {"segment": "b", "category": "给水"})
    found = {f["id"]: f["properties"] for f in out["violations"]["features"]}
    assert set(found) == {house}  # a and c join b: its own network, not checked
    assert found[house]["check"] == "building" and found[house]["required_m"] == 1.0
    assert found[house]["actual_m"] == pytest.approx(0.7, abs=0.01)
    assert out["summary"]["subject"]["segment_no"] == "b"


async def test_vertical_clearance_at_a_crossing(pool: asyncpg.Pool, water: Built) -> None:
    crossing = {"geometry": _line((150, -10), (150, 10)), "category": "雨水", "size": "DN300"}
    shallow = await CHECK.run(context(pool), {"proposed": {**crossing, "depth_m": 1.5}})  # top 1.2 m: in b's way
    deep = await CHECK.run(context(pool), {"proposed": {**crossing, "depth_m": 2.2}})  # top 1.9 m: 0.5 m below b
    hit = next(f["properties"] for f in shallow["violations"]["features"] if f["properties"]["segment_no"] == "b")
    assert hit["check"] == "vertical" and hit["required_m"] == 0.4 and hit["actual_m"] < 0
    assert all(f["properties"].get("segment_no") != "b" for f in deep["violations"]["features"])


async def test_unreadable_buildings_are_not_checked(pool: asyncpg.Pool, water: Built, house: int) -> None:
    out = await CHECK.run(context(pool, readable=lambda layer: layer != "buildings"), {"segment": water.segments["b"]})
    assert out["violations"]["features"] == [] and out["summary"]["buildings_checked"] == 0


def test_rule_table_keeps_its_confidence_tag() -> None:
    table = rules()
    assert table.confidence == "GK" and "GB 50289-2016" in table.source
    assert {r.kind for r in table.rules} == {"horizontal", "vertical"} and len(table.rules) > 40


@pytest.mark.parametrize(("inputs", "name"), [
    ({}, "segment"),
    ({"segment": "zz", "category": "water"}, "segment"),
    ({"proposed": {"geometry": _line((0, 0), (10, 0)), "category": "燃气", "diameter_mm": 200, "depth_m": -1}},
     "depth_m"),
    ({"proposed": {"geometry": _line((0, 0), (10, 0)), "category": "燃气", "depth_m": 1}}, "proposed"),
    ({"proposed": {"geometry": _line((0, 0), (10, 10), (10, 0), (0, 10)), "category": "gas", "diameter_mm": 100,
                   "depth_m": 1}}, "proposed"),
    ({"proposed": {"geometry": _line((0, 0), (10, 0)), "category": "steam", "diameter_mm": 100, "depth_m": 1}},
     "proposed"),
])
async def test_bad_input(pool: asyncpg.Pool, water: Built, inputs: dict, name: str) -> None:
    with pytest.raises(InvalidInput) as err:
        await CHECK.run(context(pool), inputs)
    assert err.value.input_name == name
