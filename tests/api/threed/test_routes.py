"""3D Tiles over HTTP: tileset and glb content, access, datetime, bad input."""

from __future__ import annotations

import json
import struct

import httpx
from fastapi import FastAPI

from layers.audit import AuditQuery, search_events
from layers.db import connect
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
    assert r.status_code == 200 and r.headers["content-type"] == "application/3dtiles+json"
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


async def test_collection_advertises_the_tileset(client: httpx.AsyncClient, city: City) -> None:
    doc = (await client.get("/collections/buildings?f=json")).json()
    link = next(x for x in doc["links"] if x["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/3d-geovolumes")
    assert link["type"] == "application/3dtiles+json"
    assert link["href"].endswith("/collections/buildings/3dtiles/tileset.json")
    grid = (await client.get("/collections/grid_cells?f=json", headers=_auth(city.admin_key))).json()
    assert not any("3d-geovolumes" in x["rel"] for x in grid["links"])  # no 3D tiles, no link
    conformance = (await client.get("/conformance")).json()["conformsTo"]
    assert not any("geovolumes" in c for c in conformance)  # core needs a 3D bbox we do not publish


async def test_datetime_reaches_every_content_uri(client: httpx.AsyncClient) -> None:
    r = await client.get("/collections/buildings/3dtiles/tileset.json?datetime=2000-01-01")
    assert r.status_code == 200, r.text
    doc = r.json()
    uris = [leaf["content"]["uri"] for leaf in _leaves(doc["root"])]
    assert uris and all(u.endswith("?datetime=2000-01-01") for u in uris)
    # Every other fixture building appears in 2015: the tiles of 2000 hold fewer of them.
    then, now = 0, 0
    for uri in uris[:8]:
        old = await client.get(f"/collections/buildings/3dtiles/{uri}")
        new = await client.get(f"/collections/buildings/3dtiles/{uri.split('?')[0]}")
        assert old.status_code == new.status_code == 200 and old.headers["content-type"] == GLB
        then += _count(old.content)
        now += _count(new.content)
    assert 0 < then < now


def _count(glb: bytes) -> int:
    gltf = glb_json(glb)
    if "extensions" not in gltf:
        return 0  # an empty tile
    return int(gltf["extensions"]["EXT_structural_metadata"]["propertyTables"][0]["count"])


async def _problem(client: httpx.AsyncClient, path: str, status: int, **kwargs: object) -> dict:
    r = await client.get(path, **kwargs)  # type: ignore[arg-type]
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status and body["title"]
    assert "Traceback" not in r.text and "SELECT" not in r.text
    return body


async def test_bad_input_is_a_problem(client: httpx.AsyncClient) -> None:
    await _problem(client, "/collections/no_such_layer/3dtiles/tileset.json", 404)
    await _problem(client, "/collections/buildings/3dtiles/tileset.json?datetime=yesterday", 400)
    body = await _problem(client, "/collections/buildings/3dtiles/tileset.json?datetime=2000-01-01/2010-01-01", 400)
    assert "instant" in body["detail"]
    await _problem(client, "/collections/rail_stations/3dtiles/tileset.json", 404)  # no 3D tiles
    leaf = _leaves((await client.get("/collections/buildings/3dtiles/tileset.json")).json()["root"])[0]
    z, x, y = leaf["content"]["uri"].removesuffix(".glb").split("/")
    await _problem(client, f"/collections/buildings/3dtiles/{int(z) - 1}/{x}/{y}.glb", 404)  # not a content level
    await _problem(client, f"/collections/buildings/3dtiles/{z}/{int(x) + 900}/{y}.glb", 404)  # outside the extent
    await _problem(client, f"/collections/buildings/3dtiles/{z}/{x}/abc.glb", 400)
    await _problem(client, f"/collections/buildings/3dtiles/{z}/-1/{y}.glb", 400)
    await _problem(client, f"/collections/buildings/3dtiles/{z}/{x}/{y}.glb?datetime=2000-13-45", 400)


async def test_restricted_3d_reads_are_audited(client: httpx.AsyncClient, city: City, app: FastAPI) -> None:
    doc = (await client.get("/collections/pipeline_water_points/3dtiles/tileset.json",
                            headers=_auth(city.pipes_key))).json()
    uri = _leaves(doc["root"])[0]["content"]["uri"]
    tile = await client.get(f"/collections/pipeline_water_points/3dtiles/{uri}", headers=_auth(city.pipes_key))
    assert tile.status_code == 200
    await app.state.ctx.audit.flush()
    conn = await connect(city.url)
    try:
        rows = await search_events(conn, AuditQuery(layer="pipeline_water_points", kind="read.tile"))
    finally:
        await conn.close()
    areas = {r["area"]: r["features"] for r in rows}
    assert "3dtiles:tileset.json" in areas
    z, x, y = uri.removesuffix(".glb").split("/")
    assert areas[f"3dtiles:CGCS2000Quad/{z}/{x}/{y}"] == _count(tile.content) > 0


async def test_openapi_describes_the_3d_routes(client: httpx.AsyncClient, city: City) -> None:
    tileset = "/collections/{collectionId}/3dtiles/tileset.json"
    content = "/collections/{collectionId}/3dtiles/{level}/{x}/{y}.glb"

    def enum(doc: dict) -> list[str]:
        params = doc["paths"][tileset]["get"]["parameters"]
        return next(p for p in params if p["name"] == "collectionId")["schema"]["enum"]

    anonymous = (await client.get("/openapi", params={"f": "json"})).json()
    assert {"application/3dtiles+json"} == set(anonymous["paths"][tileset]["get"]["responses"]["200"]["content"])
    assert "model/gltf-binary" in anonymous["paths"][content]["get"]["responses"]["200"]["content"]
    assert "buildings" in enum(anonymous) and not [i for i in enum(anonymous) if i.startswith("pipeline_")]
    assert "rail_stations" not in enum(anonymous)  # no 3D tiles
    signed_in = (await client.get("/openapi", params={"f": "json"}, headers=_auth(city.pipes_key))).json()
    assert "pipeline_water_segments" in enum(signed_in)
