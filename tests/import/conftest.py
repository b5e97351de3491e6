"""Fixtures for the import jobs: deliveries built once per session, and a runner for the real CLI."""

from __future__ import annotations

import asyncio
import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests import deliveries
from tests.deliveries import Runner


@pytest.fixture(scope="session")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every delivery file the tests import (built from sample/data)."""
    root = tmp_path_factory.mktemp("deliveries")
    points, segments = deliveries.gbk_pipeline_shapefiles(root / "gbk")
    csv_points, csv_segments = deliveries.survey_tables_csv(root / "csv")
    return {
        "gbk_points": points, "gbk_segments": segments, "csv_points": csv_points, "csv_segments": csv_segments,
        "inp": deliveries.shifted_inp(root / "modena_changsha.inp"),
        "dxf": deliveries.dxf_drawing(root / "雨水管线.dxf"),
        "gcj02_buildings": deliveries.gcj02_buildings(root / "buildings_gcj02.geojson")[0],
    }


@pytest.fixture
def run_import(tmp_path: Path) -> Runner:
    """Run ``onemap import <job> …`` in-process (in a worker thread, as the CLI runs its own event loop);
    returns (exit code, report.json)."""
    cli = importlib.import_module("import.cli")
    counter = iter(range(1000))

    async def run(job: str, *args: str | Path, url: str) -> tuple[int, dict[str, Any]]:
        out = tmp_path / f"report-{next(counter)}"
        argv = [job, *map(str, args), "--database-url", url, "--report-dir", str(out), "--progress", "none"]
        code: int = await asyncio.to_thread(cli.main, argv)
        report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
        report["_dir"] = str(out)
        return code, report

    return run
