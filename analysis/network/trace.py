"""Traces over a :class:`~analysis.network.model.PipeNetwork`: connected/upstream/downstream, and
valve isolation (关阀分析) in the manner of Giswater's mincut.

All functions are pure: they take node and segment indices and return index sets.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from analysis.network.model import PipeNetwork

Direction = Literal["connected", "upstream", "downstream"]


@dataclass(frozen=True, slots=True)
class Start:
    """Where a trace starts: a segment (both its ends) or a node."""

    segment: int | None = None
    node: int | None = None


def _neighbours(net: PipeNetwork, node: int, direction: Direction) -> Iterable[tuple[int, tuple[int, ...]]]:
    if direction == "downstream":
        return ((v, d["s"]) for v, d in net.graph.succ[node].items())
    if direction == "upstream":
        return ((u, d["s"]) for u, d in net.graph.pred[node].items())
    return net.incident(node)


def _seeds(net: PipeNetwork, start: Start, direction: Direction) -> tuple[list[int], set[int]]:
    if start.segment is None:
        assert start.node is not None
        return [start.node], set()
    u, v = net.ends(start.segment)
    seeds = {"downstream": [v], "upstream": [u]}.get(direction, [u, v])
    return seeds, {start.segment}


def trace(
    net: PipeNetwork, start: Start, direction: Direction = "connected", max_length_m: float | None = None,
) -> tuple[set[int], set[int]]:
    """(segments, nodes) reached from ``start``.

    ``upstream``/``downstream`` follow the edges' flow direction (see model.py); with
    ``max_length_m`` only segments lying wholly within that network distance of the start are
    taken (a start segment always is).
    """
    seeds, segments = _seeds(net, start, direction)
    if max_length_m is None:
        seen = set(seeds)
        stack = list(seeds)
        while stack:
            node = stack.pop()
            for other, segs in _neighbours(net, node, direction):
                segments.update(segs)
                if other not in seen:
                    seen.add(other)
                    stack.append(other)
        return segments, _ends(net, segments) | seen
    dist = {s: 0.0 for s in seeds}
    heap = [(0.0, s) for s in seeds]
    while heap:
        d, node = heapq.heappop(heap)
        if d > dist.get(node, float("inf")):
            continue
        for other, segs in _neighbours(net, node, direction):
            near = [s for s in segs if d + float(net.seg_length_m[s]) <= max_length_m]
            if not near:
                continue
            segments.update(near)
            nd = d + min(float(net.seg_length_m[s]) for s in near)
            if nd < dist.get(other, float("inf")):
                dist[other] = nd
                heapq.heappush(heap, (nd, other))
    return segments, _ends(net, segments) | set(seeds)


def _ends(net: PipeNetwork, segments: set[int]) -> set[int]:
    return {n for s in segments for n in net.ends(s)}


@dataclass(frozen=True, slots=True)
class Isolation:
    """What closing valves around a break does.

    Attributes:
        valves: Valve nodes to close.
        isolated: Segments reachable from the break without passing a closed valve.
        cut_off: Segments fed from a source before, and from none once the valves are closed.
        bounded: False when no operable valve bounds the break (``isolated`` is then the whole
            connected network).
        sources: Source nodes considered.
    """

    valves: set[int]
    isolated: set[int]
    cut_off: set[int]
    bounded: bool
    sources: set[int]


def isolate(net: PipeNetwork, break_segment: int, *, failed: set[int], sources: set[int]) -> Isolation:
    """Valves to close around ``break_segment``; ``failed`` valves stay open (the search goes past them)."""
    closing: set[int] = set()
    isolated = {break_segment}
    seen: set[int] = set()
    stack = list(net.ends(break_segment))
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if net.valve[node] and node not in failed:
            closing.add(node)
            continue
        for other, segs in net.incident(node):
            isolated.update(segs)
            if other not in seen:
                stack.append(other)
    before = fed(net, sources, blocked=set(), removed=set())
    after = fed(net, sources, blocked=closing, removed=isolated)
    cut_off = before - after - isolated
    return Isolation(closing, isolated, cut_off, bool(closing), sources)


def fed(net: PipeNetwork, sources: set[int], *, blocked: set[int], removed: set[int]) -> set[int]:
    """Segments a source reaches without removed segments, entering but never passing blocked nodes."""
    reached: set[int] = set()
    seen = set(sources)
    stack = [s for s in sources if s not in blocked]
    while stack:
        node = stack.pop()
        for other, segs in net.incident(node):
            live = [s for s in segs if s not in removed]
            if not live:
                continue
            reached.update(live)
            if other not in seen:
                seen.add(other)
                if other not in blocked:
                    stack.append(other)
    return reached


def default_sources(net: PipeNetwork) -> set[int]:
    """Nodes flagged ``is_source`` in the points layer."""
    return {int(i) for i in net.source.nonzero()[0]}
