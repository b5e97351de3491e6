"""The versioned write path. Every writer — the API and the importers — comes through here.

Each operation runs in one transaction (a savepoint when the caller already has
one), closes the previous version instead of changing it, and records a change
row. Nothing is ever physically deleted: retiring sets ``valid_to``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
import orjson
import shapely
from shapely.geometry.base import BaseGeometry

from layers.errors import (
    FeatureNotFound,
    FeatureRetired,
    FieldError,
    InvalidValidTime,
    ValidationFailed,
    VersionConflict,
)
from layers.model import Layer
from layers.schema import validate_properties
from layers.sql import quote_ident
from spatial.crs import STORAGE_SRID
from spatial.geometry import check_geometry

EDITS_CHANNEL = "onemap_edits"
ChangeSource = Literal["api", "import", "sample", "admin", "test"]
Op = Literal["insert", "replace", "update", "retire"]


@dataclass(frozen=True, slots=True)
class FeatureIn:
    """A feature to write: geometry in EPSG:4490 lon/lat degrees, properties by field name."""

    geometry: BaseGeometry | None
    properties: dict[str, Any]


@dataclass(frozen=True, slots=True)
class VersionRef:
    """What a write produced."""

    fid: int
    version: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    recorded_at: dt.datetime
    version_before: int | None = None


@dataclass(frozen=True, slots=True)
class _CurrentVersion:
    version: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    bbox: tuple[float, float, float, float] | None


async def open_changeset(
    conn: asyncpg.Connection,
    *,
    actor: str,
    source: ChangeSource,
    note: str | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """Start a changeset: who is writing, from where, and why. Returns its id."""
    changeset_id: int = await conn.fetchval(
        "INSERT INTO onemap.changesets (actor, source, note, details) VALUES ($1, $2, $3, $4) RETURNING id",
        actor, source, note, details or {},
    )
    return changeset_id


def prepare(
    layer: Layer, feature: FeatureIn, *, partial: bool = False, make_valid: bool = False
) -> tuple[bytes | None, dict[str, Any]]:
    """Validate a feature against the layer; return (WKB in EPSG:4490, clean properties).

    Raises:
        ValidationFailed: with every field and geometry problem at once.
    """
    clean, errors = validate_properties(layer.attributes, feature.properties, partial=partial)
    wkb: bytes | None = None
    if feature.geometry is not None or not partial:
        assert layer.geometry_type is not None
        geom, problems, _ = check_geometry(feature.geometry, target=layer.geometry_type, make_valid=make_valid)
        errors += [FieldError("geometry", p.code, p.message) for p in problems]
        if geom is not None:
            wkb = shapely.to_wkb(geom, hex=False, output_dimension=2)
    if errors:
        raise ValidationFailed(errors=errors)
    return wkb, clean


def _columns(layer: Layer) -> list[str]:
    return [f.name for f in layer.attributes.fields]


async def _notify(conn: asyncpg.Connection, layer: Layer, boxes: Sequence[tuple[float, ...] | None]) -> None:
    payload = {"layer": layer.id, "bboxes": [list(b) for b in boxes if b is not None]}
    await conn.execute("SELECT pg_notify($1, $2)", EDITS_CHANNEL, orjson.dumps(payload).decode())


async def _record_change(
    conn: asyncpg.Connection, *, changeset_id: int, layer: Layer, fid: int, op: Op,
    before: int | None, after: int, unconditional: bool = False,
) -> None:
    await conn.execute(
        "INSERT INTO onemap.changes (changeset_id, layer_id, fid, op, version_before, version_after, unconditional) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        changeset_id, layer.id, fid, op, before, after, unconditional,
    )


async def _insert_version(
    conn: asyncpg.Connection, layer: Layer, *, fid: int | None, version: int, valid_from: dt.datetime | None,
    changeset_id: int, wkb: bytes, props: dict[str, Any],
) -> VersionRef:
    cols = _columns(layer)
    names = ", ".join(quote_ident(c) for c in cols)
    values = ", ".join(f"${i + 6}" for i in range(len(cols)))
    fid_sql = "coalesce($1::bigint, nextval('onemap.feature_id_seq'))"
    row = await conn.fetchrow(
        f"""
        INSERT INTO {layer.table} (fid, version, valid_from, changeset_id, geom{", " + names if cols else ""})
        VALUES ({fid_sql}, $2, coalesce($3::timestamptz, now()), $4,
                ST_GeomFromWKB($5, {STORAGE_SRID}){", " + values if cols else ""})
        RETURNING fid, version, valid_from, valid_to, recorded_at
        """,  # noqa: S608
        fid, version, valid_from, changeset_id, wkb, *[props.get(c) for c in cols],
    )
    return VersionRef(
        fid=row["fid"], version=row["version"], valid_from=row["valid_from"], valid_to=row["valid_to"],
        recorded_at=row["recorded_at"], version_before=version - 1 if version > 1 else None,
    )


async def insert_feature(
    conn: asyncpg.Connection,
    *,
    layer: Layer,
    feature: FeatureIn,
    changeset_id: int,
    valid_from: dt.datetime | None = None,
    make_valid: bool = False,
) -> VersionRef:
    """Create a new feature (version 1) valid from ``valid_from`` (default: now)."""
    wkb, props = prepare(layer, feature, make_valid=make_valid)
    assert wkb is not None
    async with conn.transaction():
        ref = await _insert_version(
            conn, layer, fid=None, version=1, valid_from=valid_from, changeset_id=changeset_id,
            wkb=wkb, props=props,
        )
        await _record_change(conn, changeset_id=changeset_id, layer=layer, fid=ref.fid, op="insert",
                             before=None, after=1)
        await _touch_layer(conn, layer, ref.valid_from)
        await _notify(conn, layer, [shapely.from_wkb(wkb).bounds])
    return ref


async def _lock_latest(conn: asyncpg.Connection, layer: Layer, fid: int) -> _CurrentVersion:
    row = await conn.fetchrow(
        f"""
        SELECT version, valid_from, valid_to,
               ARRAY[ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom)] AS bbox
        FROM {layer.table} WHERE fid = $1 ORDER BY version DESC LIMIT 1 FOR UPDATE
        """,  # noqa: S608
        fid,
    )
    if row is None:
        raise FeatureNotFound(f"feature {fid} does not exist in {layer.id}")
    bbox = tuple(row["bbox"]) if row["bbox"] is not None else None
    return _CurrentVersion(row["version"], row["valid_from"], row["valid_to"], bbox)


def _check_expected(current: _CurrentVersion, expected_version: int | None, fid: int) -> None:
    if expected_version is not None and expected_version != current.version:
        raise VersionConflict(
            f"feature {fid} is at version {current.version}, not {expected_version}; read it again"
        )


async def _resolve_time(conn: asyncpg.Connection, when: dt.datetime | None) -> dt.datetime:
    if when is not None:
        return when
    now: dt.datetime = await conn.fetchval("SELECT now()")
    return now


async def _close(conn: asyncpg.Connection, layer: Layer, fid: int, version: int, at: dt.datetime) -> None:
    await conn.execute(
        f"UPDATE {layer.table} SET valid_to = $3, superseded_at = now() "  # noqa: S608
        "WHERE fid = $1 AND version = $2",
        fid, version, at,
    )


async def _new_version(
    conn: asyncpg.Connection, *, layer: Layer, fid: int, wkb: bytes, props: dict[str, Any], changeset_id: int,
    valid_from: dt.datetime | None, expected_version: int | None, op: Op, unconditional: bool = False,
) -> VersionRef:
    current = await _lock_latest(conn, layer, fid)
    if current.valid_to is not None:
        raise FeatureRetired(f"feature {fid} in {layer.id} was retired at {current.valid_to.isoformat()}")
    _check_expected(current, expected_version, fid)
    at = await _resolve_time(conn, valid_from)
    if at < current.valid_from:
        raise InvalidValidTime(
            f"valid time {at.isoformat()} is before the current version's start "
            f"{current.valid_from.isoformat()}; a new version cannot begin before the one it replaces"
        )
    await _close(conn, layer, fid, current.version, at)
    ref = await _insert_version(
        conn, layer, fid=fid, version=current.version + 1, valid_from=at, changeset_id=changeset_id,
        wkb=wkb, props=props,
    )
    await _record_change(conn, changeset_id=changeset_id, layer=layer, fid=fid, op=op,
                         before=current.version, after=ref.version, unconditional=unconditional)
    await _touch_layer(conn, layer, at)
    await _notify(conn, layer, [current.bbox, shapely.from_wkb(wkb).bounds])
    return ref


async def replace_feature(
    conn: asyncpg.Connection,
    *,
    layer: Layer,
    fid: int,
    feature: FeatureIn,
    changeset_id: int,
    valid_from: dt.datetime | None = None,
    expected_version: int | None = None,
    make_valid: bool = False,
    unconditional: bool = False,
) -> VersionRef:
    """Replace a feature's geometry and every property with a new version.

    ``unconditional`` marks, in the audit row, a write that named no version (no If-Match).
    """
    wkb, props = prepare(layer, feature, make_valid=make_valid)
    assert wkb is not None
    async with conn.transaction():
        return await _new_version(
            conn, layer=layer, fid=fid, wkb=wkb, props=props, changeset_id=changeset_id,
            valid_from=valid_from, expected_version=expected_version, op="replace", unconditional=unconditional,
        )


async def update_feature(
    conn: asyncpg.Connection,
    *,
    layer: Layer,
    fid: int,
    patch: dict[str, Any],
    geometry: BaseGeometry | None,
    changeset_id: int,
    valid_from: dt.datetime | None = None,
    expected_version: int | None = None,
    unconditional: bool = False,
) -> VersionRef:
    """Merge-patch a feature (RFC 7396: ``None`` clears a property) into a new version.

    ``unconditional`` marks, in the audit row, a write that named no version (no If-Match).
    """
    partial_wkb, partial_props = prepare(layer, FeatureIn(geometry, patch), partial=True)
    async with conn.transaction():
        cols = _columns(layer)
        row = await conn.fetchrow(
            f"SELECT ST_AsBinary(geom) AS wkb{''.join(', ' + quote_ident(c) for c in cols)} "  # noqa: S608
            f"FROM {layer.table} WHERE fid = $1 AND valid_to IS NULL",
            fid,
        )
        if row is None:
            await _lock_latest(conn, layer, fid)  # raises FeatureNotFound for unknown fids
            raise FeatureRetired(f"feature {fid} in {layer.id} has been retired")
        merged = {c: row[c] for c in cols}
        merged.update(partial_props)
        merged = {k: v for k, v in merged.items() if v is not None}
        wkb = partial_wkb if partial_wkb is not None else bytes(row["wkb"])
        full_wkb, props = prepare(layer, FeatureIn(shapely.from_wkb(wkb), merged))
        assert full_wkb is not None
        return await _new_version(
            conn, layer=layer, fid=fid, wkb=full_wkb, props=props, changeset_id=changeset_id,
            valid_from=valid_from, expected_version=expected_version, op="update", unconditional=unconditional,
        )


async def retire_feature(
    conn: asyncpg.Connection,
    *,
    layer: Layer,
    fid: int,
    changeset_id: int,
    valid_to: dt.datetime | None = None,
    expected_version: int | None = None,
    unconditional: bool = False,
) -> VersionRef:
    """End a feature's life at ``valid_to`` (default: now). Its versions all stay.

    ``unconditional`` marks, in the audit row, a write that named no version (no If-Match).
    """
    async with conn.transaction():
        current = await _lock_latest(conn, layer, fid)
        if current.valid_to is not None:
            raise FeatureRetired(f"feature {fid} in {layer.id} was already retired")
        _check_expected(current, expected_version, fid)
        at = await _resolve_time(conn, valid_to)
        if at < current.valid_from:
            raise InvalidValidTime(
                f"retirement time {at.isoformat()} is before the current version's start "
                f"{current.valid_from.isoformat()}"
            )
        await _close(conn, layer, fid, current.version, at)
        await _record_change(conn, changeset_id=changeset_id, layer=layer, fid=fid, op="retire",
                             before=current.version, after=current.version, unconditional=unconditional)
        await _touch_layer(conn, layer, at)
        await _notify(conn, layer, [current.bbox])
        row = await conn.fetchrow(
            f"SELECT valid_from, valid_to, recorded_at FROM {layer.table} "  # noqa: S608
            "WHERE fid = $1 AND version = $2",
            fid, current.version,
        )
    return VersionRef(fid=fid, version=current.version, valid_from=row["valid_from"], valid_to=row["valid_to"],
                      recorded_at=row["recorded_at"], version_before=current.version)


async def _touch_layer(conn: asyncpg.Connection, layer: Layer, at: dt.datetime) -> None:
    """Widen the registry's temporal extent to include ``at``; the end stays open while features live."""
    await conn.execute(
        "UPDATE onemap.layers SET temporal_start = LEAST(coalesce(temporal_start, $2), $2) "
        "WHERE id = $1 AND (temporal_start IS NULL OR temporal_start > $2)",
        layer.id, at,
    )
