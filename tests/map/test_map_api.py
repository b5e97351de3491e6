"""The web map's page, static files, configuration and search endpoint."""

from __future__ import annotations

import re

import httpx

from tests.citydata import AREA_4490
from tests.cityfixtures import City
from tests.map.editing import editor_key


async def test_map_page_loads_only_local_assets(client: httpx.AsyncClient) -> None:
    r = await client.get("/map")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    refs = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert refs and all(ref.startswith(("/", "data:")) for ref in refs)
    for ref in refs:
        if ref.startswith("/"):
            assert (await client.get(ref)).status_code == 200, ref
    # Every ES module the page's entry module reaches loads from here, and none names another host.
    modules = [ref for ref in refs if ref.endswith(".js")]
    assert modules == ["/map/static/main.js"]
    seen: set[str] = set()
    while modules:
        ref = modules.pop()
        if ref in seen:
            continue
        seen.add(ref)
        r = await client.get(ref)
        assert r.status_code == 200, ref
        if ref.startswith("/vendor/"):
            continue
        js = r.text
        assert "http://" not in js and "https://" not in js
        imports = re.findall(r'from "([^"]+)"', js)
        assert all(i.startswith("/") for i in imports), ref
        modules += imports
    assert {"/map/static/state.js", "/map/static/gk.js", "/vendor/maplibre-gl/dist/maplibre-gl.mjs"} <= seen
    assert (await client.get("/map/static/../app.py")).status_code == 404
    assert (await client.get("/map/static/nothing.js")).status_code == 404


async def test_config_follows_access(client: httpx.AsyncClient, city: City) -> None:
    anon = (await client.get("/map/config")).json()
    admin = (await client.get("/map/config", headers={"Authorization": f"Bearer {city.admin_key}"})).json()
    assert anon["principal"]["anonymous"] and not admin["principal"]["anonymous"]
    assert "pipeline_water_segments" not in anon["collections"]
    assert "pipeline_water_segments" in admin["collections"]
    groups = [g["id"] for g in admin["groups"]]
    assert groups[:4] == ["一张图", "管线", "建筑", "网格"]
    assert {g["title_en"] for g in admin["groups"]} >= {"Pipelines", "Buildings", "Unit grid"}
    grid = admin["collections"]["grid_cells"]
    assert grid["sample"] and grid["fields"]["grid_code"]["zh"] == "网格编码"
    assert admin["time"]["min"] <= 1995 < admin["time"]["max"]
    assert admin["time"]["rasterEpochs"]["ghsl_built_volume"] == [1975, 1990, 2000, 2010, 2020]
    lon, lat = admin["center"]
    assert AREA_4490[0] < lon < AREA_4490[2] and AREA_4490[1] < lat < AREA_4490[3]


async def test_search_finds_grid_codes_buildings_and_stations(client: httpx.AsyncClient, city: City) -> None:
    viewer = {"Authorization": f"Bearer {city.viewer_key}"}
    fx = city.fixture
    assert fx.grid_code and fx.named_building and fx.station
    hits = (await client.get("/search", params={"q": fx.grid_code}, headers=viewer)).json()["results"]
    assert hits[0]["collection"] == "grid_cells" and hits[0]["value"] == fx.grid_code
    west, south, east, north = hits[0]["bbox"]
    assert west < hits[0]["point"][0] < east and south < hits[0]["point"][1] < north
    # Grid cells are internal: anonymous callers do not find them.
    anon = (await client.get("/search", params={"q": fx.grid_code})).json()["results"]
    assert all(h["collection"] != "grid_cells" for h in anon)
    fid, name = fx.named_building
    found = (await client.get("/search", params={"q": name})).json()["results"]
    assert any(h["collection"] == "buildings" and h["fid"] == fid for h in found)
    station_fid, station = fx.station
    found = (await client.get("/search", params={"q": station[:2]})).json()["results"]
    assert any(h["collection"] == "rail_stations" and h["fid"] == station_fid for h in found) or len(found) == 10
    exact = (await client.get("/search", params={"q": station, "collections": "rail_stations"})).json()["results"]
    assert exact[0]["label"] == station and exact[0]["href"] == f"/collections/rail_stations/items/{exact[0]['fid']}"
    assert (await client.get("/search", params={"q": "%_%"})).json()["results"] == []
    assert (await client.get("/search")).status_code == 400
    assert (await client.get("/search", params={"q": "x", "collections": "pipeline_gas_points"})).status_code == 400


async def test_quicklook_pages_are_offline_and_styled(client: httpx.AsyncClient, city: City) -> None:
    from styles.folium_offline import external_references

    admin = {"Authorization": f"Bearer {city.admin_key}"}
    for collection in ("buildings", "grid_cells", "pipeline_water_points", "ghsl_built_age"):
        r = await client.get(f"/collections/{collection}/map", headers=admin)
        assert r.status_code == 200, (collection, r.text[:300])
        html = r.text
        assert external_references(html) == []
        for ref in re.findall(r'(?:src|href)="(/vendor/[^"]+)"', html):
            assert (await client.get(ref)).status_code == 200, ref
        if collection == "grid_cells":
            assert "示例数据" in html and "features drawn" in html
        if collection == "ghsl_built_age":
            assert "/collections/ghsl_built_age/map/tiles/WebMercatorQuad/{z}/{y}/{x}" in html
    buildings = (await client.get("/collections/buildings/map?limit=5")).text
    assert "5 features drawn (first 5" in buildings
    assert (await client.get("/collections/pipeline_water_points/map")).status_code == 404
    assert (await client.get("/collections/buildings/map?datetime=nonsense")).status_code == 400


async def test_config_says_what_the_caller_may_edit(client: httpx.AsyncClient, city: City) -> None:
    """The editor tab offers the layers a write would be allowed on (editor role + read access, or admin)."""
    editor = await editor_key(city.url, "config-editor")
    configs = {
        who: (await client.get("/map/config", headers={"Authorization": f"Bearer {k}"})).json()["collections"]
        for who, k in [("viewer", city.viewer_key), ("editor", editor), ("admin", city.admin_key)]
    }
    assert not any(c["editable"] for c in configs["viewer"].values())
    assert configs["editor"]["buildings"]["editable"] and configs["editor"]["pipeline_water_points"]["editable"]
    assert all(c["editable"] for c in configs["admin"].values() if c["kind"] == "vector")
    assert not any(c["editable"] for c in configs["admin"].values() if c["kind"] != "vector")
    anonymous = (await client.get("/map/config")).json()["collections"]
    assert not any(c["editable"] for c in anonymous.values())
