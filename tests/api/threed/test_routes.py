"""3D Tiles over HTTP: tileset and glb content, access, datetime, bad input."""

from __future__ import annotations

import json
import struct

import httpx

from tests.cityfixtures import City

GLB = "model/gltf-binary"
PROBLEM = "application/problem+json"


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _leaves(tile: dict) -> list[dict]:
    if "content" in tile:
        return [tile]
    return [leaf for child in tile.get("children", []) for leaf in _leaves(child)]


def glb_json(data: bytes) -> dict:
    """The JSON chunk of a glb."""
    magic, version, _ = struct.unpack_from("<4sII", data, 0)
    assert magic == b"glTF" and version == 2
    length, kind = struct.unpack_from("<I4s", data, 12)
    assert kind == b"JSON"
    return json.loads(data[20:20 + length])


async def test_buildings_tileset_and_content(client: httpx.AsyncClient) -> None:
    r = await client.get("/collections/buildings/3dtiles/tileset.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert doc["asset"]["version"] == "1.1" and doc["root"]["refine"] == "ADD"
    leaves = _leaves(doc["root"])
    assert leaves and all(len(leaf["transform"]) == 16 for leaf in leaves)
    uri = leaves[0]["content"]["uri"]
    assert not uri.startswith("/") and uri.endswith(".glb")
    tile = await client.get(f"/collections/buildings/3dtiles/{uri}")
    assert tile.status_code == 200 and tile.headers["content-type"] == GLB
    gltf = glb_json(tile.content)
    table = gltf["extensions"]["EXT_structural_metadata"]["propertyTables"][0]
    assert table["class"] == "building" and table["count"] > 0
    assert "id" in table["properties"] and "use" in table["properties"]


async def test_anonymous_gets_404_for_pipelines(client: httpx.AsyncClient, city: City) -> None:
    r = await client.get("/collections/pipeline_water_segments/3dtiles/tileset.json")
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
    granted = await client.get("/collections/pipeline_water_segments/3dtiles/tileset.json",
                               headers=_auth(city.pipes_key))
    assert granted.status_code == 200
    leaf = _leaves(granted.json()["root"])[0]
    path = f"/collections/pipeline_water_segments/3dtiles/{leaf['content']['uri']}"
    assert (await client.get(path)).status_code == 404
    tile = await client.get(path, headers=_auth(city.pipes_key))
    assert tile.status_code == 200 and tile.headers["content-type"] == GLB
