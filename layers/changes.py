"""What changed, per feature, from both audit tables: ``onemap.changes`` (every per-feature write, and
bulk retirements) and ``onemap.bulk_changes`` (a bulk merge's inserts and replacements, one row per
changeset, layer and operation; the versions themselves name their changeset).

Both tables draw their ids from one sequence, so "everything after change id N" means the same
in both: the tile caches' watermark and a change feed read them together.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources

import asyncpg

from layers.model import Layer
from layers.sql import bind_named

Box = tuple[float, float, float, float]


@cache
def _sql(name: str) -> str:
    return resources.files("layers").joinpath("statements", name).read_text(encoding="utf-8")


async def latest_change_id(conn: asyncpg.Connection) -> int:
    """The newest change id in either audit table (0 when nothing was ever written)."""
    value = await conn.fetchval(
        "SELECT greatest((SELECT coalesce(max(id), 0) FROM onemap.changes), "
        "(SELECT coalesce(max(id), 0) FROM onemap.bulk_changes))"
    )
    return int(value)


async def bulk_boxes(conn: asyncpg.Connection, *, after_change_id: int) -> dict[str, list[Box]]:
    """Layer id → EPSG:4490 boxes (old and new geometries) of every bulk merge after ``after_change_id``.

    The same boxes the merge's ``onemap_edits`` notification carried, for caches that missed it.
    """
    rows = await conn.fetch(
        "SELECT layer_id, west, south, east, north FROM onemap.bulk_changes WHERE id > $1 AND west IS NOT NULL "
        "ORDER BY id",
        after_change_id,
    )
    out: dict[str, list[Box]] = {}
    for r in rows:
        out.setdefault(r["layer_id"], []).append((r["west"], r["south"], r["east"], r["north"]))
    return out


async def feature_changes(
    conn: asyncpg.Connection, *, layer: Layer, after: int = 0, changeset_id: int | None = None
) -> Sequence[asyncpg.Record]:
    """Every per-feature mutation of ``layer`` after change id ``after`` (of one changeset if given), in
    id order, bulk merges expanded feature by feature (in fid order under their row's id).

    Columns: id, changeset_id, fid, op, version_before, version_after, recorded_at, unconditional.
    """
    sql, args = bind_named(_sql("feature_changes.sql").format(table=layer.table),
                           {"layer_id": layer.id, "after": after, "changeset_id": changeset_id})
    rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
    return rows
