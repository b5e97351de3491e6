"""Dropping a layer table's indexes for an initial load, and building them again afterwards.

One sorted index build is far cheaper than a million GiST insertions, and a single join
re-checks the foreign key instead of a trigger per row. The price is an exclusive lock on the
layer until commit, so small or incremental deliveries (the usual re-survey) never take this
path. Everything happens inside the caller's transaction: a load that fails rolls the drops
back with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from layers.model import DATA_SCHEMA, Layer
from layers.sql import quote_ident

BULK_MIN_ROWS = 20_000
DATA_SCHEMA_Q = quote_ident(DATA_SCHEMA)


@dataclass(frozen=True, slots=True)
class DroppedIndexes:
    """The constraints and indexes :func:`drop_indexes_for_load` dropped, as the catalog defined them."""

    layer: Layer
    constraints: tuple[tuple[str, str], ...]  # (name, definition), primary key before foreign keys
    indexes: tuple[str, ...]  # CREATE INDEX statements

    async def restore(self, conn: asyncpg.Connection) -> None:
        """Add the constraints, build the indexes again and analyze the table (in the caller's transaction)."""
        for name, definition in reversed(self.constraints):
            await conn.execute(f"ALTER TABLE {self.layer.table} ADD CONSTRAINT {quote_ident(name)} {definition}")
        for statement in self.indexes:
            await conn.execute(statement)
        # The table has more than doubled: its planner statistics describe what it was. Autovacuum
        # analyzes it only after commit, within a minute or so; a delivery in that minute (the
        # corrections after a first load) had its key match planned without statistics, hashing all
        # million current rows instead of probing the key index per staged row (300 against 45 ms
        # for 10,000 rows). ANALYZE here counts this transaction's own rows and commits with them.
        # Only the columns deliveries join and filter on: a full ANALYZE (geometry histograms
        # too) costs 0.35 s per million rows in the load's one backend, these ~0.1 s; a partial one
        # leaves autovacuum's change counter as it is, so autovacuum still does the full one.
        columns = ", ".join(quote_ident(c) for c in dict.fromkeys(["fid", "valid_to", *self.layer.attributes.key]))
        await conn.execute(f"ANALYZE {self.layer.table} ({columns})")


async def drop_indexes_for_load(
    conn: asyncpg.Connection, layer: Layer, *, rows: int, keep_unsorted: bool = False
) -> DroppedIndexes | None:
    """For a load of ``rows`` that more than doubles the layer (an initial load), drop the layer
    table's indexes and its primary and foreign keys; None (nothing dropped) otherwise.

    Indexes of closed versions stay (new rows are current: they enter none of them), and so do
    BRIN indexes (a row costs them next to nothing; rebuilding one scans the whole table). With
    ``keep_unsorted``, so do GiST indexes that PostgreSQL cannot build sorted (a column without
    sortsupport, such as ``(tile_zoom, geom)``: btree_gist's int2 has none before PostgreSQL 18):
    their build inserts row by row anyway, so a load that writes while the client still reads
    pays that cost in the batches instead of after the last one (measured: see
    benchmarks/README.md, "Batch import").
    """
    estimate = await conn.fetchval("SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = $1::regclass",
                                   layer.table)
    if rows < BULK_MIN_ROWS or rows < 2 * int(estimate or 0):
        return None
    constraints = await conn.fetch(
        "SELECT conname, pg_get_constraintdef(oid) AS def, contype FROM pg_constraint "
        "WHERE conrelid = $1::regclass AND contype IN ('p', 'f') ORDER BY contype DESC",
        layer.table,
    )
    indexes = await conn.fetch(
        "SELECT pg_get_indexdef(i.indexrelid) AS def, c.relname FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = $1::regclass AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid) "
        "AND pg_get_expr(i.indpred, i.indrelid) IS DISTINCT FROM '(valid_to IS NOT NULL)' "
        "AND i.indexrelid NOT IN (SELECT x.oid FROM pg_class x JOIN pg_am a ON a.oid = x.relam "
        "WHERE a.amname = 'brin') "
        "AND NOT ($2 AND i.indexrelid IN (SELECT x.oid FROM pg_class x JOIN pg_am a ON a.oid = x.relam "
        "  WHERE a.amname = 'gist' AND EXISTS (SELECT 1 FROM unnest(i.indclass::oid[]) c(opc) "
        "    JOIN pg_opclass o ON o.oid = c.opc WHERE NOT EXISTS (SELECT 1 FROM pg_amproc p "
        "      WHERE p.amprocfamily = o.opcfamily AND p.amprocnum = 11))))",
        layer.table, keep_unsorted,
    )
    # Names and definitions come from the catalog, not from users.
    for con in constraints:
        await conn.execute(f"ALTER TABLE {layer.table} DROP CONSTRAINT {quote_ident(con['conname'])}")
    for index in indexes:
        await conn.execute(f"DROP INDEX {DATA_SCHEMA_Q}.{quote_ident(index['relname'])}")
    return DroppedIndexes(layer, tuple((c["conname"], c["def"]) for c in constraints),
                          tuple(i["def"] for i in indexes))
