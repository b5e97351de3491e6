"""Bulk attribute edits: one attribute change on every current feature a selection picks.

The selection is a CQL2 filter and/or a drawn polygon (CRS84), translated by the same code as
``/items?filter=`` (:mod:`layers.query.cql2`), so a preview shows exactly what ``/items`` would.
Applying writes one new version per matched feature through :func:`layers.versioning.update_feature`
(the one write path: validation, audit row, tile notification) in ONE changeset, inside the
caller's transaction: a feature that fails validation, or any other error, leaves nothing written.

Per-feature writes keep every version's audit row (``onemap.changes``), which undo and the change
feed read; the cost is a few statements per feature, so :data:`MAX_FEATURES` bounds one edit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import asyncpg

from layers.errors import InvalidEdit, ValidationFailed
from layers.model import Layer
from layers.query.items import ItemsRequest, fetch_page, where_clause
from layers.schema import validate_properties
from layers.sql import Params
from layers.versioning import open_changeset, update_feature

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


async def apply_bulk_edit(
    conn: asyncpg.Connection, sel: Selection, values: dict[str, Any], *, actor: str, comment: str | None,
    valid_from: dt.datetime | None, filter_text: str | None,
) -> tuple[int | None, Sequence[int]]:
    """Set ``values`` on every matched feature in one changeset; (changeset id or None if none matched, fids).

    Raises:
        InvalidEdit: more than :data:`MAX_FEATURES` features match.
        ValidationFailed: a matched feature with the new values breaks the layer's rules (nothing kept).
    """
    fids = await matched_fids(conn, sel)
    if not fids:
        return None, fids
    if len(fids) > MAX_FEATURES:
        raise InvalidEdit(f"{len(fids)} features match; a bulk edit changes at most {MAX_FEATURES}: narrow it")
    details: dict[str, Any] = {"comment": comment, "bulk_edit": {"collection": sel.layer.id, "filter": filter_text,
                                                                 "set": values, "count": len(fids)}}
    if valid_from is not None:
        details["valid_from"] = valid_from.isoformat()
    cs = await open_changeset(conn, actor=actor, source="api", note=f"bulk edit of {sel.layer.id}", details=details)
    for fid in fids:
        try:
            await update_feature(conn, layer=sel.layer, fid=fid, patch=values, geometry=None, changeset_id=cs,
                                 valid_from=valid_from)
        except ValidationFailed as exc:
            raise ValidationFailed(errors=[replace(e, message=f"feature {fid}: {e.message}")
                                           for e in exc.errors]) from None
    return cs, fids
