"""The 3D viewer's fixtures: the sample city over a few blocks of central Changsha (all nine pipe
categories, buildings, streets), a planner who may read pipelines, and a live server for Chromium."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from api.app import create_app
from layers.db import connect
from layers.principals import create_principal, issue_api_key
from sample.loader import load_sample
from sample.sources import find_data_dir
from tests.cityfixtures import app_settings

# 岳麓区 by 中南大学, west of the Xiang: streets carrying all nine pipe networks, and OSM buildings.
BBOX = (112.940, 28.182, 112.952, 28.192)
CENTRE = ((BBOX[0] + BBOX[2]) / 2, (BBOX[1] + BBOX[3]) / 2)
PLANNER = ("planner3d", "map3d-test-password")


@dataclass
class SampleCity:
    """The loaded database and the keys of its principals."""

    url: str
    planner_key: str  # may read every pipeline layer (grants pipeline_*)
    water_key: str  # may read the water pipes only


@dataclass
class LiveServer:
    """A uvicorn server on the sample city, for the browser."""

    url: str
    city: SampleCity


@pytest.fixture(scope="module")
async def principals(module_db_url: str) -> SampleCity:
    """The planner and the water-only principal, in a database without features."""
    conn = await connect(module_db_url)
    try:
        async with conn.transaction():
            planner = await create_principal(conn, name=PLANNER[0], kind="user", roles=["viewer"],
                                             grants=["pipeline_*"], password=PLANNER[1], display_name="规划师")
            water = await create_principal(conn, name="water3d", kind="system", roles=["viewer"],
                                           grants=["pipeline_water_*"])
            keys = [await issue_api_key(conn, principal_id=p) for p in (planner, water)]
    finally:
        await conn.close()
    return SampleCity(module_db_url, *keys)


@pytest.fixture(scope="module")
async def sample_city(principals: SampleCity) -> SampleCity:
    """The sample city loaded over ``BBOX`` (about a minute on a loaded machine)."""
    data_dir = find_data_dir()
    assert data_dir is not None, "the repository's sample/data is missing"
    await load_sample(principals.url, data_dir=data_dir, bbox=BBOX)
    return principals


@pytest.fixture(scope="module")
async def app3d(principals: SampleCity, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    application = create_app(app_settings(principals.url, tmp_path_factory.mktemp("var")))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="module")
async def client3d(app3d: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app3d), base_url="http://testserver") as c:
        yield c


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live3d(sample_city: SampleCity, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    port = _free_port()
    application = create_app(app_settings(sample_city.url, tmp_path_factory.mktemp("var")))
    server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", sample_city)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
