"""The application factory, its lifespan, /health, /vendor and problem+json for unknown paths."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from api.app import create_app
from api.settings import ApiSettings, Settings
from layers.db import connect
from layers.definitions import builtin_layers
from layers.registry import Registry
from layers.settings import DatabaseSettings


@pytest.fixture(scope="module")
async def client(module_db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(db=DatabaseSettings(database_url=module_db_url), api=ApiSettings(env="test")))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def test_health_reports_postgis_and_layers(client: httpx.AsyncClient, module_db_url: str) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    conn = await connect(module_db_url)
    try:
        registry = await Registry.load(conn)
    finally:
        await conn.close()
    public = [layer for layer in registry.all() if layer.access == "public"]
    # An anonymous caller learns only how many layers it may read: hidden layers are not even counted.
    assert body["postgis"].startswith("3.") and body["layers"] == len(public) < len(registry) == len(builtin_layers())


async def test_vendor_serves_npm_files_only(client: httpx.AsyncClient) -> None:
    ok = await client.get("/vendor/maplibre-gl/dist/maplibre-gl.css")
    assert ok.status_code == 200 and "maplibregl" in ok.text
    bad_paths = ("/vendor/maplibre-gl/%2e%2e/%2e%2e/pyproject.toml", "/vendor/left-pad/index.js",
                 "/vendor/maplibre-gl/package.json")
    for bad in bad_paths:
        response = await client.get(bad)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


async def test_unknown_path_is_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/definitely/not/here")
    assert response.status_code == 404
    body = response.json()
    assert body["status"] == 404 and body["title"] and "instance" in body
