"""Which versions a read selects: current state, as-of a valid instant, or a valid interval.

Valid time is half-open: a version is valid on ``[valid_from, valid_to)``. A
version closed at its own start (an empty interval) was a correction and is never
valid at any instant, though it stays in the history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from layers.sql import Params


@dataclass(frozen=True, slots=True)
class Current:
    """The latest version of every feature that has not been retired."""


@dataclass(frozen=True, slots=True)
class AsOf:
    """Versions valid at instant ``at`` (the OGC ``datetime=<instant>`` case)."""

    at: dt.datetime


@dataclass(frozen=True, slots=True)
class During:
    """Versions whose validity overlaps the closed interval [start, end]; None is open."""

    start: dt.datetime | None
    end: dt.datetime | None


@dataclass(frozen=True, slots=True)
class AsRecorded:
    """What the database said at transaction time ``recorded``, for valid instant ``at``.

    Reconstructs past knowledge: a version recorded after ``recorded`` is
    invisible, and one closed after ``recorded`` is treated as still open.
    """

    recorded: dt.datetime
    at: dt.datetime | None = None


Selection = Current | AsOf | During | AsRecorded


def predicate(selection: Selection, params: Params, *, alias: str = "") -> str:
    """SQL boolean for ``selection``, using the partial and range indexes of :mod:`layers.ddl`."""
    p = f"{alias}." if alias else ""
    if isinstance(selection, Current):
        return f"{p}valid_to IS NULL"
    # Two arms, one per partial index (current rows: cur_geom; closed ones: closed_geom_time),
    # so the planner can BitmapOr them instead of scanning every version.
    if isinstance(selection, AsOf):
        at = params.add(selection.at, "timestamptz")
        return (f"(({p}valid_to IS NULL AND {p}valid_from <= {at}) OR "
                f"({p}valid_to IS NOT NULL AND tstzrange({p}valid_from, {p}valid_to) @> {at}))")
    if isinstance(selection, During):
        lo = params.add(selection.start, "timestamptz")
        hi = params.add(selection.end, "timestamptz")
        return (f"(({p}valid_to IS NULL AND ({hi} IS NULL OR {p}valid_from <= {hi})) OR "
                f"({p}valid_to IS NOT NULL AND tstzrange({p}valid_from, {p}valid_to) && tstzrange({lo}, {hi}, '[]')))")
    recorded = params.add(selection.recorded, "timestamptz")
    known = f"{p}recorded_at <= {recorded}"
    # valid_to as it stood at `recorded`: closings recorded later had not happened yet.
    valid_to_then = f"(CASE WHEN {p}superseded_at <= {recorded} THEN {p}valid_to END)"
    if selection.at is None:
        return f"{known} AND {valid_to_then} IS NULL"
    at = params.add(selection.at, "timestamptz")
    return f"{known} AND {p}valid_from <= {at} AND ({valid_to_then} IS NULL OR {valid_to_then} > {at})"
