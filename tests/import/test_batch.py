"""A folder of deliveries with a manifest: each imported on its own, one report each."""

from __future__ import annotations

import asyncio
import importlib
import json
import shutil
from pathlib import Path

from layers.db import connect
from tests import deliveries


async def test_manifest_batch(fresh_db_url: str, delivered: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "2024-05_岳麓区"
    folder.mkdir()
    for key in ("gbk_points", "gbk_segments"):
        for side in delivered[key].parent.glob(delivered[key].stem + ".*"):
            shutil.copy(side, folder / side.name)
    shutil.copy(delivered["gcj02_buildings"], folder / "房屋.geojson")
    deliveries.dxf_drawing(folder / "broken.dxf")
    (folder / "manifest.yaml").write_text(
        "defaults: {valid_from: '2024-05-01'}\n"
        "deliveries:\n"
        "  - job: pipelines\n    files: [管线点.shp, 管线段.shp]\n"
        "  - job: buildings\n    files: 房屋.geojson\n    options: {crs: gcj02}\n"
        "  - job: pipelines\n    name: cad\n    files: broken.dxf\n",  # no material etc.: refused
        encoding="utf-8",
    )
    cli = importlib.import_module("import.cli")
    out = tmp_path / "reports"
    code = await asyncio.to_thread(cli.main, ["batch", str(folder), "--report-dir", str(out), "--database-url",
                                              fresh_db_url, "--progress", "none"])
    assert code == 1  # the worst delivery was refused
    summary = json.loads((out / "batch.json").read_text())
    assert [(d["name"], d["status"]) for d in summary["deliveries"]] == [
        ("01-pipelines", "imported"), ("02-buildings", "imported"), ("cad", "refused")]
    assert (out / "cad" / "report.html").is_file()
    conn = await connect(fresh_db_url)
    try:
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM data.buildings) b, (SELECT count(*) FROM data.pipeline_water_points) p, "
            "(SELECT count(*) FROM data.pipeline_storm_segments) s, (SELECT count(*) FROM onemap.changesets) c")
    finally:
        await conn.close()
    assert tuple(counts) == (200, 272, 0, 2)  # two deliveries in, one refused wholly
