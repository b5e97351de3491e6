"""City components (城市部件, 示例数据) with 16-digit CJ/T 214 codes, in the pipeline area.

Manhole covers are the pipeline wells seen from the street: each lies within half a
metre of its well and links to it (``pipe_point_fid``), with the 小类 of the well's
owner (上水 0101 for 给水, 污水 0102, 雨水 0103, 电力 0105, 路灯 0106 …). Hydrants,
lamp posts and signal poles are components too, linked the same way. Litter bins,
bus shelters and public toilets line the main streets. Every component carries the
unit grid cell it stands in (BGID); when its cell is re-coded it gets a new version,
and covers are reported broken and mended now and then, as 数字城管 records them.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from sample.context import at, day_in_year, draw, rng
from sample.grid import EVENT_RECODE, GRID_SINCE, Cell, UnitGrid
from sample.pipe_specs import FACILITY_MINOR, SIDEWALK_M, WELL_COVER_MINOR
from sample.pipelines import PipePoint
from sample.streets import ARTERIAL, SECONDARY, Street
from sample.writer import Plan, Version
from spatial.codelists.admin import CHANGSHA
from spatial.codelists.grid import COMPONENT_MINOR, compose_component_code

EVENT_DAMAGED = "示例数据：数字城管巡查上报井盖破损"
EVENT_REPAIRED = "示例数据：井盖维修完成"
COVER_MINORS = frozenset(WELL_COVER_MINOR.values())


@dataclass
class ComponentPlan:
    """A component plan and, for covers and pole-type facilities, the pipeline point it sits on."""

    plan: Plan
    link: tuple[str, int] | None  # (category key, index of the point's plan)


@dataclass
class _Site:
    minor: str
    x: float
    y: float
    since: dt.datetime
    retired: dt.datetime | None
    owner: str
    maintainer: str | None
    accuracy: str
    link: tuple[str, int] | None
    key: tuple[Any, ...]


def _maintainer(district: str) -> str:
    return f"长沙市{CHANGSHA.label(district)}城市管理和综合执法局"


def _facility_sites(facilities: list[PipePoint]) -> list[_Site]:
    sites = []
    for f in facilities:
        minor = WELL_COVER_MINOR.get((f.key, f.kind)) or FACILITY_MINOR.get((f.key, f.kind))
        if minor is None:
            continue
        # A cover is surveyed where it lies, up to half a metre off the well's centre (class A: ±0.5 m).
        angle = draw(0, 2 * math.pi, "cover-angle", f.point_no)
        dist = draw(0.05, 0.45, "cover-offset", f.point_no)
        sites.append(_Site(minor, f.x + dist * math.cos(angle), f.y + dist * math.sin(angle), f.valid_from,
                           f.retired_at, f.owner, f.owner, "A", (f.key, f.index), ("pipe", f.point_no)))
    return sites


def _along(street: Street, area: BaseGeometry, spacing: float, minor: str, since: dt.datetime,
           sides: tuple[int, ...], owner: str) -> list[_Site]:
    part = street.line.intersection(area)
    lines = [g for g in getattr(part, "geoms", [part]) if g.geom_type == "LineString" and g.length > spacing]
    sites = []
    offset = street.width_m / 2 - SIDEWALK_M[street.road_class] / 2
    for n, line in enumerate(lines):
        for k, d in enumerate(np.arange(spacing / 2, line.length, spacing)):
            side = sides[k % len(sides)]
            p = line.interpolate(float(d))
            q = line.interpolate(min(float(d) + 1.0, line.length))
            tx, ty = q.x - p.x, q.y - p.y
            norm = math.hypot(tx, ty) or 1.0
            x, y = p.x - ty / norm * offset * side, p.y + tx / norm * offset * side
            built = street.built_at(Point(x, y))
            sites.append(_Site(minor, x, y, max(built, since), None, owner, None, "B", None,
                               (minor, street.street_no, n, k)))
    return sites


def _street_sites(streets: list[Street], area: BaseGeometry) -> list[_Site]:
    sites: list[_Site] = []
    for s in streets:
        if not s.line.intersects(area):
            continue
        if s.road_class in (ARTERIAL, SECONDARY):
            sites += _along(s, area, 100.0, "0302", GRID_SINCE, (1, -1), "长沙市城市管理和综合执法局")
        if s.road_class == ARTERIAL:
            sites += _along(s, area, 500.0, "0202", at(2000), (1, -1), "长沙市公共交通集团有限责任公司")
        if s.road_class == SECONDARY:
            sites += _along(s, area, 900.0, "0301", at(2005), (1,), "长沙市城市管理和综合执法局")
    return sites


def _versions(site: _Site, cell: Cell, district: str, code: str) -> tuple[list[Version], dt.datetime | None]:
    geom = Point(site.x, site.y)
    base = {
        "obj_code": code, "obj_name": COMPONENT_MINOR.label(site.minor), "major_code": site.minor[:2],
        "minor_code": site.minor, "grid_code": cell.code_at(site.since), "dept_owner": site.owner,
        "dept_maintainer": site.maintainer or _maintainer(district), "obj_state": "1",
        "accuracy_class": site.accuracy,
    }
    events: list[tuple[dt.datetime, dict[str, Any], str]] = []
    if cell.recoded is not None and cell.recoded[0] > site.since and cell.code_at(cell.recoded[0]) != cell.code:
        events.append((cell.recoded[0], {"grid_code": cell.code_at(cell.recoded[0])}, EVENT_RECODE))
    if site.minor in COVER_MINORS and draw(0, 1, "damaged", site.key) < 0.04:
        rnd = rng("damage", site.key)
        broken = max(day_in_year(rnd.randint(2023, 2025), rnd), site.since + dt.timedelta(days=30))
        events.append((broken, {"obj_state": "2"}, EVENT_DAMAGED))
        if rnd.random() < 0.75:
            events.append((broken + dt.timedelta(days=rnd.randint(3, 40)), {"obj_state": "1"}, EVENT_REPAIRED))
    retired = site.retired
    events = sorted(e for e in events if retired is None or e[0] < retired)
    versions = [Version(site.since, geom, base)]
    for when, update, event in events:
        versions.append(Version(when, geom, {**versions[-1].properties, **update}, event))
    return versions, retired


def component_plans(facilities: list[PipePoint], streets: list[Street], grid: UnitGrid,
                    area: BaseGeometry) -> list[ComponentPlan]:
    """Every component of the pipeline area (local metres), numbered per district and 小类."""
    sites = _facility_sites(facilities) + _street_sites(streets, area)
    if not sites:
        return []
    xs = np.array([s.x for s in sites])
    ys = np.array([s.y for s in sites])
    cells = grid.cells_at(xs, ys)
    serials: dict[tuple[str, str], int] = {}
    out: list[ComponentPlan] = []
    for site, cell in zip(sites, cells, strict=True):
        if cell is None:
            continue  # outside the gridded core
        serials[(cell.district, site.minor)] = serials.get((cell.district, site.minor), 0) + 1
        code = compose_component_code(cell.district, site.minor, serials[(cell.district, site.minor)])
        versions, retired = _versions(site, cell, cell.district, code)
        out.append(ComponentPlan(Plan(versions, retired, "示例数据：管点废除，井盖随之撤除" if retired else None),
                                 site.link))
    return out
