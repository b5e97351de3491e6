"""Building statistics (建筑统计) of one area at one instant, and growth between two instants.

One set-based query per instant (``analysis/sql/building_stats.sql``: the buildings whose point
on surface lies in the area, grouped by use × age band × height class × floor rule, at most a
thousand rows) is rolled up here into the totals and the breakdowns by use, age band, height
class and floor rule; the rules are :mod:`analysis.building_rules`. Growth is the difference
of the two as-of answers, class by class. Areas are m² in EPSG:4547.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from analysis.building_rules import AGE_BANDS, FLOOR_RULES, HEIGHT_CLASSES, STOREY_M, Label
from analysis.contract import JSON
from analysis.features import selection_at, statement
from layers.model import Layer
from layers.sql import Params
from layers.temporal import predicate
from spatial.codelists.buildings import USE

MEASURES = ("buildings", "footprint_m2", "floor_area_m2")
# Each breakdown and its part of the grouped rows' ``class_key`` (use|age_band|height_class|floor_rule).
_BY = {"by_use": "use", "by_age": "age_band", "by_height": "height_class", "by_floor_rule": "floor_rule"}
BREAKDOWNS = tuple(_BY)


def _use_labels() -> tuple[Label, ...]:
    return tuple(Label(k, USE.labels_zh[k], USE.labels_en.get(k, k)) for k in USE.labels_zh)


def labels(breakdown: str) -> tuple[Label, ...]:
    """The classes of a breakdown, in display order."""
    return {"by_use": _use_labels(), "by_age": AGE_BANDS, "by_height": HEIGHT_CLASSES,
            "by_floor_rule": FLOOR_RULES}[breakdown]


def _measures(sums: list[float] | None) -> dict[str, Any]:
    if sums is None:
        return {"buildings": 0, "footprint_m2": 0.0, "floor_area_m2": 0.0}
    return {"buildings": int(sums[0]), "footprint_m2": round(sums[1], 2), "floor_area_m2": round(sums[2], 2)}


def _add(acc: dict[str, list[float]], key: str, row: Any) -> None:
    sums = acc.setdefault(key, [0, 0.0, 0.0])
    sums[0] += int(row["buildings"])
    sums[1] += float(row["footprint_m2"])
    sums[2] += float(row["floor_area_m2"])


def _classes(breakdown: str, found: dict[str, list[float]]) -> list[JSON]:
    known = labels(breakdown)
    extra = [Label(k, k, k) for k in sorted(found) if k not in {c.key for c in known}]
    return [{"key": c.key, "label_zh": c.zh, "label_en": c.en, **_measures(found.get(c.key))}
            for c in known + tuple(extra)]


async def snapshot(conn: asyncpg.Connection, buildings: Layer, area_wkb_4490: bytes, at: dt.datetime | None) -> JSON:
    """Totals and breakdowns of ``buildings`` in the area as of ``at`` (None: current state)."""
    params = Params()
    sql = statement("building_stats.sql").format(
        table=buildings.table, selection=predicate(selection_at(at), params, alias="t"),
        area=params.add(area_wkb_4490, "bytea"), storey_m=params.add(STOREY_M, "float8"))
    async with conn.transaction():
        # Planned for this area: the WKB becomes a constant (parsed once, prepared by PostGIS).
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        # The planner cannot estimate how many buildings an area holds (it guessed 1 for a million)
        # and then sorted them all on disk to group them; at most ~1,000 groups always fit a hash.
        await conn.execute("SET LOCAL enable_sort = off")
        rows = await conn.fetch(sql, *params.values)
    totals: dict[str, list[float]] = {}
    by: dict[str, dict[str, list[float]]] = {name: {} for name in _BY}
    for r in rows:
        _add(totals, "", r)
        for name, key in zip(_BY, r["class_key"].split("|"), strict=True):
            _add(by[name], key, r)
    out: JSON = {"datetime": at.isoformat().replace("+00:00", "Z") if at else "now",
                 "totals": _measures(totals.get(""))}
    for name in _BY:
        out[name] = _classes(name, by[name])
    return out


def _minus(later: dict[str, Any], earlier: dict[str, Any]) -> dict[str, Any]:
    return {m: (later[m] - earlier[m]) if m == "buildings" else round(later[m] - earlier[m], 2) for m in MEASURES}


def growth(earlier: JSON, later: JSON) -> JSON:
    """``later`` minus ``earlier``, for the totals and every class (the two as-of answers' difference)."""
    out: JSON = {"from": earlier["datetime"], "to": later["datetime"],
                 "totals": _minus(later["totals"], earlier["totals"])}
    for name in BREAKDOWNS:
        before = {c["key"]: c for c in earlier[name]}
        zero = {m: 0 for m in MEASURES}
        out[name] = [{**{k: c[k] for k in ("key", "label_zh", "label_en")}, **_minus(c, before.get(c["key"], zero))}
                     for c in later[name]]
        out[name] += [{**{k: c[k] for k in ("key", "label_zh", "label_en")}, **_minus(zero, c)}
                      for c in earlier[name] if c["key"] not in {x["key"] for x in later[name]}]
    return out
