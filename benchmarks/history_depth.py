"""How current-state reads behave when every feature has 10 versions (issue 2).

Loads N synthetic building polygons around central Changsha through the versioned
bulk path, measures current-state queries with pgbench at concurrency 16, then adds
nine more versions of every feature (each in a different year, in random order so
current rows are scattered through the heap) and measures again. The as-of query, which
must consider every version, is measured too: once with the two-arm predicate One Map
writes (layers.temporal) and once with the naive single-range form, for contrast.

Run:  .venv/bin/python -m benchmarks.history_depth --size 200000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import shapely
from shapely.geometry import box

from layers.bulk import copy_rows, create_staging, insert_all, upsert_by_key
from layers.cluster import PrivateCluster, find_pg_install
from layers.db import connect
from layers.migrate import migrate
from layers.model import LayerDef
from layers.registry import Registry, register_layer
from layers.sql import Params
from layers.temporal import AsOf, predicate
from layers.versioning import open_changeset

LAYER = {
    "id": "bench_history",
    "title_zh": "历史深度基准",
    "title_en": "History depth benchmark",
    "group": "overlay",
    "geometry_type": "MultiPolygon",
    "access": "public",
    "schema": {
        "key": ["code"],
        "fields": [
            {"name": "code", "type": "string", "required": True, "title_zh": "编码", "title_en": "Code"},
            {"name": "height_m", "type": "number", "title_zh": "高度", "title_en": "Height"},
            {"name": "rev", "type": "integer", "title_zh": "修订", "title_en": "Revision"},
        ],
    },
}
# Central Changsha, EPSG:4490 degrees; ~20 km square.
XMIN, YMIN, XMAX, YMAX = 112.85, 28.10, 113.05, 28.28
BOX_DEG = 0.005  # ≈ 500 m
T0 = dt.datetime(2010, 1, 1, tzinfo=dt.UTC)

QUERIES = {
    "current bbox 500 m, limit 100": """
\\set x random(0, 1000000)
\\set y random(0, 1000000)
SELECT fid, ST_AsGeoJSON(geom, 7), code, height_m FROM data.bench_history
WHERE valid_to IS NULL AND geom && ST_MakeEnvelope({xmin} + :x * {dx} / 1000000.0, {ymin} + :y * {dy} / 1000000.0,
      {xmin} + :x * {dx} / 1000000.0 + {box}, {ymin} + :y * {dy} / 1000000.0 + {box}, 4490)
ORDER BY fid LIMIT 100;
""",
    "current by id": """
\\set k random(1, {n})
SELECT fid, ST_AsGeoJSON(geom, 7), code, height_m FROM data.bench_history WHERE fid = {fid0} + :k AND valid_to IS NULL;
""",
    "as-of bbox 500 m (One Map's predicate)": """
\\set x random(0, 1000000)
\\set y random(0, 1000000)
SELECT fid, ST_AsGeoJSON(geom, 7), code, height_m FROM data.bench_history
WHERE {as_of}
  AND geom && ST_MakeEnvelope({xmin} + :x * {dx} / 1000000.0, {ymin} + :y * {dy} / 1000000.0,
      {xmin} + :x * {dx} / 1000000.0 + {box}, {ymin} + :y * {dy} / 1000000.0 + {box}, 4490)
ORDER BY fid LIMIT 100;
""",
    # The obvious single-range form, kept to show why layers.temporal splits it: no partial index serves it.
    "as-of bbox 500 m (naive range, contrast)": """
\\set x random(0, 1000000)
\\set y random(0, 1000000)
SELECT fid, ST_AsGeoJSON(geom, 7), code, height_m FROM data.bench_history
WHERE tstzrange(valid_from, valid_to) @> '{as_of_at}'::timestamptz
  AND geom && ST_MakeEnvelope({xmin} + :x * {dx} / 1000000.0, {ymin} + :y * {dy} / 1000000.0,
      {xmin} + :x * {dx} / 1000000.0 + {box}, {ymin} + :y * {dy} / 1000000.0 + {box}, 4490)
ORDER BY fid LIMIT 100;
""",
}
AS_OF_AT = "2014-06-01"  # a bare date: pgbench would read a time's ":00" as a variable


def as_of_predicate() -> str:
    """The as-of predicate exactly as One Map writes it, with the instant inlined for pgbench."""
    params = Params()
    sql = predicate(AsOf(dt.datetime.fromisoformat(AS_OF_AT).replace(tzinfo=dt.UTC)), params)
    return sql.replace("$1::timestamptz", f"'{AS_OF_AT}'::timestamptz")


def script(template: str, n: int, fid0: int) -> str:
    """A pgbench script issuing ``template`` for ``n`` features starting at ``fid0``."""
    return template.format(
        xmin=XMIN, ymin=YMIN, dx=XMAX - XMIN - BOX_DEG, dy=YMAX - YMIN - BOX_DEG, box=BOX_DEG, n=n, fid0=fid0,
        as_of=as_of_predicate(), as_of_at=AS_OF_AT,
    )


@dataclass
class Result:
    tps: float
    latency_ms: float


def _buildings(n: int, rng: random.Random, revision: int) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for i in range(n):
        r = random.Random(i)  # the footprint of feature i is the same in every revision
        x = XMIN + r.random() * (XMAX - XMIN)
        y = YMIN + r.random() * (YMAX - YMIN)
        w, h = 0.0001 + r.random() * 0.0004, 0.0001 + r.random() * 0.0004
        geom = shapely.MultiPolygon([box(x, y, x + w, y + h)])
        rows.append((i, shapely.to_wkb(geom), None, f"B{i:07d}", round(3 + rng.random() * 90, 1), revision))
    return rows


def pgbench(url: str, script: str, *, seconds: int, clients: int) -> Result:
    """Run pgbench with ``script`` against ``url`` and parse its throughput and latency."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
        path = f.name
    out = subprocess.run(
        [find_pg_install().exe("pgbench"), "-n", "-f", path, "-c", str(clients), "-j", "2", "-T", str(seconds),
         "-M", "prepared", url],
        capture_output=True, text=True, check=True,
    ).stdout
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = float(re.search(r"latency average = ([\d.]+) ms", out).group(1))  # type: ignore[union-attr]
    return Result(tps, lat)


async def _load(url: str, n: int, depth: int) -> tuple[int, float, float]:
    conn = await connect(url)
    rng = random.Random(20261123)
    try:
        layer = await register_layer(conn, LayerDef.model_validate(LAYER))
        layer = (await Registry.load(conn)).get(layer.id)
        cs = await open_changeset(conn, actor="benchmark", source="admin")
        started = time.monotonic()
        staging = await create_staging(conn, layer)
        await copy_rows(conn, staging, _buildings(n, rng, 1))
        await insert_all(conn, staging, changeset_id=cs, valid_from=T0)
        load_1 = time.monotonic() - started
        fid0 = int(await conn.fetchval("SELECT min(fid) - 1 FROM data.bench_history"))
        await conn.execute("VACUUM ANALYZE data.bench_history")
        return fid0, load_1, 0.0
    finally:
        await conn.close()


async def _deepen(url: str, n: int, depth: int) -> float:
    conn = await connect(url)
    rng = random.Random(7)
    try:
        layer = (await Registry.load(conn)).get("bench_history")
        started = time.monotonic()
        for rev in range(2, depth + 1):
            cs = await open_changeset(conn, actor="benchmark", source="admin")
            rows = _buildings(n, rng, rev)
            rng.shuffle(rows)
            rows = [(i, *r[1:]) for i, r in enumerate(rows)]
            staging = await create_staging(conn, layer, suffix=f"_{rev}")
            await copy_rows(conn, staging, rows)
            counts = await upsert_by_key(conn, staging, key=["code"], changeset_id=cs,
                                         valid_from=T0 + dt.timedelta(days=365 * (rev - 1)))
            assert counts.new_versions == n, counts
            await conn.execute(f"DROP TABLE {staging.name}")
        await conn.execute("VACUUM ANALYZE data.bench_history")
        return time.monotonic() - started
    finally:
        await conn.close()


async def _stats(url: str) -> tuple[int, int, str, str]:
    conn: asyncpg.Connection = await connect(url)
    try:
        rows = int(await conn.fetchval("SELECT count(*) FROM data.bench_history"))
        current = int(await conn.fetchval("SELECT count(*) FROM data.bench_history WHERE valid_to IS NULL"))
        table = str(await conn.fetchval("SELECT pg_size_pretty(pg_table_size('data.bench_history'))"))
        index = str(await conn.fetchval(
            "SELECT pg_size_pretty(pg_relation_size('data.bench_history_cur_geom'))"))
        return rows, current, table, index
    finally:
        await conn.close()


def main() -> None:
    """Measure current and as-of reads as history deepens, and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=200_000, help="features (default 200,000)")
    parser.add_argument("--depth", type=int, default=10, help="versions per feature after deepening")
    parser.add_argument("--seconds", type=int, default=15, help="pgbench duration per query")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--database-url", help="an existing server (a new database is created on it)")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="onemap-bench-")
    cluster: PrivateCluster | None = None
    if args.database_url:
        admin = args.database_url
    else:
        cluster = PrivateCluster(Path(tmp.name) / "pg", throwaway=False)
        cluster.init()
        cluster.start()
        admin = cluster.url("postgres")
    name = f"onemap_bench_history_{int(time.time())}"
    base = admin.rsplit("/", 1)[0]
    url = f"{base}/{name}"

    async def create() -> None:
        conn = await connect(admin)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        await migrate(url)

    try:
        asyncio.run(create())
        fid0, load_s, _ = asyncio.run(_load(url, args.size, args.depth))
        def measure() -> dict[str, Result]:
            return {q: pgbench(url, script(s, args.size, fid0), seconds=args.seconds, clients=args.clients)
                    for q, s in QUERIES.items()}

        before = measure()
        stats1 = asyncio.run(_stats(url))
        deepen_s = asyncio.run(_deepen(url, args.size, args.depth))
        after = measure()
        stats10 = asyncio.run(_stats(url))
    finally:
        async def drop() -> None:
            conn = await connect(admin)
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()

        asyncio.run(drop())
        if cluster is not None:
            cluster.destroy()
        tmp.cleanup()

    print(f"\nHistory depth benchmark — {args.size:,} features, pgbench -c {args.clients}, {args.seconds} s per query")
    print(f"load v1: {load_s:.1f} s ({args.size / load_s:,.0f} rows/s); "
          f"adding {args.depth - 1} versions each: {deepen_s:.1f} s "
          f"({args.size * (args.depth - 1) / deepen_s:,.0f} rows/s)")
    print(f"depth 1: {stats1[0]:,} rows, table {stats1[2]}, current-geometry index {stats1[3]}")
    print(f"depth {args.depth}: {stats10[0]:,} rows ({stats10[1]:,} current), table {stats10[2]}, "
          f"current-geometry index {stats10[3]}\n")
    print(f"| query | depth 1 tps | depth 1 ms | depth {args.depth} tps | depth {args.depth} ms | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for q in QUERIES:
        b, a = before[q], after[q]
        print(f"| {q} | {b.tps:,.0f} | {b.latency_ms:.2f} | {a.tps:,.0f} | {a.latency_ms:.2f} | {a.tps / b.tps:.2f} |")


if __name__ == "__main__":
    main()
