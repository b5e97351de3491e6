"""Tile tests run on the committed fixture city; ``service`` is a TileService of their own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from layers.db import create_pool
from layers.registry import Registry
from layers.settings import DatabaseSettings
from tests.cityfixtures import City, city  # noqa: F401 - fixture
from tiles.service import TileService
from tiles.settings import TileSettings


@pytest.fixture
async def service(city: City, tmp_path: Path) -> AsyncIterator[TileService]:  # noqa: F811
    pool = await create_pool(city.url, DatabaseSettings(pool_min_size=1, pool_max_size=4))
    async with pool.acquire() as conn:
        registry = await Registry.load(conn)
    svc = TileService(
        pool=pool,
        registry=lambda: registry,
        settings=TileSettings(cache_dir=tmp_path / "tiles"),
        var_dir=tmp_path,
    )
    await svc.start(city.url)
    try:
        yield svc
    finally:
        await svc.stop()
        await pool.close()
