"""Statistics equal what the test counts from the raw rows; CSV and XLSX carry the same; hotspots;
the queue shows a handler only its department's cases."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from openpyxl import load_workbook

from cases.access import Scope
from cases.reports import ReportIn, file_report
from cases.workflow import ActionIn, act
from layers.db import connect
from layers.principals import Principal
from layers.registry import Registry
from tests.api.cases.conftest import CaseSeed

CST = ZoneInfo("Asia/Shanghai")
ALL = Scope(all=True)
WHO = {r: Principal(r, frozenset({r}), kind="user", department="cg-430104" if r == "handler" else None)
       for r in ("operator", "dispatcher", "handler", "inspector", "supervisor")}
CELLS = [(112.9505, 28.2015), (112.9515, 28.2015), (112.9525, 28.2015), (112.9505, 28.2005), (112.9525, 28.2005)]
# small class, cell, how far it goes, late?
PLAN = [("0501", 0, "closed", False), ("0501", 1, "closed", True), ("0101", 2, "dispatched", True),
        ("0101", 2, "dispatched", False), ("0201", 3, "reported", False), ("0501", 4, "rejected", False),
        ("0601", 4, "rework", False), ("0101", 0, "hung", False), ("0201", 1, "completed", True),
        ("0501", 2, "closed", False), ("0101", 3, "accepted", False), ("0601", 0, "cancelled", False)]


async def _make(conn: Any, layer: Any, n: int, small: str, cell: int, goal: str, late: bool) -> None:
    t = dt.datetime(2026, 3, 2 + n, 9, 0, tzinfo=CST)  # weekdays and a weekend; early March 2026
    lon, lat = CELLS[cell]
    filed = await file_report(conn, layer=layer, report=ReportIn("event", None, small, "统计测试", "inspector",
                                                                     lon=lon, lat=lat), photos=[], actor="insp", now=t)
    fid = filed.fid

    async def do(action: str, who: str, minutes: int, **body: Any) -> None:
        await act(conn, layer=layer, fid=fid, action=action, body=ActionIn(**body), principal=WHO[who], scope=ALL,
                  now=t + dt.timedelta(minutes=minutes))

    if goal in ("rejected", "hung", "cancelled"):
        await do({"rejected": "reject", "hung": "hang", "cancelled": "cancel"}[goal],
                 "operator" if goal == "rejected" else "supervisor", 5, reason="测试")
        return
    if goal == "reported":
        return
    await do("accept", "operator", 5)
    if goal == "accepted":
        return
    await do("dispatch", "dispatcher", 10, deadline_hours=1 if late else 2000)
    if goal == "dispatched":
        return  # still with the department: overdue now if its deadline (1 h, or ~285 days) has passed
    photo = await conn.fetchval(
        "INSERT INTO onemap.case_attachments (case_fid, sha256, media_type, bytes, size, width, height, uploaded_by) "
        "VALUES ($1, sha256('x'), 'image/png', 'x', 1, 1, 1, 'h') RETURNING id", fid)
    await do("complete", "handler", 30 if not late else 60 * 30, attachments=[photo])
    if goal == "completed":
        return
    await do("verify", "inspector", 60 * 31, verdict="not_fixed" if goal == "rework" else "fixed")


@pytest.fixture(scope="module")
async def stats_cases(case_seed: CaseSeed) -> list[dict[str, Any]]:
    conn = await connect(case_seed.url)
    try:
        layer = (await Registry.load(conn)).get("city_cases")
        for n, (small, cell, goal, late) in enumerate(PLAN):
            await _make(conn, layer, n, small, cell, goal, late)
        rows = await conn.fetch("SELECT * FROM data.city_cases WHERE valid_to IS NULL")
    finally:
        await conn.close()
    return [dict(r) for r in rows]


def expected(rows: list[dict[str, Any]], key: str, now: dt.datetime) -> dict[str, dict[str, int]]:
    out: dict[str, Counter[str]] = {}
    for r in rows:
        c = out.setdefault(r[key], Counter())
        c["reported"] += 1
        c["accepted"] += r["accepted_at"] is not None
        c["dispatched"] += r["dispatched_at"] is not None
        c["closed"] += r["state"] == "closed"
        c["rework"] += (r["rework_count"] or 0) > 0
        if r["dispatched_at"] is not None:
            c["on_time_disposal"] += r["completed_at"] is not None and r["completed_at"] <= r["deadline_at"]
            finish = r["completed_at"] or (now if r["state"] in ("dispatched", "returned", "extended") else None)
            c["overdue"] += finish is not None and finish > r["deadline_at"]
    return {k: dict(v) for k, v in out.items()}


@pytest.mark.parametrize("by,column", [("grid", "grid_code"), ("department", "department"),
                                       ("district", "district")])
async def test_stats_equal_counts_from_the_raw_rows(cases_client: httpx.AsyncClient, case_seed: CaseSeed,
                                                    stats_cases: list[dict[str, Any]], by: str, column: str) -> None:
    r = await cases_client.get("/cases/stats", headers=case_seed.auth("leader"),
                               params={"from": "2026-03-01", "to": "2026-03-31", "by": by})
    assert r.status_code == 200, r.text
    body = r.json()
    want = expected(stats_cases, column, dt.datetime.now(dt.UTC))
    got = {row["key"]: {k: row[k] for k in ("reported", "accepted", "dispatched", "closed", "on_time_disposal",
                                            "rework", "overdue")} for row in body["rows"]}
    assert got == {k: {c: v.get(c, 0) for c in next(iter(got.values()))} for k, v in want.items()}
    assert body["totals"]["reported"] == len(stats_cases) == len(PLAN)
    assert body["totals"]["overdue"] == sum(v.get("overdue", 0) for v in want.values()) >= 2
    assert body["totals"]["rework"] == 1
    top = Counter(r["small_class"] for r in stats_cases)
    assert {t["small_class"]: t["count"] for t in body["top_classes"]} == dict(top)


async def test_stats_period_excludes_other_days(cases_client: httpx.AsyncClient, case_seed: CaseSeed,
                                                stats_cases: list[dict[str, Any]]) -> None:
    r = await cases_client.get("/cases/stats", headers=case_seed.auth("leader"),
                               params={"from": "2026-03-02", "to": "2026-03-03"})
    assert r.json()["totals"]["reported"] == 2


async def test_stats_as_csv_and_xlsx(cases_client: httpx.AsyncClient, case_seed: CaseSeed,
                                     stats_cases: list[dict[str, Any]]) -> None:
    params = {"from": "2026-03-01", "to": "2026-03-31", "by": "grid"}
    as_json = (await cases_client.get("/cases/stats", headers=case_seed.auth("leader"), params=params)).json()
    r = await cases_client.get("/cases/stats", headers=case_seed.auth("leader"), params={**params, "format": "csv"})
    assert r.headers["content-type"].startswith("text/csv") and "attachment" in r.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert table[0][:3] == ["编码", "名称", "上报数"]
    assert [(row[0], int(row[2])) for row in table[1:-1]] == [(x["key"], x["reported"]) for x in as_json["rows"]]
    r = await cases_client.get("/cases/stats", headers=case_seed.auth("leader"), params={**params, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(r.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[-1][2] == as_json["totals"]["reported"]


async def test_hotspots_count_per_cell(cases_client: httpx.AsyncClient, case_seed: CaseSeed,
                                       stats_cases: list[dict[str, Any]]) -> None:
    r = await cases_client.get("/cases/hotspots", headers=case_seed.auth("leader"),
                               params={"from": "2026-03-01", "to": "2026-03-31"})
    assert r.headers["content-type"].startswith("application/geo+json")
    got = {f["properties"]["grid_code"]: f["properties"]["count"] for f in r.json()["features"]}
    assert got == dict(Counter(x["grid_code"] for x in stats_cases))
    assert all(f["geometry"]["type"] == "MultiPolygon" for f in r.json()["features"])


async def test_queue_by_role(cases_client: httpx.AsyncClient, case_seed: CaseSeed,
                             stats_cases: list[dict[str, Any]]) -> None:
    r = await cases_client.get("/cases/queue", headers=case_seed.auth("dispatcher"), params={"state": "dispatched"})
    body = r.json()
    dispatched = [x for x in stats_cases if x["state"] == "dispatched"]
    assert body["counts"] == {"dispatched": len(dispatched)}
    assert {c["id"] for c in body["cases"]} == {x["fid"] for x in dispatched}
    assert all({"time_used_h", "time_left_h", "overdue"} <= set(c["properties"]) for c in body["cases"])
    assert any(c["properties"]["overdue"] for c in body["cases"])
    mine = (await cases_client.get("/cases/queue", headers=case_seed.auth("handler"))).json()
    assert mine["cases"] and all(c["properties"]["department"] == "cg-430104" for c in mine["cases"])
    water = (await cases_client.get("/cases/queue", headers=case_seed.auth("water"))).json()
    assert water["cases"] == [] and sum(water["counts"].values()) == 0
    viewer = (await cases_client.get("/cases/queue", headers=case_seed.auth("viewer"))).json()
    assert viewer["cases"] == []
    bad = await cases_client.get("/cases/queue", headers=case_seed.auth("dispatcher"), params={"state": "lost"})
    assert bad.status_code == 400
