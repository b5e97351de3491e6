"""Deliveries whose text is not in the encoding they are read with: the import stops with exit
code 2 (unreadable), and report.json and report.html name the file, the row, the field and the
fix — which, applied, imports the delivery."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests import deliveries
from tests.deliveries import MISLABELLED_NAME, MISLABELLED_ROW, Runner


@pytest.fixture(scope="module")
def stations(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return deliveries.mislabelled_gbk_stations(tmp_path_factory.mktemp("mislabelled"))


def _html(report: dict[str, Any]) -> str:
    return (Path(report["_dir"]) / "report.html").read_text("utf-8")


def _unreadable(code: int, report: dict[str, Any]) -> dict[str, Any]:
    assert code == 2, report.get("error")
    assert report["status"] == "failed"
    assert "'utf-8' codec can't decode" not in report["error"]
    problem: dict[str, Any] = report["problem"]
    assert problem["kind"] == "encoding" and problem["encoding"] == "UTF-8"
    assert problem["reads_as"]["encoding"] == "GB18030"
    assert "--encoding GB18030" in problem["fix"] and problem["fix"] in report["error"]
    html = _html(report)
    assert problem["file"] in html and problem["fix"] in html.replace("&#39;", "'")
    return problem


async def test_gbk_shapefile_whose_cpg_says_utf8(
    fresh_db_url: str, delivered: dict[str, Path], run_import: Runner, tmp_path: Path,
) -> None:
    for shp in (delivered["gbk_points"], delivered["gbk_segments"]):
        for part in shp.parent.glob(shp.stem + ".*"):
            shutil.copy(part, tmp_path / part.name)
        (tmp_path / shp.name).with_suffix(".cpg").write_text("UTF-8")
    code, report = await run_import("pipelines", tmp_path / delivered["gbk_points"].name,
                                    tmp_path / delivered["gbk_segments"].name, url=fresh_db_url)
    problem = _unreadable(code, report)
    assert problem["file"] in ("管线点.dbf", "管线段.dbf")
    assert problem["row"] is None  # the Chinese field names already fail
    assert problem["field"].startswith("#1 (") and problem["reads_as"]["text"] in problem["field"]
    assert problem["reason"].endswith(".cpg says UTF-8")
    assert f"{problem['file']}, the header (field names), field #1" in report["error"]
    assert ".cpg" in problem["fix"]


async def test_gbk_csv_imported_with_encoding_utf8(
    fresh_db_url: str, delivered: dict[str, Path], run_import: Runner,
) -> None:
    code, report = await run_import("pipelines", "--points", delivered["csv_points"], "--segments",
                                    delivered["csv_segments"], "--encoding", "UTF-8", url=fresh_db_url)
    problem = _unreadable(code, report)
    assert problem["file"] in (delivered["csv_points"].name, delivered["csv_segments"].name)
    assert problem["row"] is None and problem["reads_as"]["text"] in ("物探点号", "起始点号")
    assert problem["fix"] == "run again with --encoding GB18030 instead of --encoding UTF-8"


@pytest.mark.parametrize("kind", ["shapefile", "csv"])
async def test_row_and_field_of_the_first_undecodable_value_and_the_fix_works(
    fresh_db_url: str, stations: tuple[Path, Path], run_import: Runner, kind: str,
) -> None:
    path = stations[0] if kind == "shapefile" else stations[1]
    extra = ["--encoding", "UTF-8"] if kind == "csv" else []
    code, report = await run_import("generic", path, "--layer", "rail_stations", "--mode", "append", *extra,
                                    url=fresh_db_url)
    problem = _unreadable(code, report)
    assert (problem["file"], problem["row"], problem["field"]) == (
        "stations.dbf" if kind == "shapefile" else "stations.csv", MISLABELLED_ROW, "name"
    )
    assert problem["reads_as"]["text"] == MISLABELLED_NAME
    assert f"row {MISLABELLED_ROW}, field name" in report["error"]
    assert f"row {MISLABELLED_ROW}" in _html(report)

    code, report = await run_import("generic", path, "--layer", "rail_stations", "--mode", "append",
                                    "--encoding", "GB18030", url=fresh_db_url)
    assert code == 0, report.get("error") or report.get("reasons")
    assert report["counts"]["inserted"] == 6 and report["problem"] is None
