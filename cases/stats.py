"""综合评价: the evaluation indicators per district, street, community, grid cell, department or
inspector over a period, the most reported classes, and the hotspots (cases per grid cell).

Periods are calendar days in the case calendar's zone, ``to`` included. Rates are shares of the
dispatched cases (None when nothing was dispatched); ``avg_handling_h`` is wall-clock hours from
report to closure of the closed cases.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import orjson

from cases.access import Scope
from cases.calendar import work_calendar
from cases.codes import case_classes, departments
from cases.errors import InvalidReport
from cases.statements import bound
from spatial.codelists.admin import CHANGSHA

GROUPS = {"district": "district", "street": "street", "community": "community", "grid": "grid_code",
          "department": "department", "inspector": "reporter"}
# Groupings the daily rollup (day × district × department) answers without reading the cases.
ROLLED_UP = frozenset({"district", "department"})
COUNTS = ("reported", "accepted", "dispatched", "closed", "on_time_disposal", "rework", "overdue")
COLUMNS = ("key", "name", *COUNTS, "on_time_disposal_rate", "on_time_close_rate", "rework_rate", "avg_handling_h")


def period(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, the day after end 00:00) in the calendar's zone.

    Raises:
        InvalidReport: ``end`` before ``start``.
    """
    if end < start:
        raise InvalidReport("to is before from")
    zone = work_calendar().zone
    return dt.datetime.combine(start, dt.time(), zone), dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone)


def key_name(by: str, key: str | None) -> str | None:
    """A readable name for a group key (district, street, community, department)."""
    if key is None:
        return None
    if by == "department":
        dept = departments().get(key)
        return dept.name if dept else key
    if by in ("district", "street", "community", "grid"):
        district = CHANGSHA.labels_zh.get(key[:6], key[:6])
        parts = [district]
        if len(key) >= 9:
            parts.append(f"{int(key[6:9])}街道（示例编号）")
        if len(key) >= 12:
            parts.append(f"{int(key[9:12])}社区")
        if len(key) > 12:
            parts.append(f"网格{key[12:]}")
        return " ".join(parts)
    return key


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


SUMS = (*COUNTS, "on_time_close", "handling_h")


def _row(sums: dict[str, Any], by: str, key: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"key": key, "name": key_name(by, key)}
    out.update({c: int(sums[c]) for c in COUNTS})
    out["on_time_disposal_rate"] = _rate(sums["on_time_disposal"], sums["dispatched"])
    out["on_time_close_rate"] = _rate(sums["on_time_close"], sums["dispatched"])
    out["rework_rate"] = _rate(sums["rework"], sums["dispatched"])
    out["avg_handling_h"] = round(float(sums["handling_h"]) / sums["closed"], 2) if sums["closed"] else None
    return out


async def statistics(
    conn: asyncpg.Connection, *, scope: Scope, start: dt.date, end: dt.date, by: str = "district",
    district: str | None = None, street: str | None = None, now: dt.datetime | None = None, top: int = 10,
) -> dict[str, Any]:
    """{rows: [...], totals: {...}, top_classes: [...]} for cases reported from ``start`` to ``end``."""
    if by not in GROUPS:
        raise InvalidReport(f"by must be one of {', '.join(GROUPS)}")
    t0, t1 = period(start, end)
    blank = {"key": None, "name": "合计", **dict.fromkeys(COLUMNS[2:], 0)}
    empty: dict[str, Any] = {"rows": [], "totals": blank, "top_classes": []}
    if scope.none:
        return empty
    where = "AND source = 'inspector'" if by == "inspector" else ""
    common = {"t0": t0, "t1": t1, "district": district, "street": street, "see_all": scope.all,
              "scope_department": scope.department}
    clock = now or dt.datetime.now(dt.UTC)
    if by in ROLLED_UP and street is None:
        rolled = {k: v for k, v in common.items() if k != "street"}
        sql, args = bound("stats_rollup", {**rolled, "now": clock, "d0": start, "d1": end}, key=GROUPS[by])
    else:
        sql, args = bound("stats", {**common, "now": clock}, key=GROUPS[by], where=where)
    fetched = await conn.fetch(sql, *args)
    rows = [{c: r[c] or 0 for c in SUMS} for r in fetched]
    body = [_row(sums, by, r["key"]) for sums, r in zip(rows, fetched, strict=True)]
    totals = _row({c: sum(r[c] for r in rows) for c in SUMS}, by, None) if rows else blank
    totals["name"] = "合计"
    if street is None:
        rolled = {k: v for k, v in common.items() if k not in ("street", "t0", "t1")}
        sql, args = bound("top_classes_rollup", {**rolled, "d0": start, "d1": end, "limit": top})
    else:
        sql, args = bound("top_classes", {**common, "limit": top})
    classes = case_classes()
    top_rows = [{"kind": r["kind"], "small_class": r["small_class"], "count": int(r["n"]),
                 "name": getattr(classes.get((r["kind"], r["small_class"])), "small_name", r["small_class"])}
                for r in await conn.fetch(sql, *args)]
    return {"rows": body, "totals": totals, "top_classes": top_rows}


async def hotspots(conn: asyncpg.Connection, *, scope: Scope, start: dt.date, end: dt.date) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (CRS84) of the grid cells with cases in the period, with ``count``."""
    t0, t1 = period(start, end)
    if scope.none:
        return {"type": "FeatureCollection", "features": []}
    sql, args = bound("hotspots", {"t0": t0, "t1": t1, "see_all": scope.all, "scope_department": scope.department})
    feats = [{"type": "Feature", "id": r["grid_code"], "geometry": orjson.loads(r["geometry"]),
              "properties": {"grid_code": r["grid_code"], "count": int(r["n"])}}
             for r in await conn.fetch(sql, *args)]
    return {"type": "FeatureCollection", "features": feats}
