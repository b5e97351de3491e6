"""Reading the feed: pages of mutations after a cursor, for one layer or several, in commit order.

Each mutation is rendered as JSON text inside PostgreSQL (the feature as the items endpoint writes
it, CRS84), so a page passes through Python without being parsed: the pull consumer's throughput is
bounded by the database, not by decoding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import asyncpg
import orjson

from feed.cursor import Cursor
from layers.model import Layer
from layers.query.output import feature_sql
from layers.sql import bind_named
from spatial.crs import CRS84

OPERATIONS = ("insert", "update", "retire")
_sql_cache: dict[tuple[str, object], str] = {}


@cache
def _template(name: str) -> str:
    return resources.files("feed").joinpath("sql", name).read_text(encoding="utf-8")


def _page_sql(layer: Layer) -> str:
    key = (layer.id, layer.updated_at)
    sql = _sql_cache.get(key)
    if sql is None:
        sql = _template("page.sql").replace("/*table*/", layer.table)
        sql = sql.replace("/*feature*/", feature_sql(layer, names=None, crs=CRS84))
        if len(_sql_cache) > 512:
            _sql_cache.clear()
        _sql_cache[key] = sql
    return sql


@dataclass(frozen=True, slots=True)
class Page:
    """Mutations (JSON text, oldest first) and the cursor to ask with next time."""

    mutations: list[str]
    next: Cursor
    head: int  # the newest commit number the page's snapshot saw
    cursors: list[Cursor]  # each mutation's own position


async def head_seq(conn: asyncpg.Connection) -> int:
    """The newest committed feed position visible now (commit number)."""
    value: int = await conn.fetchval(_template("head.sql"))
    return value


async def _layer_rows(
    conn: asyncpg.Connection, layer: Layer, *, after: Cursor, limit: int, ops: Sequence[str] | None, head: int
) -> list[tuple[Cursor, str]]:
    sql, args = bind_named(_page_sql(layer), {
        "layer_id": layer.id, "seq": after.seq, "id": after.change_id, "fid": after.fid, "head": head,
        "ops": list(ops) if ops is not None else None, "limit": limit,
    })
    rows = await conn.fetch(sql, *args)
    return [(Cursor(r["seq"], r["id"], r["fid"]), r["mutation"]) for r in rows]


async def read_page(
    conn: asyncpg.Connection, layers: Sequence[Layer], *, after: Cursor, limit: int,
    ops: Sequence[str] | None = None,
) -> Page:
    """Up to ``limit`` mutations of ``layers`` after ``after``, in commit order, from one snapshot.

    When the page is not full the consumer has everything up to the snapshot, so ``next`` moves
    past the newest commit it saw (past mutations the ``ops`` filter left out, too).
    """
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        # Times in the mutations are written as JSON by PostgreSQL, in the session's zone: make it UTC.
        await conn.execute("SET LOCAL TimeZone = 'UTC'")
        head = await head_seq(conn)
        merged: list[tuple[Cursor, str]] = []
        for layer in layers:
            merged += await _layer_rows(conn, layer, after=after, limit=limit, ops=ops, head=head)
    if len(layers) > 1:
        merged.sort(key=lambda pair: pair[0])
    merged = merged[:limit]
    # A full page ends at its last mutation; a short one saw everything up to the snapshot's head.
    nxt = merged[-1][0] if len(merged) == limit else max(after, Cursor.after_commit(head))
    return Page([text for _, text in merged], nxt, head, [c for c, _ in merged])


def page_json(collection: str | None, page: Page, links: list[dict[str, str]]) -> bytes:
    """The feed response body, assembled around the mutations' JSON text without re-encoding it."""
    head = {"collection": collection} if collection is not None else {}
    start = orjson.dumps({**head, "next": str(page.next), "numberReturned": len(page.mutations), "links": links})
    return start[:-1] + b',"mutations":[' + ",".join(page.mutations).encode() + b"]}"
