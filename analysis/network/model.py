"""The pipe-network graph of one category as of one instant, built from rows (no database here).

Nodes are the category's points (plus a virtual node where segment ends meet without a point);
each segment is a directed edge of a :class:`networkx.DiGraph`, oriented the way water runs:

* gravity networks (雨水, 污水/雨污合流): from the higher invert to the lower, the invert being
  ground elevation − depth at that end (domain.md §1.3: drainage depth is to the invert);
  where an elevation is missing or both inverts are equal, the declared ``flow_direction``
  (逆向 reverses it), else the digitising direction start → end;
* every other network: start → end as declared. Traces that ignore direction (``connected``)
  and valve isolation walk edges both ways.

Per-segment and per-node values live in numpy arrays indexed by position; the graph holds only
the topology (edge attribute ``s``: the segment indices between two nodes), which keeps 100,000
segments well under 200 MB.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt

# The import engine's default --snap-tolerance (ingest/request.py snap_tolerance_m): a segment
# end within it of a point or of another end is the same node.
SNAP_TOLERANCE_M = 0.10
Columns = Mapping[str, Sequence[Any]]  # column name → one value per row


@dataclass(slots=True)
class PipeNetwork:
    """One category's network. Coordinates are EPSG:4547 metres (easting, northing).

    Attributes:
        category: Platform key (``water`` …).
        gravity: Whether edges follow invert elevations.
        seg_fid, seg_no, seg_from, seg_to, seg_length_m: per segment; ``seg_from``/``seg_to`` are
            node indices in flow order, ``seg_reversed`` says the flow runs end → start.
        seg_invert_m: (n, 2) invert (gravity) or pipe-top elevation at the flow start and end, NaN
            where unknown.
        seg_diameter_m: diameter, or the height of a 宽×高 section, in metres (0 when unknown).
        node_fid, node_no, node_xy, node_ground_m: per node; virtual nodes have fid -1, no number.
        valve, source: per node flags.
        graph: topology; edge (u, v) has ``s``, a tuple of segment indices.
    """

    category: str
    gravity: bool
    seg_fid: npt.NDArray[np.int64]
    seg_no: list[str]
    seg_from: npt.NDArray[np.int32]
    seg_to: npt.NDArray[np.int32]
    seg_reversed: npt.NDArray[np.bool_]
    seg_length_m: npt.NDArray[np.float64]
    seg_invert_m: npt.NDArray[np.float64]
    seg_diameter_m: npt.NDArray[np.float32]
    node_fid: npt.NDArray[np.int64]
    node_no: list[str | None]
    node_xy: npt.NDArray[np.float64]
    node_ground_m: npt.NDArray[np.float64]
    valve: npt.NDArray[np.bool_]
    source: npt.NDArray[np.bool_]
    graph: nx.DiGraph
    seg_by_fid: dict[int, int] = field(default_factory=dict)
    seg_by_no: dict[str, int] = field(default_factory=dict)
    node_by_fid: dict[int, int] = field(default_factory=dict)
    node_by_no: dict[str, int] = field(default_factory=dict)
    # Source trees by source set (analysis.network.trace.source_tree); a network never changes once built.
    trees: dict[frozenset[int], Any] = field(default_factory=dict)

    @property
    def segment_count(self) -> int:
        """Segments in the network."""
        return len(self.seg_no)

    def incident(self, node: int) -> list[tuple[int, tuple[int, ...]]]:
        """(neighbour node, segment indices) for every edge at ``node``, either direction."""
        # networkx's own dicts, not the read-only views that graph.succ[node] builds on each call:
        # traversals call this once per node, and the views cost more than the walk.
        out = [(v, d["s"]) for v, d in self.graph._succ[node].items()]
        out += [(u, d["s"]) for u, d in self.graph._pred[node].items()]
        return out

    def downstream(self, node: int) -> list[tuple[int, tuple[int, ...]]]:
        """(next node, segment indices) along the flow from ``node``."""
        return [(v, d["s"]) for v, d in self.graph._succ[node].items()]

    def upstream(self, node: int) -> list[tuple[int, tuple[int, ...]]]:
        """(previous node, segment indices) against the flow from ``node``."""
        return [(u, d["s"]) for u, d in self.graph._pred[node].items()]

    def ends(self, seg: int) -> tuple[int, int]:
        """(flow start node, flow end node) of segment ``seg``."""
        return int(self.seg_from[seg]), int(self.seg_to[seg])


class _Snapper:
    """Nodes by position on a grid of cells one tolerance wide (3×3 cells searched)."""

    def __init__(self, tolerance: float) -> None:
        self.tol = tolerance
        self.cells: dict[tuple[int, int], list[int]] = {}
        self.xy: list[tuple[float, float]] = []

    def add(self, node: int, x: float, y: float) -> None:
        while len(self.xy) <= node:
            self.xy.append((math.nan, math.nan))
        self.xy[node] = (x, y)
        self.cells.setdefault((math.floor(x / self.tol), math.floor(y / self.tol)), []).append(node)

    def near(self, x: float, y: float) -> int | None:
        cx, cy = math.floor(x / self.tol), math.floor(y / self.tol)
        best, best_d = None, self.tol
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for n in self.cells.get((cx + dx, cy + dy), ()):
                    d = math.hypot(self.xy[n][0] - x, self.xy[n][1] - y)
                    if d <= best_d:
                        best, best_d = n, d
        return best


def _height_m(section: str | None, diameter_mm: int | None) -> float:
    if section:
        parts = [p for p in section.replace("×", "x").replace("X", "x").replace("*", "x").split("x") if p]
        if len(parts) == 2 and parts[1].isdigit():
            return int(parts[1]) / 1000.0
    return (diameter_mm or 0) / 1000.0


def _floats(values: Sequence[Any]) -> npt.NDArray[np.float64]:
    return np.array([math.nan if v is None else v for v in values], np.float64)


def build_network(
    category: str, *, gravity: bool, segments: Columns, points: Columns,
    valve_codes: frozenset[str], tolerance_m: float = SNAP_TOLERANCE_M,
) -> PipeNetwork:
    """The network from segment and point columns (one list per column, as ``sql/segments.sql`` and
    ``sql/points.sql`` return them).

    A segment end joins the point its ``start_point``/``end_point`` number names; an end whose
    number names no point joins the point or segment end within ``tolerance_m`` metres, or
    becomes a virtual node of its own.
    """
    n_pts = len(points["fid"])
    node_fid: list[int] = list(points["fid"])
    node_no: list[str | None] = list(points["point_no"])
    xy: list[tuple[float, float]] = list(zip(points["x"], points["y"], strict=True))
    ground: list[float] = _floats(points["ground_elev_m"]).tolist()
    node_by_no = {no: i for i, no in enumerate(node_no) if no is not None}
    snapper: _Snapper | None = None

    def node_for(number: str | None, x: float, y: float) -> int:
        nonlocal snapper
        found = node_by_no.get(number) if number is not None else None
        if found is not None:
            return found
        if snapper is None:  # only deliveries with unmatched numbers pay for the grid
            snapper = _Snapper(tolerance_m)
            for i, (px, py) in enumerate(xy):
                snapper.add(i, px, py)
        near = snapper.near(x, y)
        if near is not None:
            return near
        node_fid.append(-1)
        node_no.append(None)
        xy.append((x, y))
        ground.append(math.nan)
        snapper.add(len(xy) - 1, x, y)
        return len(xy) - 1

    n = len(segments["fid"])
    get = node_by_no.get
    a_list = [get(no) if no is not None else None for no in segments["start_point"]]
    b_list = [get(no) if no is not None else None for no in segments["end_point"]]
    for i in range(n):  # numbers that name no point: join by coordinates
        if a_list[i] is None:
            a_list[i] = node_for(None, segments["x0"][i], segments["y0"][i])
        if b_list[i] is None:
            b_list[i] = node_for(None, segments["x1"][i], segments["y1"][i])
    a = np.array(a_list, np.int32)
    b = np.array(b_list, np.int32)
    depth = np.column_stack([_floats(segments["start_depth_m"]), _floats(segments["end_depth_m"])]) if n \
        else np.empty((0, 2))
    declared_reverse = np.array([f == "逆向" for f in segments["flow"]], np.bool_)
    ground_arr = np.asarray(ground, np.float64)
    level = np.column_stack([ground_arr[a] - depth[:, 0], ground_arr[b] - depth[:, 1]]) if n else np.empty((0, 2))
    reverse = np.zeros(n, np.bool_)
    if gravity and n:
        known = ~np.isnan(level).any(axis=1) & (level[:, 0] != level[:, 1])
        reverse = np.where(known, level[:, 1] > level[:, 0], declared_reverse)
    seg_from = np.where(reverse, b, a).astype(np.int32)
    seg_to = np.where(reverse, a, b).astype(np.int32)
    invert = np.where(reverse[:, None], level[:, ::-1], level) if n else level
    edges: dict[tuple[int, int], tuple[int, ...]] = {}
    for i, uv in enumerate(zip(seg_from.tolist(), seg_to.tolist(), strict=True)):
        edges[uv] = (*edges[uv], i) if uv in edges else (i,)  # parallel pipes share an edge
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(xy)))
    graph.add_edges_from((u, v, {"s": segs}) for (u, v), segs in edges.items())
    del edges
    valve = np.zeros(len(xy), np.bool_)
    source = np.zeros(len(xy), np.bool_)
    valve[:n_pts] = [code in valve_codes for code in points["appurtenance"]]
    source[:n_pts] = [bool(flag) for flag in points["is_source"]]
    seg_fid = np.array(segments["fid"], np.int64).reshape(-1)
    seg_no = [str(no) for no in segments["segment_no"]]
    node_fid_arr = np.asarray(node_fid, np.int64)
    return PipeNetwork(
        category=category, gravity=gravity, seg_fid=seg_fid, seg_no=seg_no, seg_from=seg_from, seg_to=seg_to,
        seg_reversed=reverse, seg_length_m=np.array(segments["length_m"], np.float64).reshape(-1),
        seg_invert_m=invert, seg_diameter_m=np.array([_height_m(sec, dia) for sec, dia in zip(
            segments["section"], segments["diameter_mm"], strict=True)], np.float32).reshape(-1),
        node_fid=node_fid_arr, node_no=node_no, node_xy=np.asarray(xy, np.float64).reshape(-1, 2),
        node_ground_m=ground_arr, valve=valve, source=source, graph=graph,
        seg_by_fid={int(f): i for i, f in enumerate(seg_fid.tolist())},
        seg_by_no={no: i for i, no in enumerate(seg_no)},
        node_by_fid={f: i for i, f in enumerate(node_fid[:n_pts])}, node_by_no=node_by_no,
    )
