"""What every reader shares: batches of rows, the tables of a delivery, and the reader protocol.

A reader opens a file as one or more :class:`SourceLayer` tables and streams each as
:class:`Batch` es. Geometries stay in the source CRS and axis order; tables that carry
coordinates in two columns get point WKB built here (:func:`with_xy`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import shapely

from ingest.encoding import EncodingGuess
from ingest.errors import UnreadableSource

BATCH_ROWS = 20_000
# Column names of coordinate pairs in survey tables, first match wins: (x name, y name).
_XY_NAMES = [
    ("x", "y"), ("x坐标", "y坐标"), ("xzb", "yzb"), ("坐标x", "坐标y"), ("lon", "lat"), ("lng", "lat"),
    ("longitude", "latitude"), ("经度", "纬度"), ("easting", "northing"), ("东坐标", "北坐标"), ("e", "n"),
]


@dataclass
class Batch:
    """Up to :data:`BATCH_ROWS` source rows. ``row_no`` is 1-based within the source layer."""

    row_no: list[int]
    wkb: list[bytes | None]
    columns: dict[str, list[Any]]

    def __len__(self) -> int:
        """Number of rows in the batch."""
        return len(self.row_no)

    def subset(self, indices: list[int]) -> Batch:
        """The rows at ``indices`` (positions in this batch), in that order."""
        return Batch([self.row_no[i] for i in indices], [self.wkb[i] for i in indices],
                     {k: [v[i] for i in indices] for k, v in self.columns.items()})


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """What GIS staff may say about how to read a file (``--encoding``, ``--x-column`` …)."""

    layer: str | None = None
    encoding: str | None = None
    x_column: str | None = None
    y_column: str | None = None


class Reader(Protocol):
    """One family of formats: opens a file as tables, and streams a table it opened."""

    def open(self, path: Path, fmt: str, options: ReadOptions) -> list[SourceLayer]:
        """Every table of the file at ``path`` (or only ``options.layer``).

        Raises:
            UnreadableSource: when the file cannot be read.
        """
        ...

    def batches(self, src: SourceLayer, size: int) -> Iterator[Batch]:
        """Stream the rows of a table this reader opened, ``size`` rows at a time."""
        ...


@dataclass
class SourceLayer:
    """One table of a delivery: a Shapefile, a GeoPackage layer, a CSV, an EPANET section …"""

    path: Path
    layer: str | None
    format: str
    fields: list[str]
    geometry_type: str | None
    declared_crs: str | None = None
    encoding: EncodingGuess | None = None
    count: int | None = None
    xy_columns: tuple[str, str] | None = None
    rows: list[dict[str, Any]] | None = None  # in-memory tables (EPANET, DXF post-processing)
    wkb_rows: list[bytes | None] | None = None
    notes: list[str] = field(default_factory=list)
    reader: Reader | None = None  # who streams it; in-memory tables need none

    @property
    def label(self) -> str:
        """How the report names the table: the file name, plus the layer for multi-layer files."""
        single = self.format in ("ESRI Shapefile", "CSV") or not self.layer
        return self.path.name if single else f"{self.path.name}:{self.layer}"

    def describe(self) -> dict[str, Any]:
        """The table as the report's ``sources`` list shows it."""
        return {
            "file": str(self.path), "layer": self.layer, "format": self.format, "rows": self.count,
            "geometry_type": self.geometry_type, "declared_crs": self.declared_crs,
            "encoding": {"name": self.encoding.name, "reason": self.encoding.reason} if self.encoding else None,
            "xy_columns": list(self.xy_columns) if self.xy_columns else None, "notes": self.notes,
        }

    def batches(self, size: int = BATCH_ROWS) -> Iterator[Batch]:
        """Stream the rows; memory stays bounded by ``size`` rows."""
        if self.rows is not None:
            yield from memory_batches(self, size)
        elif self.reader is not None:
            yield from self.reader.batches(self, size)
        else:
            raise UnreadableSource(f"{self.label}: no reader streams this table")


def memory_batches(src: SourceLayer, size: int) -> Iterator[Batch]:
    """Stream a table built in memory (``src.rows``), ``size`` rows at a time."""
    assert src.rows is not None
    wkbs = src.wkb_rows or [None] * len(src.rows)
    for start in range(0, len(src.rows), size):
        chunk = src.rows[start: start + size]
        cols = {name: [r.get(name) for r in chunk] for name in src.fields}
        rows = list(range(start + 1, start + 1 + len(chunk)))
        yield with_xy(src, Batch(rows, list(wkbs[start: start + size]), cols))


def with_xy(src: SourceLayer, batch: Batch) -> Batch:
    """Tables carry coordinates in two columns; turn them into point WKB (source CRS and order)."""
    if src.xy_columns is None:
        return batch
    xs = np.array([_as_float(v) for v in batch.columns.get(src.xy_columns[0], [])], dtype=np.float64)
    ys = np.array([_as_float(v) for v in batch.columns.get(src.xy_columns[1], [])], dtype=np.float64)
    ok = np.isfinite(xs) & np.isfinite(ys)
    points = shapely.points(np.where(ok, xs, 0.0), np.where(ok, ys, 0.0))
    wkb = shapely.to_wkb(points)
    batch.wkb = [bytes(w) if good else None for w, good in zip(wkb, ok, strict=True)]
    return batch


def _as_float(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().replace(",", ""))
        except ValueError:
            return float("nan")
    return float("nan")


def find_xy_columns(fields: list[str], *, x: str | None = None, y: str | None = None) -> tuple[str, str] | None:
    """The coordinate columns of a table: given names, else the usual survey-table names.

    Raises:
        UnreadableSource: when a given column is not in the table.
    """
    if x and y:
        missing = [c for c in (x, y) if c not in fields]
        if missing:
            raise UnreadableSource(
                f"coordinate column(s) {', '.join(missing)} not in the table ({', '.join(fields)})"
            )
        return x, y
    lowered = {re.sub(r"[\s_()（）]", "", f).lower(): f for f in fields}
    for xn, yn in _XY_NAMES:
        if xn in lowered and yn in lowered:
            return lowered[xn], lowered[yn]
    return None


async def read_ahead(batches: Iterator[Batch]) -> AsyncIterator[Batch]:
    """``batches``, the next one read in a worker thread while the caller handles the current one.

    GDAL decodes a batch without holding the GIL, so reading overlaps the mapping and validating
    of the batch before it (another thread) and the COPY of the one before that (PostgreSQL).
    The iterator is only ever advanced by one thread at a time.
    """
    pending = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
    try:
        while (batch := await pending) is not None:
            pending = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
            yield batch
    finally:
        if not pending.done():
            await asyncio.wait([pending])  # let the read in flight finish before the source is closed
