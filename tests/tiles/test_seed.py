"""Seeding the shared disk cache and exporting PMTiles, through the API's own tile service."""

from __future__ import annotations

import asyncio
import gzip
import os
from pathlib import Path

import mapbox_vector_tile
import pytest
from pmtiles.reader import MemorySource, Reader, all_tiles
from pmtiles.tile import Compression, TileType

from api.settings import PROJECT_ROOT
from spatial.tms import WEB_MERCATOR_QUAD, count_tiles, tile_range
from tests.citydata import AREA_4490
from tests.cityfixtures import City
from tiles.mvt import TileAddress
from tiles.seed import export_pmtiles, parse_bbox, parse_zooms, seed
from tiles.service import TileService


def test_parsing_ranges_and_boxes() -> None:
    assert parse_zooms("14") == range(14, 15) and parse_zooms("10-16") == range(10, 17)
    assert parse_bbox("112.9, 28.2, 113.0, 28.3") == (112.9, 28.2, 113.0, 28.3)
    for bad in ("16-10", "x", "30"):
        with pytest.raises(ValueError):
            parse_zooms(bad)
    with pytest.raises(ValueError):
        parse_bbox("113, 28, 112, 29")


async def test_seed_fills_the_disk_tier(service: TileService) -> None:
    layers = [service.registry.get("buildings"), service.registry.get("grid_cells")]
    ticks: list[int] = []
    run = await seed(service, layers, bbox=AREA_4490, zooms=range(13, 16), progress=ticks.append)
    expected = count_tiles(WEB_MERCATOR_QUAD, AREA_4490, range(13, 16))
    assert run.tiles == expected == len(ticks) and run.non_empty > 0
    # One file per layer and tile (both layers are on from z13), empty tiles included.
    assert service.disk is not None and service.disk.count() == expected * 2
    service.memory.clear()
    rng = tile_range(WEB_MERCATOR_QUAD, AREA_4490, 15)
    result = await service.vector_tile(layers, TileAddress(WEB_MERCATOR_QUAD, 15, rng.x0, rng.y0))
    assert result.source == "disk"


async def test_pmtiles_export_holds_the_served_tiles(service: TileService, tmp_path: Path) -> None:
    layers = [service.registry.get("buildings"), service.registry.get("pipeline_water_segments")]
    path = tmp_path / "fixture.pmtiles"
    run = await export_pmtiles(service, layers, bbox=AREA_4490, zooms=range(12, 17), path=path)
    reader = Reader(MemorySource(path.read_bytes()))
    header = reader.header()
    assert header["tile_type"] == TileType.MVT and header["tile_compression"] == Compression.GZIP
    assert header["min_zoom"] == 12 and header["max_zoom"] == 16 and header["clustered"]
    meta = reader.metadata()
    assert [v["id"] for v in meta["vector_layers"]] == ["buildings", "pipeline_water_segments"]
    stored = list(all_tiles(MemorySource(path.read_bytes())))
    assert len(stored) == run.non_empty > 0
    for (z, x, y), data in stored[:25]:
        served = (await service.vector_tile(layers, TileAddress(WEB_MERCATOR_QUAD, z, x, y))).data
        assert gzip.decompress(data) == served
        assert set(mapbox_vector_tile.decode(served)) <= {"buildings", "pipeline_water_segments"}
    assert run.largest <= service.settings.max_tile_bytes


@pytest.mark.slow
async def test_cli_export_with_progress(city: City, tmp_path: Path) -> None:
    out = tmp_path / "cli.pmtiles"
    env = {**os.environ, "ONEMAP_DATABASE_URL": city.url, "ONEMAP_VAR_DIR": str(tmp_path / "var")}
    w, s, e, n = AREA_4490
    proc = await asyncio.create_subprocess_exec(
        str(PROJECT_ROOT / ".venv" / "bin" / "onemap"),
        "tiles",
        "export",
        str(out),
        "--format",
        "pmtiles",
        "--layers",
        "buildings,rail_stations",
        "--bbox",
        f"{w},{s},{e},{n}",
        "--zoom",
        "12-15",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await proc.communicate()
    assert proc.returncode == 0, stderr.decode()
    assert "tile/s" in stderr.decode() or "tile" in stderr.decode()  # tqdm's bar goes to stderr
    assert "tiles (" in stdout.decode() and out.exists()
    proc = await asyncio.create_subprocess_exec(
        str(PROJECT_ROOT / ".venv" / "bin" / "onemap"),
        "tiles",
        "export",
        str(tmp_path / "x.pmtiles"),
        "--layers",
        "pipeline_water_segments",
        "--zoom",
        "14",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await proc.communicate()
    assert proc.returncode == 2 and "restricted" in stderr.decode()
