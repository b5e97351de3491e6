"""The versioned write path, set-based: stage a delivery with COPY, then merge it in SQL.

One Map has one set of versioning rules and two entry points to them. This module applies
them to a whole staged delivery in a few statements, for imports and the sample loader;
:mod:`layers.versioning` applies them to one feature at a time, for the API. Both run the
statements of :mod:`layers.lifecycle` (close a version, write versions, audit, touch the layer's
temporal extent, notify tile caches), so the rules live once. The audit differs in one way: a
merge's inserts and replacements are recorded as one ``onemap.bulk_changes`` row per operation
(each version names its changeset; see migration ``0010_import`` for the measurement), its
retirements one ``onemap.changes`` row per feature, as every per-feature write is.
Nothing is deleted: a changed feature's open version is closed and a new one added.
Rows must already be valid: callers validate before staging.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg

from layers.bulk_indexes import drop_indexes_for_load
from layers.lifecycle import Closed, Written, after_write, close_versions, insert_versions, record_bulk_change
from layers.model import Layer
from layers.sql import quote_ident
from spatial.crs import STORAGE_SRID


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
        """Quoted name of the side table mapping staged row_no to the feature id it got."""
        return quote_ident(f"{self.name}_fids"[:63])

    @property
    def match_table(self) -> str:
        """Quoted name of the side table of staged rows matched to current features by key."""
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
) -> Written:
    """Write the rows of ``source`` (a FROM clause exposing staging as ``s``) as versions, audited."""
    hash_sql = "s.src_hash" if staging.fingerprints else "NULL::bytea"
    incoming = (f"SELECT {fid_sql} AS fid, {version_sql} AS version, s.valid_from, {hash_sql} AS src_hash, "  # noqa: S608
                f"s.geom_wkb{_attr_list(staging.layer, 's.')} FROM {source}")
    written = await insert_versions(conn, layer=staging.layer, incoming=incoming, values={},
                                    changeset_id=changeset_id, valid_from=valid_from, op=op, audit_rows=False)
    return written


async def _audit(
    conn: asyncpg.Connection, staging: Staging, *, changeset_id: int, op: str, written: Written,
    closed: Closed | None = None,
) -> None:
    """The bulk audit row of ``written`` (and of the versions ``closed`` for it)."""
    await record_bulk_change(conn, layer=staging.layer, changeset_id=changeset_id, op=op, features=written.count,
                             boxes=[closed.box if closed is not None else None, written.box])


async def _insert_new(
    conn: asyncpg.Connection, staging: Staging, *, where: str, changeset_id: int,
    valid_from: dt.datetime | None, keep_fids: bool,
) -> Written:
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


async def _finish(
    conn: asyncpg.Connection, staging: Staging, *, written: Sequence[Written] = (), closed: Closed | None = None
) -> None:
    """Touch and notify once per merge, for the versions it wrote and the ones it closed."""
    wrote = [w for w in written if w.count]
    if not wrote and (closed is None or not closed.count):
        return  # nothing changed: no extent moved, no tile is stale
    boxes = [w.box for w in wrote if w.box is not None]
    union = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
             max(b[3] for b in boxes)) if boxes else None
    starts = [w.valid_from for w in wrote if w.valid_from is not None]
    # Old geometries first, as the per-feature path sends them: replaced features may lie elsewhere.
    await after_write(conn, layer=staging.layer, earliest=min(starts) if starts else None,
                      boxes=[closed.box if closed is not None else None, union], bulk=True)


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
        written = await _insert_new(conn, staging, where="true", changeset_id=changeset_id,
                                    valid_from=valid_from, keep_fids=keep_fids)
        await _audit(conn, staging, changeset_id=changeset_id, op="insert", written=written)
        await _finish(conn, staging, written=[written])
    return MergeCounts(inserted=written.count)


def _key_join(key: Sequence[str]) -> str:
    return " AND ".join(f"t.{quote_ident(k)} = s.{quote_ident(k)}" for k in key)


async def _match_by_key(conn: asyncpg.Connection, staging: Staging, key: Sequence[str]) -> None:
    """A side table of staged rows that have a current feature with the same key, and whether they differ."""
    layer = staging.layer
    stage = quote_ident(staging.name)
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
        FROM {stage} s JOIN {layer.table} t ON t.valid_to IS NULL AND {_key_join(key)}
        """  # noqa: S608
    )
    await conn.execute(f"ANALYZE {staging.match_table}")


async def upsert_by_key(
    conn: asyncpg.Connection, staging: Staging, *, key: Sequence[str], changeset_id: int,
    valid_from: dt.datetime | None = None, keep_fids: bool = False,
) -> MergeCounts:
    """Match staged rows to current features by ``key``: new ones are inserted, changed
    ones get a new version valid from ``valid_from``, identical ones are left alone (``--mode upsert``).

    A delivery is a snapshot, so re-delivering a feature unchanged makes no version; an edit
    through :mod:`layers.versioning` is an explicit act and always does.

    Raises:
        InvalidValidTime: if a changed feature's current version starts after ``valid_from``
            (nothing is written).
    """
    if not key:
        raise ValueError("upsert needs a key")
    layer = staging.layer
    stage = quote_ident(staging.name)
    match = staging.match_table
    async with conn.transaction():
        if not await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {layer.table} WHERE valid_to IS NULL)"):  # noqa: S608
            # An empty layer (an initial load): every row is new, nothing to match.
            written = await _insert_new(conn, staging, where="true", changeset_id=changeset_id,
                                        valid_from=valid_from, keep_fids=keep_fids)
            await _audit(conn, staging, changeset_id=changeset_id, op="insert", written=written)
            await _finish(conn, staging, written=[written])
            return MergeCounts(inserted=written.count)
        await conn.execute(f"ANALYZE {stage}")
        await _match_by_key(conn, staging, key)
        changed_rows = f"{match} m JOIN {stage} s USING (row_no) WHERE NOT m.unchanged"
        closing = f"SELECT m.fid, m.old_version AS version, s.valid_from AS at FROM {changed_rows}"  # noqa: S608
        closed = await close_versions(conn, layer=layer, closing=closing, values={}, changeset_id=changeset_id,
                                      at=valid_from, retiring=False)
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
        await _audit(conn, staging, changeset_id=changeset_id, op="replace", written=changed, closed=closed)
        await _audit(conn, staging, changeset_id=changeset_id, op="insert", written=inserted)
        await _finish(conn, staging, written=[changed, inserted], closed=closed)
    return MergeCounts(inserted=inserted.count, new_versions=changed.count, unchanged=int(unchanged))


async def _retire(
    conn: asyncpg.Connection, staging: Staging, *, closing: str, changeset_id: int, valid_to: dt.datetime | None,
) -> int:
    async with conn.transaction():
        closed = await close_versions(conn, layer=staging.layer, closing=closing, values={},
                                      changeset_id=changeset_id, at=valid_to, retiring=True)
        await _finish(conn, staging, closed=closed)
    return closed.count


async def retire_missing_in_extent(
    conn: asyncpg.Connection, staging: Staging, *, key: Sequence[str], changeset_id: int,
    valid_to: dt.datetime | None = None,
) -> int:
    """Retire current features inside the delivery's extent whose key is not in the delivery
    (the ``replace-extent`` half that upsert does not cover). Returns how many were retired.

    Raises:
        InvalidValidTime: if such a feature's current version starts after ``valid_to``
            (nothing is retired: a survey cannot remove what began after it).
    """
    layer = staging.layer
    stage = quote_ident(staging.name)
    closing = f"""
        SELECT t.fid, t.version, NULL::timestamptz AS at
        FROM {layer.table} t, (
          SELECT ST_SetSRID(ST_Extent(ST_GeomFromWKB(geom_wkb, {STORAGE_SRID}))::geometry, {STORAGE_SRID}) AS e
          FROM {stage}
        ) extent
        WHERE t.valid_to IS NULL AND t.geom && extent.e AND ST_CoveredBy(t.geom, extent.e)
          AND NOT EXISTS (SELECT 1 FROM {stage} s WHERE {_key_join(key)})
        """  # noqa: S608
    return await _retire(conn, staging, closing=closing, changeset_id=changeset_id, valid_to=valid_to)


async def retire_by_key(
    conn: asyncpg.Connection, staging: Staging, *, key: Sequence[str], changeset_id: int,
    valid_to: dt.datetime | None = None,
) -> int:
    """Retire the current features whose ``key`` is staged (a delivery of removals).

    Each is retired at its staged ``valid_from`` when set, else at ``valid_to``, else now.
    Staged keys with no current feature are ignored. Returns how many were retired.

    Raises:
        InvalidValidTime: if a feature's current version starts after its retirement time
            (nothing is retired).
    """
    if not key:
        raise ValueError("retiring by key needs a key")
    closing = (f"SELECT t.fid, t.version, s.valid_from AS at FROM {quote_ident(staging.name)} s "  # noqa: S608
               f"JOIN {staging.layer.table} t ON t.valid_to IS NULL AND {_key_join(key)}")
    return await _retire(conn, staging, closing=closing, changeset_id=changeset_id, valid_to=valid_to)


async def drop_staging(conn: asyncpg.Connection, staging: Staging) -> None:
    """Drop the staging table and its side tables (they would go with the session anyway)."""
    for table in (quote_ident(staging.name), staging.fid_map, staging.match_table):
        await conn.execute(f"DROP TABLE IF EXISTS {table}")


@asynccontextmanager
async def indexes_rebuilt_after(conn: asyncpg.Connection, layer: Layer, *, staged_rows: int) -> AsyncIterator[bool]:
    """Inside the caller's transaction: for a load that more than doubles a layer (an initial load),
    drop the layer table's indexes and foreign keys, and recreate them when the block ends
    (see :mod:`layers.bulk_indexes`). Yields whether it did.
    """
    dropped = await drop_indexes_for_load(conn, layer, rows=staged_rows)
    yield dropped is not None
    if dropped is not None:
        await dropped.restore(conn)
