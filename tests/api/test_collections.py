"""Collections: listing by access level, one collection, queryables, sortables, overlay registration."""

from __future__ import annotations

import httpx

from tests.api.conftest import Seed


async def test_anonymous_sees_public_layers_only(client: httpx.AsyncClient) -> None:
    ids = {c["id"] for c in (await client.get("/collections")).json()["collections"]}
    assert {"rail_stations", "buildings", "test_parcels"} <= ids
    assert "power_facilities" not in ids  # internal
    assert not any(i.startswith("pipeline_") for i in ids)  # restricted
    assert not any(i.startswith("ghsl_") for i in ids)  # rasters are not feature collections


async def test_roles_and_grants_widen_the_list(client: httpx.AsyncClient, seed: Seed) -> None:
    viewer = {
        c["id"] for c in (await client.get("/collections", headers=seed.auth("viewer"))).json()["collections"]
    }
    assert "power_facilities" in viewer and "pipeline_gas_segments" not in viewer
    pipes = {
        c["id"] for c in (await client.get("/collections", headers=seed.auth("pipes"))).json()["collections"]
    }
    assert "pipeline_gas_segments" in pipes and "pipeline_water_points" in pipes


async def test_invisible_layer_is_404_like_a_missing_one(client: httpx.AsyncClient, seed: Seed) -> None:
    for path in (
        "/collections/pipeline_gas_segments",
        "/collections/pipeline_gas_segments/items",
        "/collections/power_facilities/items/1",
        "/collections/nope",
    ):
        r = await client.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"] == "application/problem+json"
    assert (
        await client.get("/collections/pipeline_gas_segments", headers=seed.auth("pipes"))
    ).status_code == 200
    assert (await client.get("/collections/power_facilities", headers=seed.auth("viewer"))).status_code == 200


async def test_bad_token_is_401_not_anonymous(client: httpx.AsyncClient) -> None:
    r = await client.get("/collections", headers={"Authorization": "Bearer om_nope_nope"})
    assert r.status_code == 401
    assert "WWW-Authenticate" in r.headers


async def test_collection_metadata(client: httpx.AsyncClient, seed: Seed) -> None:
    r = await client.get("/collections/rail_stations")
    assert r.status_code == 200
    doc = r.json()
    assert doc["itemType"] == "feature"
    assert doc["storageCrs"] == "http://www.opengis.net/def/crs/EPSG/0/4490"
    assert doc["crs"][0] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    for code in (4490, 4326, 4547, 4526, 3857):
        assert f"http://www.opengis.net/def/crs/EPSG/0/{code}" in doc["crs"]
    xmin, ymin, xmax, ymax = doc["extent"]["spatial"]["bbox"][0]
    assert 112.0 < xmin < xmax < 114.3 and 27.9 < ymin < ymax < 28.5  # Changsha's stations
    assert doc["extent"]["temporal"]["interval"][0][0].startswith("2024-01-01")
    assert doc["versioning"] == {"timeAxis": "validity-time", "mutationTime": "server"}
    rels = {link["rel"] for link in doc["links"]}
    assert {"self", "alternate", "items", "http://www.opengis.net/def/rel/ogc/1.0/queryables"} <= rels
    page = await client.get("/collections/rail_stations", params={"f": "html"})
    assert "轨道交通站点" in page.text and "Browse" not in page.text


async def test_queryables_from_registry_schema(client: httpx.AsyncClient) -> None:
    r = await client.get("/collections/buildings/queryables")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/schema+json")
    doc = r.json()
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    props = doc["properties"]
    assert props["height_m"]["type"] == "number" and props["height_m"]["maximum"] == 700
    assert "residential" in props["use"]["enum"]
    assert props["geometry"]["format"] == "geometry-multipolygon"
    assert props["valid_from"]["format"] == "date-time"
    assert doc["additionalProperties"] is False


async def test_sortables_exclude_geometry(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/collections/buildings/sortables")).json()
    assert "geometry" not in doc["properties"] and "height_m" in doc["properties"]


async def test_overlay_registration_by_admin(client: httpx.AsyncClient, seed: Seed) -> None:
    body = {
        "id": "traffic_cameras",
        "title_zh": "交通摄像头",
        "title_en": "Traffic cameras",
        "geometry_type": "Point",
        "access": "internal",
        "schema": {
            "fields": [
                {
                    "name": "cam_id",
                    "type": "string",
                    "required": True,
                    "title_zh": "编号",
                    "title_en": "Camera id",
                }
            ]
        },
    }
    assert (await client.post("/collections", json=body)).status_code == 401
    assert (await client.post("/collections", json=body, headers=seed.auth("editor"))).status_code == 403
    r = await client.post("/collections", json=body, headers=seed.auth("admin"))
    assert r.status_code == 201, r.text
    assert r.headers["location"].endswith("/collections/traffic_cameras")
    again = await client.post("/collections", json=body, headers=seed.auth("admin"))
    assert again.status_code == 409
    # It gets everything else: listing by access, items, writes.
    assert (await client.get("/collections/traffic_cameras")).status_code == 404  # internal, anonymous
    listed = (await client.get("/collections", headers=seed.auth("viewer"))).json()["collections"]
    assert "traffic_cameras" in {c["id"] for c in listed}
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [112.98, 28.19]},
        "properties": {"cam_id": "C-001"},
    }
    created = await client.post(
        "/collections/traffic_cameras/items", json=feature, headers=seed.auth("editor")
    )
    assert created.status_code == 201, created.text
    items = (await client.get("/collections/traffic_cameras/items", headers=seed.auth("viewer"))).json()
    assert [f["properties"]["cam_id"] for f in items["features"]] == ["C-001"]


async def test_invalid_registration_gives_field_errors(client: httpx.AsyncClient, seed: Seed) -> None:
    bad = {"id": "Bad Id", "title_zh": "x", "title_en": "x", "geometry_type": "Blob"}
    r = await client.post("/collections", json=bad, headers=seed.auth("admin"))
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert "id" in fields
    assert (
        await client.post("/collections", content=b"{not json", headers=seed.auth("admin"))
    ).status_code == 400
