"""Building statistics (建筑统计) of one area at one instant, and growth between two instants.

One statement per instant (``analysis/sql/building_stats.sql``) answers one row per class of each
breakdown (use, age band, height class, floor rule): the rollup rows (``onemap.building_rollup``,
migration 0014) of the cells wholly inside the area (:mod:`analysis.cells`) plus an exact scan of
the buildings in the level-0 cells on its edge — so a district reads thousands of rollup rows and
the buildings along its boundary, not its 340,000 buildings. The rules are
:mod:`analysis.building_rules`. Growth is the difference of the two as-of answers, class by
class. Areas are m² in EPSG:4547.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import shapely

from analysis.building_rules import AGE_BANDS, FLOOR_RULES, HEIGHT_CLASSES, Label
from analysis.cells import cover
from analysis.contract import JSON
from analysis.features import selection_at, statement
from layers.building_rollup import CELLS_PER_DEGREE, ROLLUP_TABLE, TOP_LEVEL, cell_size
from layers.model import Layer
from layers.sql import Params
from layers.temporal import predicate
from spatial.codelists.buildings import USE

MEASURES = ("buildings", "footprint_m2", "floor_area_m2")
# Each breakdown and what it groups by; the rows' ``class_key`` is ``<breakdown>:<class>``.
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


async def occupied_cells(conn: asyncpg.Connection) -> list[tuple[int, int]]:
    """The top-level rollup cells that ever held a building (where the cover starts)."""
    rows = await conn.fetch(f"SELECT DISTINCT ix, iy FROM {ROLLUP_TABLE} WHERE level = $1", TOP_LEVEL)  # noqa: S608
    return [(int(r["ix"]), int(r["iy"])) for r in rows]


def _until(at: dt.datetime | None, params: Params) -> str:
    # The rollup's deltas up to the instant: exactly layers.temporal.AsOf (valid_from <= at < valid_to).
    return "true" if at is None else f"r.at <= {params.add(at, 'timestamptz')}"


async def class_statement(conn: asyncpg.Connection, buildings: Layer, area_wkb_4490: bytes,
                          at: dt.datetime | None) -> tuple[str, list[Any]]:
    """The statistics statement for an area and instant, and its parameters (the cover is read first)."""
    found = cover(shapely.from_wkb(area_wkb_4490), await occupied_cells(conn))
    params = Params()
    sql = statement("building_stats.sql").format(
        levels=params.add(found.level, "smallint[]"), xs=params.add(found.ix, "int[]"),
        ys=params.add(found.iy, "int[]"), until=_until(at, params),
        area=params.add(area_wkb_4490, "bytea"), size=params.add(cell_size(0), "float8"),
        edge_xs=params.add(found.edge_ix, "int[]"), edge_ys=params.add(found.edge_iy, "int[]"),
        table=buildings.table, selection=predicate(selection_at(at), params, alias="t"),
        per_degree=params.add(float(CELLS_PER_DEGREE), "float8"))
    return sql, params.values


async def _class_rows(conn: asyncpg.Connection, buildings: Layer, area_wkb_4490: bytes,
                      at: dt.datetime | None) -> list[asyncpg.Record]:
    """One row per breakdown class (``by_use:residential`` …): rollup of inside cells + scan of edge cells."""
    # One snapshot for the occupied cells and the statistics, so a cell filled in between is not missed.
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        sql, values = await class_statement(conn, buildings, area_wkb_4490, at)
        # Planned for this area: the WKB becomes a constant (parsed once, prepared by PostGIS).
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        rows: list[asyncpg.Record] = await conn.fetch(sql, *values)
        return rows


async def snapshot(conn: asyncpg.Connection, buildings: Layer, area_wkb_4490: bytes, at: dt.datetime | None) -> JSON:
    """Totals and breakdowns of ``buildings`` in the area as of ``at`` (None: current state)."""
    by: dict[str, dict[str, list[float]]] = {name: {} for name in _BY}
    for r in await _class_rows(conn, buildings, area_wkb_4490, at):
        name, key = r["class_key"].split(":", 1)
        _add(by[name], key, r)
    # Every building has exactly one floor rule: the totals are the sum of that breakdown.
    totals: dict[str, list[float]] = {}
    for sums in by["by_floor_rule"].values():
        _add(totals, "", {"buildings": sums[0], "footprint_m2": sums[1], "floor_area_m2": sums[2]})
    out: JSON = {"datetime": at.isoformat().replace("+00:00", "Z") if at else "now",
                 "totals": _measures(totals.get(""))}
    for name in _BY:
        out[name] = _classes(name, {k: v for k, v in by[name].items() if v[0] or v[1] or v[2]})
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
