"""A plausible street grid over the urban core (示例数据), dated by the GHSL age of the land it serves.

Arterials (主干路) run every 800–1000 m in two slightly rotated families, secondary
streets (次干路) halfway between them, and local streets (支路) cross the old, dense
blocks. Lines wander a little, stop at the Xiang except where a bridge crosses, and
leave out long stretches of open land (岳麓山, farmland). A street is as old as
the older part of the land along it; where the rest was built up in a later epoch
the street was extended then, which gives it a second, longer version.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring

from sample.context import day_in_year, rng
from sample.names import NamePool
from sample.terrain import Terrain

ARTERIAL, SECONDARY, LOCAL = "主干路", "次干路", "支路"
PREFIX = {ARTERIAL: "ZG", SECONDARY: "CG", LOCAL: "ZL"}
WIDTH_M = {ARTERIAL: (40, 60, 5), SECONDARY: (24, 36, 2), LOCAL: (12, 20, 2)}
# Open stretches longer than this are left without a street; shorter pieces are dropped.
MAX_OPEN_RUN_M = {ARTERIAL: 900.0, SECONDARY: 350.0, LOCAL: 150.0}
MIN_PIECE_M = {ARTERIAL: 400.0, SECONDARY: 250.0, LOCAL: 120.0}
STEP_M = 50.0
# GHS-AGE epoch → years a street serving land of that epoch may have been built in.
EPOCH_YEARS = {1: (1952, 1979), 2: (1980, 1989), 3: (1990, 1999), 4: (2000, 2009), 5: (2010, 2019)}
UNBUILT_EPOCH = 5  # streets across land GHSL never saw built up are recent


@dataclass
class Street:
    """One street feature (local metres). ``first_line``/``built`` is version 1; ``extended``, if set,
    is when it reached its full ``line``."""

    street_no: str
    name: str
    road_class: str
    width_m: float
    line: LineString
    built: dt.datetime
    first_line: LineString
    extended: dt.datetime | None
    family: str
    bridge: bool

    def built_at(self, point: BaseGeometry) -> dt.datetime:
        """When the street first served ``point`` (a point on or beside the full line)."""
        if self.extended is None or self.first_line.distance(point) <= self.width_m / 2 + 1.0:
            return self.built
        return self.extended


@dataclass
class _Parent:
    family: str
    index: int
    road_class: str
    line: LineString
    bridge: bool


def _family_lines(terrain: Terrain, family: str, rnd: random.Random) -> list[_Parent]:
    x0, y0, x1, y1 = terrain.core.bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    reach = math.hypot(x1 - x0, y1 - y0) / 2 + 500
    tilt = math.radians(rnd.uniform(-6, 6))
    # Unit vectors along the lines (d) and across them (n): N–S lines run north, E–W lines east.
    d = (math.sin(tilt), math.cos(tilt)) if family == "ns" else (math.cos(tilt), math.sin(tilt))
    n = (d[1], -d[0])
    parents: list[_Parent] = []
    u = -reach + rnd.uniform(0, 900)
    positions: list[tuple[float, str]] = []
    while u < reach:
        positions.append((u, ARTERIAL))
        gap = rnd.uniform(800, 1000)
        positions.append((u + gap / 2 + rnd.uniform(-50, 50), SECONDARY))
        u += gap
    for index, (u, road_class) in enumerate(positions):
        ts = np.arange(-reach, reach + 400, 400.0)
        wobble = np.cumsum([rnd.uniform(-18, 18) for _ in ts])
        wobble = np.clip(wobble - wobble.mean(), -60, 60)
        xs = cx + u * n[0] + ts * d[0] + wobble * n[0]
        ys = cy + u * n[1] + ts * d[1] + wobble * n[1]
        bridge = family == "ew" and road_class == ARTERIAL and index % 4 == 0
        parents.append(_Parent(family, index, road_class, LineString(np.column_stack([xs, ys])), bridge))
    return parents


def _open_runs(terrain: Terrain, line: LineString, road_class: str, *, ignore: BaseGeometry | None) -> list[
        tuple[float, float]]:
    """(start, end) distances along ``line`` of open-land stretches too long for a street of this class."""
    dists = np.arange(0.0, line.length + STEP_M / 2, STEP_M)
    pts = shapely.line_interpolate_point(line, dists)
    built = terrain.built_share(shapely.get_x(pts), shapely.get_y(pts)) >= 0.2
    if ignore is not None:
        built |= shapely.intersects(ignore, pts)
    runs: list[tuple[float, float]] = []
    start = None
    for d, b in zip(dists, built, strict=True):
        if not b and start is None:
            start = d
        if b and start is not None:
            runs.append((start, d))
            start = None
    if start is not None:
        runs.append((start, line.length))
    return [(a, b) for a, b in runs if b - a > MAX_OPEN_RUN_M[road_class]]


def _cut(line: LineString, runs: list[tuple[float, float]]) -> list[LineString]:
    pieces: list[LineString] = []
    pos = 0.0
    for a, b in [*runs, (line.length, line.length)]:
        if a - pos > 0:
            piece = substring(line, pos, a)
            if isinstance(piece, LineString) and not piece.is_empty:
                pieces.append(piece)
        pos = b
    return pieces


def _parts(geom: BaseGeometry) -> list[LineString]:
    if geom.is_empty:
        return []
    if isinstance(geom, LineString):
        return [geom]
    return [g for g in getattr(geom, "geoms", []) if isinstance(g, LineString)]


def _pieces(terrain: Terrain, parent: _Parent) -> list[LineString]:
    channel = terrain.river_margin
    # Much of the river lies outside the AOI polygon; a bridge may cross it to the other bank.
    inside = parent.line.intersection(terrain.core.union(channel) if parent.bridge else terrain.core)
    out: list[LineString] = []
    for part in _parts(shapely.line_merge(inside) if not isinstance(inside, LineString) else inside):
        # A bridge must land on the core at both ends, or it is a bridge to nowhere.
        ends_on_land = all(terrain.core.distance(Point(c)) < 10 for c in (part.coords[0], part.coords[-1]))
        segments = [part] if parent.bridge and ends_on_land else _parts(part.difference(channel))
        for seg in segments:
            runs = _open_runs(terrain, seg, parent.road_class, ignore=channel if parent.bridge else None)
            out += [p for p in _cut(seg, runs) if p.length >= MIN_PIECE_M[parent.road_class]]
    return out


def _local_streets(terrain: Terrain, mains: list[tuple[_Parent, LineString]], rnd: random.Random) -> list[
        tuple[_Parent, LineString]]:
    """支路 across the old, dense blocks: from one bounding street to the opposite one."""
    lines = [piece for _, piece in mains]
    tree = shapely.STRtree(lines)
    out: list[tuple[_Parent, LineString]] = []
    ns = sorted([(p, piece) for p, piece in mains if p.family == "ns"], key=lambda t: t[0].index)
    for (pa, a), (pb, b) in itertools.pairwise(ns):
        if pb.index != pa.index + 1 or a.distance(b) > 600:
            continue
        # Walk down between the two N–S streets; each E–W block between them may get a 支路.
        y0 = max(a.bounds[1], b.bounds[1])
        y1 = min(a.bounds[3], b.bounds[3])
        for y in np.arange(y0 + 150, y1 - 150, 230.0):
            xa = _x_at(a, y)
            xb = _x_at(b, y)
            if xa is None or xb is None:
                continue
            mid = Point((xa + xb) / 2, y)
            if terrain.channel.distance(mid) < 60:
                continue
            age = terrain.sample_local("age", [mid.x], [mid.y])[0]
            share = terrain.built_share([mid.x], [mid.y])[0]
            if age not in (1.0, 2.0, 3.0) or share < 0.8 or rnd.random() < 0.35:
                continue
            candidate = LineString([(xa - 40, y + rnd.uniform(-25, 25)), (xb + 40, y + rnd.uniform(-25, 25))])
            hits = [lines[i] for i in tree.query(candidate, predicate="intersects")]
            cut = _between(candidate, mid, hits)
            if cut is not None and cut.length >= MIN_PIECE_M[LOCAL]:
                out.append((_Parent("ew", -1, LOCAL, cut, False), cut))
    return out


def _x_at(line: LineString, y: float) -> float | None:
    x0, _, x1, _ = line.bounds
    cross = line.intersection(LineString([(x0 - 10, y), (x1 + 10, y)]))
    if cross.is_empty or not isinstance(cross, Point):
        return None
    return float(cross.x)


def _between(candidate: LineString, mid: Point, hits: list[LineString]) -> LineString | None:
    """The part of ``candidate`` between the nearest crossings either side of ``mid``."""
    at_mid = candidate.project(mid)
    crossings = []
    for h in hits:
        inter = candidate.intersection(h)
        crossings += [candidate.project(p) for p in getattr(inter, "geoms", [inter]) if isinstance(p, Point)]
    before = [c for c in crossings if c < at_mid]
    after = [c for c in crossings if c > at_mid]
    if not before or not after:
        return None
    piece = substring(candidate, max(before), min(after))
    return piece if isinstance(piece, LineString) else None


def _epoch_year(epoch: int, rnd: random.Random) -> int:
    lo, hi = EPOCH_YEARS[epoch]
    return rnd.randint(lo, hi)


def _history(terrain: Terrain, line: LineString, rnd: random.Random) -> tuple[
        dt.datetime, LineString, dt.datetime | None]:
    """(built, first line, extended-or-None) from the GHSL age of the land along ``line``."""
    dists = np.arange(0.0, line.length + 1, 100.0)
    pts = shapely.line_interpolate_point(line, dists)
    ages = terrain.sample_local("age", shapely.get_x(pts), shapely.get_y(pts))
    epochs = np.where((ages >= 1) & (ages <= 5), ages, UNBUILT_EPOCH).astype(int)
    oldest = int(np.percentile(epochs, 30, method="lower"))
    old = epochs <= oldest
    # The longest run of old land is where the street began.
    best, start = (0, 0), None
    for i, flag in enumerate([*old, False]):
        if flag and start is None:
            start = i
        if not flag and start is not None:
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    first_len = (best[1] - best[0]) * 100.0
    built_year = _epoch_year(oldest, rnd)
    built = day_in_year(built_year, rnd)
    rest = epochs[~old]
    if 400 <= first_len <= 0.85 * line.length and rest.size:
        later = int(np.percentile(rest, 50, method="higher"))
        ext_year = max(_epoch_year(later, rnd), built_year + 2)
        first = substring(line, dists[best[0]], min(line.length, dists[best[1] - 1] + 50))
        if isinstance(first, LineString) and ext_year <= 2024:
            return built, first, day_in_year(ext_year, rnd)
    return built, line, None


def _width(road_class: str, rnd: random.Random) -> float:
    lo, hi, step = WIDTH_M[road_class]
    return float(rnd.randrange(lo, hi + 1, step))


def generate_streets(terrain: Terrain) -> list[Street]:
    """The whole sample street grid, numbered west → east within each class."""
    rnd = rng("street-grid")
    parents = _family_lines(terrain, "ns", rnd) + _family_lines(terrain, "ew", rnd)
    mains = [(p, piece) for p in parents for piece in _pieces(terrain, p)]
    pieces = mains + _local_streets(terrain, mains, rng("local-streets"))
    names = NamePool(rng("street-names"))
    parent_names: dict[tuple[str, int], tuple[str, str]] = {}
    streets: list[Street] = []
    order = sorted(range(len(pieces)), key=lambda i: (
        list(PREFIX).index(pieces[i][0].road_class), round(pieces[i][1].centroid.x, -2), -pieces[i][1].centroid.y))
    counters = dict.fromkeys(PREFIX, 0)
    for i in order:
        parent, line = pieces[i]
        key = (parent.family, parent.index)
        if parent.road_class == LOCAL:
            name = names.local_street()
        else:
            if key not in parent_names:
                parent_names[key] = names.main_road()
            root, suffix = parent_names[key]
            name = root + _bank_suffix(terrain, parent, line, suffix)
        counters[parent.road_class] += 1
        street_no = f"{PREFIX[parent.road_class]}{counters[parent.road_class]:04d}"
        frnd = rng("street", street_no)
        built, first, extended = _history(terrain, line, frnd)
        streets.append(Street(street_no, name, parent.road_class, _width(parent.road_class, frnd), line,
                              built, first, extended, parent.family, parent.bridge))
    return streets


def _bank_suffix(terrain: Terrain, parent: _Parent, line: LineString, suffix: str) -> str:
    """E–W streets the river cuts are 西路 on the west bank and 东路 on the east, as in most river cities."""
    if parent.family != "ew" or parent.bridge:
        return suffix
    whole = parent.line.intersection(terrain.core)
    if whole.is_empty or not whole.intersects(terrain.river_margin):
        return suffix
    west = line.centroid.x < terrain.channel.centroid.x
    return "西路" if west else "东路"
