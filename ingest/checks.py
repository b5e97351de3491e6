"""Set-based checks on staged rows, in SQL: duplicate keys, keys already taken, back-dated versions.

Each check returns ``(row_no, errors, key)`` for the rows it rejects. Job-specific
checks (pipeline topology) are hooks the job registers in :mod:`ingest.hooks`; they run
after these, on the same narrow :class:`~ingest.staged.CheckView`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from ingest.hooks import check_hooks
from ingest.staged import CheckView, Found, drop_rows, first_per_row
from layers.bulk import Staging
from layers.errors import FieldError
from layers.sql import quote_ident
from spatial.crs import STORAGE_SRID


def _key_sql(key: Sequence[str], alias: str) -> str:
    """The key as one text value for messages (``a`` or ``a / b``)."""
    return " || ' / ' || ".join(f"coalesce({alias}.{quote_ident(k)}::text, '∅')" for k in key)


async def duplicates(conn: asyncpg.Connection, staging: Staging) -> Found:
    """Rows sharing a key inside the delivery: every one of them is rejected."""
    key = staging.layer.attributes.key
    if not key:
        return []
    stage = quote_ident(staging.name)
    cols = ", ".join(quote_ident(k) for k in key)
    not_null = " AND ".join(f"{quote_ident(k)} IS NOT NULL" for k in key)
    rows = await conn.fetch(
        f"""
        SELECT row_no, shown, n FROM (
          SELECT row_no, {_key_sql(key, "s")} AS shown, count(*) OVER (PARTITION BY {cols}) AS n
          FROM {stage} s WHERE {not_null}
        ) x WHERE n > 1 ORDER BY row_no
        """  # noqa: S608
    )
    name = " / ".join(key)
    return [(r["row_no"], [FieldError(key[0], "duplicate",
                                      f"{name} {r['shown']!r} appears {r['n']} times in the delivery")], r["shown"])
            for r in rows]


def missing_key_error(key: Sequence[str], mode: str) -> FieldError:
    """Why a row without a key is rejected by upsert or replace-extent."""
    return FieldError(key[0], "required",
                      f"has no {' / '.join(key)}, which --mode {mode} needs to find the feature it updates")


async def missing_keys(conn: asyncpg.Connection, staging: Staging, mode: str) -> Found:
    """Rows without a key cannot be matched by upsert or replace-extent."""
    key = staging.layer.attributes.key
    if not key or mode == "append":
        return []
    any_null = " OR ".join(f"{quote_ident(k)} IS NULL" for k in key)
    rows = await conn.fetch(f"SELECT row_no FROM {quote_ident(staging.name)} WHERE {any_null} ORDER BY row_no")  # noqa: S608
    return [(r["row_no"], [missing_key_error(key, mode)], None) for r in rows]


async def taken_keys(conn: asyncpg.Connection, staging: Staging) -> Found:
    """For append: rows whose key is already a current feature (appending would duplicate it)."""
    layer = staging.layer
    key = layer.attributes.key
    if not key:
        return []
    on = " AND ".join(f"t.{quote_ident(k)} = s.{quote_ident(k)}" for k in key)
    rows = await conn.fetch(
        f"""
        SELECT s.row_no, {_key_sql(key, "s")} AS shown, t.fid FROM {quote_ident(staging.name)} s
        JOIN {layer.table} t ON t.valid_to IS NULL AND {on} ORDER BY s.row_no
        """  # noqa: S608
    )
    return [(r["row_no"], [FieldError(key[0], "exists",
                                      f"{' / '.join(key)} {r['shown']!r} already exists in {layer.id} "
                                      f"(feature {r['fid']}); use --mode upsert to update it")], r["shown"])
            for r in rows]


async def back_dated(conn: asyncpg.Connection, staging: Staging, valid_from: Any) -> Found:
    """For upsert: changed rows whose feature already has a version starting after the delivery's valid time.

    Same condition as :func:`layers.bulk.upsert_by_key` refuses wholesale; here only those rows go.
    """
    layer = staging.layer
    key = layer.attributes.key
    if not key:
        return []
    on = " AND ".join(f"t.{quote_ident(k)} = s.{quote_ident(k)}" for k in key)
    attrs = [quote_ident(f.name) for f in layer.attributes.fields]
    same = (f"ROW({', '.join('t.' + a for a in attrs)}) IS NOT DISTINCT FROM ROW({', '.join('s.' + a for a in attrs)})"
            if attrs else "true")
    rows = await conn.fetch(
        f"""
        SELECT s.row_no, {_key_sql(key, "s")} AS shown, t.valid_from,
               coalesce(s.valid_from, $1::timestamptz, now()) AS vf
        FROM {quote_ident(staging.name)} s JOIN {layer.table} t ON t.valid_to IS NULL AND {on}
        WHERE coalesce(s.valid_from, $1::timestamptz, now()) < t.valid_from
          AND NOT (t.geom = ST_GeomFromWKB(s.geom_wkb, {STORAGE_SRID}) AND {same})
        ORDER BY s.row_no
        """,  # noqa: S608
        valid_from,
    )
    return [(r["row_no"], [FieldError("valid_from", "back-dated",
                                      f"{r['shown']!r} already has a version valid from {r['valid_from'].isoformat()}, "
                                      f"after this delivery's valid time {r['vf'].isoformat()}; "
                                      "set --valid-from to the survey date")], r["shown"])
            for r in rows]


async def run_all(view: CheckView, job: str) -> dict[str, Found]:
    """Every set-based check on every staging table, then the job's own check hooks.

    Rejected rows leave staging (and its count); returns them by layer id for the report.
    """
    for layer_id, stage in view.stages.items():
        rows = await duplicates(view.conn, stage.staging)
        rows += await missing_keys(view.conn, stage.staging, view.mode)
        if view.mode == "append":
            rows += await taken_keys(view.conn, stage.staging)
        else:
            rows += await back_dated(view.conn, stage.staging, view.valid_from)
        if rows:
            merged = first_per_row(rows)
            await drop_rows(view.conn, stage.staging, [r[0] for r in merged])
            stage.rows -= len(merged)
            view.found[layer_id] = merged
    for hook in check_hooks(job):
        await hook(view)
    return view.found
