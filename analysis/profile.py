"""The path of a longitudinal profile (纵断面) through a network, and its figures per segment and well.

On gravity networks the level of a segment end is its invert (管内底, ground − depth); on others
the pipe top (管顶). Stations are metres along the path from its first point (EPSG:4547 lengths).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import networkx as nx

from analysis.contract import InvalidInput
from analysis.network.model import PipeNetwork
from analysis.pipes import finite


@dataclass(frozen=True, slots=True)
class Leg:
    """One segment of the path, walked from node ``a`` to node ``b``."""

    seg: int
    a: int
    b: int


def path_between(net: PipeNetwork, source: int, target: int) -> list[Leg]:
    """The shortest path by length between two nodes, ignoring flow direction."""
    if source == target:
        raise InvalidInput("to", "from and to are the same point")

    def weight(u: int, v: int, _d: object) -> float:
        return min(float(net.seg_length_m[s]) for s in _segments_between(net, u, v))

    try:
        nodes = nx.shortest_path(net.graph.to_undirected(as_view=True), source, target, weight=weight)
    except nx.NetworkXNoPath:
        raise InvalidInput("to", "no pipe path joins from and to") from None
    legs = []
    for u, v in itertools.pairwise(nodes):
        seg = min(_segments_between(net, u, v), key=lambda s: float(net.seg_length_m[s]))
        legs.append(Leg(seg, u, v))
    return legs


def _segments_between(net: PipeNetwork, u: int, v: int) -> tuple[int, ...]:
    out: tuple[int, ...] = ()
    if net.graph.has_edge(u, v):
        out += net.graph[u][v]["s"]
    if net.graph.has_edge(v, u):
        out += net.graph[v][u]["s"]
    return out


def chain(net: PipeNetwork, segments: list[int]) -> list[Leg]:
    """Given segments in any order and direction, the one continuous path they form."""
    if len(set(segments)) != len(segments):
        raise InvalidInput("segments", "a segment is listed twice")
    at: dict[int, list[int]] = {}
    for s in segments:
        for n in net.ends(s):
            at.setdefault(n, []).append(s)
    ends = [n for n, segs in at.items() if len(segs) == 1]
    if any(len(segs) > 2 for segs in at.values()) or (len(segments) > 1 and len(ends) != 2):
        raise InvalidInput("segments", "the segments do not form one continuous, unbranched path")
    node = min(ends, key=lambda n: net.node_no[n] or "") if ends else net.ends(segments[0])[0]
    legs: list[Leg] = []
    left = set(segments)
    while left:
        seg = next(s for s in at[node] if s in left)
        u, v = net.ends(seg)
        other = v if u == node else u
        legs.append(Leg(seg, node, other))
        left.discard(seg)
        node = other
    return legs


def _level(net: PipeNetwork, leg: Leg) -> tuple[float, float]:
    lo, hi = (float(v) for v in net.seg_invert_m[leg.seg])
    return (lo, hi) if net.ends(leg.seg)[0] == leg.a else (hi, lo)


def figures(net: PipeNetwork, legs: list[Leg]) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """(rows per segment, rows per well/point) along the path."""
    rows: list[dict[str, object]] = []
    wells: list[dict[str, object]] = []
    station = 0.0
    for i, leg in enumerate(legs):
        length = float(net.seg_length_m[leg.seg])
        start, end = _level(net, leg)
        slope = (start - end) / length * 1000 if length and not (math.isnan(start) or math.isnan(end)) else None
        rows.append({
            "segment_no": net.seg_no[leg.seg], "fid": int(net.seg_fid[leg.seg]), "from_point": net.node_no[leg.a],
            "to_point": net.node_no[leg.b], "station_start_m": round(station, 2),
            "station_end_m": round(station + length, 2), "length_m": round(length, 2),
            "level_start_m": finite(start), "level_end_m": finite(end),
            "slope_permille": finite(slope, 2), "with_flow": net.ends(leg.seg)[0] == leg.a,
        })
        if i == 0:
            wells.append(_well(net, leg.a, station, start))
        station += length
        nxt = _level(net, legs[i + 1])[0] if i + 1 < len(legs) else math.nan
        wells.append(_well(net, leg.b, station, end if math.isnan(nxt) else min(end, nxt)))
    return rows, wells


def _well(net: PipeNetwork, node: int, station: float, level: float) -> dict[str, object]:
    ground = float(net.node_ground_m[node])
    return {"point_no": net.node_no[node], "fid": int(net.node_fid[node]) if net.node_fid[node] >= 0 else None,
            "station_m": round(station, 2), "ground_elev_m": finite(ground), "level_m": finite(level),
            "depth_m": finite(ground - level)}
