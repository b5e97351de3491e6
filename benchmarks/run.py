"""Run the benchmark: ``python -m benchmarks.run --size 20000 --duration 5``.

Loads (or reuses) the synthetic layer, then for each workload runs One Map,
tipg and the SQL floor one after the other at the same concurrency, and prints
req/s, p50, p99 and the ratios to tipg and to the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import asdict

import asyncpg

from benchmarks import load as loadgen
from benchmarks import tile_workloads  # noqa: F401 - registers the tile workloads
from benchmarks.peers import onemap_server, tipg_server
from benchmarks.settings import BENCH_LAYER, WORK, RunOptions
from benchmarks.synthetic import load, tipg_view
from benchmarks.workloads import WORKLOADS, BenchContext, FloorSpec, RequestSpec
from layers.cluster import PrivateCluster
from layers.db import connect
from layers.migrate import migrate

TARGETS = ("onemap", "tipg", "floor")


def database_url(explicit: str | None) -> str:
    """The database to benchmark: ``explicit``, else a private cluster under benchmarks/.work."""
    if explicit:
        return explicit
    cluster = PrivateCluster(WORK / "pg")
    cluster.init()
    cluster.start()
    cluster.ensure_database("onemap_bench")
    return cluster.url("onemap_bench")


async def prepare(url: str, size: int) -> BenchContext:
    """Load ``size`` synthetic buildings (once) and gather the ids, boxes and tiles the workloads ask for."""
    await migrate(url)
    conn = await connect(url)
    try:
        print(f"loading {size:,} synthetic buildings (skipped when already loaded) …", flush=True)
        layer = await load(conn, size=size)
        # A bulk-loaded table makes its first readers set hint bits and invites autovacuum into whichever
        # target runs first; settle both before anyone is measured (cheap when nothing changed).
        await conn.execute(f"VACUUM (ANALYZE) {layer.table}")
        await conn.execute("VACUUM (ANALYZE) onemap.changes")
        await tipg_view(conn, layer)
        lo, hi = await conn.fetchrow(
            f"SELECT min(fid), max(fid) FROM {layer.table} WHERE valid_to IS NULL"  # noqa: S608
        )
        deep = await conn.fetchval(
            f"SELECT fid FROM {layer.table} WHERE valid_to IS NULL ORDER BY fid OFFSET 9999 LIMIT 1"  # noqa: S608
        )
    finally:
        await conn.close()
    ctx = BenchContext(layer=layer, fid_min=lo, fid_max=hi, deep_fid=deep or hi)
    ctx.extra["database_url"] = url  # workloads over other layers (tile_workloads) read them from here
    return ctx


def deep_cursor(base: str) -> str:
    """Follow One Map's own next link after 10,000 features, as a client would."""
    url = f"{base}/collections/{BENCH_LAYER}/items?limit=10000&f=json"
    with urllib.request.urlopen(url, timeout=120) as resp:
        body = json.loads(resp.read())
    nxt = next(link["href"] for link in body["links"] if link["rel"] == "next")
    cursor: str = urllib.parse.parse_qs(urllib.parse.urlparse(nxt).query)["cursor"][0]
    return cursor


async def _busy_backends(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        busy: int = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND ("
            "(state = 'active' AND backend_type = 'client backend') OR backend_type = 'autovacuum worker')"
        )
        return busy
    finally:
        await conn.close()


def wait_until_idle(url: str, *, timeout_s: float = 300.0) -> None:
    """Wait until no statement (nor autovacuum) runs in the database. A server keeps rendering what a load
    generator gave up on; without this a slow workload's leftovers would run inside the next one's window."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and asyncio.run(_busy_backends(url)) > 0:
        time.sleep(0.5)


def fmt(r: loadgen.Result | None) -> str:
    """One result as a table row (req/s, p50, p99, max)."""
    if r is None:
        return f"{'–':>9} {'–':>8} {'–':>8} {'–':>8}"
    return f"{r.rps:9.1f} {r.p50_ms:8.2f} {r.p99_ms:8.2f} {r.max_ms:8.1f}"


def ratio(a: loadgen.Result | None, b: loadgen.Result | None) -> str:
    """Throughput of ``a`` divided by ``b``, or a dash when either is missing."""
    if a is None or b is None or not b.rps:
        return "   –"
    return f"{a.rps / b.rps:5.2f}"


def main(argv: list[str] | None = None) -> int:
    """Run the chosen workloads against One Map, tipg and the SQL floor, and print the ratios."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", type=int, default=1_000_000, help="buildings to load (full size 1,000,000)")
    ap.add_argument("--duration", type=int, default=30, help="seconds per workload and target")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2, help="server worker processes (One Map and tipg alike)")
    ap.add_argument("--workloads", default=",".join(WORKLOADS), help=f"comma list of {', '.join(WORKLOADS)}")
    ap.add_argument("--targets", default=",".join(TARGETS), help="comma list of onemap, tipg, floor")
    ap.add_argument("--database-url", default=None, help="use this PostGIS instead of benchmarks/.work/pg")
    ap.add_argument("--json", default=None, help="also write the results to this file")
    args = ap.parse_args(argv)
    opts = RunOptions(
        size=args.size,
        duration_s=args.duration,
        concurrency=args.concurrency,
        workers=args.workers,
        workloads=tuple(w for w in args.workloads.split(",") if w),
        targets=tuple(t for t in args.targets.split(",") if t),
    )
    unknown = [w for w in opts.workloads if w not in WORKLOADS]
    if unknown:
        print(f"unknown workloads: {unknown}; known: {list(WORKLOADS)}", file=sys.stderr)
        return 2
    url = database_url(args.database_url)
    ctx = asyncio.run(prepare(url, opts.size))
    results: dict[str, dict[str, loadgen.Result]] = {w: {} for w in opts.workloads}
    secret = secrets.token_urlsafe(32)

    def run_http(target: str, base: str, names: tuple[str, ...] = opts.workloads) -> None:
        for name in names:
            spec = WORKLOADS[name].targets.get(target)
            if spec is None:
                continue
            req = spec(ctx)
            assert isinstance(req, RequestSpec)
            warmup = WORKLOADS[name].warmup
            if target == "onemap" and warmup is not None:
                print(f"  {target:7s} {name} (warming up) …", flush=True)
                warmup(base, ctx)
            wait_until_idle(url)
            print(f"  {target:7s} {name} …", flush=True)
            results[name][target] = loadgen.run_wrk(
                base, req.path, ctx, duration_s=opts.duration_s, concurrency=opts.concurrency, tile_zoom=req.tile_zoom,
                tile_bbox=req.tile_bbox,
            )

    if "onemap" in opts.targets:
        # Workloads that need One Map configured differently (tile cache off …) get their own server.
        groups: dict[tuple[tuple[str, str], ...], list[str]] = {}
        for name in opts.workloads:
            groups.setdefault(tuple(sorted(WORKLOADS[name].onemap_env.items())), []).append(name)
        for env, names in groups.items():
            with onemap_server(
                url, port=opts.port_onemap, workers=opts.workers, secret=secret, extra_env=dict(env)
            ) as base:
                if "deep_page" in names:
                    ctx.deep_cursor = deep_cursor(base)
                run_http("onemap", base, tuple(names))
    if "tipg" in opts.targets:
        with tipg_server(url, port=opts.port_tipg, workers=opts.workers) as base:
            run_http("tipg", base)
    if "floor" in opts.targets:
        for name in opts.workloads:
            spec = WORKLOADS[name].targets.get("floor")
            if spec is None:
                continue
            floor = spec(ctx)
            assert isinstance(floor, FloorSpec)
            wait_until_idle(url)
            print(f"  floor   {name} …", flush=True)
            results[name]["floor"] = loadgen.run_pgbench(
                url, floor.script, duration_s=opts.duration_s, concurrency=opts.concurrency
            )
    print(
        f"\nsize {opts.size:,}, {opts.duration_s} s per run, concurrency {opts.concurrency}, "
        f"{opts.workers} server workers\n"
    )
    head = f"{'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    print(f"{'workload':20s} {'target':7s} {head}  {'÷tipg':>5} {'÷floor':>6}")
    for name in opts.workloads:
        r = results[name]
        for target in TARGETS:
            if target not in r:
                continue
            res = r[target]
            vs_tipg, vs_floor = ratio(res, r.get("tipg")), ratio(res, r.get("floor"))
            extra = "" if target == "floor" else f"  {vs_tipg}  {vs_floor}"
            err = f"  ({res.errors} errors)" if res.errors else ""
            print(f"{name:20s} {target:7s} {fmt(res)}{extra}{err}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({w: {t: asdict(v) for t, v in r.items()} for w, r in results.items()}, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
