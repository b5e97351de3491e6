"""The local cut-off search agrees with the plain whole-network search on random looped networks."""

from __future__ import annotations

import random

import networkx as nx
import pytest

from analysis.network.categories import VALVE_CODES
from analysis.network.model import build_network
from analysis.network.trace import fed, isolate
from tests.analysis.networks import columns


@pytest.mark.parametrize("seed", range(8))
def test_lost_supply_equals_the_whole_network_search(seed: int) -> None:
    rnd = random.Random(seed)
    g = nx.connected_watts_strogatz_graph(150, 4, 0.2, seed=seed)
    points = [{"fid": n + 1, "point_no": f"P{n}", "appurtenance": "FM" if rnd.random() < 0.3 else None,
               "ground_elev_m": None, "is_source": n in (0, 75), "x": float(n), "y": 0.0} for n in g.nodes]
    segments = [{"fid": 1000 + i, "segment_no": f"S{i}", "start_point": f"P{u}", "end_point": f"P{v}",
                 "start_depth_m": 1.0, "end_depth_m": 1.0, "diameter_mm": 100, "section": None, "flow": None,
                 "x0": float(u), "y0": 0.0, "x1": float(v), "y1": 0.0, "length_m": 10.0}
                for i, (u, v) in enumerate(g.edges)]
    net = build_network("water", gravity=False, segments=columns(segments), points=columns(points),
                        valve_codes=VALVE_CODES)
    sources = {net.node_by_no["P0"], net.node_by_no["P75"]}
    for brk in rnd.sample(range(net.segment_count), 15):
        failed = {n for n in range(len(net.node_no)) if net.valve[n] and rnd.random() < 0.2}
        result = isolate(net, brk, failed=failed, sources=sources)
        before = fed(net, sources, blocked=set(), removed=set())
        after = fed(net, sources, blocked=result.valves, removed=result.isolated)
        assert result.cut_off == before - after - result.isolated
