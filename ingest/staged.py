"""Staged rows: the staging table of each target layer, the rows checks reject, and the view checks get.

Checks see a :class:`CheckView` — the connection, the staging tables and the few run
options they read — never the whole delivery, so they depend on nothing above them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import asyncpg

from ingest.validate import PropertyValidator
from layers import bulk
from layers.errors import FieldError
from layers.model import Layer
from layers.registry import Registry
from layers.sql import quote_ident

# Rows a check rejects: (staging row_no, every reason, the row's key as text if it has one).
Found = list[tuple[int, list[FieldError], str | None]]


@dataclass
class Stage:
    """The staging table of one target layer, and how many rows it holds now."""

    layer: Layer
    staging: bulk.Staging
    validator: PropertyValidator
    rows: int = 0


@dataclass
class CheckView:
    """What set-based checks read and change (see :mod:`ingest.checks` and the job hooks).

    ``rejected_before`` holds, by target layer, the keys of rows rejected before staging
    (so a segment whose point was rejected can say so); ``found`` collects what checks reject.
    """

    conn: asyncpg.Connection
    registry: Registry
    stages: dict[str, Stage]
    mode: str
    valid_from: dt.datetime | None
    snap_tolerance_m: float
    rejected_before: dict[str, set[str]] = field(default_factory=dict)
    found: dict[str, Found] = field(default_factory=dict)

    async def drop(self, layer_id: str, rows: Found) -> None:
        """Take ``rows`` out of the layer's staging table and record them as rejected."""
        if not rows:
            return
        stage = self.stages[layer_id]
        await drop_rows(self.conn, stage.staging, [r[0] for r in rows])
        stage.rows -= len(rows)
        self.found.setdefault(layer_id, []).extend(rows)


async def drop_rows(conn: asyncpg.Connection, staging: bulk.Staging, row_nos: list[int]) -> None:
    """Delete the rows numbered ``row_nos`` from a staging table."""
    if row_nos:
        await conn.execute(f"DELETE FROM {quote_ident(staging.name)} WHERE row_no = ANY($1::bigint[])", row_nos)  # noqa: S608


async def staged_rows(conn: asyncpg.Connection, staging: bulk.Staging, row_nos: list[int]) -> list[int]:
    """Which of ``row_nos`` are (still) in the staging table."""
    if not row_nos:
        return []
    rows = await conn.fetch(
        f"SELECT row_no FROM {quote_ident(staging.name)} WHERE row_no = ANY($1::bigint[])", row_nos  # noqa: S608
    )
    return [r["row_no"] for r in rows]


def first_per_row(rows: Found) -> Found:
    """One entry per row, carrying every reason any check gave it, in row order."""
    merged: dict[int, tuple[int, list[FieldError], str | None]] = {}
    for row_no, errors, key in rows:
        if row_no in merged:
            merged[row_no][1].extend(errors)
        else:
            merged[row_no] = (row_no, list(errors), key)
    return sorted(merged.values(), key=lambda r: r[0])
