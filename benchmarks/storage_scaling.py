"""Figures for docs/SCALING.md: what one layer costs at N buildings, how history grows, how many
tiles a PMTiles archive per version holds, and what partitioning a version table by time changes.

On a private cluster of its own: load ``--size`` synthetic buildings (the import path), give
``--history`` of them a new version (a re-delivery through ``upsert_by_key``), then copy the
table into one partitioned by ``valid_to`` (current rows — ``valid_to IS NULL`` — in the DEFAULT
partition, closed versions in yearly ranges) and EXPLAIN (ANALYZE, BUFFERS) the same queries on both.

Run:  .venv/bin/python -m benchmarks.storage_scaling --size 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import shapely

from benchmarks import synthetic
from benchmarks.settings import CITY_BBOX_4490
from layers.bulk import copy_rows, create_staging, upsert_by_key
from layers.cluster import PrivateCluster
from layers.db import connect
from layers.migrate import migrate
from layers.versioning import open_changeset

TABLE = "data.bench_buildings"
PART = "scaling.bench_buildings_by_time"
BOX = "ST_MakeEnvelope(112.97, 28.195, 112.975, 28.20, 4490)"  # ~500 m in the dense core
_AS_OF = ("(valid_to IS NULL AND valid_from <= '2024-06-01') OR (valid_to IS NOT NULL AND valid_to > '2024-06-01' "
          "AND tstzrange(valid_from, valid_to) @> '2024-06-01'::timestamptz)")
# {t} is filled with one of the two fixed table names above.
QUERIES = {
    "current, 500 m bbox": "SELECT count(*) FROM {t} WHERE valid_to IS NULL AND geom && {box}",
    "as of 2024-06-01, 500 m bbox": "SELECT count(*) FROM {t} WHERE geom && {box} AND ({as_of})",
    "one feature's history": "SELECT count(*) FROM {t} WHERE fid = 4242",
}


def tile_counts(bbox: tuple[float, float, float, float], zooms: range) -> dict[int, int]:
    """WebMercatorQuad tiles covering ``bbox`` (lon/lat) per zoom: a PMTiles archive's tile count."""
    def tile(lon: float, lat: float, z: int) -> tuple[int, int]:
        n = 2 ** z
        y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
        return int((lon + 180) / 360 * n), int(y)

    counts = {}
    for z in zooms:
        x0, y0 = tile(bbox[0], bbox[3], z)
        x1, y1 = tile(bbox[2], bbox[1], z)
        counts[z] = (x1 - x0 + 1) * (y1 - y0 + 1)
    return counts


async def _sizes(conn: asyncpg.Connection, table: str) -> dict[str, Any]:
    sql = ("SELECT pg_table_size($1::regclass) AS heap, pg_indexes_size($1::regclass) AS idx, "
           "(SELECT count(*) FROM {t}) AS rows, (SELECT count(*) FROM {t} WHERE valid_to IS NULL) AS cur")
    rel = await conn.fetchrow(sql.format(t=table), table)
    idx = await conn.fetch(
        "SELECT c.relname, pg_relation_size(c.oid) AS bytes FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = $1::regclass ORDER BY bytes DESC", table)
    assert rel is not None
    return {"heap": rel["heap"], "indexes": rel["idx"], "rows": rel["rows"], "current": rel["cur"],
            "per_index": {r["relname"]: r["bytes"] for r in idx}}


async def _history(conn: asyncpg.Connection, size: int, changed: int) -> None:
    """A re-delivery of ``changed`` buildings with new heights: one new version each, valid from 2025."""
    layer = await synthetic.ensure_layer(conn)
    _, polys = synthetic.footprints(size, 20261123)
    rng = np.random.default_rng(99)
    pick = rng.choice(size, changed, replace=False)
    wkb = shapely.to_wkb(polys[pick])
    staging = await create_staging(conn, layer, suffix="_hist")
    rows = ((j, wkb[j], None, f"楼{int(i)}", "residential", float(rng.uniform(3, 90)), 3, 2000)
            for j, i in enumerate(pick))
    await copy_rows(conn, staging, rows)
    cs = await open_changeset(conn, actor="benchmark", source="admin", note="scaling: history")
    counts = await upsert_by_key(conn, staging, key=["name"], changeset_id=cs,
                                 valid_from=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    assert counts.new_versions == changed, counts
    await conn.execute(f"VACUUM ANALYZE {TABLE}")


async def _partitioned_copy(conn: asyncpg.Connection) -> None:
    """The same rows in a table partitioned by valid_to: DEFAULT holds the current rows (NULL)."""
    await conn.execute("CREATE SCHEMA IF NOT EXISTS scaling")
    await conn.execute(f"DROP TABLE IF EXISTS {PART}")
    await conn.execute(f"CREATE TABLE {PART} (LIKE {TABLE} INCLUDING DEFAULTS) PARTITION BY RANGE (valid_to)")
    await conn.execute(f"CREATE TABLE {PART}_current PARTITION OF {PART} DEFAULT")
    for year in range(2019, 2028):
        await conn.execute(f"CREATE TABLE {PART}_{year} PARTITION OF {PART} FOR VALUES FROM "
                           f"('{year}-01-01') TO ('{year + 1}-01-01')")
    await conn.execute(f"INSERT INTO {PART} SELECT * FROM {TABLE}")  # noqa: S608 - fixed names
    # What a partitioned layer can index: no primary key over (fid, version) — a unique index on a
    # partitioned table must contain the partition key, and valid_to is NULL for current rows.
    await conn.execute(f"CREATE INDEX ON {PART} USING gist (geom)")
    await conn.execute(f"CREATE INDEX ON {PART} (fid, version)")
    await conn.execute(f"VACUUM ANALYZE {PART}")


async def _plans(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    out = []
    for name, sql in QUERIES.items():
        for label, table in (("one table", TABLE), ("partitioned by valid_to", PART)):
            query = sql.format(t=table, box=BOX, as_of=_AS_OF)
            raw = await conn.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {query}")
            plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
            scans = _relations(plan["Plan"])
            out.append({"query": name, "table": label, "ms": plan["Execution Time"],
                        "buffers": plan["Plan"].get("Shared Hit Blocks", 0) + plan["Plan"].get("Shared Read Blocks", 0),
                        "relations": len(set(scans))})
    return out


def _relations(node: dict[str, Any]) -> list[str]:
    found = [node["Relation Name"]] if "Relation Name" in node else []
    for child in node.get("Plans", []):
        found += _relations(child)
    return found


async def run(url: str, size: int, history: int) -> dict[str, Any]:
    """Load, measure sizes, add history, measure again, compare plans."""
    conn = await connect(url)
    try:
        await synthetic.load(conn, size=size)
        await conn.execute(f"VACUUM ANALYZE {TABLE}")
        before = await _sizes(conn, TABLE)
        await _history(conn, size, history)
        after = await _sizes(conn, TABLE)
        await _partitioned_copy(conn)
        plans = [await _plans(conn) for _ in range(3)][-1]  # the third run: warm caches
        return {"before": before, "after": after, "plans": plans, "database": await conn.fetchval(
            "SELECT pg_database_size(current_database())")}
    finally:
        await conn.close()


def _report(size: int, history: int, r: dict[str, Any]) -> None:
    b, a = r["before"], r["after"]
    print(f"\nScaling figures — {size:,} synthetic buildings (under load: other work shares the machine)\n")
    print("| | rows | heap + TOAST MB | indexes MB | bytes/row (heap) |\n|---|---:|---:|---:|---:|")
    for label, s in ((f"{size:,} current", b), (f"+ {history:,} new versions", a)):
        print(f"| {label} | {s['rows']:,} | {s['heap'] / 1e6:,.0f} | {s['indexes'] / 1e6:,.0f} | "
              f"{s['heap'] / s['rows']:,.0f} |")
    grow = (a["heap"] + a["indexes"] - b["heap"] - b["indexes"]) / max(1, a["rows"] - b["rows"])
    print(f"\nhistory growth: {grow:,.0f} bytes (heap + indexes) per added version; "
          f"database {r['database'] / 1e6:,.0f} MB")
    print("\n| index | MB before | MB after history |\n|---|---:|---:|")
    for name, size_b in b["per_index"].items():
        print(f"| {name} | {size_b / 1e6:,.1f} | {a['per_index'].get(name, 0) / 1e6:,.1f} |")
    print("\n| query | table | ms | shared buffers | relations scanned |\n|---|---|---:|---:|---:|")
    for p in r["plans"]:
        print(f"| {p['query']} | {p['table']} | {p['ms']:.2f} | {p['buffers']:,} | {p['relations']} |")
    print("\n| zoom | tiles over the city box (PMTiles entries per version, upper bound) |\n|---|---:|")
    counts = tile_counts(CITY_BBOX_4490, range(10, 17))
    for z, n in counts.items():
        print(f"| {z} | {n:,} |")
    print(f"| 10–16 | {sum(counts.values()):,} |")


def main() -> None:
    """Measure on a private cluster and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--history", type=int, default=0, help="buildings given a new version (default size/10)")
    args = parser.parse_args()
    history = args.history or args.size // 10
    with tempfile.TemporaryDirectory(prefix="onemap-bench-scaling-") as tmp:
        cluster = PrivateCluster(Path(tmp) / "pg", throwaway=False)
        try:
            cluster.init()
            cluster.start()
            cluster.ensure_database()
            asyncio.run(migrate(cluster.url()))
            result = asyncio.run(run(cluster.url(), args.size, history))
        finally:
            cluster.destroy()
    _report(args.size, history, result)


if __name__ == "__main__":
    main()
