"""The 18 pipeline layers (示例数据): segments and points of nine categories along the sample streets.

For each category the network geometry comes from :mod:`sample.pipe_network`,
each run's make-up and history from :mod:`sample.pipe_attrs`; this module
numbers points and segments (物探点号 ``JS000123``, segments ``JSD000123``), gives
depths (pressure pipes and cables to the pipe top, gravity drainage to the invert,
sloping downstream), types every point (特征点 or 附属物) and builds the plans.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from sample.context import draw, rng
from sample.pipe_attrs import RunPlan, run_plan, street_plan
from sample.pipe_network import Network, bend_deg, build_network, direction_deg
from sample.pipe_specs import APPURTENANCE_SEQ, COVERS, FEATURE_SEQ, SIDEWALK_M, SPECS, SURVEY_UNIT
from sample.streets import LOCAL, Street
from sample.terrain import Terrain
from sample.writer import Plan, Version
from spatial.codelists.cjj61 import PLATFORM_CATEGORIES, feature_code

DRAINAGE = frozenset({"sewage", "storm"})
FEATURE_POINTS = frozenset(FEATURE_SEQ)
HYDRANT_SPACING_M = 120.0  # GB 50974: street hydrants at most 120 m apart [GK]
# Networks fed from a few places (水厂 / 门站): each connected part gets one 出地 source point.
SOURCE_CATEGORIES = frozenset({"water", "gas"})


@dataclass
class PipePoint:
    """A generated point as later steps need it: its layer row, type and life span (local metres)."""

    key: str
    index: int
    point_no: str
    kind: str
    x: float
    y: float
    valid_from: dt.datetime
    retired_at: dt.datetime | None
    owner: str
    street: Street


@dataclass
class CategoryPlans:
    segments: list[Plan] = field(default_factory=list)
    points: list[Plan] = field(default_factory=list)
    facilities: list[PipePoint] = field(default_factory=list)
    # Segment plan index → (start point plan index, end point plan index), for bbox filtering.
    ends: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class _SegmentRow:
    xy: np.ndarray
    line: LineString
    start: int
    end: int
    plan: RunPlan
    depths: tuple[float, float]
    flow: str | None


def _survey_date(valid_from: dt.datetime, key: object) -> dt.date:
    """As-built survey a few months after construction; older pipes were surveyed in the 2005 普查."""
    if valid_from.year >= 2005:
        return (valid_from + dt.timedelta(days=int(draw(30, 181, "survey", key)))).date()
    return dt.date(2005, int(draw(3, 12, "survey-month", key)), int(draw(1, 29, "survey-day", key)))


def _version_times(plan: RunPlan) -> list[tuple[dt.datetime, dict[str, Any], str | None]]:
    out: list[tuple[dt.datetime, dict[str, Any], str | None]] = [(plan.built, plan.props_at(0), None)]
    for n, (when, _, event) in enumerate(plan.changes, start=1):
        out.append((when, plan.props_at(n), event))
    return out


class _Builder:
    """Builds one category's plans from its network."""

    def __init__(self, key: str, net: Network, terrain: Terrain, streets: list[Street]) -> None:
        self.key = key
        self.streets_by_no = {s.street_no: s for s in streets}
        self.street_classes = {s.street_no: s.road_class for s in streets}
        self.spec = SPECS[key]
        self.cat = PLATFORM_CATEGORIES[key].category
        self.net = net
        xs = np.array([p.x for p in net.points])
        ys = np.array([p.y for p in net.points])
        self.ground = terrain.ground_elevation(xs, ys) if len(xs) else np.zeros(0)
        self.plans: list[RunPlan] = []
        self.rows: list[_SegmentRow] = []
        self.attached: dict[int, list[int]] = defaultdict(list)
        self._depths: dict[int, float] = {}
        self.sources: set[int] = set()

    def point_depth(self, i: int) -> float:
        """Cover depth to the pipe top at point ``i``, shared by every run through it."""
        if i not in self._depths:
            lo, hi = self.spec.depth_m
            self._depths[i] = round(draw(lo, hi, "cover", self.key, i), 2)
        return self._depths[i]

    def build_runs(self) -> None:
        net = self.net
        for r, run in enumerate(net.runs):
            degrees = (net.points[run.start_node].degree, net.points[run.end_node].degree)
            stub = min(degrees) == 1 and max(degrees) >= 3
            mid = run.line.interpolate(0.5, normalized=True)
            run_id = (round(run.line.coords[0][0], 1), round(run.line.coords[0][1], 1), round(run.line.length, 1))
            plan = run_plan(self.key, run.street, run.street.built_at(mid), stub=stub, run_id=run_id)
            self.plans.append(plan)
            segs = [net.segments[s] for s in net.run_segments[r]]
            if not segs:
                continue
            chain = [segs[0].start] + [s.end for s in segs]
            if self.key in DRAINAGE:
                self._drainage_rows(r, plan, segs, chain)
            else:
                for s in segs:
                    self._add_row(_SegmentRow(s.xy, s.line, s.start, s.end, plan,
                                              (self.point_depth(s.start), self.point_depth(s.end)), None))

    def _drainage_rows(self, r: int, plan: RunPlan, segs: list[Any], chain: list[int]) -> None:
        rnd = rng("flow", self.key, r)
        lengths = [s.line.length for s in segs]
        along = np.concatenate([[0.0], np.cumsum(lengths)])
        g = self.ground[chain]
        downhill = g[0] >= g[-1]
        dist_up = along if downhill else along[-1] - along
        lo, hi = self.spec.depth_m
        dia = plan.base.get("diameter_mm") or 1500
        slope = 0.003 if dia <= 500 else 0.0015
        up = 0 if downhill else len(chain) - 1
        invert = (g[up] - rnd.uniform(lo, hi)) - slope * dist_up
        depth = np.clip(g - invert, 0.8, 8.0)
        along_flow = downhill or rnd.random() < 0.15
        for k, s in enumerate(segs):
            d0, d1 = round(float(depth[k]), 2), round(float(depth[k + 1]), 2)
            if along_flow:
                self._add_row(_SegmentRow(s.xy, s.line, s.start, s.end, plan, (d0, d1),
                                          "顺向" if downhill else "逆向"))
            else:  # digitised again from upstream, as surveyors do
                xy = s.xy[::-1]
                self._add_row(_SegmentRow(xy, LineString(xy), s.end, s.start, plan, (d1, d0), "顺向"))

    def _add_row(self, row: _SegmentRow) -> None:
        n = len(self.rows)
        self.rows.append(row)
        self.attached[row.start].append(n)
        self.attached[row.end].append(n)


def _point_kinds(b: _Builder) -> list[str]:
    """The 特征点 or 附属物 code of every network point."""
    net, key = b.net, b.key
    kinds = ["ZXD"] * len(net.points)
    for r, _run in enumerate(net.runs):
        segs = [net.segments[s] for s in net.run_segments[r]]
        if not segs:
            continue
        chain = [segs[0].start] + [s.end for s in segs]
        rnd = rng("kinds", key, r)
        since_hydrant = rnd.uniform(0, HYDRANT_SPACING_M)
        for k in range(1, len(chain) - 1):
            pid = chain[k]
            since_hydrant += segs[k - 1].line.length
            near_junction = (k == 1 and net.points[chain[0]].degree >= 3) or (
                k == len(chain) - 2 and net.points[chain[-1]].degree >= 3)
            kinds[pid] = _intermediate_kind(key, b.plans[r], rnd, near_junction,
                                            bend=bend_deg(segs[k - 1].xy, segs[k].xy), k=k)
            if key == "water" and b.plans[r].base["subcategory"] == "JP" and kinds[pid] == "ZXD" \
                    and since_hydrant >= HYDRANT_SPACING_M:
                kinds[pid], since_hydrant = "XFS", 0.0
    for pid, p in enumerate(net.points):
        if p.node:
            kinds[pid] = _node_kind(key, p.degree, {s for s in p.streets}, b)
    return kinds


def _sources(b: _Builder) -> set[int]:
    """One feeding point per connected part of the network: the dead end of its largest pipe.

    Where a 水厂 or 门站 feeds a city network, the main leaving it is the widest and the
    oldest, and it ends there; ties go to the older pipe, then to the lower point number.
    """
    graph = nx.Graph()
    graph.add_edges_from((r.start, r.end) for r in b.rows)
    out: set[int] = set()
    for part in nx.connected_components(graph):
        def rank(pid: int) -> tuple[float, dt.datetime, int]:
            rows = [b.rows[s] for s in b.attached[pid]]
            dia = max(float(r.plan.base.get("diameter_mm") or 0) for r in rows)
            return (-dia, min(r.plan.built for r in rows), pid)

        ends = [pid for pid in part if len(b.attached[pid]) == 1]
        out.add(min(ends or part, key=rank))
    return out


def _intermediate_kind(key: str, plan: RunPlan, rnd: Any, near_junction: bool, *, bend: float, k: int) -> str:
    roll = rnd.random()
    if key in DRAINAGE:
        return "JCJ"
    if key == "power":
        return "BXX" if roll < 0.03 else "DLJ"
    if key == "streetlight":
        return "SK" if k % 6 == 0 else "LDG"
    if key == "signal":
        return "SK"
    if key == "telecom":
        return "JHX" if roll < 0.02 else ("RK" if k % 2 else "SK")
    if key == "cabletv":
        return "SK"
    big = (plan.base.get("diameter_mm") or 0) >= 300
    if near_junction and roll < (0.8 if key == "water" else 0.5):
        return "FMJ" if big or key == "gas" else "FM"
    if bend > 12:
        return "ZZD"
    if key == "water":
        return "PQF" if roll > 0.97 else ("SBJ" if roll > 0.94 else "ZXD")
    return "NSG" if roll > 0.97 else "ZXD"


def _node_kind(key: str, degree: int, streets: set[str], b: _Builder) -> str:
    if key in DRAINAGE:
        return "JCJ"
    if key == "power":
        return "DLJ"
    if key == "streetlight":
        return "SK"
    if key == "signal":
        return "XHD" if degree >= 3 else "SK"
    if key in ("telecom", "cabletv"):
        return "RK"
    if degree == 1:
        return "GD"
    if key == "gas" and degree >= 3:
        classes = {b.street_classes.get(s) for s in streets}
        if LOCAL in classes and len(classes) > 1:
            return "TYX"  # medium pressure steps down to the low-pressure 支路 network here
    return "SIT" if degree >= 4 else "ST"


def _segment_plans(b: _Builder, out: CategoryPlans, point_nos: list[str]) -> None:
    for n, row in enumerate(b.rows):
        versions = []
        for when, props, event in _version_times(row.plan):
            props = {**props, "segment_no": f"{b.spec.prefix}D{n + 1:06d}", "category": b.cat,
                     "feature_code": feature_code(b.cat, props["subcategory"], element=1),
                     "start_point": point_nos[row.start], "end_point": point_nos[row.end],
                     "start_depth_m": row.depths[0], "end_depth_m": row.depths[1],
                     "survey_unit": SURVEY_UNIT, "survey_date": _survey_date(when, (b.key, n, when.year))}
            if row.flow is not None:
                props["flow_direction"] = row.flow
            versions.append(Version(when, row.line, props, event))
        retired = row.plan.retired
        out.segments.append(Plan(versions, retired[0] if retired else None, retired[1] if retired else None))


def _point_timeline(b: _Builder, pid: int) -> tuple[dt.datetime, list[tuple[dt.datetime, str]], dt.datetime | None]:
    """(first laid, subcategory changes, retired) of a point, from the segments that meet at it."""
    plans = [b.rows[s].plan for s in b.attached[pid]]
    first = min(p.built for p in plans)
    changes: dict[str, list[dt.datetime]] = defaultdict(list)
    for p in plans:
        for when, update, _ in p.changes:
            if "subcategory" in update:
                changes[update["subcategory"]].append(when)
    subs: list[tuple[dt.datetime, str]] = []
    for sub, times in changes.items():
        if len(times) == len(plans):  # the point changes once every pipe through it has
            subs.append((max(times), sub))
    ends = [p.retired[0] for p in plans if p.retired is not None]
    retired = max(ends) if len(ends) == len(plans) else None
    return first, sorted(subs), retired


def _point_props(b: _Builder, pid: int, kind: str, sub: str, point_no: str) -> dict[str, Any]:
    feature = kind in FEATURE_POINTS
    seq = FEATURE_SEQ[kind] if feature else APPURTENANCE_SEQ[b.key][kind]
    rows = [b.rows[s] for s in b.attached[pid]]
    plan = rows[0].plan
    props: dict[str, Any] = {
        "point_no": point_no, "category": b.cat, "subcategory": sub,
        "feature_code": feature_code(b.cat, sub, element=2, point_kind=1 if feature else 2, seq=seq),
        "feature_point": kind if feature else None, "appurtenance": None if feature else kind,
        "ground_elev_m": float(b.ground[pid]), "rotation_deg": direction_deg(rows[0].xy),
        "owner": plan.base["owner"], "status": "0", "road_name": plan.base["road_name"],
    }
    if pid in b.sources:
        props["is_source"] = True
    if kind in COVERS:
        props["cover_material"], props["cover_size"] = COVERS[kind]
        props["well_depth_m"] = _well_depth(b, pid, kind, rows)
    return props


def _well_depth(b: _Builder, pid: int, kind: str, rows: list[_SegmentRow]) -> float:
    if b.key in DRAINAGE:
        deepest = max(r.depths[0] if r.start == pid else r.depths[1] for r in rows)
        return round(deepest + 0.3, 2)  # sump below the lowest invert
    if kind == "YB":
        return 1.0
    dia_m = (rows[0].plan.base.get("diameter_mm") or 0) / 1000.0
    return round(b.point_depth(pid) + dia_m + 0.4, 2)


def _point_plans(b: _Builder, out: CategoryPlans, kinds: list[str], point_nos: list[str]) -> dict[int, int]:
    """Append the point plans; returns network point → plan index."""
    plan_of: dict[int, int] = {}
    for pid, p in enumerate(b.net.points):
        if not b.attached[pid]:
            continue
        plan_of[pid] = len(out.points)
        first, subs, retired = _point_timeline(b, pid)
        base_sub = b.rows[b.attached[pid][0]].plan.base["subcategory"]
        geom = Point(p.x, p.y)
        props = _point_props(b, pid, kinds[pid], base_sub, point_nos[pid])
        props["build_year"] = first.year
        versions = [Version(first, geom, props)]
        for when, sub in subs:
            if sub != versions[-1].properties["subcategory"]:
                update = _point_props(b, pid, kinds[pid], sub, point_nos[pid])
                update["build_year"] = first.year
                event = next(e for r in b.attached[pid] for w, u, e in b.rows[r].plan.changes
                             if u.get("subcategory") == sub)
                versions.append(Version(max(when, versions[-1].valid_from), geom, update, event))
        retire_event = next((ret[1] for r in b.attached[pid] if (ret := b.rows[r].plan.retired) is not None), None)
        out.points.append(Plan(versions, retired, retire_event if retired else None))
        street = next(iter(sorted(p.streets)))
        out.facilities.append(PipePoint(b.key, len(out.points) - 1, point_nos[pid], kinds[pid], p.x, p.y, first,
                                        retired, props["owner"], b.streets_by_no[street]))
    return plan_of


def _storm_inlets(b: _Builder, kinds: list[str]) -> None:
    """Storm inlets (雨水箅) at the kerb, each joined to a well of the main by a short lateral.

    Most inlets sit on the main's own kerb a few metres up or down the street; some
    are on the far kerb, and their lateral crosses the carriageway.
    """
    for pid in range(len(b.net.points)):
        p = b.net.points[pid]
        if kinds[pid] != "JCJ" or not b.attached[pid]:
            continue
        rnd = rng("inlet", pid, round(p.x, 1), round(p.y, 1))
        if rnd.random() >= 0.4:
            continue
        street = b.streets_by_no[sorted(p.streets)[0]]
        at = street.line.project(Point(p.x, p.y)) + rnd.choice([-1, 1]) * rnd.uniform(3, 8)
        if not 1 < at < street.line.length - 1:
            continue
        c = street.line.interpolate(at)
        ahead = street.line.interpolate(min(at + 1, street.line.length))
        behind = street.line.interpolate(max(at - 1, 0))
        tx, ty = ahead.x - behind.x, ahead.y - behind.y
        norm = math.hypot(tx, ty) or 1.0
        left = (-ty / norm, tx / norm)
        kerb = street.width_m / 2 - SIDEWALK_M[street.road_class] - 0.3
        side = b.spec.side if rnd.random() < 0.7 else -b.spec.side
        inlet = (c.x + left[0] * kerb * side, c.y + left[1] * kerb * side)
        well_plan = b.rows[b.attached[pid][0]].plan
        built = min(b.rows[s].plan.built for s in b.attached[pid])
        material = "PVC" if built.year >= 2005 else "T"
        lateral = RunPlan(built, {"subcategory": "YS", "diameter_mm": 300, "material": material, "burial": "ZM",
                                  "owner": well_plan.base["owner"], "status": "0", "build_year": built.year,
                                  "road_name": street.name})
        new = len(b.net.points)
        b.net.points.append(type(p)(inlet[0], inlet[1], degree=1, node=True, streets={street.street_no}))
        b.ground = np.append(b.ground, b.ground[pid] + round(rnd.uniform(-0.05, 0.05), 2))
        kinds.append("YB")
        depth_in = round(rnd.uniform(0.9, 1.1), 2)
        xy = np.array([inlet, (p.x, p.y)])
        b._add_row(_SegmentRow(xy, LineString(xy), new, pid, lateral,
                               (depth_in, round(depth_in + 0.25, 2)), "顺向"))


def category_plans(key: str, streets: list[Street], terrain: Terrain, area: BaseGeometry) -> CategoryPlans:
    """Segments and points of one category over ``area`` (local metres); geometry still local."""
    spec = SPECS[key]
    carries = (lambda s: not street_plan(s).still_combined) if key == "storm" else None
    net = build_network(spec, streets, area=area, river=terrain.river_margin, carries=carries)
    b = _Builder(key, net, terrain, streets)
    b.build_runs()
    kinds = _point_kinds(b)
    if key in SOURCE_CATEGORIES:
        b.sources = _sources(b)
        for pid in b.sources:
            kinds[pid] = "CD"  # 出地: the main rises into the plant or station feeding it
    if key == "storm":
        _storm_inlets(b, kinds)
    point_nos = [f"{spec.prefix}{i + 1:06d}" for i in range(len(net.points))]
    out = CategoryPlans()
    _segment_plans(b, out, point_nos)
    plan_of = _point_plans(b, out, kinds, point_nos)
    out.ends = [(plan_of[r.start], plan_of[r.end]) for r in b.rows]
    return out
