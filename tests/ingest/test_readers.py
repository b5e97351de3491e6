"""The table of formats: every entry names a reader that loads, and a CSV streams as its rows."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ingest.errors import UnreadableSource
from ingest.readers.base import ReadOptions
from ingest.readers.formats import FORMATS, format_of, open_source, reader


@pytest.mark.parametrize("extension", sorted(FORMATS))
def test_every_format_has_a_reader(extension: str) -> None:
    fmt, dotted = FORMATS[extension]
    loaded = reader(dotted)
    assert type(loaded).__name__ == dotted.rsplit(".", 1)[1]
    assert callable(loaded.open) and callable(loaded.batches)
    assert format_of(Path(f"delivery{extension.upper()}")) == fmt


def test_unknown_extension_names_the_known_ones() -> None:
    with pytest.raises(UnreadableSource, match=r"unknown delivery format '\.dwg'.*\.csv"):
        format_of(Path("管线图.dwg"))


def test_csv_streams_in_batches_with_points_from_its_xy(tmp_path: Path) -> None:
    path = tmp_path / "管线点.csv"
    with path.open("w", encoding="gbk", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["物探点号", "X", "Y"])
        for i in range(5):
            w.writerow([f"JS{i}", f"{3120466 + i}.5", "396301.63"])
        w.writerow(["JS9", "", ""])  # no coordinates: no geometry, the row still comes through
    (src,) = open_source(path, ReadOptions())
    assert (src.format, src.xy_columns, src.encoding and src.encoding.name) == ("CSV", ("X", "Y"), "GB18030")
    batches = list(src.batches(size=4))
    assert [len(b) for b in batches] == [4, 2]
    assert batches[1].row_no == [5, 6] and batches[1].columns["物探点号"] == ["JS4", "JS9"]
    assert batches[1].wkb[0] is not None and batches[1].wkb[1] is None
