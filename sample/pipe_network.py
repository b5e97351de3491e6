"""The geometry of one pipeline category's network: lines offset from the streets, joined at junctions.

Each street that carries the category gets a line at the category's offset. Where
two such lines cross there is a junction (三通/四通 or a well); a street that ends
on another is first lengthened so that its line reaches the other's, and the
overshoot is cut off again. The lines between junctions ("runs") are then divided
into segments of the category's length, with a point at every division. All
coordinates are local metres (EPSG:4547).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, Point
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring

from sample.context import rng
from sample.pipe_specs import CategorySpec
from sample.streets import Street

EXTEND_M = 45.0  # longer than the widest street's half-width plus the largest offset
SNAP_M = 0.05


@dataclass
class Run:
    """A pipe run between two nodes of the category's network, along one street."""

    street: Street
    line: LineString
    start_node: int
    end_node: int


@dataclass
class NetPoint:
    """A point of the network; ``degree`` counts the runs/segments meeting there."""

    x: float
    y: float
    degree: int = 0
    node: bool = False  # a run end (junction or dead end), not a division point
    streets: set[str] = field(default_factory=set)


@dataclass
class NetSegment:
    """One segment: its run, its start/end point indices and its vertices (in digitising order)."""

    run: int
    start: int
    end: int
    xy: np.ndarray
    line: LineString


@dataclass
class Network:
    spec: CategorySpec
    runs: list[Run]
    points: list[NetPoint]
    segments: list[NetSegment]
    run_segments: list[list[int]]  # run → its segments in order along the run


def _extend(line: LineString, at_start: bool, at_end: bool) -> LineString:
    coords = list(line.coords)
    if at_start:
        (x0, y0), (x1, y1) = coords[0], coords[1]
        d = math.hypot(x0 - x1, y0 - y1) or 1.0
        coords[0] = (x0 + (x0 - x1) / d * EXTEND_M, y0 + (y0 - y1) / d * EXTEND_M)
    if at_end:
        (x0, y0), (x1, y1) = coords[-1], coords[-2]
        d = math.hypot(x0 - x1, y0 - y1) or 1.0
        coords[-1] = (x0 + (x0 - x1) / d * EXTEND_M, y0 + (y0 - y1) / d * EXTEND_M)
    return LineString(coords)


def _carrier_lines(spec: CategorySpec, streets: list[Street], area: BaseGeometry, river: BaseGeometry,
                   carries: Callable[[Street], bool] | None) -> list[tuple[Street, LineString, bool, bool]]:
    """(street, centreline part, extend start?, extend end?) for each street part inside ``area``."""
    carriers = [s for s in streets if s.road_class in spec.classes and (carries is None or carries(s))]
    parts: list[tuple[Street, LineString]] = []
    for s in carriers:
        clipped = s.line.intersection(area).difference(river)
        parts += [(s, g) for g in getattr(clipped, "geoms", [clipped]) if isinstance(g, LineString) and g.length > 20]
    tree = shapely.STRtree([p for _, p in parts])
    out = []
    for i, (s, part) in enumerate(parts):
        flags = []
        for c in (part.coords[0], part.coords[-1]):
            end = Point(c)
            near = [j for j in tree.query(end, predicate="dwithin", distance=1.0) if j != i]
            flags.append(bool(near))  # ends on another carrier: a T junction to reach
        out.append((s, part, flags[0], flags[1]))
    return out


def build_network(spec: CategorySpec, streets: list[Street], *, area: BaseGeometry, river: BaseGeometry,
                  carries: Callable[[Street], bool] | None = None) -> Network:
    """The category's network inside ``area`` (local metres), avoiding ``river``, on the streets that
    carry it (all of the category's road classes, or those ``carries`` accepts)."""
    carriers = _carrier_lines(spec, streets, area, river, carries)
    offset_lines: list[LineString] = []
    owners: list[Street] = []
    tips: list[tuple[float, float]] = []
    for street, part, ext_start, ext_end in carriers:
        line = _extend(part, ext_start, ext_end)
        off = line.offset_curve(spec.offset_m(street.road_class, street.width_m))
        if isinstance(off, MultiLineString):  # GEOS splits some offsets at near-straight vertices
            off = shapely.line_merge(off)
            off = max(getattr(off, "geoms", [off]), key=lambda g: g.length)
        if not isinstance(off, LineString) or off.is_empty:
            continue
        offset_lines.append(off)
        owners.append(street)
        if ext_start:
            tips.append(off.coords[0])
        if ext_end:
            tips.append(off.coords[-1])
    noded = shapely.node(MultiLineString(offset_lines)) if offset_lines else MultiLineString()
    pieces = [g for g in noded.geoms if g.length > SNAP_M]
    pieces = _trim_tips(pieces, tips)
    owner_tree = shapely.STRtree(offset_lines)
    return _divide(spec, pieces, offset_lines, owners, owner_tree)


def _key(c: tuple[float, ...]) -> tuple[int, int]:
    return (round(c[0] / SNAP_M), round(c[1] / SNAP_M))


def _trim_tips(pieces: list[LineString], tips: list[tuple[float, float]]) -> list[LineString]:
    """Drop the overshoot of lengthened lines: pieces that end at a tip beyond their junction."""
    tip_keys = {_key(t) for t in tips}
    degree: dict[tuple[int, int], int] = {}
    for p in pieces:
        for c in (p.coords[0], p.coords[-1]):
            degree[_key(c)] = degree.get(_key(c), 0) + 1
    out = []
    for p in pieces:
        ends = [_key(p.coords[0]), _key(p.coords[-1])]
        at_tip = [e in tip_keys and degree[e] == 1 for e in ends]
        if not any(at_tip):
            out.append(p)
            continue
        other = ends[1] if at_tip[0] else ends[0]
        if degree[other] >= 3 and p.length <= 2 * EXTEND_M:
            continue  # the overshoot past a T junction
        # The line never met another: keep it, less the lengthening.
        cut = substring(p, EXTEND_M if at_tip[0] else 0.0, p.length - (EXTEND_M if at_tip[1] else 0.0))
        if isinstance(cut, LineString) and cut.length > 5:
            out.append(cut)
    return out


def _divide(spec: CategorySpec, pieces: list[LineString], offset_lines: list[LineString], owners: list[Street],
            owner_tree: shapely.STRtree) -> Network:
    points: list[NetPoint] = []
    index: dict[tuple[int, int], int] = {}

    def point_at(c: tuple[float, ...], node: bool) -> int:
        k = _key(c)
        if k not in index:
            index[k] = len(points)
            points.append(NetPoint(float(c[0]), float(c[1]), node=node))
        elif node:
            points[index[k]].node = True
        return index[k]

    # Deterministic order: by the run's midpoint, north to south then west to east.
    pieces = sorted(pieces, key=lambda p: (-round(p.centroid.y, 1), round(p.centroid.x, 1)))
    runs: list[Run] = []
    segments: list[NetSegment] = []
    run_segments: list[list[int]] = []
    for piece in pieces:
        mid = piece.interpolate(0.5, normalized=True)
        owner = owners[int(owner_tree.nearest(mid))]
        a = point_at(piece.coords[0], True)
        b = point_at(piece.coords[-1], True)
        run_no = len(runs)
        runs.append(Run(owner, piece, a, b))
        rnd = rng("run", spec.key, _key(piece.coords[0]), _key(piece.coords[-1]))
        lo, hi = spec.spacing_m
        n = max(1, math.ceil(piece.length / ((lo + hi) / 2)))
        while n > 1 and piece.length / n < lo * 0.75:
            n -= 1
        cuts = np.linspace(0.0, piece.length, n + 1)
        if n > 1:
            jitter = (piece.length / n) * 0.15
            cuts[1:-1] += [rnd.uniform(-jitter, jitter) for _ in range(n - 1)]
        parts = _split(piece, cuts)
        ids = [a] + [point_at(tuple(part[-1]), False) for part in parts[:-1]] + [b]
        mine = []
        for k, part in enumerate(parts):
            mine.append(len(segments))
            segments.append(NetSegment(run_no, ids[k], ids[k + 1], part, LineString(part)))
        run_segments.append(mine)
        for pid in ids:
            points[pid].streets.add(owner.street_no)
    for seg in segments:
        points[seg.start].degree += 1
        points[seg.end].degree += 1
    return Network(spec, runs, points, segments, run_segments)


def _split(line: LineString, cuts: np.ndarray) -> list[np.ndarray]:
    """``line`` cut at the increasing distances ``cuts`` (first 0, last its length): one coordinate array
    per part, each part ending exactly where the next begins. (shapely's substring, per line, is slow.)"""
    xy = np.asarray(line.coords)
    steps = np.hypot(*np.diff(xy, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(steps)])
    cum[-1] = max(cum[-1], cuts[-1])

    def at(d: float) -> np.ndarray:
        i = min(int(np.searchsorted(cum, d, side="right")) - 1, len(steps) - 1)
        f = (d - cum[i]) / steps[i] if steps[i] else 0.0
        return np.asarray(xy[i] + f * (xy[i + 1] - xy[i]))

    ends = [xy[0]] + [at(float(d)) for d in cuts[1:-1]] + [xy[-1]]
    parts = []
    for k in range(len(cuts) - 1):
        inner = xy[(cum > cuts[k]) & (cum < cuts[k + 1])]
        parts.append(np.vstack([ends[k], inner, ends[k + 1]]))
    return parts


def bend_deg(xy_in: np.ndarray, xy_out: np.ndarray) -> float:
    """The change of direction (degrees) where the polyline ``xy_in`` ends and ``xy_out`` starts."""
    (ax, ay), (bx, by) = xy_in[-2], xy_in[-1]
    (cx, cy), (dx, dy) = xy_out[0], xy_out[1]
    a1 = math.atan2(by - ay, bx - ax)
    a2 = math.atan2(dy - cy, dx - cx)
    return abs(math.degrees((a2 - a1 + math.pi) % (2 * math.pi) - math.pi))


def direction_deg(xy: np.ndarray) -> float:
    """Symbol rotation of a point on the polyline ``xy``: its direction, degrees counter-clockwise from east."""
    (ax, ay), (bx, by) = xy[0], xy[-1]
    return round(math.degrees(math.atan2(by - ay, bx - ax)) % 360.0, 1)
