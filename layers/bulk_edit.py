"""Bulk attribute edits: one attribute change on every current feature a selection picks.

The selection is a CQL2 filter and/or a drawn polygon (CRS84), translated by the same code as
``/items?filter=`` (:mod:`layers.query.cql2`), so a preview shows exactly what ``/items`` would.
Applying writes one new version per matched feature in ONE changeset, inside the caller's
transaction, set-based through the statements of :mod:`layers.lifecycle` that every write runs;
each version gets its own ``onemap.changes`` row (undo and the change feed read them). Every
merged feature is checked against the layer's schema and rules first: one that fails, or any
other error, leaves nothing written. Attribute edits move no geometry, so the pipe topology rule
has nothing to follow; renumbering pipe points in bulk is refused (:func:`check_set`).
(``benchmarks/bulk_edit.py``: a per-feature loop over ``update_feature`` ran 50–130× slower.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import asyncpg

from layers.errors import FieldError, InvalidEdit, OvertakenByNewerWrite, ValidationFailed
from layers.lifecycle import after_write, close_versions, insert_versions
from layers.model import Layer
from layers.query.items import ItemsRequest, fetch_page, where_clause
from layers.schema import validate_properties
from layers.sql import Params, quote_ident
from layers.topology import segments_layer_id
from layers.versioning import open_changeset

__all__ = ["MAX_FEATURES", "Selection", "apply_bulk_edit", "check_set", "count_matched", "matched_fids",
           "sample", "selection"]

MAX_FEATURES = 20_000
SAMPLE_SIZE = 10


@dataclass(frozen=True, slots=True)
class Selection:
    """The features a bulk edit picks: a parsed CQL2 tree over the layer (current versions only)."""

    layer: Layer
    tree: dict[str, Any] | bool

    def request(self, *, limit: int = SAMPLE_SIZE) -> ItemsRequest:
        """The items query of this selection (current versions, CRS84 output)."""
        return ItemsRequest(layer=self.layer, filter_tree=self.tree, limit=limit, count=False)


def selection(layer: Layer, tree: dict[str, Any] | bool | None, intersects: dict[str, Any] | None) -> Selection:
    """Combine a parsed filter and a GeoJSON (Multi)Polygon in CRS84 into one CQL2 tree (AND).

    Raises:
        InvalidEdit: neither is given, or ``intersects`` is not a GeoJSON Polygon/MultiPolygon.
    """
    parts: list[Any] = [] if tree is None else [tree]
    if intersects is not None:
        if not isinstance(intersects, dict) or intersects.get("type") not in ("Polygon", "MultiPolygon"):
            raise InvalidEdit("intersects must be a GeoJSON Polygon or MultiPolygon (CRS84 lon/lat)")
        parts.append({"op": "s_intersects", "args": [{"property": "geometry"}, intersects]})
    if not parts:
        raise InvalidEdit("a bulk edit needs a filter, an intersects polygon, or both")
    return Selection(layer, parts[0] if len(parts) == 1 else {"op": "and", "args": parts})


def check_set(layer: Layer, values: Any) -> dict[str, Any]:
    """The attributes to set, checked against the layer's schema (types, ranges, code lists).

    Raises:
        InvalidEdit: ``values`` is not a non-empty object.
        ValidationFailed: a value does not fit its field, or names no field.
    """
    if not isinstance(values, dict) or not values:
        raise InvalidEdit('set must be an object of attributes to set, e.g. {"owner": "长沙水务"}')
    _, errors = validate_properties(layer.attributes, values, partial=True)
    if "point_no" in values and segments_layer_id(layer.id) is not None:
        errors.append(FieldError("point_no", "topology", "pipe points are renumbered one at a time, so the "
                                 "segments that end at them can be checked"))
    if errors:
        raise ValidationFailed(errors=errors)
    return values  # as sent (JSON values): the write path coerces them again, and details store them


def _where(sel: Selection) -> tuple[str, list[Any]]:
    params = Params()
    return where_clause(sel.request(), params), params.values


async def count_matched(conn: asyncpg.Connection, sel: Selection) -> int:
    """How many current features the selection picks (an exact count)."""
    where, values = _where(sel)
    n: int = await conn.fetchval(f"SELECT count(*) FROM {sel.layer.table} WHERE {where}", *values)  # noqa: S608
    return n


async def matched_fids(conn: asyncpg.Connection, sel: Selection) -> list[int]:
    """The ids of the current features the selection picks, in id order."""
    where, values = _where(sel)
    rows = await conn.fetch(f"SELECT fid FROM {sel.layer.table} WHERE {where} ORDER BY fid", *values)  # noqa: S608
    return [r["fid"] for r in rows]


async def sample(conn: asyncpg.Connection, sel: Selection) -> bytes:
    """Up to :data:`SAMPLE_SIZE` matched features as a JSON array of GeoJSON Features (CRS84)."""
    page = await fetch_page(conn, sel.request())
    return b"[" + page.features + b"]"


# The matched current versions, locked, with every attribute (to check the layer's rules on the
# merged features) and whether a transaction that began after ours wrote them.
_LOCK = ("SELECT fid, version, recorded_at > now() AS after_us{columns} FROM {table} WHERE {where} "
         "ORDER BY fid FOR UPDATE")
_CLOSING = ("SELECT u.fid, u.version, NULL::timestamptz AS at "
            "FROM unnest(:fids::bigint[], :versions::integer[]) AS u(fid, version)")


def _incoming(layer: Layer, values: dict[str, Any]) -> str:
    """The new versions: each closed version's geometry and attributes, with ``values`` set (bound)."""
    attrs = "".join(
        f", :p_{f.name}::{f.sql_type} AS {quote_ident(f.name)}" if f.name in values
        else f", t.{quote_ident(f.name)}"
        for f in layer.attributes.fields
    )
    return ("SELECT t.fid, t.version + 1 AS version, NULL::timestamptz AS valid_from, NULL::bytea AS src_hash, "  # noqa: S608
            f"ST_AsBinary(t.geom) AS geom_wkb{attrs} FROM {layer.table} t "
            "JOIN unnest(:fids::bigint[], :versions::integer[]) AS u(fid, version) "
            "ON t.fid = u.fid AND t.version = u.version")


def _check_rules(layer: Layer, rows: Sequence[asyncpg.Record], values: dict[str, Any]) -> dict[str, Any]:
    """The values coerced for binding, after checking every merged feature against the layer's rules.

    Raises:
        ValidationFailed: the first few features the change would break, each error naming its feature.
    """
    cols = [f.name for f in layer.attributes.fields]
    clean, _ = validate_properties(layer.attributes, values, partial=True)
    errors = []
    for r in rows:
        merged = {c: r[c] for c in cols if r[c] is not None} | values
        merged = {k: v for k, v in merged.items() if v is not None}
        _, problems = validate_properties(layer.attributes, merged)
        errors += [replace(e, message=f"feature {r['fid']}: {e.message}") for e in problems]
        if len(errors) >= 20:
            break
    if errors:
        raise ValidationFailed(errors=errors)
    return clean


async def apply_bulk_edit(
    conn: asyncpg.Connection, sel: Selection, values: dict[str, Any], *, actor: str, comment: str | None,
    valid_from: dt.datetime | None, filter_text: str | None,
) -> tuple[int | None, Sequence[int]]:
    """Set ``values`` on every matched feature in one changeset; (changeset id or None if none matched, fids).

    Set-based, through the statements of :mod:`layers.lifecycle` every write runs (close, write,
    one ``onemap.changes`` row per feature, temporal extent, tile notification), inside the
    caller's transaction (:func:`layers.versioning.in_own_transaction`).

    Raises:
        InvalidEdit: more than :data:`MAX_FEATURES` features match.
        ValidationFailed: a matched feature with the new values breaks the layer's rules (nothing kept).
        OvertakenByNewerWrite: a matched version was written by a transaction that began after ours.
    """
    layer = sel.layer
    where, params = _where(sel)
    columns = "".join(f", {quote_ident(f.name)}" for f in layer.attributes.fields)
    rows = await conn.fetch(_LOCK.format(columns=columns, table=layer.table, where=where), *params)
    if not rows:
        return None, []
    if len(rows) > MAX_FEATURES:
        raise InvalidEdit(f"{len(rows)} features match; a bulk edit changes at most {MAX_FEATURES}: narrow it")
    if any(r["after_us"] for r in rows):
        raise OvertakenByNewerWrite(f"features of {layer.id} changed while this bulk edit waited; try again")
    clean = _check_rules(layer, rows, values)
    fids, versions = [r["fid"] for r in rows], [r["version"] for r in rows]
    details: dict[str, Any] = {"comment": comment, "bulk_edit": {"collection": layer.id, "filter": filter_text,
                                                                 "set": values, "count": len(fids)}}
    if valid_from is not None:
        details["valid_from"] = valid_from.isoformat()
    cs = await open_changeset(conn, actor=actor, source="api", note=f"bulk edit of {layer.id}", details=details)
    keys = {"fids": fids, "versions": versions}
    closed = await close_versions(conn, layer=layer, closing=_CLOSING, values=keys, changeset_id=cs, at=valid_from,
                                  retiring=False)
    written = await insert_versions(conn, layer=layer, incoming=_incoming(layer, clean),
                                    values={**keys, **{f"p_{k}": v for k, v in clean.items()}},
                                    changeset_id=cs, valid_from=valid_from, op="update")
    await after_write(conn, layer=layer, earliest=written.valid_from, boxes=[closed.box, written.box])
    return cs, fids
