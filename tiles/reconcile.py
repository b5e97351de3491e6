"""Catch the disk cache up with edits made while nothing was listening.

``onemap.changes`` records every versioned write with the feature's version before and after;
joining it to the layer table gives the old and new geometry of each change, so the tiles to drop
are exactly those the notifications would have named.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import asyncpg

from layers.registry import Registry
from tiles.cache import Box


@cache
def _sql() -> str:
    return resources.files("tiles").joinpath("sql", "changed_extents.sql").read_text(encoding="utf-8")


async def latest_change_id(conn: asyncpg.Connection) -> int:
    value = await conn.fetchval("SELECT coalesce(max(id), 0) FROM onemap.changes")
    return int(value)


async def changed_boxes(conn: asyncpg.Connection, registry: Registry, *, after_change_id: int) -> dict[str, list[Box]]:
    """Layer id → EPSG:4490 boxes (one per changeset) of every change with id > ``after_change_id``."""
    layer_ids = [
        r["layer_id"]
        for r in await conn.fetch("SELECT DISTINCT layer_id FROM onemap.changes WHERE id > $1", after_change_id)
    ]
    out: dict[str, list[Box]] = {}
    for layer_id in layer_ids:
        layer = registry.find(layer_id)
        if layer is None or not layer.is_vector:
            continue
        rows = await conn.fetch(_sql().format(table=layer.table), after_change_id, layer_id)
        boxes = [(r["xmin"], r["ymin"], r["xmax"], r["ymax"]) for r in rows if r["xmin"] is not None]
        if boxes:
            out[layer_id] = boxes
    return out
