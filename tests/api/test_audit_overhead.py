"""The measured cost of logging reads (benchmarks/audit_overhead.py) on items and tiles.

Prints the numbers (run with ``-s``); asserts that every logged request wrote one event, that
public paths write none, and a loose bound on the added time (two shared cores are noisy).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from api.app import create_app
from benchmarks.audit_overhead import measure, parts
from tests.api.conftest import Seed, api_settings
from tests.api.test_audit import power_tile


@pytest.fixture(scope="module")
async def app(seed: Seed, var_dir: Path) -> AsyncIterator[FastAPI]:
    application = create_app(api_settings(seed.url, var_dir))
    async with application.router.lifespan_context(application):
        yield application


@pytest.mark.slow
async def test_read_logging_overhead_on_items_and_tiles(app: FastAPI, seed: Seed) -> None:
    z, y, x = power_tile()
    n, rounds = 60, 15
    paths = {
        "/collections/power_facilities/items?limit=10": n * rounds,
        f"/collections/power_facilities/tiles/WebMercatorQuad/{z}/{y}/{x}": n * rounds,
        "/collections/rail_stations/items?limit=10": 0,
        f"/collections/rail_stations/tiles/WebMercatorQuad/{z}/{y}/{x}": 0,
    }
    for path, expected in paths.items():
        result = await measure(app, path, seed.auth("viewer"), n=n, rounds=rounds)
        print(result.line())
        assert result.events == expected
        assert result.on_best_ms - result.off_best_ms < 1.0, result.line()
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        tile = (await client.get(f"/collections/power_facilities/tiles/WebMercatorQuad/{z}/{y}/{x}",
                                 headers=seed.auth("viewer"))).content
    pieces = await parts(app.state.ctx.audit, tile)
    print(pieces.line())
    assert pieces.features > 0 and pieces.queue_us < 100 and pieces.write_us < 1000
