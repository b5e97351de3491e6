"""Building the graph: joins by number, by coordinates where numbers are missing, flow direction."""

from __future__ import annotations

import math
from typing import Any

import asyncpg

from analysis.network.cache import NetworkCache
from analysis.network.categories import VALVE_CODES, resolve_category
from analysis.network.model import build_network
from analysis.network.trace import Start, trace
from layers.db import connect
from tests.analysis import networks
from tests.analysis.networks import Built, columns


def _pt(fid: int, no: str, x: float, y: float, ground: float | None = None, app: str | None = None) -> dict[str, Any]:
    return {"fid": fid, "point_no": no, "appurtenance": app, "ground_elev_m": ground, "is_source": False, "x": x,
            "y": y}


def _seg(fid: int, no: str, a: str | None, b: str | None, xy: tuple[float, float, float, float],
         depths: tuple[float, float] = (1.0, 1.0), flow: str | None = None) -> dict[str, Any]:
    x0, y0, x1, y1 = xy
    return {"fid": fid, "segment_no": no, "start_point": a, "end_point": b, "start_depth_m": depths[0],
            "end_depth_m": depths[1], "diameter_mm": 300, "section": None, "flow": flow, "x0": x0, "y0": y0,
            "x1": x1, "y1": y1,
            "length_m": math.hypot(x1 - x0, y1 - y0)}


def test_unknown_numbers_join_by_coordinates_within_the_snap_tolerance() -> None:
    points = [_pt(1, "A", 0, 0), _pt(2, "B", 10, 0)]
    segments = [
        _seg(10, "ab", "A", "B", (0, 0, 10, 0)),
        _seg(11, "b?", "B9", None, (10.05, 0, 20, 0)),  # 5 cm from B: joins B
        _seg(12, "??", "X1", "X2", (20.08, 0.0, 30, 0)),  # 8 cm from the previous end: joins it
        _seg(13, "far", "X3", "X4", (30.5, 0, 40, 0)),  # 50 cm away: its own node
    ]
    net = build_network("water", gravity=False, segments=columns(segments), points=columns(points),
                        valve_codes=VALVE_CODES)
    segs, _ = trace(net, Start(node=net.node_by_no["A"]))
    assert {net.seg_no[s] for s in segs} == {"ab", "b?", "??"}
    assert len(net.node_no) == 2 + 4  # virtual nodes at 20, 30, 30.5 and 40 m
    assert net.node_fid[-1] == -1


def test_parallel_pipes_between_two_points_are_both_traced() -> None:
    points = [_pt(1, "A", 0, 0), _pt(2, "B", 10, 0)]
    segments = [_seg(10, "one", "A", "B", (0, 0, 10, 0)), _seg(11, "two", "A", "B", (0, 0, 10, 0))]
    net = build_network("water", gravity=False, segments=columns(segments), points=columns(points),
                        valve_codes=VALVE_CODES)
    segs, _ = trace(net, Start(segment=0))
    assert segs == {0, 1}


def test_gravity_without_elevations_follows_the_declared_direction() -> None:
    points = [_pt(1, "A", 0, 0), _pt(2, "B", 10, 0), _pt(3, "C", 20, 0, ground=10.0), _pt(4, "D", 30, 0, 10.0)]
    segments = [
        _seg(10, "ab", "A", "B", (0, 0, 10, 0)),  # no ground: start → end
        _seg(11, "bc", "B", "C", (10, 0, 20, 0), flow="逆向"),  # no ground at B: 逆向 reverses it
        _seg(12, "dc", "D", "C", (30, 0, 20, 0), depths=(2.0, 1.0)),  # inverts 8.0 → 9.0: flows C → D
    ]
    net = build_network("storm", gravity=True, segments=columns(segments), points=columns(points),
                        valve_codes=VALVE_CODES)
    assert [net.ends(i) for i in range(3)] == [(0, 1), (2, 1), (2, 3)]
    assert net.seg_reversed.tolist() == [False, True, True]
    assert net.seg_invert_m[2].tolist() == [9.0, 8.0]


def test_pressure_networks_keep_the_digitised_direction() -> None:
    points = [_pt(1, "A", 0, 0, 10.0), _pt(2, "B", 10, 0, 20.0, app="FMJ")]
    net = build_network("water", gravity=False, segments=columns([_seg(10, "ab", "A", "B", (0, 0, 10, 0))]),
                        points=columns(points),
                        valve_codes=VALVE_CODES)
    assert net.ends(0) == (0, 1) and net.valve.tolist() == [False, True]


async def test_a_delivery_without_point_numbers_connects_in_the_database(
    pool: asyncpg.Pool, water: Built, module_db_url: str,
) -> None:
    conn = await connect(module_db_url)
    try:  # both ends name points that were never delivered; one end lies on J4
        await networks.write(conn, "water", points={}, segments={"orphan": ("NO1", "NO2", {})},
                             at_xy={"NO1": (200, -200), "NO2": (300, -200)})
    finally:
        await conn.close()
    net = await NetworkCache().get(pool, resolve_category("water"), None)
    segs, _ = trace(net, Start(node=net.node_by_no["V4"]))
    assert "orphan" in {net.seg_no[s] for s in segs}
