"""Seeding the 3D tile cache and exporting 3D Tiles folders (library and ``onemap tiles`` CLI)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from api.settings import PROJECT_ROOT
from tests.cityfixtures import City
from tests.tiles.threed_checks import schema_errors, validate_glbs
from tiles.service import TileService
from tiles.threed_export import content_cells, export_3dtiles, seed_3d
from tiles.threed_service import ThreeDService


async def test_seed_fills_memory_and_disk(service: TileService) -> None:
    threed = ThreeDService(service)
    layers = [service.registry.get("pipeline_water_segments"), service.registry.get("pipeline_water_points")]
    run = await seed_3d(threed, layers)
    expected = sum([len(content_cells(await threed.tileset(layer))) for layer in layers])
    assert run.tiles == expected > 0 and run.non_empty == expected
    assert service.disk is not None and service.disk.count() == expected
    layer = layers[0]
    z, x, y = content_cells(await threed.tileset(layer))[0]
    assert (await threed.content(layer, z, x, y)).source == "memory"


async def test_export_writes_a_folder_a_viewer_opens(service: TileService, tmp_path: Path) -> None:
    threed = ThreeDService(service)
    layers = [service.registry.get("buildings"), service.registry.get("pipeline_water_segments")]
    out = tmp_path / "city3d"
    run = await export_3dtiles(threed, layers, out=out)
    root = json.loads((out / "tileset.json").read_text())
    assert "打开本地文件夹" in (out / "README.txt").read_text(encoding="utf-8")
    assert schema_errors(root, "tileset.schema.json") == []
    assert [c["content"]["uri"] for c in root["root"]["children"]] == [f"{layer.id}/tileset.json" for layer in layers]
    files = []
    for layer in layers:
        doc = json.loads((out / layer.id / "tileset.json").read_text())
        assert schema_errors(doc, "tileset.schema.json") == []
        for z, x, y in content_cells(doc):
            path = out / layer.id / str(z) / str(x) / f"{y}.glb"
            assert path.exists()  # every relative content URI resolves inside the folder
            files.append(path)
    assert run.tiles == len(files)
    served = (await threed.content(layers[1], *content_cells(await threed.tileset(layers[1]))[0])).data
    first = content_cells(json.loads((out / layers[1].id / "tileset.json").read_text()))[0]
    assert (out / layers[1].id / str(first[0]) / str(first[1]) / f"{first[2]}.glb").read_bytes() == served
    assert all(r["errors"] == 0 for r in validate_glbs(files[:10]))


@pytest.mark.slow
async def test_cli_seed_and_export(city: City, tmp_path: Path) -> None:
    env = {**os.environ, "ONEMAP_DATABASE_URL": city.url, "ONEMAP_VAR_DIR": str(tmp_path / "var")}
    onemap = str(PROJECT_ROOT / ".venv" / "bin" / "onemap")

    async def run(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(onemap, "tiles", *args, env=env, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        return proc.returncode or 0, out.decode(), err.decode()

    code, out, err = await run("seed", "--3d", "--layers", "buildings")
    assert code == 0, err
    assert "content tiles" in out and "tiles (" in out
    assert list((tmp_path / "var" / "tiles" / "CGCS2000Quad" / "@3d+buildings").rglob("*.glb"))
    code, _, err = await run("seed", "--3d", "--layers", "pipeline_water_segments")
    assert code == 2 and "restricted" in err
    code, _, err = await run("seed", "--3d", "--layers", "rail_stations")
    assert code == 2 and "3D tiles" in err
    dest = tmp_path / "export"
    code, out, err = await run("export", "--format", "3dtiles", "--layers", "pipeline_water_segments",
                               "--include-restricted", "--datetime", "2000-01-01", "--out", str(dest))
    assert code == 0, err
    doc = json.loads((dest / "pipeline_water_segments" / "tileset.json").read_text())
    assert content_cells(doc) and (dest / "tileset.json").exists()
    code, _, err = await run("export", "--format", "3dtiles", "--layers", "buildings",
                             "--datetime", "2000-01-01/2010-01-01", "--out", str(dest))
    assert code == 2 and "instant" in err
