"""Reading deliveries: every format as a stream of batches of (row number, geometry WKB, columns).

GDAL (through pyogrio's Arrow stream) reads Shapefile, GeoPackage, FileGDB, GeoJSON,
DXF and XLSX; CSV is read with Python's csv module so its encoding can be detected;
EPANET ``.inp`` models are parsed by :mod:`ingest.epanet`. Geometries stay in
the source CRS and axis order here; :mod:`ingest.mapping` transforms them.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError

from ingest.encoding import EncodingGuess, detect_dbf_encoding, detect_text_encoding, normalise
from ingest.errors import UnreadableSource

BATCH_ROWS = 20_000
_FORMATS = {
    ".shp": "ESRI Shapefile", ".dbf": "ESRI Shapefile", ".gpkg": "GPKG", ".gdb": "OpenFileGDB",
    ".geojson": "GeoJSON", ".json": "GeoJSON", ".dxf": "DXF", ".xlsx": "XLSX", ".csv": "CSV", ".txt": "CSV",
    ".inp": "EPANET",
}
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
        return len(self.row_no)


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

    @property
    def label(self) -> str:
        single = self.format in ("ESRI Shapefile", "CSV") or not self.layer
        return self.path.name if single else f"{self.path.name}:{self.layer}"

    def describe(self) -> dict[str, Any]:
        return {
            "file": str(self.path), "layer": self.layer, "format": self.format, "rows": self.count,
            "geometry_type": self.geometry_type, "declared_crs": self.declared_crs,
            "encoding": {"name": self.encoding.name, "reason": self.encoding.reason} if self.encoding else None,
            "xy_columns": list(self.xy_columns) if self.xy_columns else None, "notes": self.notes,
        }

    def batches(self, size: int = BATCH_ROWS) -> Iterator[Batch]:
        """Stream the rows; memory stays bounded by ``size`` rows."""
        if self.rows is not None:
            yield from _memory_batches(self, size)
        elif self.format == "CSV":
            yield from _csv_batches(self, size)
        else:
            yield from _ogr_batches(self, size)


def _memory_batches(src: SourceLayer, size: int) -> Iterator[Batch]:
    assert src.rows is not None
    wkbs = src.wkb_rows or [None] * len(src.rows)
    for start in range(0, len(src.rows), size):
        chunk = src.rows[start: start + size]
        cols = {name: [r.get(name) for r in chunk] for name in src.fields}
        rows = list(range(start + 1, start + 1 + len(chunk)))
        yield _with_xy(src, Batch(rows, list(wkbs[start: start + size]), cols))


def _with_xy(src: SourceLayer, batch: Batch) -> Batch:
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
    """The coordinate columns of a table: given names, else the usual survey-table names."""
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


def _ogr_batches(src: SourceLayer, size: int) -> Iterator[Batch]:
    encoding = src.encoding.name if src.encoding and src.format == "ESRI Shapefile" else None
    row = 1
    try:
        with pyogrio.raw.open_arrow(
            src.path, layer=src.layer, encoding=encoding, batch_size=size, use_pyarrow=True
        ) as (meta, reader):
            geometry_name = meta.get("geometry_name") or "wkb_geometry"
            for record_batch in reader:
                names = record_batch.schema.names
                cols = {n: record_batch.column(i).to_pylist() for i, n in enumerate(names) if n != geometry_name}
                n = record_batch.num_rows
                wkb = record_batch.column(geometry_name).to_pylist() if geometry_name in names else [None] * n
                batch = Batch(list(range(row, row + n)), wkb, cols)
                row += n
                yield _with_xy(src, batch)
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise UnreadableSource(f"cannot read {src.label}: {exc}") from exc


def _csv_batches(src: SourceLayer, size: int) -> Iterator[Batch]:
    assert src.encoding is not None
    with src.path.open(encoding=src.encoding.name, newline="") as fh:
        reader = csv.reader(fh, dialect=_dialect(src.path, src.encoding.name))
        header = next(reader, [])
        names = [h.strip() for h in header]
        rows: list[list[str]] = []
        first = 1
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            rows.append(values)
            if len(rows) == size:
                yield _csv_batch(src, names, rows, first)
                first += len(rows)
                rows = []
        if rows:
            yield _csv_batch(src, names, rows, first)


def _csv_batch(src: SourceLayer, names: list[str], rows: list[list[str]], first: int) -> Batch:
    cols: dict[str, list[Any]] = {n: [] for n in names}
    for values in rows:
        for i, n in enumerate(names):
            v = values[i].strip() if i < len(values) else ""
            cols[n].append(v if v != "" else None)
    return _with_xy(src, Batch(list(range(first, first + len(rows))), [None] * len(rows), cols))


def _dialect(path: Path, encoding: str) -> type[csv.Dialect]:
    sample = path.read_text(encoding=encoding, errors="replace")[:20_000]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def format_of(path: Path) -> str:
    """The reader a path needs, from its extension (a ``.gdb`` folder is a FileGDB)."""
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(set(_FORMATS)))
        raise UnreadableSource(f"{path.name}: unknown delivery format {path.suffix!r}; known: {known}")
    return fmt


def open_source(
    path: Path, *, layer: str | None = None, encoding: str | None = None,
    x_column: str | None = None, y_column: str | None = None,
) -> list[SourceLayer]:
    """Every table of the delivery at ``path`` (or only ``layer``), ready to stream.

    Raises:
        UnreadableSource: when the file is missing, of an unknown format, or unreadable.
    """
    if not path.exists():
        raise UnreadableSource(f"{path} does not exist")
    fmt = format_of(path)
    if fmt == "EPANET":
        from ingest.epanet import open_inp

        layers: list[SourceLayer] = open_inp(path)
        return layers
    if fmt == "CSV":
        guess = EncodingGuess(normalise(encoding), "--encoding") if encoding else detect_text_encoding(path)
        with path.open(encoding=guess.name, newline="") as fh:
            header = [h.strip() for h in next(csv.reader(fh, dialect=_dialect(path, guess.name)), [])]
        if not header:
            raise UnreadableSource(f"{path.name} is empty")
        xy = find_xy_columns(header, x=x_column, y=y_column)
        return [SourceLayer(path, None, fmt, header, "Point" if xy else None, encoding=guess, xy_columns=xy)]
    try:
        listed = pyogrio.list_layers(path)
    except (DataSourceError, OSError) as exc:
        raise UnreadableSource(f"cannot open {path.name}: {exc}") from exc
    names = [str(n) for n, _ in listed]
    if layer is not None and layer not in names:
        raise UnreadableSource(f"{path.name} has no layer {layer!r}; it has {', '.join(names)}")
    out: list[SourceLayer] = []
    for name in [layer] if layer else names:
        out.append(_ogr_layer(path, fmt, name, encoding, x_column, y_column))
    if fmt == "DXF":
        from ingest.dxf import split_dxf

        return split_dxf(out[0])
    if fmt == "GPKG" and layer is None:
        from ingest import epanet

        by_name = {s.layer or "": s for s in out}
        if epanet.is_network_gpkg({k: s.fields for k, s in by_name.items()}):
            return epanet.from_tables(path, by_name["nodes"], by_name["links"])
    return out


def _ogr_layer(
    path: Path, fmt: str, name: str | None, encoding: str | None, x_column: str | None, y_column: str | None
) -> SourceLayer:
    guess: EncodingGuess | None = None
    if fmt == "ESRI Shapefile":
        guess = EncodingGuess(normalise(encoding), "--encoding") if encoding else detect_dbf_encoding(path)
    try:
        info = pyogrio.read_info(path, layer=name, encoding=guess.name if guess else None)
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise UnreadableSource(f"cannot read {path.name}: {exc}") from exc
    fields = [str(f) for f in info["fields"]]
    geometry_type = info.get("geometry_type")
    src = SourceLayer(
        path, name, fmt, fields, _base_type(geometry_type), declared_crs=info.get("crs"),
        encoding=guess, count=int(info["features"]) if info.get("features", -1) >= 0 else None,
    )
    if src.geometry_type is None:
        src.xy_columns = find_xy_columns(fields, x=x_column, y=y_column)
        if src.xy_columns:
            src.geometry_type = "Point"
    return src


def _base_type(geometry_type: str | None) -> str | None:
    """``"LineString Z"`` → ``"LineString"``; tables have no type; mixed layers say ``"Unknown"``."""
    return geometry_type.split(" ")[0] if geometry_type else None
