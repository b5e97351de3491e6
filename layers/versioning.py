"""The versioned write path, one feature at a time: the shape the API and map editing use.

One Map has one set of versioning rules and two entry points to them. This module applies
them to a single feature, with the checks an interactive edit needs (the feature exists, is
not retired, is at the version the editor read — the If-Match guard). :mod:`layers.bulk`
applies the same rules set-based to a staged delivery, for imports and the sample loader.
Both run the statements of :mod:`layers.lifecycle`, so closing a version, recording the change
in ``onemap.changes``, touching the layer's temporal extent and notifying tile caches are
defined once.

Each operation runs in one transaction (a savepoint when the caller already has one), closes
the previous version instead of changing it, and records a change row. Nothing is ever
physically deleted: retiring sets ``valid_to``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeVar

import asyncpg
import shapely
from shapely.geometry.base import BaseGeometry

from layers.errors import (
    FeatureNotFound,
    FeatureRetired,
    FieldError,
    InvalidValidTime,
    OvertakenByNewerWrite,
    ValidationFailed,
    VersionConflict,
)
from layers.lifecycle import EDITS_CHANNEL, Written, after_write, close_versions, insert_versions
from layers.model import Layer
from layers.schema import validate_properties
from layers.sql import quote_ident
from layers.topology import Derived, follow_point, refuse_retire
from spatial.geometry import check_geometry

__all__ = [
    "EDITS_CHANNEL", "ChangeSource", "FeatureIn", "Op", "VersionRef", "in_own_transaction", "insert_feature",
    "open_changeset", "prepare", "replace_feature", "retire_feature", "revive_feature", "update_feature",
]
T = TypeVar("T")
# A writer can be overtaken once per concurrent writer that started after it; beyond this the
# feature is too busy to edit and the caller hears so (409) rather than waiting without end.
MAX_ATTEMPTS = 64
ChangeSource = Literal["api", "import", "sample", "admin", "test"]
Op = Literal["insert", "replace", "update", "retire"]


@dataclass(frozen=True, slots=True)
class FeatureIn:
    """A feature to write: geometry in EPSG:4490 lon/lat degrees, properties by field name."""

    geometry: BaseGeometry | None
    properties: dict[str, Any]


@dataclass(frozen=True, slots=True)
class VersionRef:
    """What a write produced: the feature's id and the version it now has (or that was retired)."""

    fid: int
    version: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    recorded_at: dt.datetime
    version_before: int | None = None
    derived: tuple[Derived, ...] = ()  # writes the pipe topology rule added (segments following a point)


@dataclass(frozen=True, slots=True)
class _CurrentVersion:
    version: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    written_after_we_began: bool = False  # by a transaction that started after ours


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
        errors += [FieldError("geometry", p.code, p.message, p.location) for p in problems]
        if geom is not None:
            wkb = shapely.to_wkb(geom, hex=False, output_dimension=2)
    if errors:
        raise ValidationFailed(errors=errors)
    return wkb, clean


def _columns(layer: Layer) -> list[str]:
    return [f.name for f in layer.attributes.fields]


# One row of bound parameters, in the shape lifecycle's statements read (see insert_versions.sql).
def _incoming(layer: Layer) -> str:
    attrs = "".join(f", :p_{f.name}::{f.sql_type} AS {quote_ident(f.name)}" for f in layer.attributes.fields)
    return ("SELECT coalesce(:fid::bigint, nextval('onemap.feature_id_seq')) AS fid, :version::integer AS version, "
            f"NULL::timestamptz AS valid_from, NULL::bytea AS src_hash, :geom_wkb::bytea AS geom_wkb{attrs}")


_CLOSING = "SELECT :fid::bigint AS fid, :version::integer AS version, NULL::timestamptz AS at"


async def _write(
    conn: asyncpg.Connection, layer: Layer, *, fid: int | None, version: int, wkb: bytes, props: dict[str, Any],
    changeset_id: int, valid_from: dt.datetime | None, op: Op, unconditional: bool = False,
) -> Written:
    values = {"fid": fid, "version": version, "geom_wkb": wkb, **{f"p_{c}": props.get(c) for c in _columns(layer)}}
    return await insert_versions(conn, layer=layer, incoming=_incoming(layer), values=values,
                                 changeset_id=changeset_id, valid_from=valid_from, op=op, unconditional=unconditional)


def _ref(written: Written, version: int) -> VersionRef:
    assert written.fid is not None and written.valid_from is not None and written.recorded_at is not None
    return VersionRef(fid=written.fid, version=version, valid_from=written.valid_from, valid_to=None,
                      recorded_at=written.recorded_at, version_before=version - 1 if version > 1 else None)


async def insert_feature(
    conn: asyncpg.Connection,
    *,
    layer: Layer,
    feature: FeatureIn,
    changeset_id: int,
    valid_from: dt.datetime | None = None,
    make_valid: bool = False,
) -> VersionRef:
    """Create a new feature (version 1) valid from ``valid_from`` (default: now).

    Raises:
        ValidationFailed: the feature does not fit the layer's schema or geometry type.
    """
    wkb, props = prepare(layer, feature, make_valid=make_valid)
    assert wkb is not None
    async with conn.transaction():
        written = await _write(conn, layer, fid=None, version=1, wkb=wkb, props=props, changeset_id=changeset_id,
                               valid_from=valid_from, op="insert")
        await after_write(conn, layer=layer, earliest=written.valid_from, boxes=[written.box])
    return _ref(written, 1)


_LOCK_NEWEST = (
    "SELECT version, valid_from, valid_to, recorded_at > now() AS after_us FROM {table} "
    "WHERE fid = $1 ORDER BY version DESC LIMIT 1 FOR UPDATE"
)


async def _lock_latest(conn: asyncpg.Connection, layer: Layer, fid: int) -> _CurrentVersion:
    """Lock the feature's newest version, following writes that commit while we wait for the lock.

    A writer that waited for the row lock gets the row back as the winner left it: closed. The
    winner's new version was not in that statement's snapshot, so the closed row looks retired
    when it was only superseded. Under READ COMMITTED each statement takes a new snapshot, so
    asking again finds the newer version; only when the same closed version is still the newest
    is the feature retired. Each round either returns or finds a strictly newer version.

    Raises:
        FeatureNotFound: the feature has no version at all.
    """
    sql = _LOCK_NEWEST.format(table=layer.table)
    seen: int | None = None
    while True:
        row = await conn.fetchrow(sql, fid)
        if row is None:
            raise FeatureNotFound(f"feature {fid} does not exist in {layer.id}")
        current = _CurrentVersion(row["version"], row["valid_from"], row["valid_to"], row["after_us"])
        if current.valid_to is None or current.version == seen:
            return current
        seen = current.version


async def _lock_open(
    conn: asyncpg.Connection, layer: Layer, fid: int, expected_version: int | None
) -> _CurrentVersion:
    """Lock the feature's latest version and check it may be edited: it is open and as the editor read it.

    Raises:
        FeatureNotFound: no such feature.
        FeatureRetired: its newest version is closed and nothing newer exists (410).
        VersionConflict: ``expected_version`` is given and another version is current (412),
            including when a concurrent writer replaced it while we waited for the lock.
        OvertakenByNewerWrite: the current version was written by a transaction that began after
            ours, so our ``now()`` predates it; run the transaction again (:func:`in_own_transaction`).
    """
    current = await _lock_latest(conn, layer, fid)
    if current.valid_to is not None:
        raise FeatureRetired(f"feature {fid} in {layer.id} was retired at {current.valid_to.isoformat()}")
    if expected_version is not None and expected_version != current.version:
        raise VersionConflict(
            f"feature {fid} is at version {current.version}, not {expected_version}; read it again"
        )
    if current.written_after_we_began:
        raise OvertakenByNewerWrite(f"feature {fid} in {layer.id} changed while this edit waited; try again")
    return current


async def in_own_transaction(conn: asyncpg.Connection, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Run ``work(conn)`` in a transaction of its own, again from the start when it was overtaken.

    An edit that waited for a feature's lock while a writer that began later committed first
    would close that writer's version at an earlier ``now()`` than it began. Only a new
    transaction has a later ``now()``, so the edit (changeset included) is rolled back and redone.

    Args:
        conn: A connection with no transaction open (a savepoint would keep the old ``now()``).
        work: The whole edit; it may run more than once, so it must only touch the database.

    Raises:
        OvertakenByNewerWrite: still overtaken after :data:`MAX_ATTEMPTS` attempts (409).
    """
    assert not conn.is_in_transaction(), "in_own_transaction needs a connection outside any transaction"
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            async with conn.transaction():
                return await work(conn)
        except OvertakenByNewerWrite:
            if attempt == MAX_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


async def _new_version(
    conn: asyncpg.Connection, *, layer: Layer, fid: int, current: _CurrentVersion, wkb: bytes,
    props: dict[str, Any], changeset_id: int, valid_from: dt.datetime | None, op: Op, unconditional: bool = False,
) -> VersionRef:
    """Close ``current`` (locked by the caller through :func:`_lock_open`) and write its successor."""
    closed = await close_versions(conn, layer=layer, closing=_CLOSING, values={"fid": fid, "version": current.version},
                                  changeset_id=changeset_id, at=valid_from, retiring=False)
    written = await _write(conn, layer, fid=fid, version=current.version + 1, wkb=wkb, props=props,
                           changeset_id=changeset_id, valid_from=valid_from, op=op, unconditional=unconditional)
    await after_write(conn, layer=layer, earliest=written.valid_from, boxes=[closed.box, written.box])
    return _ref(written, current.version + 1)


async def _with_topology(
    conn: asyncpg.Connection, layer: Layer, ref: VersionRef, old_version: int, wkb: bytes, props: dict[str, Any],
    changeset_id: int, valid_from: dt.datetime | None,
) -> VersionRef:
    """``ref`` with the segment versions a moved pipe point dragged along (:mod:`layers.topology`)."""

    async def write_segment(segments: Layer, fid: int, version: int, line: BaseGeometry) -> int:
        moved = await update_feature(conn, layer=segments, fid=fid, patch={}, geometry=line,
                                     changeset_id=changeset_id, valid_from=valid_from, expected_version=version)
        return moved.version

    derived = await follow_point(conn, layer=layer, fid=ref.fid, old_version=old_version,
                                 new_point_no=props.get("point_no"), new_geometry=shapely.from_wkb(wkb),
                                 write_segment=write_segment)
    return replace(ref, derived=tuple(derived)) if derived else ref


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
    """Replace a feature's geometry and every property with a new version valid from ``valid_from``.

    ``unconditional`` marks, in the audit row, a write that named no version (no If-Match).

    Raises:
        ValidationFailed: the feature does not fit the layer.
        FeatureNotFound, FeatureRetired: there is no open feature ``fid``.
        VersionConflict: ``expected_version`` is given and is not the current version.
        InvalidValidTime: ``valid_from`` is before the current version's start.
    """
    wkb, props = prepare(layer, feature, make_valid=make_valid)
    assert wkb is not None
    async with conn.transaction():
        current = await _lock_open(conn, layer, fid, expected_version)
        ref = await _new_version(
            conn, layer=layer, fid=fid, current=current, wkb=wkb, props=props, changeset_id=changeset_id,
            valid_from=valid_from, op="replace", unconditional=unconditional,
        )
        return await _with_topology(conn, layer, ref, current.version, wkb, props, changeset_id, valid_from)


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
    make_valid: bool = False,
) -> VersionRef:
    """Merge-patch a feature (RFC 7396: ``None`` clears a property) into a new version.

    ``unconditional`` marks, in the audit row, a write that named no version (no If-Match).

    Raises:
        ValidationFailed: the merged feature does not fit the layer.
        FeatureNotFound, FeatureRetired: there is no open feature ``fid``.
        VersionConflict: ``expected_version`` is given and is not the current version.
        InvalidValidTime: ``valid_from`` is before the current version's start.
    """
    partial_wkb, partial_props = prepare(layer, FeatureIn(geometry, patch), partial=True, make_valid=make_valid)
    async with conn.transaction():
        # Lock first, then read what to merge into: a patch merged into a version that a concurrent
        # writer has since replaced would silently undo that writer's change.
        current = await _lock_open(conn, layer, fid, expected_version)
        cols = _columns(layer)
        row = await conn.fetchrow(
            f"SELECT ST_AsBinary(geom) AS wkb{''.join(', ' + quote_ident(c) for c in cols)} "  # noqa: S608
            f"FROM {layer.table} WHERE fid = $1 AND version = $2",
            fid, current.version,
        )
        assert row is not None  # the version we hold the lock on
        merged = {c: row[c] for c in cols}
        merged.update(partial_props)
        merged = {k: v for k, v in merged.items() if v is not None}
        wkb = partial_wkb if partial_wkb is not None else bytes(row["wkb"])
        full_wkb, props = prepare(layer, FeatureIn(shapely.from_wkb(wkb), merged))
        assert full_wkb is not None
        ref = await _new_version(
            conn, layer=layer, fid=fid, current=current, wkb=full_wkb, props=props, changeset_id=changeset_id,
            valid_from=valid_from, op="update", unconditional=unconditional,
        )
        return await _with_topology(conn, layer, ref, current.version, full_wkb, props, changeset_id, valid_from)


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

    Raises:
        FeatureNotFound, FeatureRetired: there is no open feature ``fid``.
        VersionConflict: ``expected_version`` is given and is not the current version.
        InvalidValidTime: ``valid_to`` is before the current version's start.
    """
    async with conn.transaction():
        current = await _lock_open(conn, layer, fid, expected_version)
        await refuse_retire(conn, layer, fid, current.version)
        closed = await close_versions(conn, layer=layer, closing=_CLOSING,
                                      values={"fid": fid, "version": current.version},
                                      changeset_id=changeset_id, at=valid_to, retiring=True,
                                      unconditional=unconditional)
        await after_write(conn, layer=layer, earliest=None, boxes=[closed.box])
    assert closed.valid_from is not None and closed.recorded_at is not None
    return VersionRef(fid=fid, version=current.version, valid_from=closed.valid_from, valid_to=closed.valid_to,
                      recorded_at=closed.recorded_at, version_before=current.version)


async def revive_feature(
    conn: asyncpg.Connection,
    *,
    layer: Layer,
    fid: int,
    feature: FeatureIn,
    changeset_id: int,
    valid_from: dt.datetime | None = None,
) -> VersionRef:
    """Bring a retired feature back under its own id: a new version after its last (undo of a retirement).

    Raises:
        ValidationFailed: the feature does not fit the layer.
        FeatureNotFound: no such feature.
        VersionConflict: the feature is not retired (it has an open version).
        InvalidValidTime: ``valid_from`` is before the end of its last version.
    """
    wkb, props = prepare(layer, feature)
    assert wkb is not None
    async with conn.transaction():
        latest = await _lock_latest(conn, layer, fid)
        if latest.valid_to is None:
            raise VersionConflict(f"feature {fid} in {layer.id} is not retired (version {latest.version} is open)")
        if valid_from is not None and valid_from < latest.valid_to:
            raise InvalidValidTime(f"feature {fid} was retired at {latest.valid_to.isoformat()}; "
                                   f"it cannot come back at {valid_from.isoformat()}")
        written = await _write(conn, layer, fid=fid, version=latest.version + 1, wkb=wkb, props=props,
                               changeset_id=changeset_id, valid_from=valid_from, op="replace")
        await after_write(conn, layer=layer, earliest=written.valid_from, boxes=[written.box])
    return _ref(written, latest.version + 1)
