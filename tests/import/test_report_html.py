"""The HTML report opens from disk, loads nothing from anywhere, and maps what was rejected."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.chromium import probe, with_probe
from tests.deliveries import Runner


@pytest.mark.browser
async def test_report_of_a_refused_delivery(fresh_db_url: str, delivered: dict[str, Path], run_import: Runner,
                                            tmp_path: Path) -> None:
    # Declaring the wrong GK zone (37 instead of 38) puts every feature ~300 km west, outside the city.
    code, report = await run_import("pipelines", delivered["gbk_points"], delivered["gbk_segments"], "--crs",
                                    "EPSG:4546", url=fresh_db_url)
    assert code == 1
    html = (Path(report["_dir"]) / "report.html").read_text(encoding="utf-8")
    assert re.findall(r"<script[^>]*\ssrc=|<link[^>]*\shref=", html) == []
    page = tmp_path / "report.html"
    page.write_text(with_probe(html), encoding="utf-8")
    found = probe(page.as_uri(), budget_ms=4000)
    assert found["errors"] == [] and found["resources"] == []
    assert "已拒收" in found["title"]
    (frame,) = found["frames"]
    assert frame["leaflet"].startswith("1.9") and frame["resources"] == [] and frame["maps"] == 1
    assert frame["features"] == min(report["counts"]["rejected"], 2000)
    assert found["rows"] >= len(report["reasons"]) + 3


@pytest.mark.browser
async def test_report_of_an_import_maps_what_changed(fresh_db_url: str, delivered: dict[str, Path],
                                                     run_import: Runner, tmp_path: Path) -> None:
    code, report = await run_import("buildings", delivered["gcj02_buildings"], "--crs", "gcj02", url=fresh_db_url)
    assert code == 0
    page = tmp_path / "ok.html"
    page.write_text(with_probe((Path(report["_dir"]) / "report.html").read_text(encoding="utf-8")), encoding="utf-8")
    found = probe(page.as_uri(), budget_ms=4000)
    assert found["errors"] == [] and found["resources"] == []
    assert found["frames"][0]["features"] == report["counts"]["inserted"] == 200
