"""pipe-trace on hand-built networks: gravity direction, as-of, snapping, bad input."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from analysis.catalogue import PROCESSES
from analysis.contract import InvalidInput
from layers.db import connect
from tests.analysis import networks
from tests.analysis.networks import Built, context, lonlat

TRACE = PROCESSES["pipe-trace"]


def _nos(fc: dict, key: str) -> set[str]:
    return {f["properties"][key] for f in fc["features"]}


async def test_downstream_follows_inverts_not_digitising(pool: asyncpg.Pool, storm: Built) -> None:
    out = await TRACE.run(context(pool), {"category": "雨水", "start": "s2", "direction": "downstream"})
    # s3 is drawn Y4 → Y3, but its Y3 invert (47.7 m) is above Y4's (47.3 m): water runs on to Y4.
    assert _nos(out["segments"], "segment_no") == {"s2", "s3"}
    assert _nos(out["points"], "point_no") == {"Y2", "Y3", "Y4"}


async def test_upstream_gathers_both_branches(pool: asyncpg.Pool, storm: Built) -> None:
    out = await TRACE.run(context(pool), {"category": "PS/YS", "start": storm.segments["s2"], "direction": "upstream"})
    assert _nos(out["segments"], "segment_no") == {"s1", "s2", "s4"}
    assert out["summary"]["segments"] == 3 and out["summary"]["gravity"] is True
    assert out["summary"]["length_m"] == pytest.approx(150.0, abs=0.5)


async def test_connected_from_a_point_with_properties_and_ids(pool: asyncpg.Pool, water: Built) -> None:
    out = await TRACE.run(context(pool), {"category": "water", "start": "K2"})
    assert _nos(out["segments"], "segment_no") == {"x", "y"}
    feature = next(f for f in out["segments"]["features"] if f["properties"]["segment_no"] == "x")
    assert feature["id"] == water.segments["x"] and feature["collection"] == "pipeline_water_segments"
    assert feature["properties"]["start_point"] == "K1" and feature["properties"]["owner"] == "长沙水业集团"


async def test_max_length_stops_the_trace(pool: asyncpg.Pool, water: Built) -> None:
    out = await TRACE.run(context(pool), {"category": "water", "start": "S", "max_length_m": 250})
    assert _nos(out["segments"], "segment_no") == {"a", "b"}  # b ends 200 m out; c and g end 300 m out


async def test_point_snaps_to_the_nearest_pipe(pool: asyncpg.Pool, water: Built) -> None:
    lon, lat = lonlat(150, 20)  # 20 m north of b (V1–J1)
    out = await TRACE.run(context(pool), {"category": "water", "start": {"type": "Point", "coordinates": [lon, lat]},
                                          "max_length_m": 1})
    assert _nos(out["segments"], "segment_no") == {"b"}


async def test_a_point_5_km_away_is_refused(pool: asyncpg.Pool, water: Built) -> None:
    lon, lat = lonlat(5000, 0)
    with pytest.raises(InvalidInput) as err:
        await TRACE.run(context(pool), {"category": "water", "start": {"type": "Point", "coordinates": [lon, lat]}})
    assert err.value.input_name == "start" and "4,400 m away" in err.value.detail


@pytest.mark.parametrize(("inputs", "name", "says"), [
    ({"category": "steam", "start": "a"}, "category", "unknown pipeline category"),
    ({"category": "water", "start": "nope"}, "start", "no 给水 segment or point 'nope'"),
    ({"category": "water", "start": 999999999}, "start", "no 给水"),
    ({"category": "water", "start": "a", "direction": "sideways"}, "direction", "must be one of"),
    ({"category": "water", "start": "a", "datetime": "yesterday"}, "datetime", "RFC 3339"),
    ({"category": "water", "start": "a", "max_length_m": -5}, "max_length_m", "negative"),
    ({"category": "water", "start": {"type": "Point", "coordinates": [500, 28]}}, "start", "CRS84"),
])
async def test_bad_input(pool: asyncpg.Pool, water: Built, inputs: dict, name: str, says: str) -> None:
    with pytest.raises(InvalidInput) as err:
        TRACE.reads(inputs)
        await TRACE.run(context(pool), inputs)
    assert err.value.input_name == name and says in err.value.detail


async def test_as_of_a_past_date_leaves_out_a_pipe_added_later(
    pool: asyncpg.Pool, water: Built, module_db_url: str,
) -> None:
    later = dt.datetime(2023, 6, 1, tzinfo=dt.UTC)
    conn = await connect(module_db_url)
    try:
        await networks.write(conn, "water", points={"K4": (300, 300, {})}, segments={"z": ("K3", "K4", {})},
                             at_xy={"K3": (200, 300)},
                             valid_from=later)
    finally:
        await conn.close()
    before = await TRACE.run(context(pool), {"category": "water", "start": "K1", "datetime": "2022-01-01T00:00:00Z"})
    after = await TRACE.run(context(pool), {"category": "water", "start": "K1"})
    assert _nos(before["segments"], "segment_no") == {"x", "y"}
    assert _nos(after["segments"], "segment_no") == {"x", "y", "z"}


def test_reads_names_the_category_layers() -> None:
    assert TRACE.reads({"category": "污水", "start": "x"}) == ["pipeline_sewage_segments", "pipeline_sewage_points"]
