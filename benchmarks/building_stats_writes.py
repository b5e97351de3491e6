"""What the building statistics rollup costs the write paths (migration 0014's statement triggers).

On the loaded benchmark database, each write runs in a transaction that is rolled back (the
database keeps its 1,000,000 buildings), once with the rollup triggers enabled and once with them
disabled (``ALTER TABLE … DISABLE TRIGGER`` inside the same transaction), alternating, ``rounds``
times; the medians are printed:

* append: a bulk merge of ``--write-rows`` new buildings (layers.bulk ``insert_all``);
* re-import: ``upsert_by_key`` of as many current buildings re-delivered with one more floor
  (each closes a version and writes one);
* bulk edit: ``apply_bulk_edit`` of 10,000 buildings (layers.bulk_edit, one changeset, new height);
* single edits: 200 ``update_feature`` calls, each its own (sub)transaction.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from layers.bulk import copy_rows, create_staging, insert_all, upsert_by_key
from layers.bulk_edit import apply_bulk_edit, selection
from layers.db import connect
from layers.model import Layer
from layers.query import cql2
from layers.registry import Registry
from layers.versioning import open_changeset, update_feature

TRIGGERS = ("building_rollup_insert", "building_rollup_update", "building_rollup_delete")
SINGLE_EDITS = 200


class _Rollback(Exception):
    pass


async def _staged(conn: asyncpg.Connection, layer: Layer, n: int, *, same_keys: bool) -> list[list[Any]]:
    """``n`` current buildings as staged rows: re-delivered (one more floor) or as new features."""
    names = [f.name for f in layer.attributes.fields]
    rows = await conn.fetch(f"SELECT ST_AsBinary(geom) AS wkb, {', '.join(names)} FROM data.buildings "  # noqa: S608
                            "WHERE valid_to IS NULL ORDER BY fid LIMIT $1", n)
    out = []
    for i, r in enumerate(rows):
        values = dict(r)
        values["floors"] = (values["floors"] or 0) + 1
        if not same_keys:
            values["source_id"] = f"new{i}"
        out.append([i, bytes(r["wkb"]), None, *[values[k] for k in names]])
    return out


async def _append(conn: asyncpg.Connection, layer: Layer, rows: list[list[Any]]) -> None:
    cs = await open_changeset(conn, actor="benchmark", source="import")
    staging = await create_staging(conn, layer)
    await copy_rows(conn, staging, rows)
    await insert_all(conn, staging, changeset_id=cs)


async def _reimport(conn: asyncpg.Connection, layer: Layer, rows: list[list[Any]]) -> None:
    cs = await open_changeset(conn, actor="benchmark", source="import")
    staging = await create_staging(conn, layer)
    await copy_rows(conn, staging, rows)
    counts = await upsert_by_key(conn, staging, key=["source_id"], changeset_id=cs)
    assert counts.new_versions == len(rows), counts


BULK_FILTER = "source_id LIKE 'syn1____'"  # syn10000 … syn19999 of benchmarks/building_stats.py: 10,000


async def _bulk_edit(conn: asyncpg.Connection, layer: Layer) -> None:
    sel = selection(layer, cql2.parse(BULK_FILTER, lang="cql2-text"), None)
    await apply_bulk_edit(conn, sel, {"height_m": 31.0}, actor="benchmark", comment=None, valid_from=None,
                          filter_text=None)


async def _single_edits(conn: asyncpg.Connection, layer: Layer, fids: list[int]) -> None:
    cs = await open_changeset(conn, actor="benchmark", source="api")
    for fid in fids:
        await update_feature(conn, layer=layer, fid=fid, patch={"floors": 7}, geometry=None, changeset_id=cs)


async def _timed(conn: asyncpg.Connection, work: Callable[[], Awaitable[None]], rollup: bool) -> float:
    """Seconds ``work`` takes inside a transaction that is then rolled back."""
    seconds = 0.0
    try:
        async with conn.transaction():
            if not rollup:
                for name in TRIGGERS:
                    await conn.execute(f"ALTER TABLE data.buildings DISABLE TRIGGER {name}")
            t = time.perf_counter()
            await work()
            seconds = time.perf_counter() - t
            raise _Rollback
    except _Rollback:
        return seconds


async def write_costs(url: str, rows: int, rounds: int) -> list[tuple[str, int, float, float]]:
    """(path, features written, seconds with the rollup, seconds without) per write path (medians)."""
    conn = await connect(url)
    try:
        layer = (await Registry.load(conn)).get("buildings")
        fids = [int(r["fid"]) for r in await conn.fetch(
            "SELECT fid FROM data.buildings WHERE valid_to IS NULL ORDER BY fid LIMIT $1", SINGLE_EDITS)]
        new_rows = await _staged(conn, layer, rows, same_keys=False)
        again = await _staged(conn, layer, rows, same_keys=True)
        paths: list[tuple[str, int, Callable[[], Awaitable[None]]]] = [
            ("append (bulk merge of new buildings)", rows, lambda: _append(conn, layer, new_rows)),
            ("re-import (upsert by key, all changed)", rows, lambda: _reimport(conn, layer, again)),
            ("bulk edit (one changeset)", 10_000, lambda: _bulk_edit(conn, layer)),
            ("single edits (update_feature)", SINGLE_EDITS, lambda: _single_edits(conn, layer, fids[:SINGLE_EDITS])),
        ]
        out = []
        for name, n, work in paths:
            on: list[float] = []
            off: list[float] = []
            for r in range(rounds):  # alternate which goes first, so drifting load weighs on both alike
                for rollup in ((True, False) if r % 2 == 0 else (False, True)):
                    (on if rollup else off).append(await _timed(conn, work, rollup))
            out.append((name, n, statistics.median(on), statistics.median(off)))
            print(f"{name}: {n:,} features, with rollup {out[-1][2]:.2f} s, without {out[-1][3]:.2f} s", flush=True)
        await conn.execute("VACUUM ANALYZE data.buildings")  # the rolled-back rows' dead tuples
        return out
    finally:
        await conn.close()


def table(results: list[tuple[str, int, float, float]]) -> str:
    """The write costs as a Markdown table."""
    lines = ["| write path | features | with rollup s | without s | cost of the rollup |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {name} | {n:,} | {on:.2f} | {off:.2f} | {(on / off - 1) * 100:+.0f} % |"
              for name, n, on, off in results]
    return "\n".join(lines)
