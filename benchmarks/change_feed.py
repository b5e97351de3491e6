"""The change feed (issue 12 §4): pull throughput and webhook latency.

* **pull**: a consumer pages ``GET /collections/{id}/changes?since=…&limit=10000`` over HTTP (uvicorn,
  real sockets) from the start of the feed to its head; mutations per second. Set beside it: the same
  pages read in process (:func:`feed.pages.read_page`, no HTTP), and the **floor** — the raw rows the
  feed is made of (the layer's versions with their GeoJSON, and the per-feature audit rows), fetched by
  plain SQL with no ordering by commit and no JSON assembly. Target ≥ 20,000 mutations/s.
* **webhook**: a real local HTTP receiver subscribed to the layer; single API writes (POST an item),
  each timed from the moment its 201 came back (the commit is before it) to the receipt of the
  delivery. Target ≤ 1 s.

The feed is loaded with N features inserted in bulk, all N replaced by an import re-delivery, and N/2
retired by key: 2.5 N mutations, mixing bulk (expanded) and per-feature audit rows.

Run:  ONEMAP_BENCH_PORT_BASE=9100 .venv/bin/python -m benchmarks.change_feed --size 40000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import shapely
from shapely.geometry import Point

from benchmarks.peers import onemap_server
from benchmarks.settings import PORT_BASE
from feed.cursor import START
from feed.pages import read_page
from layers.bulk import copy_rows, create_staging, insert_all, retire_by_key, upsert_by_key
from layers.cluster import PrivateCluster, find_free_port
from layers.db import connect
from layers.migrate import migrate
from layers.model import LayerDef
from layers.principals import create_principal, issue_api_key
from layers.registry import Registry, register_layer
from layers.versioning import FeatureIn, insert_feature, open_changeset

PROJECT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-" + "x" * 40
LAYER: dict[str, Any] = {
    "id": "bench_feed", "title_zh": "更新测试点（示例数据）", "title_en": "Feed bench points (sample data)",
    "group": "overlay", "geometry_type": "Point", "access": "internal",
    "schema": {"key": ["code"], "fields": [
        {"name": "code", "type": "string", "required": True, "title_zh": "编码", "title_en": "Code"},
        {"name": "kind", "type": "code", "enum": ["a", "b"], "title_zh": "类", "title_en": "Kind"},
        {"name": "n", "type": "integer", "title_zh": "数", "title_en": "Number"}]},
}


def _rows(size: int, kind: str, start: int = 0) -> list[tuple[object, ...]]:
    return [(i, shapely.to_wkb(Point(112.85 + (i % 500) * 0.0005, 28.1 + (i // 500) * 0.0005)), None,
             f"F{i:07d}", kind, i) for i in range(start, size)]


async def _load(url: str, size: int) -> tuple[str, float]:
    conn = await connect(url)
    try:
        layer = await register_layer(conn, LayerDef.model_validate(LAYER))
        started = time.perf_counter()
        for rows, action in ((_rows(size, "a"), "insert"), (_rows(size, "b"), "upsert"),
                             (_rows(size // 2, "b"), "retire")):
            async with conn.transaction():
                cs = await open_changeset(conn, actor="bench", source="import")
                staging = await create_staging(conn, layer)
                await copy_rows(conn, staging, rows)
                if action == "insert":
                    await insert_all(conn, staging, changeset_id=cs)
                elif action == "upsert":
                    await upsert_by_key(conn, staging, key=["code"], changeset_id=cs)
                else:
                    await retire_by_key(conn, staging, key=["code"], changeset_id=cs)
        took = time.perf_counter() - started
        pid = await create_principal(conn, name="bench_admin", kind="system", roles=["admin"])
        key = await issue_api_key(conn, principal_id=pid)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return key, took


async def pull_in_process(url: str, limit: int) -> tuple[int, float]:
    """(mutations, seconds) paging the whole feed through :func:`read_page`, no HTTP."""
    conn = await connect(url)
    try:
        layer = (await Registry.load(conn)).get(LAYER["id"])
        after, total, started = START, 0, time.perf_counter()
        while True:
            page = await read_page(conn, [layer], after=after, limit=limit)
            total += len(page.mutations)
            if not page.mutations:
                return total, time.perf_counter() - started
            after = page.next
    finally:
        await conn.close()


async def pull_floor(url: str) -> tuple[int, float]:
    """The raw rows: every version with its GeoJSON and properties, every per-feature audit row."""
    conn = await connect(url)
    try:
        started = time.perf_counter()
        versions = await conn.fetch("SELECT fid, version, valid_from, valid_to, changeset_id, "
                                    "ST_AsGeoJSON(geom, 8) AS g, code, kind, n FROM data.bench_feed")
        audit = await conn.fetch("SELECT * FROM onemap.changes WHERE layer_id = 'bench_feed'")
        return len(versions) + len(audit), time.perf_counter() - started
    finally:
        await conn.close()


def pull_http(base: str, key: str, limit: int) -> tuple[int, float]:
    """(mutations, seconds) paging the whole feed over HTTP."""
    since, total, started = "0", 0, time.perf_counter()
    with httpx.Client(base_url=base, timeout=120) as client:
        while True:
            r = client.get(f"/collections/{LAYER['id']}/changes", params={"since": since, "limit": limit},
                           headers={"Authorization": f"Bearer {key}"})
            r.raise_for_status()
            body = orjson.loads(r.content)
            total += len(body["mutations"])
            if not body["mutations"]:
                return total, time.perf_counter() - started
            since = body["next"]


def webhook_latency(base: str, key: str, trials: int) -> list[float]:
    """Seconds from each single write's 201 to its delivery's receipt."""
    got: dict[int, float] = {}
    event = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
            now = time.perf_counter()
            for m in body["mutations"]:
                got.setdefault(m["featureId"], now)
            event.set()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    auth = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            client.post("/subscriptions", json={"url": f"http://127.0.0.1:{server.server_address[1]}/",
                                                "layers": [LAYER["id"]]}, headers=auth).raise_for_status()
            for i in range(trials):
                feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [112.9, 28.2]},
                           "properties": {"code": f"W{i}", "kind": "a", "n": i}}
                r = client.post(f"/collections/{LAYER['id']}/items", json=feature, headers=auth)
                committed = time.perf_counter()
                fid = r.json()["id"]
                deadline = committed + 10
                while fid not in got and time.perf_counter() < deadline:
                    event.wait(0.5)
                    event.clear()
                latencies.append(got.get(fid, float("inf")) - committed)
                time.sleep(0.2)
    finally:
        server.shutdown()
    return latencies


async def _writes(url: str, writers: int, per_writer: int) -> float:
    """Single-feature inserts per second, ``writers`` connections at once, each write its own transaction."""
    conns = [await connect(url) for _ in range(writers)]
    try:
        layer = (await Registry.load(conns[0])).get(LAYER["id"])

        async def one(conn: asyncpg.Connection, w: int) -> None:
            for i in range(per_writer):
                async with conn.transaction():
                    cs = await open_changeset(conn, actor="bench", source="test")
                    await insert_feature(conn, layer=layer, changeset_id=cs, feature=FeatureIn(
                        Point(112.9, 28.2), {"code": f"X{w}-{i}", "kind": "a", "n": i}))

        started = time.perf_counter()
        await asyncio.gather(*(one(c, w) for w, c in enumerate(conns)))
        return writers * per_writer / (time.perf_counter() - started)
    finally:
        for c in conns:
            await c.close()


async def write_overhead(url: str, per_writer: int = 100, rounds: int = 3) -> dict[int, tuple[float, float]]:
    """Writers → (median writes/s with the feed's commit numbering off, on), rounds alternating."""
    conn = await connect(url)
    out: dict[int, tuple[float, float]] = {}
    try:
        for writers in (1, 8):
            off: list[float] = []
            on: list[float] = []
            for _ in range(rounds):
                for state, into in (("DISABLE", off), ("ENABLE", on)):
                    for table in ("changes", "bulk_changes"):
                        await conn.execute(f"ALTER TABLE onemap.{table} {state} TRIGGER feed_note")
                    into.append(await _writes(url, writers, per_writer))
            out[writers] = (statistics.median(off), statistics.median(on))
    finally:
        await conn.close()
    return out


def main() -> None:
    """Load, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=40_000, help="features (2.5 × this many mutations)")
    parser.add_argument("--limit", type=int, default=10_000, help="mutations per pull page")
    parser.add_argument("--trials", type=int, default=20, help="single writes timed through a webhook")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="onemap-bench-feed-")
    cluster = PrivateCluster(Path(tmp.name) / "pg", throwaway=False)
    cluster.init()
    cluster.start()
    admin = cluster.url("postgres")
    url = f"{admin.rsplit('/', 1)[0]}/onemap_bench_feed"
    try:
        async def create() -> None:
            conn = await connect(admin)
            await conn.execute('CREATE DATABASE "onemap_bench_feed"')
            await conn.close()
            await migrate(url)

        asyncio.run(create())
        key, loaded = asyncio.run(_load(url, args.size))
        floor = asyncio.run(pull_floor(url))
        inproc = asyncio.run(pull_in_process(url, args.limit))
        with onemap_server(url, port=find_free_port(PORT_BASE), workers=1, secret=SECRET,
                           extra_env={"ONEMAP_ENV": "test", "ONEMAP_VAR_DIR": tmp.name}) as base:
            http = pull_http(base, key, args.limit)
            floor2 = asyncio.run(pull_floor(url))  # again, after the server started (warm either way)
            latencies = webhook_latency(base, key, args.trials)
        overhead = asyncio.run(write_overhead(url))
    finally:
        cluster.destroy()
        tmp.cleanup()
    _print(args, loaded, http, inproc, min(floor, floor2, key=lambda f: f[1]), latencies)
    print("\nwrite cost of numbering commits (single-feature inserts, one transaction each; median of 3):")
    for writers, (off, on) in overhead.items():
        print(f"  {writers} writer(s): {off:,.0f} writes/s without, {on:,.0f} with ({on / off - 1:+.0%})")


def _print(args: argparse.Namespace, loaded: float, http: tuple[int, float], inproc: tuple[int, float],
           floor: tuple[int, float], latencies: list[float]) -> None:
    def rate(pair: tuple[int, float]) -> float:
        return pair[0] / pair[1]

    print(f"\nChange feed benchmark — {args.size:,} features, {http[0]:,} mutations (load {loaded:.1f} s), "
          f"{os.cpu_count()} cores")
    print("| pull | mutations | seconds | mutations/s | vs floor |")
    print("|---|---:|---:|---:|---:|")
    for label, pair in ((f"HTTP (uvicorn, limit {args.limit})", http), ("in process (read_page)", inproc),
                        ("floor (raw rows, SQL)", floor)):
        print(f"| {label} | {pair[0]:,} | {pair[1]:.2f} | {rate(pair):,.0f} | {rate(floor) / rate(pair):.2f}× |")
    ms = sorted(x * 1000 for x in latencies)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    print(f"\nwebhook: {len(ms)} single writes, commit → receipt p50 {statistics.median(ms):.0f} ms, "
          f"p95 {p95:.0f} ms, max {ms[-1]:.0f} ms (target ≤ 1000 ms)")


if __name__ == "__main__":
    main()
