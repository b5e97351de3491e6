"""Fixtures shared by the tile, style, map and browser tests (imported by their conftest files).

``city`` commits the fixture city into a fresh clone per module; ``app`` builds the real app on
it (lifespan run, so the tile service listens for edits); ``client`` talks to it in-process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from api.app import create_app
from api.settings import ApiSettings, Settings
from layers.db import connect
from layers.principals import create_principal, issue_api_key
from layers.settings import DatabaseSettings
from tests.citydata import DATA_DIR, CityFixture, load_city
from tiles.settings import TileSettings

PLANNER = ("planner", "map-test-password")


@dataclass
class City:
    url: str
    fixture: CityFixture
    admin_key: str
    viewer_key: str
    pipes_key: str


@pytest.fixture(scope="module")
async def city(module_db_url: str) -> City:
    conn = await connect(module_db_url)
    try:
        async with conn.transaction():
            fixture = await load_city(conn)
            admin = await create_principal(conn, name="admin", kind="system", roles=["admin"])
            viewer = await create_principal(conn, name="viewer", kind="system", roles=["viewer"])
            pipes = await create_principal(
                conn, name="pipes", kind="system", roles=["viewer"], grants=["pipeline_water_*"]
            )
            keys = [await issue_api_key(conn, principal_id=p) for p in (admin, viewer, pipes)]
            await create_principal(conn, name=PLANNER[0], kind="user", roles=["viewer"], grants=["pipeline_*"],
                                   password=PLANNER[1], display_name="规划师")
    finally:
        await conn.close()
    return City(module_db_url, fixture, *keys)


def app_settings(url: str, var_dir: Path, **tile_options: object) -> Settings:
    return Settings(
        db=DatabaseSettings(database_url=url, var_dir=var_dir, pool_min_size=1, pool_max_size=6),
        api=ApiSettings(env="test", data_dir=DATA_DIR, secret_key="x" * 40),
        tiles=TileSettings(cache_dir=var_dir / "tiles", **tile_options),  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
async def app(city: City, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    application = create_app(app_settings(city.url, tmp_path_factory.mktemp("var")))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="module")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c
