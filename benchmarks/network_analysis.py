"""Pipe-network analyses on a synthetic 给水 network (issue 9), against pgRouting on the same edges.

The network is a street lattice of N segments (40 m apart) around central Changsha, loaded
through the versioned bulk path into ``pipeline_water_segments``/``_points``; half of its points
are valves (阀门) and its four corners are sources.
The machine is shared: wall-clock figures come with the process CPU time per call, which
is what the call would take on an idle core (the database's own time is not in it). One run measures:

* the first ``pipe-trace`` call, which builds the graph (SQL read + networkx build), and the graph's
  memory (tracemalloc: the Python objects it keeps; and the process RSS growth);
* with the graph cached: ``pipe-trace`` (bounded to 480 m, features read back from PostGIS) and
  ``valve-isolation`` (random breaks, every output), p50/p95 at concurrency 1 and throughput at
  concurrency 8 (one process and event loop: the API's unit of scale is a worker);
* the same traversal in pgRouting (Debian's ``postgresql-15-pgrouting``, installed here when missing):
  ``pgr_depthFirstSearch`` over the whole component and bounded to depth 12 (≈ 480 m), and
  ``pgr_connectedComponents``, each reading the edges from SQL as pgRouting does on every call;
  One Map's cached graph does the same walks in Python. Ratios are printed.

Run:  .venv/bin/python -m benchmarks.network_analysis --segments 100000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import math
import random
import shutil
import statistics
import subprocess
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import shapely

from analysis.catalogue import PROCESSES
from analysis.contract import ProcessContext
from analysis.network.cache import NETWORKS, NetworkCache
from analysis.network.categories import resolve_category
from analysis.network.trace import Start, trace
from layers.bulk import copy_rows, create_staging, drop_staging, insert_all
from layers.cluster import PrivateCluster
from layers.db import connect, create_pool
from layers.migrate import migrate
from layers.registry import Registry
from layers.settings import DatabaseSettings
from layers.versioning import open_changeset
from spatial.crs import crs_ref, transform_xy

JSONIn = dict[str, Any]
ORIGIN_4547 = (383_000.0, 3_108_000.0)  # south-west corner, about 112.77°E 28.08°N
SPACING_M = 40.0
T0 = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
PGROUTING_CONTROL = Path("/usr/share/postgresql/15/extension/pgrouting.control")
# Half the points are valves: at 30% the unvalved points of a lattice percolate (site percolation
# threshold 0.593) and one break isolates most of the city; real networks put a valve on each
# branch at a junction, which bounds zones to a few blocks.
VALVE_SHARE = 0.5
EDGES_SQL = "SELECT id, source, target, 1.0::float8 AS cost, 1.0::float8 AS reverse_cost FROM bench_edges"


def ensure_pgrouting() -> None:
    """Install Debian's pgRouting for PostgreSQL 15 when missing (the benchmark's own dependency)."""
    if PGROUTING_CONTROL.exists():
        return
    print("installing postgresql-15-pgrouting (Debian package) …", flush=True)
    apt = shutil.which("apt-get") or "apt-get"
    subprocess.run([apt, "install", "-y", "-qq", "postgresql-15-pgrouting"], check=True, stdout=subprocess.DEVNULL)


def lattice(segments: int, seed: int) -> tuple[int, list[tuple[int, int]], set[int]]:
    """(side, edges between node numbers i*side+j, valve nodes) of a square street lattice."""
    side = math.ceil(math.sqrt(segments / 2)) + 1
    edges: list[tuple[int, int]] = []
    for i in range(side):
        for j in range(side):
            n = i * side + j
            if j + 1 < side:
                edges.append((n, n + 1))
            if i + 1 < side:
                edges.append((n, n + side))
    rnd = random.Random(seed)
    edges = edges[:segments]
    used = {n for e in edges for n in e}
    corners = {0, side - 1, (side - 1) * side, side * side - 1}
    valves = {n for n in used if n not in corners and rnd.random() < VALVE_SHARE}
    return side, edges, valves


async def load(url: str, segments: int, seed: int) -> tuple[int, list[tuple[int, int]]]:
    """Write the lattice through layers.bulk; returns (side, edges)."""
    side, edges, valves = lattice(segments, seed)
    used = sorted({n for e in edges for n in e})
    xs = np.array([ORIGIN_4547[0] + (n % side) * SPACING_M for n in range(side * side)])
    ys = np.array([ORIGIN_4547[1] + (n // side) * SPACING_M for n in range(side * side)])
    lon, lat = transform_xy(xs, ys, src=crs_ref(4547))
    corners = {0, side - 1, (side - 1) * side, side * side - 1}
    conn = await connect(url)
    try:
        reg = await Registry.load(conn)
        pts, segs = reg.get("pipeline_water_points"), reg.get("pipeline_water_segments")
        cs = await open_changeset(conn, actor="benchmark", source="admin", note="network_analysis lattice")
        point_rows = []
        for k, n in enumerate(used):
            props = {"point_no": f"P{n}", "category": "JS", "subcategory": "JP", "status": "0",
                     "feature_point": None if n in valves else ("CD" if n in corners else "ST"),
                     "appurtenance": "FM" if n in valves else None, "is_source": n in corners, "ground_elev_m": 50.0,
                     "owner": "长沙水业集团"}
            wkb = shapely.to_wkb(shapely.points(lon[n], lat[n]))
            point_rows.append([k, wkb, None, *[props.get(f.name) for f in pts.attributes.fields]])
        seg_rows = []
        for k, (a, b) in enumerate(edges):
            props = {"segment_no": f"S{k}", "category": "JS", "subcategory": "JP", "start_point": f"P{a}",
                     "end_point": f"P{b}", "start_depth_m": 1.2, "end_depth_m": 1.2, "material": "QM",
                     "diameter_mm": 200, "status": "0", "owner": "长沙水业集团"}
            wkb = shapely.to_wkb(shapely.linestrings([[lon[a], lat[a]], [lon[b], lat[b]]]))
            seg_rows.append([k, wkb, None, *[props.get(f.name) for f in segs.attributes.fields]])
        for layer, rows in ((pts, point_rows), (segs, seg_rows)):
            staging = await create_staging(conn, layer)
            await copy_rows(conn, staging, rows)
            await insert_all(conn, staging, changeset_id=cs, valid_from=T0)
            await drop_staging(conn, staging)
        await conn.execute("VACUUM ANALYZE data.pipeline_water_segments")
        await conn.execute("VACUUM ANALYZE data.pipeline_water_points")
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pgrouting")
        await conn.execute(
            "CREATE TABLE bench_edges AS SELECT s.fid AS id, a.fid AS source, b.fid AS target "
            "FROM data.pipeline_water_segments s JOIN data.pipeline_water_points a ON a.point_no = s.start_point "
            "JOIN data.pipeline_water_points b ON b.point_no = s.end_point WHERE s.valid_to IS NULL")
        await conn.execute("ANALYZE bench_edges")
    finally:
        await conn.close()
    return side, edges


def rss_kb() -> int:
    """This process's resident set size (kB), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _noop(_p: int, _m: str) -> None:
    return None


async def timed(call: Callable[[JSONIn], Awaitable[Any]], inputs: list[JSONIn]) -> tuple[list[float], list[float]]:
    """(wall ms, this process's CPU ms) of each call, one after another."""
    wall, cpu = [], []
    for i in inputs:
        t, c = time.perf_counter(), time.process_time()
        await call(i)
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return wall, cpu


async def throughput(make: Callable[[], Awaitable[Any]], *, clients: int, seconds: float) -> float:
    """Requests per second with ``clients`` concurrent callers for ``seconds``."""
    done = 0
    end = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < end:
            await make()
            done += 1

    t = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return done / (time.perf_counter() - t)


def p(values: list[float], q: float) -> float:
    """The q-quantile (0–1) of ``values``."""
    return float(np.quantile(values, q)) if values else math.nan


async def measure(url: str, segments: int, edges: list[tuple[int, int]], args: argparse.Namespace) -> None:
    """Every figure of the module docstring, printed as a table with ratios."""
    pool = await create_pool(url, DatabaseSettings(database_url=url, pool_min_size=2, pool_max_size=10))
    ctx = ProcessContext(pool=pool, readable=lambda _layer: True, progress=_noop)
    cat = resolve_category("water")
    rnd = random.Random(7)
    try:
        NETWORKS.clear()
        t, c = time.perf_counter(), time.process_time()
        first = await PROCESSES["pipe-trace"].run(ctx, {"category": "water", "start": "S0", "max_length_m": 480})
        first_ms, first_cpu = (time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000
        net = await NETWORKS.get(pool, cat, None)
        gc.collect()
        rss0 = rss_kb()
        tracemalloc.start()
        again = await NetworkCache().get(pool, cat, None)
        gc.collect()
        traced_mb = tracemalloc.get_traced_memory()[0] / 1e6
        tracemalloc.stop()
        rss_mb = (rss_kb() - rss0) / 1e3
        del again
        trace_inputs = [{"category": "water", "start": f"S{rnd.randrange(segments)}", "max_length_m": 480}
                        for _ in range(args.requests)]
        breaks = [{"category": "water", "break": f"S{rnd.randrange(segments)}"} for _ in range(args.requests)]
        run_trace, run_iso = PROCESSES["pipe-trace"].run, PROCESSES["valve-isolation"].run
        trace_ms, trace_cpu = await timed(lambda i: run_trace(ctx, i), trace_inputs)
        iso_ms, iso_cpu = await timed(lambda i: run_iso(ctx, i), breaks)
        it = iter(range(10**9))
        trace_rps = await throughput(lambda: run_trace(ctx, trace_inputs[next(it) % len(trace_inputs)]), clients=8,
                                     seconds=args.seconds)
        iso_rps = await throughput(lambda: run_iso(ctx, breaks[next(it) % len(breaks)]), clients=8,
                                   seconds=args.seconds)
        sizes = [len((await run_iso(ctx, b))["isolated"]["features"]) for b in breaks[:20]]
        # The walks alone, on the cached graph, as pgRouting does them.
        starts = [rnd.randrange(len(net.node_no)) for _ in range(args.pgr_calls)]
        full_ms = [_ms(trace, net, Start(node=s)) for s in starts]
        bounded_ms = [_ms(trace, net, Start(node=s), max_length_m=12 * SPACING_M) for s in starts]
        comp_ms = [_ms(nx.number_weakly_connected_components, net.graph) for _ in range(3)]
        pgr = await _pgrouting(url, [int(net.node_fid[s]) for s in starts if net.node_fid[s] >= 0])
    finally:
        await pool.close()
    print(f"\nPipe-network analyses — synthetic 给水 lattice, {segments:,} segments, {len(net.node_no):,} points "
          f"({int(net.valve.sum()):,} valves, {int(net.source.sum())} sources); machine shared and loaded")
    print(f"first pipe-trace call (builds the graph): {first_ms:,.0f} ms wall, {first_cpu:,.0f} ms CPU in this "
          f"process (target ≤ 2,000 ms); "
          f"{first['summary']['segments']} segments traced")
    print(f"graph memory: {traced_mb:,.0f} MB traced by tracemalloc, RSS +{rss_mb:,.0f} MB  (target ≤ 200 MB)")
    print(f"valve isolation sizes (isolated segments, 20 breaks): median {statistics.median(sizes):.0f}, "
          f"max {max(sizes)}\n")
    print("| cached, end to end (features from PostGIS) | p50 ms | p95 ms | CPU p50 ms | req/s c=8 |")
    print("|---|---:|---:|---:|---:|")
    print(f"| pipe-trace, 480 m | {p(trace_ms, .5):.1f} | {p(trace_ms, .95):.1f} | {p(trace_cpu, .5):.1f} | "
          f"{trace_rps:.0f} |")
    print(f"| valve-isolation | {p(iso_ms, .5):.1f} | {p(iso_ms, .95):.1f} | {p(iso_cpu, .5):.1f} | {iso_rps:.0f} |\n")
    print("| same walk | One Map cached graph p50 ms | pgRouting p50 ms | pgRouting / One Map |")
    print("|---|---:|---:|---:|")
    for name, ours, theirs in (("whole component (pgr_depthFirstSearch)", full_ms, pgr["dfs_full"]),
                               ("bounded 12 edges / 480 m (pgr_depthFirstSearch max_depth 12)", bounded_ms,
                                pgr["dfs_bounded"]),
                               ("connected components (pgr_connectedComponents)", comp_ms, pgr["components"])):
        print(f"| {name} | {p(ours, .5):.1f} | {p(theirs, .5):.1f} | {p(theirs, .5) / p(ours, .5):.1f}× |")


def _ms(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> float:
    t = time.perf_counter()
    fn(*args, **kwargs)
    return (time.perf_counter() - t) * 1000


async def _pgrouting(url: str, starts: list[int]) -> dict[str, list[float]]:
    conn = await connect(url)
    try:
        out: dict[str, list[float]] = {"dfs_full": [], "dfs_bounded": [], "components": []}
        for s in starts:
            t = time.perf_counter()
            await conn.fetchval(f"SELECT count(*) FROM pgr_depthFirstSearch('{EDGES_SQL}', $1::bigint, "  # noqa: S608
                                "directed => false)", s)
            out["dfs_full"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            await conn.fetchval(f"SELECT count(*) FROM pgr_depthFirstSearch('{EDGES_SQL}', $1::bigint, "  # noqa: S608
                                "directed => false, max_depth => 12)", s)
            out["dfs_bounded"].append((time.perf_counter() - t) * 1000)
        for _ in range(3):
            t = time.perf_counter()
            await conn.fetchval(f"SELECT count(DISTINCT component) FROM pgr_connectedComponents('{EDGES_SQL}')")  # noqa: S608
            out["components"].append((time.perf_counter() - t) * 1000)
        return out
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> None:
    """Load the lattice into a private cluster, measure, print, clean up."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100, help="calls per process for the p50 (default 100)")
    parser.add_argument("--seconds", type=float, default=10.0, help="per throughput run (default 10 s)")
    parser.add_argument("--pgr-calls", type=int, default=5, help="pgRouting walks per kind (default 5)")
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--database-url", help="an existing server with pgRouting (a new database is created)")
    args = parser.parse_args(argv)
    ensure_pgrouting()
    tmp = tempfile.TemporaryDirectory(prefix="onemap-bench-net-")
    cluster: PrivateCluster | None = None
    if args.database_url:
        admin = args.database_url
    else:
        cluster = PrivateCluster(Path(tmp.name) / "pg", throwaway=False)
        cluster.init()
        cluster.start()
        admin = cluster.url("postgres")
    name = f"onemap_bench_network_{int(time.time())}"
    url = f"{admin.rsplit('/', 1)[0]}/{name}"

    async def go() -> None:
        conn = await connect(admin)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        await migrate(url)
        t = time.perf_counter()
        _side, edges = await load(url, args.segments, args.seed)
        print(f"loaded {len(edges):,} segments through layers.bulk in {time.perf_counter() - t:.0f} s", flush=True)
        await measure(url, len(edges), edges, args)

    try:
        asyncio.run(go())
    finally:
        async def drop() -> None:
            conn = await connect(admin)
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()

        asyncio.run(drop())
        if cluster is not None:
            cluster.destroy()
        tmp.cleanup()


if __name__ == "__main__":
    main()
