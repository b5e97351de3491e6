"""Survey tables (成果表): CSV and XLSX, with coordinates in two columns or none at all.

CSV is read with Python's csv module so its encoding (GBK exports are common) can be
detected and its delimiter sniffed; XLSX goes through GDAL.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.decoding import diagnose_csv, undecodable
from ingest.encoding import EncodingGuess, detect_text_encoding, normalise
from ingest.errors import UnreadableSource
from ingest.readers.base import Batch, ReadOptions, SourceLayer, find_xy_columns, with_xy
from ingest.readers.ogr import OgrReader


class CsvReader:
    """A CSV (or delimited .txt) file is one table; blank lines are skipped."""

    def open(self, path: Path, fmt: str, options: ReadOptions) -> list[SourceLayer]:
        """The table, its encoding (given or detected) and its coordinate columns, if any.

        Raises:
            UnreadableSource: when the file has no header.
        """
        guess = (EncodingGuess(normalise(options.encoding), "--encoding") if options.encoding
                 else detect_text_encoding(path))
        dialect = _dialect(path, guess.name)
        try:
            with path.open(encoding=guess.name, newline="") as fh:
                header = [h.strip() for h in next(csv.reader(fh, dialect=dialect), [])]
        except UnicodeDecodeError as exc:
            raise undecodable(diagnose_csv(path, guess, dialect), path.name, guess, exc) from exc
        if not header:
            raise UnreadableSource(f"{path.name} is empty")
        xy = find_xy_columns(header, x=options.x_column, y=options.y_column)
        return [SourceLayer(path, None, fmt, header, "Point" if xy else None, encoding=guess, xy_columns=xy,
                            reader=self)]

    def batches(self, src: SourceLayer, size: int) -> Iterator[Batch]:
        """Stream the rows, empty cells as None, ``size`` rows at a time.

        Raises:
            UnreadableSource: naming the row and column whose text is not in the file's encoding.
        """
        assert src.encoding is not None
        dialect = _dialect(src.path, src.encoding.name)
        try:
            yield from self._rows(src, size, dialect)
        except UnicodeDecodeError as exc:
            raise undecodable(diagnose_csv(src.path, src.encoding, dialect), src.path.name, src.encoding, exc) from exc

    def _rows(self, src: SourceLayer, size: int, dialect: type[csv.Dialect]) -> Iterator[Batch]:
        assert src.encoding is not None
        with src.path.open(encoding=src.encoding.name, newline="") as fh:
            reader = csv.reader(fh, dialect=dialect)
            names = [h.strip() for h in next(reader, [])]
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
    return with_xy(src, Batch(list(range(first, first + len(rows))), [None] * len(rows), cols))


def _dialect(path: Path, encoding: str) -> type[csv.Dialect]:
    sample = path.read_text(encoding=encoding, errors="replace")[:20_000]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


class XlsxReader(OgrReader):
    """Excel workbooks through GDAL: each sheet is a table; numbers arrive typed by Excel."""
