"""GBK .dbf without .cpg, .cpg files, and CSV encodings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely
from pyogrio.raw import write
from shapely.geometry import Point

from ingest.encoding import detect_dbf_encoding, detect_text_encoding, normalise


def _shapefile(path: Path, encoding: str) -> Path:
    write(str(path), np.array([shapely.to_wkb(Point(1, 2))], dtype=object), [np.array(["球墨铸铁"], dtype=object)],
          ["材质"], geometry_type="Point", crs="EPSG:4490", encoding=encoding, driver="ESRI Shapefile")
    return path


def test_gbk_dbf_without_cpg_is_detected(tmp_path: Path) -> None:
    shp = _shapefile(tmp_path / "a.shp", "GBK")
    shp.with_suffix(".cpg").unlink()
    guess = detect_dbf_encoding(shp)
    assert guess.name == "GB18030" and "no .cpg" in guess.reason


def test_cpg_wins_and_utf8_is_recognised(tmp_path: Path) -> None:
    shp = _shapefile(tmp_path / "b.shp", "UTF-8")
    assert detect_dbf_encoding(shp).name == "UTF-8"
    shp.with_suffix(".cpg").write_text("936")
    assert detect_dbf_encoding(shp).name == "GB18030"


def test_csv_encodings(tmp_path: Path) -> None:
    for name, enc in (("gbk.csv", "gbk"), ("utf8.csv", "utf-8"), ("bom.csv", "utf-8-sig")):
        (tmp_path / name).write_text("物探点号,X,Y\nJS1,3121000,399000\n", encoding=enc)
    assert detect_text_encoding(tmp_path / "gbk.csv").name == "GB18030"
    assert detect_text_encoding(tmp_path / "utf8.csv").name == "UTF-8"
    assert detect_text_encoding(tmp_path / "bom.csv").name == "utf-8-sig"
    assert normalise("gbk") == "GB18030" and normalise("CP936") == "GB18030"
