"""cross-section: crossings with offsets, depths and elevations; the SVG drawing; bad lines."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import asyncpg
import pytest

from analysis.catalogue import PROCESSES
from analysis.contract import InvalidInput
from layers.db import connect
from tests.analysis import networks
from tests.analysis.networks import Built, context, lonlat

SECTION = PROCESSES["cross-section"]
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
async def gas(module_db_url: str) -> Built:
    """A gas main 5 m north of water pipe b, 0.9 m deep, DN160, with ground elevations."""
    conn = await connect(module_db_url)
    try:
        return await networks.write(conn, "gas", points={
            "G1": (100, 5, {"ground_elev_m": 40.0}), "G2": (200, 5, {"ground_elev_m": 41.0})},
            segments={"gm": ("G1", "G2", {"start_depth_m": 0.9, "end_depth_m": 0.9, "diameter_mm": 160,
                                          "owner": "长沙新奥燃气"})})
    finally:
        await conn.close()


def _line(*pts: tuple[float, float]) -> dict:
    return {"type": "LineString", "coordinates": [list(lonlat(*p)) for p in pts]}


async def test_crossings_in_order_with_figures(pool: asyncpg.Pool, water: Built, gas: Built) -> None:
    out = await SECTION.run(context(pool), {"line": _line((150, -20), (150, 20))})
    pipes = out["pipes"]["features"]
    assert [p["properties"]["segment_no"] for p in pipes] == ["b", "gm"]
    b, gm = (p["properties"] for p in pipes)
    assert pipes[0]["id"] == water.segments["b"] and pipes[0]["geometry"]["type"] == "Point"
    assert b["offset_m"] == pytest.approx(20.0, abs=0.05) and gm["offset_m"] == pytest.approx(25.0, abs=0.05)
    assert (b["pipe_category_zh"], b["size"], b["material_zh"], b["owner"]) == ("给水", "DN200", "PE", "长沙水业集团")
    assert (b["top_depth_m"], b["bottom_depth_m"], b["top_elev_m"]) == (1.2, 1.4, None)  # no ground at J1/V1
    assert gm["ground_elev_m"] == pytest.approx(40.5) and gm["top_elev_m"] == pytest.approx(39.6)
    assert gm["bottom_elev_m"] == pytest.approx(39.44)
    assert out["summary"]["pipes"] == 2 and out["summary"]["length_m"] == pytest.approx(40.0, abs=0.05)


async def test_svg_draws_each_pipe_in_its_cjj61_colour(pool: asyncpg.Pool, water: Built, gas: Built) -> None:
    out = await SECTION.run(context(pool), {"line": _line((150, -20), (150, 20))})
    root = ET.fromstring(out["svg"])
    fills = [e.get("fill") for e in root.iter(f"{SVG}ellipse")]
    assert fills == ["#00ffff", "#ff00ff"]  # 给水 天蓝, 燃气 粉红 (CJJ 61 附录B)
    texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "横断面图" in texts and "地面线" in texts and "给水 DN200 PE" in texts and "燃气 DN160" in texts
    # To scale: a 0.2 m pipe on a 40 m section 670 px wide is 3.35 px, drawn at the 4 px minimum.
    assert float(next(root.iter(f"{SVG}ellipse")).get("rx") or 0) == pytest.approx(2.0)


async def test_unreadable_categories_are_not_drawn(pool: asyncpg.Pool, water: Built, gas: Built) -> None:
    out = await SECTION.run(context(pool, readable=lambda layer: "gas" not in layer),
                            {"line": _line((150, -20), (150, 20))})
    assert [p["properties"]["segment_no"] for p in out["pipes"]["features"]] == ["b"]
    assert "燃气" not in out["svg"]


@pytest.mark.parametrize(("line", "says"), [
    (_line((0, 0), (10, 10), (20, 0)), "two-point"),
    (_line((0, 0), (0, 500)), "at most 300 m"),
    ({"type": "Point", "coordinates": list(lonlat(0, 0))}, "expected a LineString"),
    ({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, "outside Changsha"),
])
async def test_bad_lines(pool: asyncpg.Pool, line: dict, says: str) -> None:
    with pytest.raises(InvalidInput) as err:
        SECTION.reads({"line": line})
        await SECTION.run(context(pool), {"line": line})
    assert err.value.input_name == "line" and says in err.value.detail
