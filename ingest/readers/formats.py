"""The table of delivery formats: file extension → (format name, reader class as a dotted path).

Readers are imported by name through importlib when a file of theirs is opened, so
adding a format is one reader module and one line here, with no ``if`` chain.
"""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path

from ingest.errors import UnreadableSource
from ingest.readers.base import Reader, ReadOptions, SourceLayer

FORMATS: dict[str, tuple[str, str]] = {
    ".shp": ("ESRI Shapefile", "ingest.readers.ogr.OgrReader"),
    ".dbf": ("ESRI Shapefile", "ingest.readers.ogr.OgrReader"),
    ".gpkg": ("GPKG", "ingest.readers.ogr.GeoPackageReader"),
    ".gdb": ("OpenFileGDB", "ingest.readers.ogr.OgrReader"),
    ".geojson": ("GeoJSON", "ingest.readers.ogr.OgrReader"),
    ".json": ("GeoJSON", "ingest.readers.ogr.OgrReader"),
    ".csv": ("CSV", "ingest.readers.tables.CsvReader"),
    ".txt": ("CSV", "ingest.readers.tables.CsvReader"),
    ".xlsx": ("XLSX", "ingest.readers.tables.XlsxReader"),
    ".dxf": ("DXF", "ingest.readers.dxf.DxfReader"),
    ".inp": ("EPANET", "ingest.readers.epanet.EpanetReader"),
}


def format_of(path: Path) -> str:
    """The format name of a path, from its extension (a ``.gdb`` folder is a FileGDB).

    Raises:
        UnreadableSource: for an extension no reader handles.
    """
    return _entry(path)[0]


def _entry(path: Path) -> tuple[str, str]:
    entry = FORMATS.get(path.suffix.lower())
    if entry is None:
        known = ", ".join(sorted(FORMATS))
        raise UnreadableSource(f"{path.name}: unknown delivery format {path.suffix!r}; known: {known}")
    return entry


@cache
def reader(dotted: str) -> Reader:
    """The reader named by a dotted path such as ``ingest.readers.ogr.OgrReader`` (one instance each)."""
    module, _, name = dotted.rpartition(".")
    made: Reader = getattr(importlib.import_module(module), name)()
    return made


def open_source(path: Path, options: ReadOptions | None = None) -> list[SourceLayer]:
    """Every table of the delivery at ``path`` (or only ``options.layer``), ready to stream.

    Raises:
        UnreadableSource: when the file is missing, of an unknown format, or unreadable.
    """
    if not path.exists():
        raise UnreadableSource(f"{path} does not exist")
    fmt, dotted = _entry(path)
    return reader(dotted).open(path, fmt, options or ReadOptions())
