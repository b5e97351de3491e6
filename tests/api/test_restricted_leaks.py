"""No answer names a layer the caller may not read: every path that lists anything, for an
anonymous caller and a viewer without grants, must be free of restricted layer ids and titles;
an admin's answers to the listing paths must contain them (so each check can fail)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from api.map.routes import STATIC_DIR
from layers.db import connect
from layers.model import LayerDef
from layers.registry import Registry, register_layer
from styles.catalog import source_for
from tests.api.conftest import Seed

PUBLIC = "rail_stations"
SECRET_LAYER: dict[str, Any] = {
    "id": "secret_overlay_valves",
    "title_zh": "机密叠加阀门",
    "title_en": "Classified overlay valves",
    "group": "overlay",
    "geometry_type": "Point",
    "access": "restricted",
    "schema": {
        "label": "name",
        "search": ["name"],
        "fields": [{"name": "name", "type": "string", "title_zh": "名称", "title_en": "Name"}],
    },
}
SECRET_NAME = "机密阀门甲"

# Paths whose answer lists layers: an admin must see restricted ones there.
LISTINGS = [
    "/collections?f=json",
    "/collections?f=html",
    "/openapi?f=json",
    "/openapi.json",
    "/styles",
    "/styles/onemap",
    "/styles/onemap/metadata",
    "/styles/onemap/legend",
    "/tiles/WebMercatorQuad",
    "/tiles/WebMercatorQuad?f=tilejson",
    "/tiles/CGCS2000Quad?f=tilejson",
    "/search?q=" + SECRET_NAME[2:],  # a part: the answer echoes the query
    "/map/config",
]
# Paths that list nothing per layer, or one public layer: nobody may find a restricted one there.
OTHERS = [
    "/",
    "/?f=html",
    "/conformance",
    "/conformance?f=html",
    "/openapi?f=html",
    "/api-docs",
    "/map",
    "/tiles",
    "/tileMatrixSets",
    "/health",
    "/auth/me",
    f"/collections/{PUBLIC}",
    f"/collections/{PUBLIC}?f=html",
    f"/collections/{PUBLIC}/items?f=html&limit=2",
    f"/collections/{PUBLIC}/queryables",
    f"/collections/{PUBLIC}/tiles",
    f"/collections/{PUBLIC}/tiles/WebMercatorQuad",
    f"/collections/{PUBLIC}/tiles/WebMercatorQuad?f=tilejson",
    f"/collections/{PUBLIC}/styles",
    f"/collections/{PUBLIC}/map?limit=5",
    *(f"/map/static/{p.name}" for p in sorted(STATIC_DIR.iterdir()) if p.is_file()),
]


@pytest.fixture(scope="module")
async def seed(seed: Seed) -> Seed:
    """The API seed plus a restricted overlay layer (registered by another system) with one feature."""
    conn = await connect(seed.url)
    try:
        await register_layer(conn, LayerDef.model_validate(SECRET_LAYER))
    finally:
        await conn.close()
    return seed


@pytest.fixture(scope="module")
async def secrets(client: httpx.AsyncClient, seed: Seed) -> list[str]:
    """Every string that would betray a restricted layer: ids, titles, and style ids only they use."""
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [112.94, 28.2]},
               "properties": {"name": SECRET_NAME}}
    r = await client.post(f"/collections/{SECRET_LAYER['id']}/items", json=feature, headers=seed.auth("admin"))
    assert r.status_code == 201, r.text
    conn = await connect(seed.url)
    try:
        layers = (await Registry.load(conn)).all()
    finally:
        await conn.close()
    hidden = [layer for layer in layers if layer.access == "restricted"]
    shown_styles = {source_for(layer).id for layer in layers if layer.access != "restricted"}
    out = {SECRET_NAME}
    for layer in hidden:
        out |= {layer.id, layer.title_zh, layer.title_en}
        if source_for(layer).id not in shown_styles:
            out.add(source_for(layer).id)
    assert "pipeline_water_segments" in out and SECRET_LAYER["id"] in out
    return sorted(out)


def _answer(r: httpx.Response) -> str:
    headers = "\n".join(f"{k}: {v}" for k, v in r.headers.items())
    return headers + "\n" + r.content.decode("utf-8", errors="replace")


def _found(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in text]


@pytest.mark.parametrize("who", ["anonymous", "viewer"])
@pytest.mark.parametrize("path", LISTINGS + OTHERS)
async def test_no_restricted_layer_in_any_answer(
    client: httpx.AsyncClient, seed: Seed, secrets: list[str], path: str, who: str
) -> None:
    headers = {} if who == "anonymous" else seed.auth(who)
    r = await client.get(path, headers=headers)
    assert r.status_code == 200, f"{path}: {r.status_code} {r.text[:300]}"
    assert _found(_answer(r), secrets) == [], f"{who} learns about restricted layers from {path}"


@pytest.mark.parametrize("path", LISTINGS)
async def test_admin_sees_restricted_layers_in_listings(
    client: httpx.AsyncClient, seed: Seed, secrets: list[str], path: str
) -> None:
    r = await client.get(path, headers=seed.auth("admin"))
    assert r.status_code == 200, f"{path}: {r.status_code} {r.text[:300]}"
    found = _found(_answer(r), secrets)
    assert found, f"an admin sees no restricted layer in {path}"
    if "search" not in path:
        assert "pipeline_water_segments" in found or "pipeline_water" in found, found


async def test_granted_viewer_sees_only_their_grant_in_openapi(client: httpx.AsyncClient, seed: Seed) -> None:
    """``pipes`` holds ``pipeline_*``: the document lists the pipelines, not the secret overlay."""
    doc = (await client.get("/openapi", headers=seed.auth("pipes"))).json()
    ids = doc["paths"]["/collections/{collectionId}"]["get"]["parameters"][0]["schema"]["enum"]
    assert "pipeline_water_segments" in ids and PUBLIC in ids
    assert SECRET_LAYER["id"] not in ids


async def test_openapi_is_private_to_the_caller(client: httpx.AsyncClient, seed: Seed) -> None:
    """Shared caches must not hand one caller's document to another."""
    for path in ("/openapi", "/openapi.json"):
        r = await client.get(path)
        assert "private" in r.headers.get("cache-control", ""), path
        assert "authorization" in r.headers.get("vary", "").lower(), path


PROBES = [
    "/collections/{id}",
    "/collections/{id}?f=html",
    "/collections/{id}/items",
    "/collections/{id}/items/1",
    "/collections/{id}/items/1/versions",
    "/collections/{id}/queryables",
    "/collections/{id}/schema",
    "/collections/{id}/changes",
    "/collections/{id}/tiles",
    "/collections/{id}/tiles/WebMercatorQuad?f=tilejson",
    "/collections/{id}/tiles/WebMercatorQuad/14/6784/13331",
    "/collections/{id}/styles",
    "/collections/{id}/map",
    "/tiles/WebMercatorQuad?collections={id}",
    "/tiles/WebMercatorQuad/14/6784/13331?collections={id}",
    "/search?q=abc&collections={id}",
]


@pytest.mark.parametrize("who", ["anonymous", "viewer"])
@pytest.mark.parametrize("path", PROBES)
async def test_restricted_layer_answers_as_if_absent(
    client: httpx.AsyncClient, seed: Seed, secrets: list[str], path: str, who: str
) -> None:
    """Asking by id is no oracle: a restricted layer answers exactly as a layer that does not exist."""
    headers = {} if who == "anonymous" else seed.auth(who)
    for hidden in ("pipeline_water_segments", SECRET_LAYER["id"]):
        real = await client.get(path.format(id=hidden), headers=headers)
        made_up = await client.get(path.format(id="no_such_layer_xyz"), headers=headers)
        assert real.status_code == made_up.status_code and real.status_code in (400, 401, 404), real.text
        assert real.text.replace(hidden, "ID") == made_up.text.replace("no_such_layer_xyz", "ID")
    admin = await client.get(path.format(id="pipeline_water_segments"), headers=seed.auth("admin"))
    assert admin.status_code not in (401, 404) or path.endswith("/items/1") or "/versions" in path
