"""An initial load written while it is read: the first big delivery into a layer with no current features.

:func:`layers.bulk.upsert_by_key` stages a whole delivery, then merges it in one statement, then
builds the layer's indexes again: PostgreSQL works alone at the end while the importing process
waits, and the client works alone at the start. When the layer holds no current feature, every
delivered row becomes version 1 of a new feature whatever it is matched against, so each batch is
written as soon as it is validated: binary COPY straight into the layer table, with what
``insert_versions.sql`` would give every row (a fresh id, version 1, the valid time, the changeset)
filled in by column defaults that last as long as the load. PostgreSQL writes one batch (stored
generated columns, the live overview index) while the client reads and validates the next, and the
other indexes are built once, at the end. Measured on 1,000,000 buildings: see benchmarks/README.md,
"Batch import". The audit is the bulk merge's: one ``onemap.bulk_changes`` row, every version naming
its changeset.

All of it happens inside the import's one transaction: a delivery that is refused or fails rolls
back every batch. Rows the delivery rejects only after they were written (a key delivered twice,
whose first row was already loaded) are taken back before commit with :func:`withdraw`.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import shapely

from layers import building_rollup
from layers.bulk import MergeCounts, Staging, _audit, _finish
from layers.bulk_indexes import DroppedIndexes, drop_indexes_for_load
from layers.lifecycle import Box, Written
from layers.model import DATA_SCHEMA
from layers.sql import quote_ident
from spatial.crs import STORAGE_SRID


@dataclass
class InitialLoad:
    """One layer's initial load in progress: what every row shares, and what has been written so far."""

    staging: Staging
    changeset_id: int
    valid_from: dt.datetime  # the delivery's valid time, else the transaction's now()
    recorded_at: dt.datetime  # the transaction's now(), every version's recorded_at
    dropped: DroppedIndexes
    defaults: dict[str, str | None]  # the columns' own defaults, put back by finish()
    written: int = 0
    withdrawn: int = 0
    boxes: list[Box] = field(default_factory=list)
    rollup_deferred: bool = False  # the statistics rollup gets the whole load at finish()

    @property
    def columns(self) -> list[str]:
        """COPY column order of :meth:`rows`."""
        return ["geom", *[f.name for f in self.staging.layer.attributes.fields], "src_hash"]

    def rows(self, wkb: Sequence[bytes | None], attributes: Sequence[Sequence[Any]],
             hashes: Sequence[bytes | None], bounds: Box | None) -> list[tuple[Any, ...]]:
        """The layer rows of one batch: EPSG:4490 geometry as EWKB, the attribute columns in field
        order, the source fingerprints; ``bounds`` is the batch's extent. What every row shares
        (a fresh feature id, version 1, the valid time, the changeset) the layer's columns default
        to while the load runs (see :func:`begin`).
        """
        if bounds is not None:
            self.boxes.append(bounds)
        return list(zip(map(_ewkb, wkb), *attributes, hashes, strict=True))

    def total(self) -> Written:
        """Every batch's versions as one :class:`Written`."""
        boxes = self.boxes
        count = self.written - self.withdrawn
        return Written(
            count=count, fid=None, version=1 if count else None,
            valid_from=self.valid_from if count else None, recorded_at=self.recorded_at if count else None,
            box=(min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                 max(b[3] for b in boxes)) if boxes and count else None,
        )


_EWKB_HEAD: dict[bytes, bytes] = {}


def _ewkb(wkb: bytes | None) -> bytes | None:
    """Little-endian 2D WKB as EWKB with SRID 4490 (what the layer's geometry column takes in binary COPY)."""
    if wkb is None:
        return None
    head = wkb[:5]
    prefix = _EWKB_HEAD.get(head)
    if prefix is None:
        if head[:1] != b"\x01":
            wkb = shapely.to_wkb(shapely.from_wkb(wkb), byte_order=1, output_dimension=2)
            head = wkb[:5]
        kind = struct.unpack("<I", head[1:5])[0]
        prefix = _EWKB_HEAD[head] = b"\x01" + struct.pack("<II", kind | _SRID_FLAG, STORAGE_SRID)
    return prefix + wkb[5:]


_SRID_FLAG = 0x20000000


async def begin(
    conn: asyncpg.Connection, staging: Staging, *, rows: int, changeset_id: int, valid_from: dt.datetime | None,
) -> InitialLoad | None:
    """Start an initial load of about ``rows`` rows into ``staging``'s layer, or None when this is not one.

    It is one when the layer has no current feature and ``rows`` is big enough for the indexes to be
    dropped and built again (:func:`layers.bulk_indexes.drop_indexes_for_load`). The layer is locked
    against other writers first, so it cannot gain a current feature meanwhile.
    """
    table = staging.layer.table
    await conn.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
    if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE valid_to IS NULL)"):  # noqa: S608
        return None
    dropped = await drop_indexes_for_load(conn, staging.layer, rows=rows, keep_unsorted=True)
    if dropped is None:
        return None
    schema = await conn.fetchval("SELECT typnamespace::regnamespace::text FROM pg_type WHERE typname = 'geometry'")
    # Geometry goes as EWKB bytes in binary COPY (geometry_recv); until the connection closes. With
    # asyncpg's own bytea codec the bytes are written in C, not through a Python encoder call per row.
    await conn.set_builtin_type_codec("geometry", schema=schema, codec_name="bytea", format="binary")
    now: dt.datetime = await conn.fetchval("SELECT now()")
    start = valid_from or now
    defaults = {r["attname"]: r["def"] for r in await conn.fetch(
        "SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) AS def FROM pg_attribute a "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE a.attrelid = $1::regclass AND a.attname = ANY($2::text[])", table, list(_SHARED))}
    # What every row of the load shares, filled in by the server instead of sent a million times:
    # the same values insert_versions.sql gives a new feature's version 1. Put back by finish(),
    # or by the rollback. The values are ours (a timestamp, an id), not user text.
    shared = {"fid": "nextval('onemap.feature_id_seq')", "version": "1",
              "valid_from": f"'{start.isoformat()}'::timestamptz", "changeset_id": str(int(changeset_id))}
    await _set_defaults(conn, table, shared)
    # The statistics rollup gets the whole load in one pass at finish() instead of a transition
    # table of every COPY batch (server CPU: see benchmarks/README.md).
    deferred = await building_rollup.defer(conn, staging.layer.id)
    return InitialLoad(staging, changeset_id, start, now, dropped, defaults, rollup_deferred=deferred)


_SHARED = ("fid", "version", "valid_from", "changeset_id")


async def _set_defaults(conn: asyncpg.Connection, table: str, defaults: Mapping[str, str | None]) -> None:
    clauses = [f"ALTER COLUMN {quote_ident(c)} " + (f"SET DEFAULT {d}" if d is not None else "DROP DEFAULT")
               for c, d in defaults.items()]
    await conn.execute(f"ALTER TABLE {table} {', '.join(clauses)}")


async def load_batch(conn: asyncpg.Connection, load: InitialLoad, rows: list[tuple[Any, ...]]) -> int:
    """Write :meth:`InitialLoad.rows` as new features, each with a fresh id; returns how many."""
    if not rows:
        return 0
    result = await conn.copy_records_to_table(load.staging.layer.id, schema_name=DATA_SCHEMA, records=rows,
                                              columns=load.columns)
    count = int(result.split()[-1]) if result else 0
    load.written += count
    return count


async def withdraw(conn: asyncpg.Connection, load: InitialLoad, *, key_field: str, keys: Sequence[str]) -> list[str]:
    """Take back the versions this load wrote for ``keys`` (as text); returns the keys it found.

    They were written in this transaction and are not committed: removing them is as if they had
    never been loaded (history keeps nothing that was never visible).
    """
    if not keys:
        return []
    layer = load.staging.layer
    rows = await conn.fetch(
        f"DELETE FROM {layer.table} WHERE changeset_id = $1 AND valid_to IS NULL "  # noqa: S608
        f"AND {quote_ident(key_field)}::text = ANY($2::text[]) RETURNING {quote_ident(key_field)}::text AS key",
        load.changeset_id, list(keys),
    )
    load.withdrawn += len(rows)
    return [r["key"] for r in rows]


async def finish(conn: asyncpg.Connection, load: InitialLoad) -> MergeCounts:
    """Build the layer's indexes again, and write the load's audit row, extent and tile notice."""
    await _set_defaults(conn, load.staging.layer.table, load.defaults)
    if load.rollup_deferred:
        await building_rollup.add_changeset(conn, load.changeset_id)
    await load.dropped.restore(conn)
    written = load.total()
    await _audit(conn, load.staging, changeset_id=load.changeset_id, op="insert", written=written)
    await _finish(conn, load.staging, written=[written])
    return MergeCounts(inserted=written.count)
