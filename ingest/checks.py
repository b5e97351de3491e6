"""Set-based checks on staged rows, in SQL: duplicate keys, keys already taken, back-dated versions.

Each check returns ``(row_no, errors, key)`` for the rows it rejects. Pipeline
topology lives in :mod:`ingest.pipelines`; it is run from here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import asyncpg

from ingest.report import MAP_SAMPLE
from layers.bulk import Staging
from layers.errors import FieldError
from layers.model import Layer
from layers.registry import Registry
from layers.sql import quote_ident
from spatial.crs import STORAGE_SRID

if TYPE_CHECKING:
    from ingest.load import Delivery

Found = list[tuple[int, list[FieldError], str | None]]


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


async def missing_keys(conn: asyncpg.Connection, staging: Staging, mode: str) -> Found:
    """Rows without a key cannot be matched by upsert or replace-extent."""
    key = staging.layer.attributes.key
    if not key or mode == "append":
        return []
    any_null = " OR ".join(f"{quote_ident(k)} IS NULL" for k in key)
    rows = await conn.fetch(f"SELECT row_no FROM {quote_ident(staging.name)} WHERE {any_null} ORDER BY row_no")  # noqa: S608
    message = f"has no {' / '.join(key)}, which --mode {mode} needs to find the feature it updates"
    return [(r["row_no"], [FieldError(key[0], "required", message)], None) for r in rows]


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


async def run_all(delivery: Delivery) -> dict[str, Found]:
    """Every set-based check on every staging table. Rejected rows leave staging (and its count);
    returns them by layer id for the report."""
    from ingest.pipelines import topology

    req = delivery.request
    conn = delivery.conn
    found = delivery.found
    for layer_id, stage in delivery.stages.items():
        rows = await duplicates(conn, stage.staging)
        rows += await missing_keys(conn, stage.staging, req.mode)
        if req.mode == "append":
            rows += await taken_keys(conn, stage.staging)
        else:
            rows += await back_dated(conn, stage.staging, req.valid_from)
        if rows:
            merged = _first_per_row(rows)
            await drop_rows(conn, stage.staging, [r[0] for r in merged])
            stage.rows -= len(merged)
            found[layer_id] = merged
    if req.job == "pipelines":
        await topology(delivery)
    return found


def _first_per_row(rows: Found) -> Found:
    merged: dict[int, tuple[int, list[FieldError], str | None]] = {}
    for row_no, errors, key in rows:
        if row_no in merged:
            merged[row_no][1].extend(errors)
        else:
            merged[row_no] = (row_no, list(errors), key)
    return sorted(merged.values(), key=lambda r: r[0])


async def drop_rows(conn: asyncpg.Connection, staging: Staging, row_nos: list[int]) -> None:
    if row_nos:
        await conn.execute(f"DELETE FROM {quote_ident(staging.name)} WHERE row_no = ANY($1::bigint[])", row_nos)  # noqa: S608


async def changed_sample(conn: asyncpg.Connection, registry: Registry, changeset_id: int) -> list[dict[str, Any]]:
    """Up to :data:`MAP_SAMPLE` changed features per layer and operation, as GeoJSON, for the report map."""
    layers = await conn.fetch("SELECT DISTINCT layer_id FROM onemap.changes WHERE changeset_id = $1", changeset_id)
    out: list[dict[str, Any]] = []
    for row in layers:
        layer: Layer = registry.get(row["layer_id"])
        label = f"t.{quote_ident(layer.attributes.label)}" if layer.attributes.label else "NULL"
        rows = await conn.fetch(
            f"""
            SELECT c.op, c.fid, c.version_after AS version, {label}::text AS label,
                   ST_AsGeoJSON(t.geom, 7)::json AS geometry
            FROM (SELECT op, fid, version_after, row_number() OVER (PARTITION BY op ORDER BY id) AS k
                  FROM onemap.changes WHERE changeset_id = $1 AND layer_id = $2) c
            JOIN {layer.table} t ON t.fid = c.fid AND t.version = c.version_after
            WHERE c.k <= $3
            """,  # noqa: S608
            changeset_id, layer.id, MAP_SAMPLE,
        )
        out += [{"layer": layer.id, "op": r["op"], "fid": r["fid"], "version": r["version"], "label": r["label"],
                 "geometry": r["geometry"]} for r in rows]
    return out


async def staged_rows(conn: asyncpg.Connection, staging: Staging, row_nos: list[int]) -> list[int]:
    """Which of ``row_nos`` are (still) in the staging table."""
    if not row_nos:
        return []
    rows = await conn.fetch(
        f"SELECT row_no FROM {quote_ident(staging.name)} WHERE row_no = ANY($1::bigint[])", row_nos  # noqa: S608
    )
    return [r["row_no"] for r in rows]
