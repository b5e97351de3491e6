"""building-statistics: every measure equals a count made here from the raw rows, for each area kind,
as of one instant and as growth; the floors rule; access; bad input."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
from typing import Any

import asyncpg
import pytest
from openpyxl import load_workbook
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from analysis.catalogue import PROCESSES
from analysis.contract import InvalidInput
from layers.db import connect
from tests.analysis import buildings as town
from tests.analysis.networks import context

STATS = PROCESSES["building-statistics"]
T_EARLY, T_LATE = "2015-01-01T00:00:00Z", "2021-01-01T00:00:00Z"


@pytest.fixture(scope="module")
async def rows(module_db_url: str) -> list[asyncpg.Record]:
    conn = await connect(module_db_url)
    try:
        await town.write(conn)
        return await town.raw_rows(conn)
    finally:
        await conn.close()


def _at(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _check(snap: dict[str, Any], want: dict[str, Any]) -> None:
    t = snap["totals"]
    assert (t["buildings"], t["footprint_m2"], t["floor_area_m2"]) == pytest.approx(want["totals"], abs=0.02)
    for name in ("by_use", "by_age", "by_height", "by_floor_rule"):
        got = {c["key"]: [c["buildings"], c["footprint_m2"], c["floor_area_m2"]] for c in snap[name]
               if c["buildings"]}
        assert set(got) == set(want[name]), name
        for key, measures in want[name].items():
            assert got[key] == pytest.approx(measures, abs=0.02), (name, key)
        assert sum(c["buildings"] for c in snap[name]) == t["buildings"]


AREAS: list[tuple[dict[str, Any], BaseGeometry]] = [
    ({"district": "430104"}, town.district("430104")),
    ({"district": "开福区"}, town.district("430105")),
    ({"street": "430104001"}, town.cells_union(("430104", 1, 1, 1), ("430104", 1, 1, 2), ("430104", 1, 2, 1))),
    ({"street": "430104002"}, town.cells_union(("430104", 2, 1, 1))),
    ({"street": town.SUBDISTRICT[0]}, town.local_box(*town.SUBDISTRICT[2])),
    ({"community": "430104001001"}, town.cells_union(("430104", 1, 1, 1), ("430104", 1, 1, 2))),
    ({"grid": "43010400100201"}, town.cells_union(("430104", 1, 2, 1))),
    (town.polygon_json(50, 20, 330, 160), town.local_box(50, 20, 330, 160)),
    # 600 vertices: cut into pieces by the query; a building on a cut must still count once.
    (json.loads(json.dumps(mapping(town.circle(200, 100, 190)))), town.circle(200, 100, 190)),
]


@pytest.mark.parametrize(("area", "geom"), AREAS, ids=lambda v: str(v)[:30] if isinstance(v, dict) else "")
@pytest.mark.parametrize("when", [None, T_EARLY, T_LATE])
async def test_equals_a_count_from_the_raw_rows(pool: asyncpg.Pool, rows: list[asyncpg.Record], area: dict[str, Any],
                                                geom: BaseGeometry, when: str | None) -> None:
    inputs: dict[str, Any] = {"area": area} | ({"datetime": when} if when else {})
    out = await STATS.run(context(pool), inputs)
    snap = out["statistics"]["snapshots"][0]
    want = town.expected(rows, geom, _at(when))
    assert want["totals"][0] > 0  # the fixture puts buildings in every area
    _check(snap, want)


async def test_growth_is_the_difference_of_two_as_of_answers(pool: asyncpg.Pool, rows: list[asyncpg.Record]) -> None:
    area = {"district": "430104"}
    both = (await STATS.run(context(pool), {"area": area, "datetime": [T_LATE, T_EARLY]}))["statistics"]
    early = (await STATS.run(context(pool), {"area": area, "datetime": T_EARLY}))["statistics"]["snapshots"][0]
    late = (await STATS.run(context(pool), {"area": area, "datetime": T_LATE}))["statistics"]["snapshots"][0]
    assert [s["datetime"] for s in both["snapshots"]] == ["2015-01-01T00:00:00Z", "2021-01-01T00:00:00Z"]
    g = both["growth"]
    for m in ("buildings", "footprint_m2", "floor_area_m2"):
        assert g["totals"][m] == pytest.approx(late["totals"][m] - early["totals"][m], abs=0.011)
    for name in ("by_use", "by_age", "by_height", "by_floor_rule"):
        before = {c["key"]: c for c in early[name]}
        for c in late[name]:
            got = next(x for x in g[name] if x["key"] == c["key"])
            assert got["buildings"] == c["buildings"] - before[c["key"]]["buildings"]
            assert got["floor_area_m2"] == pytest.approx(c["floor_area_m2"] - before[c["key"]]["floor_area_m2"],
                                                         abs=0.011)
    # The fixture both retires and adds buildings between the two instants, and re-surveys floors.
    want = town.expected(rows, town.district("430104"), _at(T_LATE))["totals"][0] - town.expected(
        rows, town.district("430104"), _at(T_EARLY))["totals"][0]
    assert g["totals"]["buildings"] == want


async def test_floor_rule_counts(pool: asyncpg.Pool, rows: list[asyncpg.Record]) -> None:
    out = (await STATS.run(context(pool), {"area": {"district": "430104"}}))["statistics"]
    rules = {c["key"]: c["buildings"] for c in out["snapshots"][0]["by_floor_rule"]}
    assert set(rules) == {"floors", "height", "default"} and all(rules.values())
    assert town.floors_rule(0, 10.5) == ("height", 4) and town.floors_rule(None, 1.0) == ("height", 1)
    assert town.floors_rule(None, None) == ("default", 1) and town.floors_rule(2, 130.0) == ("floors", 2)
    assert "3 m" in STATS.description and "EPSG:4547" in STATS.description


async def test_csv_and_xlsx_carry_the_same_numbers(pool: asyncpg.Pool, rows: list[asyncpg.Record]) -> None:
    out = await STATS.run(context(pool), {"area": {"community": "430104001001"}, "datetime": [T_EARLY, T_LATE]})
    stats = out["statistics"]
    table = list(csv.reader(io.StringIO(out["csv"].lstrip("\ufeff"))))
    totals = [r for r in table if r[1].startswith("合计")]
    assert [int(r[5]) for r in totals] == [stats["snapshots"][0]["totals"]["buildings"],
                                           stats["snapshots"][1]["totals"]["buildings"],
                                           stats["growth"]["totals"]["buildings"]]
    book = load_workbook(io.BytesIO(base64.b64decode(out["xlsx"])))
    sheet = [list(r) for r in book["建筑统计"].iter_rows(values_only=True)]
    assert [str(v) for v in sheet[0]] == table[0] and len(sheet) == len(table)
    for got, want in zip(sheet[1:], table[1:], strict=True):
        assert [v or "" for v in got[:5]] == want[:5]
        assert [float(v) for v in got[5:]] == [float(v) for v in want[5:]]
    assert "说明" in book.sheetnames


async def test_unreadable_area_layer_is_refused(pool: asyncpg.Pool, rows: list[asyncpg.Record]) -> None:
    assert STATS.reads({"area": {"grid": "43010400100201"}}) == ["buildings", "grid_cells"]
    assert STATS.reads({"area": town.polygon_json(0, 0, 10, 10)}) == ["buildings"]
    assert STATS.reads({"area": {"street": "测试街道"}}) == ["buildings", "admin_subdistricts"]
    with pytest.raises(InvalidInput):
        await STATS.run(context(pool, readable=lambda layer: layer != "buildings"), {"area": {"district": "430104"}})


@pytest.mark.parametrize(("inputs", "says"), [
    ({"area": {"district": "999999"}}, "no district"),
    ({"area": {"community": "4301040010"}}, "12 digits"),
    ({"area": {"grid": "43019900100201"}}, "no unit grid cells"),
    ({"area": {"town": "x"}}, "GeoJSON Polygon"),
    ({"area": {"district": "430104"}, "datetime": ["2015-01-01T00:00:00Z", "2015-01-01T00:00:00Z"]}, "same"),
    ({"area": {"district": "430104"}, "datetime": "yesterday"}, "RFC 3339"),
])
async def test_bad_input(pool: asyncpg.Pool, rows: list[asyncpg.Record], inputs: dict[str, Any], says: str) -> None:
    with pytest.raises(InvalidInput) as err:
        STATS.reads(inputs)
        await STATS.run(context(pool), inputs)
    assert says in err.value.detail


async def test_a_building_on_a_cut_between_pieces_counts_once(pool: asyncpg.Pool, rows: list[asyncpg.Record]) -> None:
    async with pool.acquire() as conn:
        x, y = await conn.fetchrow("SELECT ST_X(surface_point), ST_Y(surface_point) FROM data.buildings "
                                   "WHERE valid_to IS NULL ORDER BY fid LIMIT 1")
        d = 2.0**-10  # a square centred on the point, 256 vertices: cut through its centre, so through the point
        n = 64
        step = [2 * d * i / n for i in range(n)]
        ring = ([(x - d + s, y - d) for s in step] + [(x + d, y - d + s) for s in step]
                + [(x + d - s, y + d) for s in step] + [(x - d, y + d - s) for s in step])
        area = {"type": "Polygon", "coordinates": [[list(p) for p in [*ring, ring[0]]]]}
        touching = await conn.fetchval(
            "SELECT count(*) FROM ST_Subdivide(ST_GeomFromGeoJSON($1), 128) g "
            "WHERE ST_Intersects(g, ST_SetSRID(ST_MakePoint($2, $3), 4326))", json.dumps(area), x, y)
    assert touching >= 2  # the point lies on a cut (else this test proves nothing)
    out = await STATS.run(context(pool), {"area": area})
    want = town.expected(rows, shape(area), None)
    assert out["statistics"]["snapshots"][0]["totals"]["buildings"] == want["totals"][0]
