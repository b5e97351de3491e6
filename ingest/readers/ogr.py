"""GDAL formats through pyogrio's Arrow stream: Shapefile, GeoPackage, FileGDB, GeoJSON.

Shapefile text is decoded with the encoding :mod:`ingest.encoding` detects (GBK
``.dbf`` files without a ``.cpg`` are common). A GeoPackage in the EPANET nodes/links
layout is handed to :mod:`ingest.readers.epanet`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

from ingest.decoding import diagnose_dbf, undecodable
from ingest.encoding import EncodingGuess, detect_dbf_encoding, normalise
from ingest.errors import UnreadableSource
from ingest.readers import epanet
from ingest.readers.base import Batch, ReadOptions, SourceLayer, find_xy_columns, with_xy


class OgrReader:
    """Any vector format GDAL reads; each layer of the file is one table."""

    def open(self, path: Path, fmt: str, options: ReadOptions) -> list[SourceLayer]:
        """Every layer of ``path`` (or only ``options.layer``).

        Raises:
            UnreadableSource: when GDAL cannot open the file or it has no such layer.
        """
        try:
            listed = pyogrio.list_layers(path)
        except (DataSourceError, OSError) as exc:
            raise UnreadableSource(f"cannot open {path.name}: {exc}") from exc
        names = [str(n) for n, _ in listed]
        if options.layer is not None and options.layer not in names:
            raise UnreadableSource(f"{path.name} has no layer {options.layer!r}; it has {', '.join(names)}")
        return [self.open_layer(path, fmt, name, options) for name in ([options.layer] if options.layer else names)]

    def open_layer(self, path: Path, fmt: str, name: str | None, options: ReadOptions) -> SourceLayer:
        """One layer of ``path``, with its fields, geometry type, declared CRS and feature count.

        Raises:
            UnreadableSource: when GDAL cannot read the layer.
        """
        guess: EncodingGuess | None = None
        if fmt == "ESRI Shapefile":
            guess = (EncodingGuess(normalise(options.encoding), "--encoding") if options.encoding
                     else detect_dbf_encoding(path))
        try:
            info = pyogrio.read_info(path, layer=name, encoding=guess.name if guess else None)
        except (DataSourceError, DataLayerError, OSError) as exc:
            raise UnreadableSource(f"cannot read {path.name}: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise _undecodable(path, guess, exc) from exc
        fields = [str(f) for f in info["fields"]]
        src = SourceLayer(
            path, name, fmt, fields, _base_type(info.get("geometry_type")), declared_crs=info.get("crs"),
            encoding=guess, count=int(info["features"]) if info.get("features", -1) >= 0 else None, reader=self,
        )
        if src.geometry_type is None:
            src.xy_columns = find_xy_columns(fields, x=options.x_column, y=options.y_column)
            if src.xy_columns:
                src.geometry_type = "Point"
        return src

    def batches(self, src: SourceLayer, size: int) -> Iterator[Batch]:
        """Stream a layer through GDAL's Arrow interface, ``size`` rows at a time.

        Raises:
            UnreadableSource: when GDAL fails part-way through the file.
        """
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
                    yield with_xy(src, batch)
        except (DataSourceError, DataLayerError, OSError) as exc:
            raise UnreadableSource(f"cannot read {src.label}: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise _undecodable(src.path, src.encoding, exc) from exc


def _undecodable(path: Path, guess: EncodingGuess | None, exc: UnicodeDecodeError) -> UnreadableSource:
    """Name the row and field of a Shapefile's undecodable text (other formats: the file)."""
    dbf = path.with_suffix(".dbf")
    found = diagnose_dbf(dbf, guess) if guess is not None and dbf.is_file() else None
    return undecodable(found, path.name, guess, exc)


class GeoPackageReader(OgrReader):
    """GeoPackages: ordinary layers, or an EPANET network exported as ``nodes`` and ``links`` layers."""

    def open(self, path: Path, fmt: str, options: ReadOptions) -> list[SourceLayer]:
        """Every layer of the GeoPackage, or the points and segments of the network it holds.

        Raises:
            UnreadableSource: when the file cannot be read.
        """
        out = super().open(path, fmt, options)
        if options.layer is None:
            by_name = {s.layer or "": s for s in out}
            if epanet.is_network_gpkg({k: s.fields for k, s in by_name.items()}):
                return epanet.from_tables(path, by_name["nodes"], by_name["links"])
        return out


def _base_type(geometry_type: str | None) -> str | None:
    """``"LineString Z"`` → ``"LineString"``; tables have no type; mixed layers say ``"Unknown"``."""
    return geometry_type.split(" ")[0] if geometry_type else None
