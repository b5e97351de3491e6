"""Undo a changeset by writing a new one: history is never rewritten.

For each feature the changeset touched, the state before it is restored as a NEW version, through
the one write path (:mod:`layers.versioning`, topology included):

- a feature the changeset inserted is retired;
- a feature it updated or replaced gets the attributes and geometry of its version before;
- a feature it retired comes back under the same id with its last attributes and geometry.

Features are restored in reverse order of the original edits, so a pipe point comes back before
the segments that end at it, and segments retired after their point go first.

If another changeset edited one of the features afterwards, undoing would silently discard that
edit: :class:`UndoConflict` (409) lists them unless ``force``. The new changeset records
``details.undoes``; the undone one gets ``details.undone_by`` (the only update of a changeset row:
it annotates the audit, it changes no feature version).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import shapely

from layers.errors import ChangesetNotFound, UndoConflict
from layers.model import Layer
from layers.sql import quote_ident
from layers.versioning import FeatureIn, open_changeset, replace_feature, retire_feature, revive_feature

__all__ = ["Touched", "touched_features", "undo_changeset"]

# Per feature the changeset touched: its first operation and version before, the version it left,
# and the newest later change by another changeset (per-feature audit rows, index changes_feature).
_TOUCHED = """
WITH t AS (
  SELECT layer_id, fid, (array_agg(op ORDER BY id))[1] AS first_op,
         (array_agg(version_before ORDER BY id))[1] AS version_before,
         (array_agg(version_after ORDER BY id DESC))[1] AS version_after, max(id) AS last_id
  FROM onemap.changes WHERE changeset_id = $1 GROUP BY layer_id, fid
)
SELECT t.*, later.changeset_id AS later_changeset, later.version_after AS later_version
FROM t LEFT JOIN LATERAL (
  SELECT c.changeset_id, c.version_after FROM onemap.changes c
  WHERE c.layer_id = t.layer_id AND c.fid = t.fid AND c.id > t.last_id AND c.changeset_id <> $1
  ORDER BY c.id DESC LIMIT 1
) later ON true
ORDER BY t.last_id DESC
"""
_NEWEST = "SELECT version, valid_to IS NULL AS open FROM {table} WHERE fid = $1 ORDER BY version DESC LIMIT 1"
_MARK = "UPDATE onemap.changesets SET details = details || jsonb_build_object('undone_by', $2::bigint) WHERE id = $1"


@dataclass(frozen=True, slots=True)
class Touched:
    """A feature a changeset touched, what it was before, and whether it changed again later."""

    layer: Layer
    fid: int
    inserted: bool  # the changeset created it: undo retires it
    version_before: int | None
    version_after: int
    newest: int
    open: bool
    later_changeset: int | None

    def conflict(self) -> dict[str, Any] | None:
        """The ``features`` entry of a 409 when another changeset wrote the feature afterwards."""
        if self.later_changeset is None and self.newest <= self.version_after:
            return None
        return {"collection": self.layer.id, "id": self.fid, "version": self.newest,
                "changeset": self.later_changeset}


async def touched_features(
    conn: asyncpg.Connection, changeset_id: int, layer_of: Callable[[str], Layer]
) -> list[Touched]:
    """Every feature the changeset touched, newest edit first, each with its current state."""
    found = []
    for r in await conn.fetch(_TOUCHED, changeset_id):
        layer = layer_of(r["layer_id"])
        newest = await conn.fetchrow(_NEWEST.format(table=layer.table), r["fid"])
        found.append(Touched(layer, r["fid"], r["first_op"] == "insert", r["version_before"], r["version_after"],
                             newest["version"], newest["open"], r["later_changeset"]))
    return found


async def _content(conn: asyncpg.Connection, layer: Layer, fid: int, version: int) -> FeatureIn:
    cols = [f.name for f in layer.attributes.fields]
    row = await conn.fetchrow(
        f"SELECT ST_AsBinary(geom) AS wkb{''.join(', ' + quote_ident(c) for c in cols)} "  # noqa: S608
        f"FROM {layer.table} WHERE fid = $1 AND version = $2",
        fid, version,
    )
    assert row is not None  # a version the audit names
    return FeatureIn(shapely.from_wkb(bytes(row["wkb"])), {c: row[c] for c in cols if row[c] is not None})


async def _restore(conn: asyncpg.Connection, t: Touched, *, changeset_id: int, at: dt.datetime | None) -> None:
    if t.inserted:
        if t.open:
            await retire_feature(conn, layer=t.layer, fid=t.fid, changeset_id=changeset_id, valid_to=at)
        return
    assert t.version_before is not None
    before = await _content(conn, t.layer, t.fid, t.version_before)
    if t.open:
        await replace_feature(conn, layer=t.layer, fid=t.fid, feature=before, changeset_id=changeset_id,
                              valid_from=at, expected_version=t.newest)
    else:
        await revive_feature(conn, layer=t.layer, fid=t.fid, feature=before, changeset_id=changeset_id,
                             valid_from=at)


async def undo_changeset(
    conn: asyncpg.Connection, changeset_id: int, *, actor: str, comment: str | None, force: bool,
    layer_of: Callable[[str], Layer], valid_from: dt.datetime | None = None,
) -> int:
    """Write the changeset that undoes ``changeset_id``, inside the caller's transaction; its id.

    Raises:
        ChangesetNotFound: no such changeset.
        UndoConflict: it has no per-feature edits, or (unless ``force``) another changeset edited
            one of its features afterwards.
    """
    exists = await conn.fetchval("SELECT true FROM onemap.changesets WHERE id = $1 FOR UPDATE", changeset_id)
    if not exists:
        raise ChangesetNotFound(f"there is no changeset {changeset_id}")
    touched = await touched_features(conn, changeset_id, layer_of)
    if not touched:
        raise UndoConflict(f"changeset {changeset_id} has no per-feature edits to undo", features=[])
    later = [c for t in touched if (c := t.conflict()) is not None]
    if later and not force:
        raise UndoConflict(
            f"{len(later)} feature(s) of changeset {changeset_id} were edited again afterwards; "
            'undoing would discard those edits (send "force": true to undo anyway)',
            features=later,
        )
    details: dict[str, Any] = {"comment": comment, "undoes": changeset_id}
    if valid_from is not None:
        details["valid_from"] = valid_from.isoformat()
    new = await open_changeset(conn, actor=actor, source="api", note=f"undo changeset {changeset_id}",
                               details=details)
    for t in touched:
        await _restore(conn, t, changeset_id=new, at=valid_from)
    await conn.execute(_MARK, changeset_id, new)
    return new
