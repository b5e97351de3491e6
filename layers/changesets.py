"""Changesets of several edits: written all-or-nothing, with a comment; read back and listed.

A map editor saves several edits at once (a building moved, two attributes fixed, a pipe point
retired) with one reason for the change. :func:`apply_edits` runs them in the caller's
transaction, through the one versioned write path (:mod:`layers.versioning`, which also keeps
the pipe topology), into ONE changeset whose ``details`` hold the comment and the valid time:

    details = {"comment": "补测更正", "valid_from": "2026-12-01T00:00:00+08:00",
               "undoes": 12 | absent, "undone_by": 57 | absent}

Any failing edit raises, and the caller's transaction rolls every edit back. Undo lives in
:mod:`layers.undo`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import asyncpg
from shapely.geometry.base import BaseGeometry

from layers.errors import FieldError, LayerError, ValidationFailed
from layers.model import Layer
from layers.topology import Derived
from layers.versioning import (
    FeatureIn,
    VersionRef,
    insert_feature,
    open_changeset,
    prepare,
    replace_feature,
    retire_feature,
    update_feature,
)

__all__ = [
    "ANY", "Conflict", "Edit", "Written", "apply_edits", "changeset_edits", "changeset_layers", "changeset_row",
    "derived_of",
    "list_changesets", "precheck", "stale_edits",
]
EditOp = Literal["insert", "replace", "update", "retire"]
ANY: None = None  # expected_version of an edit that names no version (no if_match, or "*")


@dataclass(frozen=True, slots=True)
class Edit:
    """One edit of a changeset, already parsed (geometry in EPSG:4490 lon/lat degrees).

    ``properties`` is every property (insert, replace) or a merge patch (update: None clears).
    """

    index: int
    op: EditOp
    layer: Layer
    fid: int | None = None
    expected_version: int | None = ANY
    geometry: BaseGeometry | None = None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Written:
    """What one edit wrote: the feature and its new (or, retired, its last) version."""

    edit: Edit
    ref: VersionRef


@dataclass(frozen=True, slots=True)
class Conflict:
    """An edit whose ``if_match`` names a version that is no longer current."""

    index: int
    layer: Layer
    fid: int
    sent_version: int
    current_version: int | None  # None: the feature does not exist


def _indexed(exc: ValidationFailed, index: int) -> ValidationFailed:
    return ValidationFailed(errors=[replace(e, index=index) for e in exc.errors])


def precheck(edits: Sequence[Edit], *, repair: bool) -> None:
    """Validate every edit's own content before anything is written, so all errors come at once.

    Raises:
        ValidationFailed: every field and geometry problem, each with its edit's ``index``.
    """
    errors: list[FieldError] = []
    for e in edits:
        if e.op == "retire":
            continue
        try:
            prepare(e.layer, FeatureIn(e.geometry, e.properties), partial=e.op == "update", make_valid=repair)
        except ValidationFailed as exc:
            errors += _indexed(exc, e.index).errors
    if errors:
        raise ValidationFailed(errors=errors)


async def stale_edits(conn: asyncpg.Connection, edits: Sequence[Edit]) -> list[Conflict]:
    """The edits whose ``expected_version`` is not their feature's newest version."""
    found = []
    for e in edits:
        if e.expected_version is None or e.fid is None:
            continue
        current: int | None = await conn.fetchval(
            f"SELECT max(version) FROM {e.layer.table} WHERE fid = $1", e.fid  # noqa: S608 - registry name
        )
        if current != e.expected_version:
            found.append(Conflict(e.index, e.layer, e.fid, e.expected_version, current))
    return found


async def _apply_one(
    conn: asyncpg.Connection, e: Edit, *, changeset_id: int, valid_from: dt.datetime | None, repair: bool
) -> VersionRef:
    unconditional = e.expected_version is None
    if e.op == "insert":
        return await insert_feature(conn, layer=e.layer, feature=FeatureIn(e.geometry, e.properties),
                                    changeset_id=changeset_id, valid_from=valid_from, make_valid=repair)
    assert e.fid is not None
    if e.op == "replace":
        return await replace_feature(conn, layer=e.layer, fid=e.fid, feature=FeatureIn(e.geometry, e.properties),
                                     changeset_id=changeset_id, valid_from=valid_from,
                                     expected_version=e.expected_version, make_valid=repair,
                                     unconditional=unconditional)
    if e.op == "update":
        return await update_feature(conn, layer=e.layer, fid=e.fid, patch=e.properties, geometry=e.geometry,
                                    changeset_id=changeset_id, valid_from=valid_from,
                                    expected_version=e.expected_version, make_valid=repair,
                                    unconditional=unconditional)
    return await retire_feature(conn, layer=e.layer, fid=e.fid, changeset_id=changeset_id, valid_to=valid_from,
                                expected_version=e.expected_version, unconditional=unconditional)


async def apply_edits(
    conn: asyncpg.Connection, edits: Sequence[Edit], *, actor: str, comment: str | None,
    valid_from: dt.datetime | None, repair: bool = False, note: str = "POST /changesets",
) -> tuple[int, list[Written]]:
    """Write ``edits`` in order into one new changeset, inside the caller's transaction.

    Returns:
        (changeset id, what each edit wrote); derived topology writes are in each ``ref.derived``.

    Raises:
        ValidationFailed: with every edit's problems (``index`` set); nothing is kept.
        VersionConflict: an ``expected_version`` is stale (the caller lists them with :func:`stale_edits`
            first: the check here only sees versions this changeset did not write itself).
        LayerError: any other refusal of an edit (404, 410, 409 topology …), with ``index`` set on it.
    """
    precheck(edits, repair=repair)
    details: dict[str, Any] = {"comment": comment, "edits": len(edits)}
    if valid_from is not None:
        details["valid_from"] = valid_from.isoformat()
    cs = await open_changeset(conn, actor=actor, source="api", note=note, details=details)
    written = []
    # Versions this changeset wrote so far: an if_match read before saving still holds for a feature
    # an earlier edit (or its topology follow-up: a segment dragged by its point) already changed.
    ours: dict[tuple[str, int], int] = {}
    for e in edits:
        if e.fid is not None and e.expected_version is not None and (e.layer.id, e.fid) in ours:
            e = replace(e, expected_version=ours[(e.layer.id, e.fid)])
        try:
            ref = await _apply_one(conn, e, changeset_id=cs, valid_from=valid_from, repair=repair)
        except ValidationFailed as exc:
            raise _indexed(exc, e.index) from None
        except LayerError as exc:
            exc.index = e.index  # type: ignore[attr-defined]  # reported as the problem's "index"
            raise
        written.append(Written(e, ref))
        ours[(e.layer.id, ref.fid)] = ref.version
        ours.update({(d.collection, d.fid): d.version for d in ref.derived})
    return cs, written


def derived_of(written: Sequence[Written]) -> list[Derived]:
    """Every topology follow-up of a changeset's edits, in order."""
    return [d for w in written for d in w.ref.derived]


_CHANGESET = "SELECT id, actor, source, recorded_at, note, details FROM onemap.changesets WHERE id = $1"
_EDITS = (
    "SELECT layer_id, fid, op, version_before, version_after FROM onemap.changes WHERE changeset_id = $1 "
    "ORDER BY id"
)
# Newest first; a changeset is listed if it touched ``collection`` (per-feature or bulk rows).
_LIST = """
SELECT s.id, s.actor, s.source, s.recorded_at, s.note, s.details,
       ARRAY(SELECT DISTINCT layer_id FROM (
               SELECT layer_id FROM onemap.changes WHERE changeset_id = s.id
               UNION SELECT layer_id FROM onemap.bulk_changes WHERE changeset_id = s.id) l
             ORDER BY layer_id) AS layers
FROM onemap.changesets s
WHERE ($1::text IS NULL OR s.actor = $1) AND ($2::bigint IS NULL OR s.id < $2)
  AND ($3::text IS NULL
       OR EXISTS (SELECT 1 FROM onemap.changes c WHERE c.changeset_id = s.id AND c.layer_id = $3)
       OR EXISTS (SELECT 1 FROM onemap.bulk_changes b WHERE b.changeset_id = s.id AND b.layer_id = $3))
ORDER BY s.id DESC
LIMIT $4
"""


async def changeset_row(conn: asyncpg.Connection, changeset_id: int) -> asyncpg.Record | None:
    """The changeset (id, actor, source, recorded_at, note, details), or None."""
    row: asyncpg.Record | None = await conn.fetchrow(_CHANGESET, changeset_id)
    return row


async def changeset_edits(conn: asyncpg.Connection, changeset_id: int) -> Sequence[asyncpg.Record]:
    """The per-feature changes of a changeset in order (layer_id, fid, op, version_before, version_after)."""
    rows: list[asyncpg.Record] = await conn.fetch(_EDITS, changeset_id)
    return rows


async def changeset_layers(conn: asyncpg.Connection, changeset_id: int) -> list[str]:
    """Every layer a changeset wrote, per-feature or in bulk (an import's ``onemap.bulk_changes`` rows)."""
    rows = await conn.fetch(
        "SELECT layer_id FROM onemap.changes WHERE changeset_id = $1 "
        "UNION SELECT layer_id FROM onemap.bulk_changes WHERE changeset_id = $1 ORDER BY 1", changeset_id,
    )
    return [r["layer_id"] for r in rows]


async def list_changesets(
    conn: asyncpg.Connection, *, actor: str | None, collection: str | None, before: int | None, limit: int
) -> Sequence[asyncpg.Record]:
    """Changesets newest first (id, actor, source, recorded_at, note, details, layers touched)."""
    rows: list[asyncpg.Record] = await conn.fetch(_LIST, actor, before, collection, limit)
    return rows

