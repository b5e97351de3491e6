"""The 数字城管 case system at scale (issue 11): N historical cases (default 1,000,000).

Measures, against a private cluster (or ``--database-url``):

* the console queue (``GET /cases/queue``, open states, 50 a page, with timers): p50 ≤ 100 ms;
* district statistics for a year (``GET /cases/stats?by=district``): ≤ 1 s;
* locating a report (grid cell, nearest component within 20 m, department): ≤ 20 ms;
* a new case reaching a connected ``/cases/events`` client (uvicorn, real sockets): ≤ 1 s.

Each HTTP figure is set beside its floor: the same SQL sent straight through asyncpg, no HTTP and
no Python around it. There is no open-source peer for a case workflow to run offline, so the ratio
is to the floor only.

Run:  .venv/bin/python -m benchmarks.cases --size 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from api.app import create_app
from api.settings import ApiSettings, Settings
from benchmarks.cases_data import COLS, DX, DY, MINORS, ROWS, SOUTH, WEST, load
from benchmarks.peers import onemap_server
from cases.location import locate
from cases.queue import OPEN_STATES
from cases.records import columns_sql
from cases.statements import bound
from layers.cluster import PrivateCluster, find_free_port
from layers.db import connect
from layers.migrate import migrate
from layers.principals import create_principal, issue_api_key
from layers.registry import Registry
from layers.settings import DatabaseSettings

PROJECT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-" + "x" * 40


async def _p50(fn: Callable[[], Awaitable[Any]], n: int) -> tuple[float, float]:
    """(p50, p95) milliseconds of ``n`` calls after 3 warm-up calls."""
    for _ in range(3):
        await fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        await fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def _point(rnd: random.Random) -> tuple[float, float]:
    return WEST + rnd.random() * COLS * DX, SOUTH + rnd.random() * ROWS * DY


Figures = dict[str, tuple[float, float]]


async def measure_in_process(url: str, keys: dict[str, str], var_dir: Path, runs: int) -> Figures:
    """Queue, statistics and locate: through the app (httpx ASGI, no sockets) and as raw SQL."""
    settings = Settings(db=DatabaseSettings(database_url=url, var_dir=var_dir),
                        api=ApiSettings(env="test", secret_key=SecretStr(SECRET)))
    app = create_app(settings)
    out: Figures = {}
    year_to = dt.date.today()
    year_from = year_to - dt.timedelta(days=364)
    conn = await connect(url)
    layer = (await Registry.load(conn)).get("city_cases")
    rnd = random.Random(5)
    try:
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=60) as client:
            auth = {"Authorization": f"Bearer {keys['dispatcher']}"}
            handler = {"Authorization": f"Bearer {keys['handler']}"}

            async def queue() -> None:
                (await client.get("/cases/queue", headers=auth)).raise_for_status()

            async def queue_handler() -> None:
                (await client.get("/cases/queue", headers=handler)).raise_for_status()

            async def stats() -> None:
                (await client.get("/cases/stats", headers=auth, params={"from": str(year_from), "to": str(year_to),
                                                                        "by": "district"})).raise_for_status()

            out["queue (dispatcher, open states)"] = await _p50(queue, runs)
            out["queue (handler, one department)"] = await _p50(queue_handler, runs)
            out["district statistics, one year"] = await _p50(stats, max(5, runs // 10))

        values = {"states": list(OPEN_STATES), "department": None, "see_all": True, "scope_department": None}
        q_sql, q_args = bound("queue", {**values, "limit": 50, "offset": 0}, columns=columns_sql(layer))
        c_sql, c_args = bound("queue_counts", values)

        async def queue_floor() -> None:
            await conn.fetch(q_sql, *q_args)
            await conn.fetch(c_sql, *c_args)

        zone = dt.timezone(dt.timedelta(hours=8))
        t0 = dt.datetime.combine(year_from, dt.time(), zone)
        t1 = dt.datetime.combine(year_to + dt.timedelta(days=1), dt.time(), zone)
        s_sql, s_args = bound("stats", {"t0": t0, "t1": t1, "district": None, "street": None, "see_all": True,
                                        "scope_department": None, "now": dt.datetime.now(dt.UTC)},
                              key="district", where="")

        async def stats_floor() -> None:
            await conn.fetch(s_sql, *s_args)

        out["queue floor (SQL)"] = await _p50(queue_floor, runs)
        out["district statistics floor (SQL)"] = await _p50(stats_floor, max(5, runs // 10))

        async def locate_event() -> None:
            lon, lat = _point(rnd)
            await locate(conn, lon=lon, lat=lat, kind="event", small_class="0501")

        async def locate_component() -> None:
            lon, lat = _point(rnd)
            await locate(conn, lon=lon, lat=lat, kind="component", small_class=rnd.choice(MINORS))

        out["locate an event report"] = await _p50(locate_event, runs)
        out["locate a component report"] = await _p50(locate_component, runs)
        l_sql, _ = bound("locate", {"lon": 0, "lat": 0, "kind": "", "small_class": "", "box_deg": 0, "radius_m": 0})

        async def locate_floor() -> None:
            lon, lat = _point(rnd)
            await conn.fetchrow(l_sql, lon, lat, "component", rnd.choice(MINORS), 0.0003, 20.0)

        out["locate floor (SQL)"] = await _p50(locate_floor, runs)
    finally:
        await conn.close()
    return out


async def measure_live(base: str, keys: dict[str, str], trials: int) -> tuple[list[float], list[float]]:
    """(report → event ms, report request ms) for ``trials`` reports filed while a client listens."""
    report = {"geometry": {"type": "Point", "coordinates": [WEST + 0.0505, SOUTH + 0.04]}, "kind": "event",
              "big_class": "05", "small_class": "0501", "description": "基准：推送"}
    latencies, posts = [], []
    async with httpx.AsyncClient(base_url=base, timeout=30) as client, client.stream(
            "GET", "/cases/events", headers={"Authorization": f"Bearer {keys['supervisor']}"}) as stream:
        lines = stream.aiter_lines()
        async for line in lines:
            if line == ": connected":
                break
        for _ in range(trials + 1):
            started = time.perf_counter()
            posted = await client.post("/cases/reports", headers={"Authorization": f"Bearer {keys['inspector']}"},
                                       data={"report": json.dumps(report)})
            posted.raise_for_status()
            post_ms = (time.perf_counter() - started) * 1000
            async for line in lines:
                if line.startswith("data:") and json.loads(line[5:])["id"] == posted.json()["id"]:
                    break
            latencies.append((time.perf_counter() - started) * 1000)
            posts.append(post_ms)
    return latencies[1:], posts[1:]  # the first trial warms the server


async def _prepare(admin: str, url: str, name: str, size: int) -> tuple[dict[str, float], dict[str, str]]:
    conn = await connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    await migrate(url)
    conn = await connect(url)
    try:
        took = await load(conn, size)
        keys = {}
        for who, dept in (("dispatcher", None), ("handler", "cg-430104"), ("supervisor", None), ("inspector", None)):
            pid = await create_principal(conn, name=who, kind="system", roles=[who], department=dept)
            keys[who] = await issue_api_key(conn, principal_id=pid)
    finally:
        await conn.close()
    return took, keys


def main() -> None:
    """Load, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1_000_000, help="historical cases (default 1,000,000)")
    parser.add_argument("--runs", type=int, default=100, help="requests per in-process measurement")
    parser.add_argument("--trials", type=int, default=20, help="reports timed through the live feed")
    parser.add_argument("--database-url", help="an existing server's admin URL (a new database is created on it)")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="onemap-bench-cases-")
    cluster: PrivateCluster | None = None
    if args.database_url:
        admin = args.database_url
    else:
        cluster = PrivateCluster(Path(tmp.name) / "pg", throwaway=False)
        cluster.init()
        cluster.start()
        admin = cluster.url("postgres")
    name = f"onemap_bench_cases_{int(time.time())}"
    url = f"{admin.rsplit('/', 1)[0]}/{name}"
    try:
        took, keys = asyncio.run(_prepare(admin, url, name, args.size))
        figures = asyncio.run(measure_in_process(url, keys, Path(tmp.name), args.runs))
        with onemap_server(url, port=find_free_port(19300), workers=1, secret=SECRET,
                           extra_env={"ONEMAP_ENV": "test", "ONEMAP_VAR_DIR": tmp.name}) as base:
            latencies, posts = asyncio.run(measure_live(base, keys, args.trials))
    finally:

        async def drop() -> None:
            conn = await connect(admin)
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()

        asyncio.run(drop())
        if cluster is not None:
            cluster.destroy()
        tmp.cleanup()
    _print(args.size, took, figures, latencies, posts)


def _print(size: int, took: dict[str, float], figures: dict[str, tuple[float, float]], latencies: list[float],
           posts: list[float]) -> None:
    print(f"\nCase system benchmark — {size:,} historical cases (one version each), {os.cpu_count()} cores")
    print("load: " + ", ".join(f"{k} {v:.1f} s" for k, v in took.items()))
    print("\n| measurement | p50 ms | p95 ms | target | vs floor |")
    print("|---|---:|---:|---:|---:|")
    targets = {"queue": 100.0, "district": 1000.0, "locate": 20.0}
    floors = {"queue": figures["queue floor (SQL)"][0], "district": figures["district statistics floor (SQL)"][0],
              "locate": figures["locate floor (SQL)"][0]}
    for label, (p50, p95) in figures.items():
        group = next((g for g in targets if label.startswith(g)), "")
        is_floor = "floor" in label
        ratio = "" if is_floor or not group else f"{p50 / floors[group]:.2f}×"
        target = "" if is_floor or not group else f"≤ {targets[group]:g}"
        print(f"| {label} | {p50:.1f} | {p95:.1f} | {target} | {ratio} |")
    lat = sorted(latencies)
    print(f"| new case → connected SSE client (POST start to event) | {statistics.median(lat):.1f} | "
          f"{lat[int(len(lat) * 0.95) - 1]:.1f} | ≤ 1000 | |")
    print(f"| (the POST /cases/reports itself) | {statistics.median(posts):.1f} | "
          f"{sorted(posts)[int(len(posts) * 0.95) - 1]:.1f} | | |")


if __name__ == "__main__":
    main()
