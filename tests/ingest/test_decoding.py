"""Finding the row and field of undecodable text, numbered exactly as the readers number rows."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ingest.decoding import UndecodableText, diagnose_csv, diagnose_dbf, undecodable
from ingest.encoding import EncodingGuess
from ingest.errors import UnreadableSource
from ingest.readers.base import Batch, ReadOptions
from ingest.readers.ogr import OgrReader
from ingest.readers.tables import CsvReader, _dialect
from tests import deliveries
from tests.deliveries import MISLABELLED_NAME, MISLABELLED_ROW

UTF8_CPG = EncodingGuess("UTF-8", "stations.cpg says UTF-8")


def _row_of(batches: list[Batch], name: str) -> int:
    """The row number a reader gives the row whose ``name`` is ``name``."""
    for batch in batches:
        for row, value in zip(batch.row_no, batch.columns["name"], strict=True):
            if value == name:
                return int(row)
    raise AssertionError(f"{name} not read")


def test_dbf_row_skips_deleted_records_as_gdal_does(tmp_path: Path) -> None:
    shp, _ = deliveries.mislabelled_gbk_stations(tmp_path)
    dbf = shp.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    data[int.from_bytes(data[8:10], "little")] = ord("*")  # delete the first record
    dbf.write_bytes(bytes(data))
    problem = diagnose_dbf(dbf, UTF8_CPG)
    assert problem is not None and (problem.row, problem.field) == (MISLABELLED_ROW - 1, "name")
    read = list(OgrReader().open(shp, "ESRI Shapefile", ReadOptions(encoding="GB18030"))[0].batches())
    assert _row_of(read, MISLABELLED_NAME) == problem.row


def test_reader_raises_the_diagnosis_not_the_codec_error(tmp_path: Path) -> None:
    shp, table = deliveries.mislabelled_gbk_stations(tmp_path)
    with pytest.raises(UndecodableText) as caught:
        for src in OgrReader().open(shp, "ESRI Shapefile", ReadOptions()):
            list(src.batches())
    assert caught.value.problem.row == MISLABELLED_ROW
    assert str(caught.value).startswith(f"stations.dbf, row {MISLABELLED_ROW}, field name: the bytes ")
    with pytest.raises(UndecodableText, match=f"stations.csv, row {MISLABELLED_ROW}, field name"):
        for src in CsvReader().open(table, "CSV", ReadOptions(encoding="UTF-8")):
            list(src.batches())


def test_csv_row_skips_blank_lines_as_the_reader_does(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_bytes("name,station\n\nA,subway\n\n,\n长沙站,train\n".encode("gbk"))
    problem = diagnose_csv(path, EncodingGuess("UTF-8", "--encoding"), _dialect_of(path))
    assert problem is not None and (problem.row, problem.field) == (2, "name")
    read = list(CsvReader().open(path, "CSV", ReadOptions(encoding="GB18030"))[0].batches())
    assert _row_of(read, "长沙站") == 2
    assert problem.fix == "run again with --encoding GB18030 instead of --encoding UTF-8"


def test_bytes_no_candidate_reads_still_name_the_place(tmp_path: Path) -> None:
    path = tmp_path / "junk.csv"
    path.write_bytes(b"name,station\nA,subway\n\xff\xfe\xff,train\n")
    problem = diagnose_csv(path, EncodingGuess("UTF-8", "the file is valid UTF-8"), _dialect_of(path))
    assert problem is not None and (problem.row, problem.field, problem.reads_as) == (2, "name", None)
    assert "--encoding and the file's real code page" in problem.fix
    assert "ff fe ff" in problem.message()


def test_a_clean_file_has_no_problem_and_an_unplaced_error_still_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_text("name,station\n长沙站,train\n", encoding="utf-8")
    assert diagnose_csv(path, EncodingGuess("UTF-8", "--encoding"), _dialect_of(path)) is None
    exc = UnicodeDecodeError("utf-8", b"\xba", 0, 1, "invalid start byte")
    error = undecodable(None, "roads.gpkg", None, exc)
    assert type(error) is UnreadableSource  # exit code 2, like any unreadable file
    assert str(error).startswith("roads.gpkg: text is not valid utf-8") and "0xba" in str(error)
    assert "--encoding" in str(error)


def _dialect_of(path: Path) -> type[csv.Dialect]:
    """The dialect the CSV reader sniffs for ``path``."""
    return _dialect(path, "utf-8")
