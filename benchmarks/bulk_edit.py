"""What a bulk attribute edit costs (issue 12): the per-feature write path against a set-based floor.

A bulk edit (``POST /collections/{id}/bulk-edit``) writes one version per matched feature through
``layers.versioning.update_feature``, so each version has its own audit row (undo and the change
feed read them) and passes the same validation and topology rules as any edit. This measures that
path against the floor: the same change as two set-based statements (close the current versions,
insert the new ones and their audit rows), on equal, disjoint selections of the same table, in
the same run. Each is one transaction; the preview count is timed too.

Run:  ONEMAP_BENCH_PORT_BASE=9120 .venv/bin/python -m benchmarks.bulk_edit --size 20000 --edit 2000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import time
from pathlib import Path

import asyncpg
import shapely
from shapely.geometry import Point

from benchmarks.settings import PORT_BASE
from layers.bulk import copy_rows, create_staging, insert_all
from layers.bulk_edit import apply_bulk_edit, count_matched, selection
from layers.cluster import PrivateCluster
from layers.db import connect
from layers.migrate import migrate
from layers.model import Layer, LayerDef
from layers.query import cql2
from layers.registry import Registry, register_layer
from layers.versioning import open_changeset

LAYER = {
    "id": "bench_bulk_edit",
    "title_zh": "批量编辑基准（示例数据）",
    "title_en": "Bulk edit benchmark (sample data)",
    "group": "overlay",
    "geometry_type": "Point",
    "access": "public",
    "schema": {"fields": [
        {"name": "code", "type": "string", "required": True, "title_zh": "编码", "title_en": "Code"},
        {"name": "owner", "type": "string", "title_zh": "权属单位", "title_en": "Owner"},
        {"name": "batch", "type": "integer", "title_zh": "批次", "title_en": "Batch"},
    ]},
}
T0 = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
# The floor: the same versions and audit rows as the per-feature path, set-based (one batch).
FLOOR = """
WITH closing AS (
  UPDATE data.bench_bulk_edit SET valid_to = now(), superseded_at = now()
  WHERE valid_to IS NULL AND batch = $1 RETURNING fid, version, geom, code, batch
), written AS (
  INSERT INTO data.bench_bulk_edit (fid, version, valid_from, changeset_id, geom, code, owner, batch)
  SELECT fid, version + 1, now(), $2, geom, code, $3, batch FROM closing RETURNING fid, version
)
INSERT INTO onemap.changes (changeset_id, layer_id, fid, op, version_before, version_after, unconditional)
SELECT $2, 'bench_bulk_edit', fid, 'update', version - 1, version, true FROM written
"""


def _rows(n: int, batch_size: int) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for i in range(n):
        geom = Point(112.90 + (i % 200) * 0.0005, 28.15 + (i // 200) * 0.0005)
        rows.append((i, shapely.to_wkb(geom), T0, f"B{i:06d}", None, i // batch_size))
    return rows


async def _create(admin: str, url: str) -> None:
    conn = await connect(admin)
    try:
        await conn.execute('CREATE DATABASE "onemap"')
    finally:
        await conn.close()
    await migrate(url)


async def _load(url: str, n: int, batch_size: int) -> Layer:
    conn = await connect(url)
    try:
        await register_layer(conn, LayerDef.model_validate(LAYER))
        layer = (await Registry.load(conn)).get(LAYER["id"])  # type: ignore[arg-type]
        cs = await open_changeset(conn, actor="benchmark", source="admin")
        staging = await create_staging(conn, layer)
        await copy_rows(conn, staging, _rows(n, batch_size))
        await insert_all(conn, staging, changeset_id=cs, valid_from=T0)
        await conn.execute("VACUUM ANALYZE data.bench_bulk_edit")
        return layer
    finally:
        await conn.close()


async def _timed_path(conn: asyncpg.Connection, layer: Layer, batch: int) -> tuple[float, float, int]:
    sel = selection(layer, cql2.parse(f"batch = {batch}", lang="cql2-text"), None)
    started = time.perf_counter()
    count = await count_matched(conn, sel)
    counted = time.perf_counter() - started
    started = time.perf_counter()
    async with conn.transaction():
        _, fids = await apply_bulk_edit(conn, sel, {"owner": "长沙水务"}, actor="benchmark", comment="bench",
                                        valid_from=None, filter_text=f"batch = {batch}")
    assert len(fids) == count
    return counted, time.perf_counter() - started, count


async def _timed_floor(conn: asyncpg.Connection, batch: int) -> float:
    started = time.perf_counter()
    async with conn.transaction():
        cs = await open_changeset(conn, actor="benchmark", source="admin")
        await conn.execute(FLOOR, batch, cs, "长沙水务")
    return time.perf_counter() - started


async def _measure(url: str, layer: Layer, rounds: int) -> list[tuple[float, float, float, int]]:
    conn = await connect(url)
    try:
        out = []
        for r in range(rounds):  # alternate path and floor on disjoint batches, so load hits both alike
            counted, path_s, n = await _timed_path(conn, layer, 2 * r)
            floor_s = await _timed_floor(conn, 2 * r + 1)
            out.append((counted, path_s, floor_s, n))
        return out
    finally:
        await conn.close()


def main() -> None:
    """Load the layer, run alternating rounds, print a table of rates and the path/floor ratio."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=20_000, help="features in the layer")
    parser.add_argument("--edit", type=int, default=2_000, help="features per bulk edit")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    assert 2 * args.rounds * args.edit <= args.size, "size must hold 2 × rounds × edit features"
    tmp = tempfile.TemporaryDirectory(prefix="onemap-bench-bulk-edit-")
    cluster = PrivateCluster(Path(tmp.name) / "pg", throwaway=True)
    try:
        cluster.init(port=PORT_BASE + 10)
        cluster.start()
        url = cluster.url()
        asyncio.run(_create(cluster.url("postgres"), url))
        layer = asyncio.run(_load(url, args.size, args.edit))
        results = asyncio.run(_measure(url, layer, args.rounds))
    finally:
        cluster.stop()
        tmp.cleanup()
    print(f"\nBulk edit — {args.size:,} features, {args.edit:,} per edit, {args.rounds} rounds (under load)\n")
    print("| round | preview count ms | bulk edit s | features/s | floor s | floor features/s | path/floor |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for i, (counted, path_s, floor_s, n) in enumerate(results, 1):
        print(f"| {i} | {counted * 1000:.1f} | {path_s:.2f} | {n / path_s:,.0f} | {floor_s:.3f} | "
              f"{n / floor_s:,.0f} | {path_s / floor_s:.1f}× |")


if __name__ == "__main__":
    main()
