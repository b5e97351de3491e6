"""Set-based versioned writes for batches: stage rows with COPY, then merge in SQL.

The same versioning rules as :mod:`layers.versioning` (close, never delete; one
change row per feature), applied to a whole delivery in a few statements.
Rows must already be valid: callers validate before staging.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from layers.errors import InvalidValidTime
from layers.model import DATA_SCHEMA, Layer
from layers.sql import quote_ident
from layers.versioning import EDITS_CHANNEL
from spatial.crs import STORAGE_SRID

DATA_SCHEMA_Q = quote_ident(DATA_SCHEMA)


@dataclass(frozen=True, slots=True)
class MergeCounts:
    """What a merge did, for reports."""

    inserted: int = 0
    new_versions: int = 0
    unchanged: int = 0
    retired: int = 0

    def __add__(self, other: MergeCounts) -> MergeCounts:
        return MergeCounts(
            self.inserted + other.inserted, self.new_versions + other.new_versions,
            self.unchanged + other.unchanged, self.retired + other.retired,
        )


@dataclass(frozen=True, slots=True)
class Staging:
    """A temp table holding typed rows for one layer.

    The staging table is written once, by COPY, and never updated: matches and new ids live
    in small side tables, because rewriting every staged row costs more than the merge itself.
    """

    layer: Layer
    name: str
    fingerprints: bool = False

    @property
    def columns(self) -> list[str]:
        """COPY column order; with ``fingerprints`` each record ends with the source row's hash."""
        extra = ["src_hash"] if self.fingerprints else []
        return ["row_no", "geom_wkb", "valid_from", *[f.name for f in self.layer.attributes.fields], *extra]

    @property
    def fid_map(self) -> str:
        return quote_ident(f"{self.name}_fids"[:63])

    @property
    def match_table(self) -> str:
        return quote_ident(f"{self.name}_match"[:63])


async def create_staging(
    conn: asyncpg.Connection, layer: Layer, *, suffix: str = "", fingerprints: bool = False
) -> Staging:
    """Create an empty temp staging table for ``layer`` (dropped with the session)."""
    name = f"stage_{layer.id}{suffix}"[:57]
    staging = Staging(layer=layer, name=name, fingerprints=fingerprints)
    cols = ", ".join(f"{quote_ident(f.name)} {f.sql_type}" for f in layer.attributes.fields)
    for table in (quote_ident(name), staging.fid_map, staging.match_table):
        await conn.execute(f"DROP TABLE IF EXISTS {table}")
    await conn.execute(
        f"CREATE TEMP TABLE {quote_ident(name)} (row_no bigint NOT NULL, geom_wkb bytea NOT NULL, "
        f"valid_from timestamptz{', ' + cols if cols else ''}{', src_hash bytea' if fingerprints else ''})"
    )
    return staging


async def copy_rows(conn: asyncpg.Connection, staging: Staging, rows: Iterable[Sequence[Any]]) -> int:
    """Binary-COPY rows (in :attr:`Staging.columns` order) into the staging table."""
    result = await conn.copy_records_to_table(staging.name, records=rows, columns=staging.columns)
    return int(result.split()[-1]) if result else 0


def _attr_list(layer: Layer, prefix: str = "") -> str:
    return "".join(f", {prefix}{quote_ident(f.name)}" for f in layer.attributes.fields)


async def _insert(
    conn: asyncpg.Connection, staging: Staging, *, source: str, fid_sql: str, version_sql: str,
    changeset_id: int, valid_from: dt.datetime | None, op: str,
) -> int:
    """INSERT the rows of ``source`` (a FROM clause exposing staging as ``s``) and their change rows."""
    layer = staging.layer
    hash_col, hash_val = (", src_hash", ", s.src_hash") if staging.fingerprints else ("", "")
    inserted = await conn.fetchval(
        f"""
        WITH ins AS (
          INSERT INTO {layer.table} (fid, version, valid_from, changeset_id{hash_col}, geom{_attr_list(layer)})
          SELECT {fid_sql}, {version_sql}, coalesce(s.valid_from, $1::timestamptz, now()), $2{hash_val},
                 ST_GeomFromWKB(s.geom_wkb, {STORAGE_SRID}){_attr_list(layer, "s.")}
          FROM {source}
          RETURNING fid, version
        ), chg AS (
          INSERT INTO onemap.changes (changeset_id, layer_id, fid, op, version_before, version_after)
          SELECT $2, $3, fid, $4, NULLIF(version - 1, 0), version FROM ins
        )
        SELECT count(*) FROM ins
        """,  # noqa: S608
        valid_from, changeset_id, layer.id, op,
    )
    return int(inserted)


async def _insert_new(
    conn: asyncpg.Connection, staging: Staging, *, where: str, changeset_id: int,
    valid_from: dt.datetime | None, keep_fids: bool,
) -> int:
    """Insert staged rows matching ``where`` as new features with fresh ids."""
    stage = quote_ident(staging.name)
    if not keep_fids:
        return await _insert(conn, staging, source=f"{stage} s WHERE {where}",
                             fid_sql="nextval('onemap.feature_id_seq')", version_sql="1",
                             changeset_id=changeset_id, valid_from=valid_from, op="insert")
    await conn.execute(f"DROP TABLE IF EXISTS {staging.fid_map}")
    await conn.execute(
        f"CREATE TEMP TABLE {staging.fid_map} AS SELECT s.row_no, nextval('onemap.feature_id_seq') AS fid "  # noqa: S608
        f"FROM {stage} s WHERE {where} ORDER BY s.row_no"
    )
    return await _insert(conn, staging, source=f"{stage} s JOIN {staging.fid_map} f USING (row_no)",
                         fid_sql="f.fid", version_sql="1", changeset_id=changeset_id, valid_from=valid_from,
                         op="insert")


async def _finish(conn: asyncpg.Connection, staging: Staging, *, closed: Sequence[float] | None = None) -> None:
    layer = staging.layer
    stage = quote_ident(staging.name)
    extent = await conn.fetchrow(
        f"""
        SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (
          SELECT ST_Extent(ST_GeomFromWKB(geom_wkb, {STORAGE_SRID}))::geometry AS e FROM {stage}
        ) x
        """  # noqa: S608
    )
    boxes = [list(extent.values())] if extent and extent[0] is not None else []
    if closed is not None and closed[0] is not None:
        boxes.append(list(closed))  # old geometries of replaced features, which may lie elsewhere
    from layers.registry import note_temporal_extent

    await note_temporal_extent(conn, layer.id)
    await conn.execute(
        "SELECT pg_notify($1, $2)", EDITS_CHANNEL,
        orjson.dumps({"layer": layer.id, "bboxes": boxes, "bulk": True}).decode(),
    )


async def fids_by_row(conn: asyncpg.Connection, staging: Staging) -> dict[int, int]:
    """row_no → fid of every staged row that a merge with ``keep_fids=True`` inserted or matched."""
    exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"pg_temp.{staging.fid_map}")
    if not exists:
        raise ValueError("fids_by_row needs insert_all/upsert_by_key(..., keep_fids=True)")
    rows = await conn.fetch(f"SELECT row_no, fid FROM {staging.fid_map}")  # noqa: S608
    return {r["row_no"]: r["fid"] for r in rows}


async def insert_all(
    conn: asyncpg.Connection, staging: Staging, *, changeset_id: int, valid_from: dt.datetime | None = None,
    keep_fids: bool = False,
) -> MergeCounts:
    """Append every staged row as a new feature (``--mode append``).

    ``keep_fids`` records which id each staged row got, for :func:`fids_by_row`.
    """
    async with conn.transaction():
        n = await _insert_new(conn, staging, where="true", changeset_id=changeset_id, valid_from=valid_from,
                              keep_fids=keep_fids)
        await _finish(conn, staging)
    return MergeCounts(inserted=n)


async def _match_by_key(conn: asyncpg.Connection, staging: Staging, key: Sequence[str]) -> None:
    """A side table of staged rows that have a current feature with the same key, and whether they differ."""
    layer = staging.layer
    stage = quote_ident(staging.name)
    on = " AND ".join(f"t.{quote_ident(k)} = s.{quote_ident(k)}" for k in key)
    attrs = [quote_ident(f.name) for f in layer.attributes.fields]
    same_attrs = (
        f"(ROW({', '.join('t.' + a for a in attrs)}) IS NOT DISTINCT FROM ROW({', '.join('s.' + a for a in attrs)}))"
        if attrs else "true"
    )
    await conn.execute(f"DROP TABLE IF EXISTS {staging.match_table}")
    await conn.execute(
        f"""
        CREATE TEMP TABLE {staging.match_table} AS
        SELECT s.row_no, t.fid, t.version AS old_version, t.valid_from AS old_valid_from,
               (t.geom = ST_GeomFromWKB(s.geom_wkb, {STORAGE_SRID}) AND {same_attrs}) AS unchanged
        FROM {stage} s JOIN {layer.table} t ON t.valid_to IS NULL AND {on}
        """  # noqa: S608
    )
    await conn.execute(f"ANALYZE {staging.match_table}")


async def upsert_by_key(
    conn: asyncpg.Connection, staging: Staging, *, key: Sequence[str], changeset_id: int,
    valid_from: dt.datetime | None = None, keep_fids: bool = False,
) -> MergeCounts:
    """Match staged rows to current features by ``key``: new ones are inserted, changed
    ones get a new version valid from ``valid_from``, identical ones are left alone (``--mode upsert``).

    Raises:
        InvalidValidTime: if a changed feature's current version starts after ``valid_from``.
    """
    if not key:
        raise ValueError("upsert needs a key")
    layer = staging.layer
    stage = quote_ident(staging.name)
    match = staging.match_table
    async with conn.transaction():
        if not await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {layer.table} WHERE valid_to IS NULL)"):  # noqa: S608
            # An empty layer (an initial load): every row is new, nothing to match.
            inserted = await _insert_new(conn, staging, where="true", changeset_id=changeset_id,
                                         valid_from=valid_from, keep_fids=keep_fids)
            await _finish(conn, staging)
            return MergeCounts(inserted=inserted)
        await conn.execute(f"ANALYZE {stage}")
        await _match_by_key(conn, staging, key)
        vf_expr = "coalesce(s.valid_from, $1::timestamptz, now())"
        changed_rows = f"{match} m JOIN {stage} s USING (row_no) WHERE NOT m.unchanged"
        bad = await conn.fetchval(
            f"SELECT count(*) FROM {changed_rows} AND {vf_expr} < m.old_valid_from",  # noqa: S608
            valid_from,
        )
        if bad:
            raise InvalidValidTime(
                f"{bad} changed feature(s) already have a version starting after the delivery's valid time"
            )
        closed = await conn.fetchrow(
            f"""
            WITH closed AS (
              UPDATE {layer.table} t SET valid_to = {vf_expr}, superseded_at = now()
              FROM {changed_rows} AND t.fid = m.fid AND t.version = m.old_version
              RETURNING t.geom
            )
            SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
            FROM (SELECT ST_Extent(geom)::geometry AS e FROM closed) x
            """,  # noqa: S608
            valid_from,
        )
        changed = await _insert(
            conn, staging, source=changed_rows, fid_sql="m.fid", version_sql="m.old_version + 1",
            changeset_id=changeset_id, valid_from=valid_from, op="replace",
        )
        unchanged = await conn.fetchval(f"SELECT count(*) FROM {match} WHERE unchanged")  # noqa: S608
        new_rows = f"NOT EXISTS (SELECT 1 FROM {match} m WHERE m.row_no = s.row_no)"  # noqa: S608
        inserted = await _insert_new(conn, staging, where=new_rows, changeset_id=changeset_id,
                                     valid_from=valid_from, keep_fids=keep_fids)
        if keep_fids:
            await conn.execute(f"INSERT INTO {staging.fid_map} (row_no, fid) SELECT row_no, fid FROM {match}")  # noqa: S608
        await _finish(conn, staging, closed=tuple(closed.values()) if closed else None)
    return MergeCounts(inserted=inserted, new_versions=changed, unchanged=int(unchanged))


async def retire_missing_in_extent(
    conn: asyncpg.Connection, staging: Staging, *, key: Sequence[str], changeset_id: int,
    valid_to: dt.datetime | None = None,
) -> int:
    """Retire current features inside the delivery's extent whose key is not in the delivery
    (the ``replace-extent`` half that upsert does not cover). Returns how many were retired."""
    layer = staging.layer
    stage = quote_ident(staging.name)
    on = " AND ".join(f"t.{quote_ident(k)} = s.{quote_ident(k)}" for k in key)
    async with conn.transaction():
        retired = await conn.fetchval(
            f"""
            WITH extent AS (
              SELECT ST_SetSRID(ST_Extent(ST_GeomFromWKB(geom_wkb, {STORAGE_SRID}))::geometry, {STORAGE_SRID}) AS e
              FROM {stage}
            ), gone AS (
              UPDATE {layer.table} t SET valid_to = GREATEST(coalesce($1::timestamptz, now()), t.valid_from),
                superseded_at = now()
              FROM extent
              WHERE t.valid_to IS NULL AND t.geom && extent.e AND ST_CoveredBy(t.geom, extent.e)
                AND NOT EXISTS (SELECT 1 FROM {stage} s WHERE {on})
              RETURNING t.fid, t.version
            ), chg AS (
              INSERT INTO onemap.changes (changeset_id, layer_id, fid, op, version_before, version_after)
              SELECT $2, $3, fid, 'retire', version, version FROM gone
            )
            SELECT count(*) FROM gone
            """,  # noqa: S608
            valid_to, changeset_id, layer.id,
        )
    return int(retired)


async def drop_staging(conn: asyncpg.Connection, staging: Staging) -> None:
    for table in (quote_ident(staging.name), staging.fid_map, staging.match_table):
        await conn.execute(f"DROP TABLE IF EXISTS {table}")


BULK_MIN_ROWS = 20_000


@asynccontextmanager
async def indexes_rebuilt_after(conn: asyncpg.Connection, layer: Layer, *, staged_rows: int) -> AsyncIterator[bool]:
    """Inside the caller's transaction: for a load that more than doubles a layer (an initial load),
    drop the layer table's indexes and foreign keys, and recreate them when the block ends.

    One sorted index build is far cheaper than a million GiST insertions, and a single join
    re-checks the foreign key instead of a trigger per row. The price is an exclusive lock on the
    layer until commit, so small or incremental deliveries (the usual re-survey) never take this
    path. Yields whether it did.
    """
    estimate = await conn.fetchval("SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = $1::regclass",
                                   layer.table)
    if staged_rows < BULK_MIN_ROWS or staged_rows < 2 * int(estimate or 0):
        yield False
        return
    constraints = await conn.fetch(
        "SELECT conname, pg_get_constraintdef(oid) AS def, contype FROM pg_constraint "
        "WHERE conrelid = $1::regclass AND contype IN ('p', 'f') ORDER BY contype DESC",
        layer.table,
    )
    indexes = await conn.fetch(
        "SELECT pg_get_indexdef(i.indexrelid) AS def, c.relname FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = $1::regclass AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid)",
        layer.table,
    )
    # Names and definitions come from the catalog, not from users.
    for con in constraints:
        await conn.execute(f"ALTER TABLE {layer.table} DROP CONSTRAINT {quote_ident(con['conname'])}")
    for index in indexes:
        await conn.execute(f"DROP INDEX {DATA_SCHEMA_Q}.{quote_ident(index['relname'])}")
    yield True
    for con in reversed(constraints):
        await conn.execute(f"ALTER TABLE {layer.table} ADD CONSTRAINT {quote_ident(con['conname'])} {con['def']}")
    for index in indexes:
        await conn.execute(index["def"])
