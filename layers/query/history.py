"""History reads the Features API needs besides pages: a feature's versions, its newest valid
version (to tell 404 from 410), and a collection's audit trail.

Correction versions (``valid_to <= valid_from``: a version that was never true) are listed in the
TimeMap, flagged, but never chosen as "latest".
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from layers.model import Layer


async def latest_valid_version(conn: asyncpg.Connection, *, layer: Layer, fid: int) -> asyncpg.Record | None:
    """(version, valid_from, valid_to) of the newest non-correction version of ``fid``, or None."""
    return await conn.fetchrow(
        f"SELECT version, valid_from, valid_to FROM {layer.table} WHERE fid = $1 "  # noqa: S608 - quoted
        "AND (valid_to IS NULL OR valid_to > valid_from) ORDER BY version DESC LIMIT 1",
        fid,
    )


async def version_rows(conn: asyncpg.Connection, *, layer: Layer, fid: int) -> Sequence[asyncpg.Record]:
    """Every version of ``fid``, oldest first, with the operation that wrote it (TimeMap rows).

    Columns: version, valid_from, valid_to, recorded_at, superseded_at, changeset_id, op, comment (the
    changeset's reason for the change, ``details->>'comment'``).
    """
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT t.version, t.valid_from, t.valid_to, t.recorded_at, t.superseded_at, t.changeset_id, "  # noqa: S608
        # A version a bulk merge wrote has no per-feature row: version 1 was an insert, later ones replace.
        "coalesce(c.op, CASE WHEN t.version = 1 THEN 'insert' ELSE 'replace' END) AS op, "
        "(SELECT s.details->>'comment' FROM onemap.changesets s WHERE s.id = t.changeset_id) AS comment "
        f"FROM {layer.table} t LEFT JOIN onemap.changes c ON c.changeset_id = t.changeset_id "
        "AND c.layer_id = $2 AND c.fid = t.fid AND c.version_after = t.version AND c.op <> 'retire' "
        "WHERE t.fid = $1 ORDER BY t.version",
        fid,
        layer.id,
    )
    return rows


async def audit_trail(
    conn: asyncpg.Connection, *, layer: Layer, fid: int | None, before: int | None, limit: int
) -> Sequence[asyncpg.Record]:
    """The newest ``limit`` changes to ``layer`` (optionally of one feature, below change id ``before``).

    A bulk merge's inserts or replacements are one entry (``fid`` NULL, ``features`` how many) in the
    layer's trail, and one entry per version in a feature's trail, under the bulk row's id.

    Columns: id, fid, op, version_before, version_after, features, recorded_at, unconditional, changeset,
    actor, source, note, comment. ``unconditional`` is true for a Part 4 write that named no version (no If-Match,
    or ``*``).
    """
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""
        SELECT c.id, c.fid, c.op, c.version_before, c.version_after, c.features, c.recorded_at, c.unconditional,
               s.id AS changeset, s.actor, s.source, s.note, s.details->>'comment' AS comment
        FROM (
          SELECT id, changeset_id, fid, op, version_before, version_after, NULL::bigint AS features, recorded_at,
                 unconditional
          FROM onemap.changes
          WHERE layer_id = $1 AND ($2::bigint IS NULL OR fid = $2) AND ($3::bigint IS NULL OR id < $3)
          UNION ALL
          SELECT b.id, b.changeset_id, NULL, b.op, NULL, NULL, b.features, b.recorded_at, false
          FROM onemap.bulk_changes b
          WHERE $2::bigint IS NULL AND b.layer_id = $1 AND ($3::bigint IS NULL OR b.id < $3)
          UNION ALL
          SELECT b.id, b.changeset_id, t.fid, b.op, NULLIF(t.version - 1, 0), t.version, NULL, b.recorded_at, false
          FROM {layer.table} t
          JOIN onemap.bulk_changes b ON b.layer_id = $1 AND b.changeset_id = t.changeset_id
            AND b.op = CASE WHEN t.version = 1 THEN 'insert' ELSE 'replace' END
          WHERE t.fid = $2 AND ($3::bigint IS NULL OR b.id < $3)
            AND NOT EXISTS (SELECT 1 FROM onemap.changes f WHERE f.layer_id = $1 AND f.fid = t.fid
                            AND f.changeset_id = t.changeset_id AND f.version_after = t.version AND f.op <> 'retire')
        ) c JOIN onemap.changesets s ON s.id = c.changeset_id
        ORDER BY c.id DESC LIMIT $4
        """,  # noqa: S608 - the table name comes from the registry
        layer.id,
        fid,
        before,
        limit,
    )
    return rows
