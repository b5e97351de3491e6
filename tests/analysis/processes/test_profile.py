"""longitudinal-profile on the hand-built storm network: stations, inverts, slopes, wells, SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import asyncpg
import pytest

from analysis.catalogue import PROCESSES
from analysis.contract import InvalidInput
from tests.analysis.networks import Built, context, lonlat

PROFILE = PROCESSES["longitudinal-profile"]


async def test_profile_between_two_wells(pool: asyncpg.Pool, storm: Built) -> None:
    out = await PROFILE.run(context(pool), {"category": "雨水", "from": "Y1", "to": "Y4"})
    assert [r["segment_no"] for r in out["profile"]] == ["s1", "s2", "s3"]
    s1, _s2, s3 = out["profile"]
    assert (s1["level_start_m"], s1["level_end_m"]) == (48.5, 48.2)  # 50.0 − 1.5, 50.0 − 1.8
    assert s1["slope_permille"] == pytest.approx(6.0, abs=0.05)  # 0.3 m over 50 m
    assert s3["from_point"] == "Y3" and s3["level_start_m"] == pytest.approx(47.7) and s3["with_flow"]
    assert s3["station_end_m"] == pytest.approx(150.0, abs=0.05)
    assert [w["point_no"] for w in out["wells"]] == ["Y1", "Y2", "Y3", "Y4"]
    y2 = out["wells"][1]
    assert y2["ground_elev_m"] == 50.0 and y2["level_m"] == pytest.approx(48.1)  # the lower of 48.2 in, 48.1 out
    assert {f["properties"]["point_no"] for f in out["points"]["features"]} == {"Y1", "Y2", "Y3", "Y4"}
    assert out["summary"]["length_m"] == pytest.approx(150.0, abs=0.05) and out["summary"]["against_flow"] == 0


async def test_profile_from_listed_segments_against_the_flow(pool: asyncpg.Pool, storm: Built) -> None:
    out = await PROFILE.run(context(pool), {"category": "storm", "segments": ["s2", "s4"]})
    assert [r["segment_no"] for r in out["profile"]] == ["s2", "s4"]
    assert out["profile"][0]["from_point"] == "Y3" and out["profile"][0]["slope_permille"] < 0  # uphill to Y2
    assert out["summary"]["against_flow"] == 2  # Y3 → Y2 → Y5 climbs both


async def test_svg_draws_the_wells_and_the_table(pool: asyncpg.Pool, storm: Built) -> None:
    out = await PROFILE.run(context(pool), {"category": "storm", "from": "Y1", "to": "Y4"})
    root = ET.fromstring(out["svg"])
    assert len(list(root.iter("{http://www.w3.org/2000/svg}rect"))) == 1 + 4  # background + 4 wells
    texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "纵断面图" in texts and "管底高程 (m)" in texts and "s1 i=6.0‰" in texts


@pytest.mark.parametrize(("inputs", "name"), [
    ({"category": "storm", "from": "Y1"}, "from"),
    ({"category": "storm", "from": "Y1", "to": "Y1"}, "to"),
    ({"category": "storm", "segments": ["s1", "s3"]}, "segments"),  # a gap
    ({"category": "storm", "segments": ["s1", "s2", "s4"]}, "segments"),  # a branch
    ({"category": "storm", "from": "Y1", "to": {"type": "Point", "coordinates": list(lonlat(3000, 3000))}}, "to"),
])
async def test_bad_input(pool: asyncpg.Pool, storm: Built, inputs: dict, name: str) -> None:
    with pytest.raises(InvalidInput) as err:
        await PROFILE.run(context(pool), inputs)
    assert err.value.input_name == name
