"""Traces over a :class:`~analysis.network.model.PipeNetwork`: connected/upstream/downstream, and
valve isolation (关阀分析) in the manner of Giswater's mincut.

All functions are pure: they take node and segment indices and return index sets.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable
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
        return net.downstream(node)
    if direction == "upstream":
        return net.upstream(node)
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
    cut_off = lost_supply(net, source_tree(net, sources), closing, isolated) if sources else set()
    return Isolation(closing, isolated, cut_off, bool(closing), sources)


@dataclass(frozen=True, slots=True)
class SourceTree:
    """A breadth-first tree from the sources over the whole network (valves open).

    ``parent[n]`` is (the node one step nearer a source, the segment between); sources are roots.
    ``fed`` are the segments some source reaches.
    """

    parent: dict[int, tuple[int, int]]
    roots: frozenset[int]
    fed: frozenset[int]


def source_tree(net: PipeNetwork, sources: set[int]) -> SourceTree:
    """The tree for ``sources``, built once per network and source set (kept on the network)."""
    key = frozenset(sources)
    tree = net.trees.get(key)
    if tree is None:
        parent: dict[int, tuple[int, int]] = {}
        seen = set(sources)
        queue = deque(sources)
        fed_segs: set[int] = set()
        while queue:
            node = queue.popleft()
            for other, segs in net.incident(node):
                fed_segs.update(segs)
                if other not in seen:
                    seen.add(other)
                    parent[other] = (node, segs[0])
                    queue.append(other)
        tree = SourceTree(parent, key, frozenset(fed_segs))
        if len(net.trees) >= 4:
            net.trees.clear()
        net.trees[key] = tree
    return tree


def lost_supply(net: PipeNetwork, tree: SourceTree, closing: set[int], isolated: set[int]) -> set[int]:
    """Segments fed before that no source reaches once ``closing`` valves shut and ``isolated`` is out.

    Only the far side of each closed valve can lose supply. From there a search walks outwards
    until it meets a node whose path up the source tree avoids every closed valve and isolated
    segment (it is still fed, and so is all it walked), or runs out (all it walked is cut off).
    So a break costs a walk around its own zone, not a search of the whole network.
    """
    memo: dict[int, bool] = {}

    def intact(node: int) -> bool:
        path: list[int] = []
        ok = False
        while True:
            if node in memo:
                ok = memo[node]
                break
            if node in closing:
                break
            step = tree.parent.get(node)
            if step is None:
                ok = node in tree.roots
                break
            if step[1] in isolated:
                break
            path.append(node)
            node = step[0]
        for n in path:
            memo[n] = ok
        return ok

    fed_nodes: set[int] = set()
    dead_nodes: set[int] = set()
    cut: set[int] = set()
    for valve in closing:
        for other, segs in net.incident(valve):
            live = [s for s in segs if s not in isolated]
            if not live or other in fed_nodes:
                continue
            if other in closing or other in dead_nodes:
                cut.update(live)
                continue
            seen, walked, found = _walk(net, other, closing, isolated, fed_nodes, intact)
            if found:
                fed_nodes |= seen
            else:
                dead_nodes |= seen
                cut.update(live)
                cut |= walked
    return (cut - isolated) & tree.fed


def _walk(
    net: PipeNetwork, start: int, closing: set[int], isolated: set[int], fed_nodes: set[int],
    intact: Callable[[int], bool],
) -> tuple[set[int], set[int], bool]:
    seen = {start}
    walked: set[int] = set()
    stack = [start]
    while stack:
        node = stack.pop()
        if node in fed_nodes or intact(node):
            return seen, walked, True
        for other, segs in net.incident(node):
            live = [s for s in segs if s not in isolated]
            if not live:
                continue
            walked.update(live)
            if other not in closing and other not in seen:
                seen.add(other)
                stack.append(other)
    return seen, walked, False


def fed(net: PipeNetwork, sources: set[int], *, blocked: set[int], removed: set[int]) -> set[int]:
    """Segments a source reaches without removed segments, entering but never passing blocked nodes.

    The plain whole-network search; :func:`lost_supply` gives the same answer locally (the tests
    check one against the other).
    """
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
