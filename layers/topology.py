"""Pipe network topology kept by the write path: segments follow their end points.

Layers ``pipeline_{key}_points`` and ``pipeline_{key}_segments`` of one network are linked by
value: a segment's ``start_point`` / ``end_point`` hold the ``point_no`` of its end points. The
rules, applied by :mod:`layers.versioning` to every single-feature write (Part 4, changesets,
undo), so no editing path can bypass them:

- a point that moves drags the first/last vertex of every current segment ending at it to its
  new position, as new segment versions in the same changeset ("derived" edits);
- a point that current segments end at cannot be retired, nor renumbered (409 ``topology``).

Geometries are EPSG:4490 lon/lat degrees (x = longitude), as stored.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import shapely
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from layers.errors import TopologyConflict
from layers.model import Layer
from layers.registry import load_layer

__all__ = ["Derived", "SegmentEnd", "follow_point", "refuse_retire", "segments_layer_id"]

_POINTS = re.compile(r"^pipeline_(?P<key>[a-z0-9_]+?)_points$")
# Segments ending at a point, current versions only, locked so the follow-up writes see them as read.
_AT_POINT = (
    "SELECT fid, version, start_point = $1 AS at_start, end_point = $1 AS at_end FROM {table} "
    "WHERE valid_to IS NULL AND (start_point = $1 OR end_point = $1) ORDER BY fid FOR UPDATE"
)


@dataclass(frozen=True, slots=True)
class Derived:
    """A write the topology rule made on its own: which feature, its new version, and why."""

    collection: str
    fid: int
    version: int
    reason: str
    op: str = "update"

    def as_dict(self) -> dict[str, Any]:
        """The ``derived`` entry of a changeset answer."""
        return {"op": self.op, "collection": self.collection, "id": self.fid, "version": self.version,
                "reason": self.reason}


@dataclass(frozen=True, slots=True)
class SegmentEnd:
    """A current segment ending at a point (``at_start`` / ``at_end``: which of its ends)."""

    fid: int
    version: int
    at_start: bool
    at_end: bool

    def as_dicts(self, collection: str) -> list[dict[str, Any]]:
        """One ``segments`` entry of a 409 per end that touches the point."""
        ends = [e for e, hit in (("start", self.at_start), ("end", self.at_end)) if hit]
        return [{"collection": collection, "id": self.fid, "point": e} for e in ends]


def segments_layer_id(layer_id: str) -> str | None:
    """The segments layer of a pipe points layer, or None when ``layer_id`` is not a points layer."""
    found = _POINTS.match(layer_id)
    return f"pipeline_{found['key']}_segments" if found else None


async def _segments(conn: asyncpg.Connection, layer: Layer) -> Layer | None:
    seg_id = segments_layer_id(layer.id)
    return await load_layer(conn, seg_id) if seg_id is not None else None


async def _ends_at(conn: asyncpg.Connection, segments: Layer, point_no: str) -> list[SegmentEnd]:
    rows = await conn.fetch(_AT_POINT.format(table=segments.table), point_no)
    return [SegmentEnd(r["fid"], r["version"], r["at_start"], r["at_end"]) for r in rows]


async def _point_no(conn: asyncpg.Connection, layer: Layer, fid: int, version: int) -> str | None:
    value: str | None = await conn.fetchval(
        f"SELECT point_no FROM {layer.table} WHERE fid = $1 AND version = $2", fid, version  # noqa: S608
    )
    return value


def _conflict(what: str, point_no: str, segments: Layer, ends: list[SegmentEnd]) -> TopologyConflict:
    names = ", ".join(str(e.fid) for e in ends[:20]) + (" …" if len(ends) > 20 else "")
    return TopologyConflict(
        f"cannot {what} pipe point {point_no}: {len(ends)} current segment(s) of {segments.id} end at it "
        f"(features {names}); retire or reconnect them first",
        segments=[d for e in ends for d in e.as_dicts(segments.id)],
    )


async def refuse_retire(conn: asyncpg.Connection, layer: Layer, fid: int, version: int) -> None:
    """Refuse to retire pipe point ``fid`` (at ``version``) while current segments end at it.

    Raises:
        TopologyConflict: 409, listing the segments and which of their ends is at the point.
    """
    segments = await _segments(conn, layer)
    if segments is None:
        return
    point_no = await _point_no(conn, layer, fid, version)
    ends = await _ends_at(conn, segments, point_no) if point_no is not None else []
    if ends:
        raise _conflict("retire", point_no or "", segments, ends)


def _moved_line(line: BaseGeometry, point: Point, end: SegmentEnd) -> LineString:
    coords = [tuple(c) for c in shapely.get_coordinates(line)]
    if end.at_start:
        coords[0] = (point.x, point.y)
    if end.at_end:
        coords[-1] = (point.x, point.y)
    return LineString(coords)


WriteSegment = Callable[[Layer, int, int, BaseGeometry], Awaitable[int]]


async def follow_point(
    conn: asyncpg.Connection, *, layer: Layer, fid: int, old_version: int, new_point_no: str | None,
    new_geometry: BaseGeometry, write_segment: WriteSegment,
) -> list[Derived]:
    """Move the ends of segments at pipe point ``fid`` after it was rewritten from ``old_version``.

    Args:
        conn: The connection of the point's write, inside its transaction.
        layer: The layer written; nothing happens unless it is a pipe points layer.
        fid: The point's feature id.
        old_version: The version the write replaced (what the segments were connected to).
        new_point_no: The point's ``point_no`` after the write.
        new_geometry: The point's geometry after the write (EPSG:4490).
        write_segment: ``(segments layer, fid, expected version, new line) -> new version``: the
            versioned write of one segment geometry, in the same changeset.

    Raises:
        TopologyConflict: the point was renumbered while current segments still name its old number.
    """
    segments = await _segments(conn, layer)
    if segments is None:
        return []
    row = await conn.fetchrow(
        f"SELECT point_no, ST_AsBinary(geom) AS wkb FROM {layer.table} WHERE fid = $1 AND version = $2",  # noqa: S608
        fid, old_version,
    )
    if row is None or row["point_no"] is None:
        return []
    old_no: str = row["point_no"]
    ends = await _ends_at(conn, segments, old_no)
    if not ends:
        return []
    if new_point_no != old_no:
        raise _conflict(f"renumber (to {new_point_no})", old_no, segments, ends)
    point = new_geometry
    if not isinstance(point, Point) or shapely.equals_exact(shapely.from_wkb(bytes(row["wkb"])), point, 0.0):
        return []
    derived = []
    for end in ends:
        line = shapely.from_wkb(bytes(await conn.fetchval(
            f"SELECT ST_AsBinary(geom) FROM {segments.table} WHERE fid = $1 AND version = $2",  # noqa: S608
            end.fid, end.version,
        )))
        moved = _moved_line(line, point, end)
        if shapely.equals_exact(line, moved, 0.0):  # already there (an undo restored the segment first)
            continue
        version = await write_segment(segments, end.fid, end.version, moved)
        which = " and ".join(w for w, hit in (("start", end.at_start), ("end", end.at_end)) if hit)
        derived.append(Derived(segments.id, end.fid, version, f"topology: {which} moved with point {old_no}"))
    return derived
