"""A year of 数字城管 cases (示例数据) over the sample grid, with their whole workflow history.

Fixed seed; 2025-12-01 to 2026-11-30 (Beijing time). Classes follow the seasons (积水 and 树木倒伏
in the rainy summer, 焚烧树叶 in winter, fewer 施工 cases around 春节); a third of the cases are
部件 problems on real sample components (the case carries the component's code, and its owner's
department). Each case walks the workflow on the working-time calendar — accepted, dispatched
with the class's 处置时限, completed mostly on time, verified and closed, sometimes rejected,
returned, extended, reworked, hung or cancelled — and stops where the year ends, so the last
weeks hold open cases in every state, some overdue. Every step is a version of the case, written
by the sample writer through the bulk write path; :func:`cases.backfill.backfill_events` then
logs one event per version.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from cases.calendar import WorkCalendar, work_calendar
from cases.codes import CaseClass, case_classes, department_for
from sample.context import BEIJING, rng
from sample.writer import Plan, Version

YEAR_START = dt.datetime(2025, 12, 1, tzinfo=BEIJING)
YEAR_END = dt.datetime(2026, 12, 1, tzinfo=BEIJING)
CASES_PER_YEAR = 8000
COMPONENT_SHARE = 0.33
NOTE = "示例数据：数字城管案卷"
# In the last weeks of the year some cases wait in an open state (the backlog the console shows).
BACKLOG_DAYS = dt.timedelta(days=30)
BACKLOG_SHARE = 0.35
OPEN_STATES = ("reported", "accepted", "dispatched", "returned", "extended", "completed", "verifying", "hung")
# Relative weights of the 事件 small classes, and the months in which each is more (or less) common.
EVENT_WEIGHTS: dict[str, tuple[float, dict[int, float]]] = {
    "0101": (10, {6: 1.3, 7: 1.3, 8: 1.3}), "0102": (2, {}), "0103": (6, {}), "0104": (1, {7: 2, 8: 2}),
    "0105": (3, {}), "0106": (1, {11: 3, 12: 3, 1: 3, 2: 2}), "0201": (8, {}), "0202": (2, {}),
    "0203": (1.5, {7: 2, 8: 2, 9: 2}), "0301": (3, {2: 0.3}), "0302": (3, {3: 1.5, 4: 1.5, 10: 1.5, 2: 0.3}),
    "0303": (2, {2: 0.3}), "0304": (1, {}), "0305": (1, {6: 1.5, 7: 1.5, 8: 1.5}),
    "0401": (0.5, {4: 2, 5: 2, 6: 2, 7: 2}), "0402": (0.4, {4: 8, 5: 12, 6: 15, 7: 12, 8: 6}),
    "0403": (0.5, {12: 2, 1: 2.5, 2: 2}), "0404": (0.2, {}), "0405": (0.5, {6: 4, 7: 5, 8: 5, 9: 3}),
    "0501": (10, {6: 1.3, 7: 1.3, 8: 1.3}), "0502": (5, {}), "0503": (1, {}), "0504": (6, {}), "0505": (5, {}),
    "0506": (0.5, {12: 2, 1: 2}), "0507": (1.5, {6: 1.5, 7: 1.5, 8: 1.5}), "0601": (1, {}),
}
MONTH_VOLUME = {1: 0.9, 2: 0.6, 3: 1.0, 4: 1.1, 5: 1.2, 6: 1.3, 7: 1.3, 8: 1.2, 9: 1.1, 10: 1.0, 11: 1.0, 12: 0.9}
SOURCES = (("inspector", 0.75), ("public", 0.12), ("hotline", 0.10), ("system", 0.03))


@dataclass(frozen=True, slots=True)
class Site:
    """Somewhere a case can be: a grid cell (codes by time) or a component on it."""

    geometry: BaseGeometry
    codes: list[tuple[dt.datetime, str]]  # (from, grid code), oldest first
    since: dt.datetime
    until: dt.datetime | None = None
    component: str | None = None
    minor: str | None = None
    owner: str | None = None

    def code_at(self, when: dt.datetime) -> str:
        """The grid code the site had at ``when``."""
        code = self.codes[0][1]
        for start, value in self.codes:
            if start <= when:
                code = value
        return code


def cell_sites(grid: list[Plan]) -> list[Site]:
    """One site per grid cell plan (EPSG:4490), with its codes over time."""
    return [Site(p.versions[0].geometry, [(v.valid_from, v.properties["grid_code"]) for v in p.versions],
                 p.versions[0].valid_from, p.retired_at) for p in grid]


def component_sites(components: list[Plan]) -> list[Site]:
    """One site per component plan that has a class the case code list knows."""
    classes = case_classes()
    out = []
    for p in components:
        first = p.versions[0].properties
        if ("component", first["minor_code"]) not in classes or not first.get("grid_code"):
            continue
        codes = [(v.valid_from, v.properties["grid_code"]) for v in p.versions if v.properties.get("grid_code")]
        out.append(Site(p.versions[0].geometry, codes, p.versions[0].valid_from, p.retired_at, first["obj_code"],
                        first["minor_code"], first.get("dept_owner")))
    return out


def _weighted(rnd: random.Random, items: list[tuple[Any, float]]) -> Any:
    total = sum(w for _, w in items)
    pick = rnd.uniform(0, total)
    for item, weight in items:
        pick -= weight
        if pick <= 0:
            return item
    return items[-1][0]


def _report_time(rnd: random.Random) -> dt.datetime:
    days = (YEAR_END - YEAR_START).days
    while True:
        day = YEAR_START + dt.timedelta(days=rnd.randrange(days))
        if rnd.random() * 1.3 <= MONTH_VOLUME[day.month]:
            break
    hour = _weighted(rnd, [(h, 3 if 8 <= h <= 18 else 1) for h in range(6, 23)])
    return day + dt.timedelta(hours=hour, minutes=rnd.randrange(60))


class _Walk:
    """The versions of one case as it walks the workflow, cut off at the end of the year."""

    def __init__(self, rnd: random.Random, cal: WorkCalendar, geometry: BaseGeometry, props: dict[str, Any],
                 target: str | None = None) -> None:
        self.rnd, self.cal, self.geometry, self.target = rnd, cal, geometry, target
        self.props = props
        self.versions = [Version(props["reported_at"], geometry, dict(props), NOTE)]
        self.now: dt.datetime = props["reported_at"]

    def step(self, action: str, state: str, work_h: tuple[float, float], **changes: Any) -> bool:
        """Move after ``work_h`` working hours; False (and nothing written) past the end of the year."""
        if self.target is not None and self.props["state"] == self.target:
            return False  # a backlog case: it waits here when the year ends
        when = self.cal.add_working_hours(self.now, self.rnd.uniform(*work_h))
        when = max(when, self.now + dt.timedelta(minutes=1))
        if when >= YEAR_END:
            return False
        self.now = when
        self.props.update({k: (v(when) if callable(v) else v) for k, v in changes.items()}, state=state)
        self.versions.append(Version(when, self.geometry, dict(self.props), f"{NOTE}：{action}"))
        return True


def _NOW(when: dt.datetime) -> dt.datetime:  # the moment of the step itself
    return when


def _walk(walk: _Walk, cls: CaseClass) -> None:
    """Accept → dispatch → complete → verify → close, with the usual detours."""
    rnd, limit, target = walk.rnd, cls.time_limit.hours, walk.target
    fate = {"hung": 0.08, "returned": 0.5, "extended": 0.5}.get(target or "", rnd.random())
    if fate < 0.06:
        walk.step("reject", "rejected", (0.1, 0.8))
        return
    if fate < 0.07:
        walk.step("cancel", "cancelled", (0.1, 2))
        return
    def due(when: dt.datetime) -> dt.datetime:
        return walk.cal.add_working_hours(when, limit)

    if not walk.step("accept", "accepted", (0.05, 0.6), accepted_at=_NOW, deadline_at=due):
        return
    if fate < 0.085:
        walk.step("hang", "hung", (0.5, 8))
        return
    rework = 0
    while True:
        if not walk.step("dispatch", "dispatched", (0.05, 1.0), dispatched_at=_NOW, completed_at=None,
                         rework_count=rework, deadline_at=due, handler=None):
            return
        if rework == 0 and (target == "returned" or rnd.random() < 0.03):
            if not walk.step("return", "returned", (0.2, 2)):
                return
            continue
        if rework == 0 and (target == "extended" or rnd.random() < 0.02):
            if not walk.step("extend", "extended", (0.2, limit * 0.5)):
                return
            later = walk.cal.add_working_hours(walk.props["deadline_at"], limit)
            if not walk.step("extend", "dispatched", (0.1, 1), deadline_at=later):
                return
        late = rnd.random() < 0.12
        share = rnd.uniform(1.05, 3.0) if late else rnd.uniform(0.15, 0.95)
        handler = f"示例处置员{rnd.randrange(1, 40):02d}"
        if not walk.step("complete", "completed", (limit * share, limit * share), completed_at=_NOW, handler=handler):
            return
        if not walk.step("verify", "verifying", (0.3, 6)):
            return
        if rnd.random() < 0.05 and rework < 2:
            rework += 1
            walk.props["rework_count"] = rework
            continue  # 重新派遣: the loop's dispatch step is the redispatch
        walk.step("close", "closed", (0.02, 0.3), closed_at=_NOW)
        return


def _case(n: int, cells: list[Site], comps: list[Site], cal: WorkCalendar, seq: dict[str, int]) -> Plan | None:
    rnd = rng("case", n)
    reported = _report_time(rnd)
    classes = case_classes()
    if comps and rnd.random() < COMPONENT_SHARE:
        site = comps[rnd.randrange(len(comps))]
        if site.since > reported or (site.until is not None and site.until <= reported):
            return None
        cls = classes[("component", str(site.minor))]
        point = Point(site.geometry.x + rnd.uniform(-3e-5, 3e-5), site.geometry.y + rnd.uniform(-3e-5, 3e-5))
    else:
        site = cells[rnd.randrange(len(cells))]
        small = _weighted(rnd, [(code, w * months.get(reported.month, 1.0))
                                for code, (w, months) in EVENT_WEIGHTS.items()])
        cls = classes[("event", small)]
        point = site.geometry.representative_point()
        x0, y0, x1, y1 = site.geometry.bounds
        jittered = Point(rnd.uniform(x0, x1), rnd.uniform(y0, y1))
        point = jittered if site.geometry.contains(jittered) else point
    grid = site.code_at(reported)
    source = _weighted(rnd, list(SOURCES))
    day = reported.strftime("%Y%m%d")
    seq[day] = seq.get(day, 0) + 1
    props: dict[str, Any] = {
        "case_no": f"{day}{seq[day]:04d}", "source": source, "kind": cls.kind, "big_class": cls.big_class,
        "small_class": cls.small_class, "description": f"示例数据：{cls.small_name}", "grid_code": grid,
        "community": grid[:12], "street": grid[:9], "district": grid[:6], "component_code": site.component,
        "department": department_for(cls.kind, cls.small_class, district=grid[:6], street=grid[:9],
                                     owner=site.owner),
        "state": "reported", "urgency": cls.urgency, "reported_at": reported, "rework_count": 0,
        "reporter": f"示例监督员{rnd.randrange(1, 31):02d}" if source == "inspector" else f"示例{source}",
    }
    backlog = reported > YEAR_END - BACKLOG_DAYS and rnd.random() < BACKLOG_SHARE
    walk = _Walk(rnd, cal, point, props, rnd.choice(OPEN_STATES) if backlog else None)
    _walk(walk, cls)
    return Plan(walk.versions)


def case_plans(grid: list[Plan], components: list[Plan], *, share: float = 1.0) -> list[Plan]:
    """A year of cases over the given (EPSG:4490) grid and component plans, in report order.

    ``share`` is the part of the whole sample grid given (a bbox load): it gets that share of the cases.
    """
    cells, comps = cell_sites(grid), component_sites(components)
    if not cells:
        return []
    cal = work_calendar()
    plans = []
    seq: dict[str, int] = {}
    # Numbers are given in report order, so case_no sorts like reported_at within a day.
    count = max(1, round(CASES_PER_YEAR * share))
    order = sorted(range(count), key=lambda n: _report_time(rng("case", n)))
    for n in order:
        plan = _case(n, cells, comps, cal, seq)
        if plan is not None:
            plans.append(plan)
    return plans
