"""The statements every versioned write runs, whichever shape it has.

One Map writes versions two ways: :mod:`layers.versioning` one feature at a time (the API,
map editing, the sample loader's odd cases) and :mod:`layers.bulk` a staged delivery at a
time (imports, the sample loader). Both come through the same four steps, whose SQL lives in
``statements/*.sql`` and nowhere else:

1. **close** (``close_versions.sql``): end the open version of each feature at a valid time,
   never before it began and never twice; for a retirement, also audit it;
2. **write** (``insert_versions.sql``): add the new versions with their audit rows;
3. **audit** (``record_changes.sql``): one ``onemap.changes`` row per feature touched, embedded
   in steps 1 and 2 so a version is never written without its change row;
4. **touch and notify** (``after_write.sql``): keep the layer's temporal extent in the registry
   right and tell tile caches which boxes changed (delivered at commit).

Each caller differs only in the set of rows it hands to steps 1 and 2: a one-row ``SELECT`` of
bound parameters for a single feature, a join over the staging tables for a delivery. Callers
run these inside their own transaction; a refused close raises, and the transaction unwinds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import asyncpg
import orjson

from layers.errors import InvalidValidTime, VersionConflict
from layers.model import Layer
from layers.sql import bind_named, quote_ident
from spatial.crs import STORAGE_SRID

EDITS_CHANNEL = "onemap_edits"

Box = tuple[float, float, float, float]


@cache
def _template(name: str) -> str:
    # Comments go before str.format sees the text, so braces in prose never expand.
    text = resources.files("layers").joinpath("statements", name).read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


def _statement(name: str, *, audit: bool = True, **parts: str) -> str:
    return _formatted(name, audit, tuple(sorted(parts.items())))


# The audit step of a write whose changes a bulk summary row records instead (never executed:
# an unreferenced CTE that does not modify data is skipped).
_NO_AUDIT = "SELECT 1"


@lru_cache(maxsize=256)
def _formatted(name: str, audit: bool, parts: tuple[tuple[str, str], ...]) -> str:
    record = _template("record_changes.sql") if audit else _NO_AUDIT
    return _template(name).format(record_changes=record, **dict(parts))


def _box(row: asyncpg.Record) -> Box | None:
    if row["xmin"] is None:
        return None
    return (row["xmin"], row["ymin"], row["xmax"], row["ymax"])


@dataclass(frozen=True, slots=True)
class Closed:
    """What :func:`close_versions` did. For a single feature the fields are its own values.

    Attributes:
        count: Versions closed.
        valid_from: Earliest start of a closed version.
        valid_to: Latest end given to a closed version.
        recorded_at: Earliest transaction time of a closed version.
        box: EPSG:4490 lon/lat extent of the closed versions' geometry, or None if none closed.
    """

    count: int
    valid_from: dt.datetime | None
    valid_to: dt.datetime | None
    recorded_at: dt.datetime | None
    box: Box | None


@dataclass(frozen=True, slots=True)
class Written:
    """What :func:`insert_versions` wrote. For a single feature the fields are its own values.

    Attributes:
        count: Versions written.
        fid: Smallest feature id written.
        version: Smallest version number written.
        valid_from: Earliest valid time written (what the layer's temporal extent must include).
        recorded_at: Transaction time of the write.
        box: EPSG:4490 lon/lat extent of the new geometries, or None if nothing was written.
    """

    count: int
    fid: int | None
    version: int | None
    valid_from: dt.datetime | None
    recorded_at: dt.datetime | None
    box: Box | None


async def close_versions(
    conn: asyncpg.Connection,
    *,
    layer: Layer,
    closing: str,
    values: Mapping[str, Any],
    changeset_id: int,
    at: dt.datetime | None,
    retiring: bool,
    unconditional: bool = False,
) -> Closed:
    """Close the open version of every feature that ``closing`` names; all of them or none.

    Args:
        conn: A connection inside the caller's transaction.
        layer: The layer whose table is written.
        closing: A ``SELECT`` yielding ``fid``, ``version`` and ``at`` (NULL: use ``at`` below),
            with ``:name`` parameters bound from ``values``.
        values: Values for the parameters of ``closing``.
        changeset_id: The changeset the audit row belongs to.
        at: The valid time a row without its own ``at`` closes at; None means the transaction's now().
        retiring: True when closing is the whole change (a retirement): it is audited here.
        unconditional: The write named no version (a Part 4 write without If-Match); audited.

    Raises:
        InvalidValidTime: a version would end before it began (nothing is closed).
        VersionConflict: a version was closed by another writer meanwhile (nothing is closed).
    """
    sql, args = bind_named(
        _statement("close_versions.sql", table=layer.table, closing=closing),
        {**values, "at": at, "retiring": retiring, "changeset_id": changeset_id, "layer_id": layer.id,
         "unconditional": unconditional},
    )
    row = await conn.fetchrow(sql, *args)
    if row["closed"] < row["asked"]:
        await _refuse_close(conn, layer=layer, closing=closing, values=values, at=at,
                            refused=row["asked"] - row["closed"])
    return Closed(count=row["closed"], valid_from=row["valid_from"], valid_to=row["valid_to"],
                  recorded_at=row["recorded_at"], box=_box(row))


async def _refuse_close(
    conn: asyncpg.Connection, *, layer: Layer, closing: str, values: Mapping[str, Any], at: dt.datetime | None,
    refused: int,
) -> None:
    """Say why close_versions.sql left rows open; raising unwinds the caller's transaction."""
    sql, args = bind_named(
        f"""
        SELECT c.fid, t.valid_from, t.valid_to, coalesce(c.at, :at::timestamptz, now()) AS at
        FROM ({closing}) c JOIN {layer.table} t ON t.fid = c.fid AND t.version = c.version
        WHERE t.valid_to IS NOT NULL OR coalesce(c.at, :at::timestamptz, now()) < t.valid_from
        ORDER BY t.valid_to IS NULL DESC, c.fid LIMIT 1
        """,  # noqa: S608
        {**values, "at": at},
    )
    first = await conn.fetchrow(sql, *args)
    if first is None or first["valid_to"] is not None:
        raise VersionConflict(f"{refused} feature(s) in {layer.id} changed while this write ran; read them again")
    raise InvalidValidTime(
        f"valid time {first['at'].isoformat()} is before the start {first['valid_from'].isoformat()} of "
        f"feature {first['fid']}'s current version ({refused} feature(s) in {layer.id}); "
        "a new version cannot begin before the one it replaces"
    )


async def insert_versions(
    conn: asyncpg.Connection,
    *,
    layer: Layer,
    incoming: str,
    values: Mapping[str, Any],
    changeset_id: int,
    valid_from: dt.datetime | None,
    op: str,
    unconditional: bool = False,
    audit_rows: bool = True,
) -> Written:
    """Write the versions ``incoming`` yields, each with its audit row (unless ``audit_rows`` is False:
    a bulk merge then records what it wrote with :func:`record_bulk_change`).

    Args:
        conn: A connection inside the caller's transaction.
        layer: The layer whose table is written.
        incoming: A ``SELECT`` yielding ``fid``, ``version``, ``valid_from`` (NULL: use
            ``valid_from`` below), ``src_hash``, ``geom_wkb`` (EPSG:4490 lon/lat WKB) and every
            attribute column of the layer by name, with ``:name`` parameters bound from ``values``.
        values: Values for the parameters of ``incoming``.
        changeset_id: The changeset the versions and audit rows belong to.
        valid_from: The valid time of rows without their own; None means the transaction's now().
        op: The audited operation of versions after the first (``replace`` or ``update``).
        unconditional: The write named no version (a Part 4 write without If-Match); audited.
        audit_rows: Record one ``onemap.changes`` row per version (every per-feature write does).
    """
    names = [quote_ident(f.name) for f in layer.attributes.fields]
    sql, args = bind_named(
        _statement(
            "insert_versions.sql", audit=audit_rows, table=layer.table, incoming=incoming, srid=str(STORAGE_SRID),
            columns="".join(f", {n}" for n in names), incoming_columns="".join(f", i.{n}" for n in names),
        ),
        {**values, "valid_from": valid_from, "op": op, "changeset_id": changeset_id,
         **({"layer_id": layer.id, "unconditional": unconditional} if audit_rows else {})},
    )
    row = await conn.fetchrow(sql, *args)
    return Written(count=row["written"], fid=row["fid"], version=row["version"], valid_from=row["valid_from"],
                   recorded_at=row["recorded_at"], box=_box(row))


async def record_bulk_change(
    conn: asyncpg.Connection, *, layer: Layer, changeset_id: int, op: str, features: int, boxes: Sequence[Box | None],
) -> None:
    """The audit row of a bulk merge's inserts or replacements (``op``) in one layer: how many, and the
    extent of the old and new geometries (``boxes``, EPSG:4490). A second merge into the same layer in
    the same changeset adds to the row. Each version it stands for names the changeset itself.
    """
    if not features:
        return
    present = [b for b in boxes if b is not None]
    box: tuple[float | None, ...] = (
        (min(b[0] for b in present), min(b[1] for b in present), max(b[2] for b in present),
         max(b[3] for b in present)) if present else (None, None, None, None)
    )
    sql, args = bind_named(
        _template("record_bulk_change.sql"),
        {"changeset_id": changeset_id, "layer_id": layer.id, "op": op, "features": features,
         "west": box[0], "south": box[1], "east": box[2], "north": box[3]},
    )
    await conn.execute(sql, *args)


async def after_write(
    conn: asyncpg.Connection,
    *,
    layer: Layer,
    earliest: dt.datetime | None,
    boxes: Sequence[Box | None],
    bulk: bool = False,
) -> None:
    """Touch the layer's temporal extent and notify tile caches of the changed boxes.

    Args:
        conn: A connection inside the caller's transaction (the notification waits for commit).
        layer: The layer written.
        earliest: The earliest valid time of a version written; None when only closing.
        boxes: EPSG:4490 lon/lat extents of the old and the new geometries; None entries are skipped.
        bulk: Marks a whole delivery in the payload, for listeners that would rather drop the layer.
    """
    payload: dict[str, Any] = {"layer": layer.id, "bboxes": [list(b) for b in boxes if b is not None]}
    if bulk:
        payload["bulk"] = True
    sql, args = bind_named(
        _statement("after_write.sql", table=layer.table),
        {"earliest": earliest, "layer_id": layer.id, "channel": EDITS_CHANNEL,
         "payload": orjson.dumps(payload).decode()},
    )
    await conn.execute(sql, *args)
