"""The 3D viewer's page, its static files, the CesiumJS it loads from /vendor, and /map3d/config."""

from __future__ import annotations

import json
import re

import httpx

from spatial.codelists.cjj61 import PLATFORM_CATEGORIES
from tests.map3d.conftest import SampleCity

FOREIGN = re.compile(r"https?://")


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _import_map(html: str) -> dict[str, str]:
    block = re.search(r'<script type="importmap">(.*?)</script>', html, re.DOTALL)
    assert block is not None
    imports: dict[str, str] = json.loads(block.group(1))["imports"]
    return imports


async def _modules(client: httpx.AsyncClient, entry: str, import_map: dict[str, str]) -> set[str]:
    """Every ES module ``entry`` reaches (bare names resolved through the page's import map)."""
    seen: set[str] = set()
    todo = [entry]
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        r = await client.get(ref)
        assert r.status_code == 200, ref
        if ref.startswith("/vendor/"):
            continue
        assert not FOREIGN.search(r.text), f"{ref} names another host"
        for name in re.findall(r'(?:from|import) "([^"]+)"', r.text):
            todo.append(import_map.get(name, name))
            assert todo[-1].startswith("/"), f"{ref} imports {name!r}, which the import map does not resolve"
    return seen


async def test_page_loads_only_our_own_assets(client3d: httpx.AsyncClient) -> None:
    r = await client3d.get("/map3d")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    refs = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert refs and all(ref.startswith("/") for ref in refs)
    for ref in refs:
        assert (await client3d.get(ref)).status_code == 200, ref
    import_map = _import_map(r.text)
    assert all(target.startswith("/vendor/") for target in import_map.values())
    seen = await _modules(client3d, "/map3d/static/main3d.js", import_map)
    assert {"/vendor/cesium/Build/Cesium/index.js", "/vendor/@mapbox/vector-tile/index.js", "/vendor/pbf/index.js",
            "/map3d/static/underground.js", "/map/static/session.js"} <= seen


async def test_no_cesium_ion_and_no_token(client3d: httpx.AsyncClient) -> None:
    main = (await client3d.get("/map3d/static/main3d.js")).text
    # ion's imagery, terrain, geocoder and layer picker are all switched off, and the token emptied.
    assert 'Cesium.Ion.defaultAccessToken = ""' in main
    for option in ("baseLayer: false", "baseLayerPicker: false", "geocoder: false", "EllipsoidTerrainProvider"):
        assert option in main, option
    base = (await client3d.get("/map3d/static/base.js")).text
    assert 'CESIUM_BASE_URL = "/vendor/cesium/Build/Cesium/"' in base


async def test_cesium_workers_assets_and_widgets_come_from_vendor(client3d: httpx.AsyncClient) -> None:
    files = ("Widgets/widgets.css", "Assets/approximateTerrainHeights.json", "Workers/createVerticesFromHeightmap.js")
    for path in files:
        r = await client3d.get(f"/vendor/cesium/Build/Cesium/{path}")
        assert r.status_code == 200, path
    r = await client3d.get("/vendor/cesium/Build/Cesium/Workers/createVerticesFromHeightmap.js")
    assert r.headers["content-type"].startswith(("application/javascript", "text/javascript"))
    assert (await client3d.get("/vendor/cesium/package.json")).status_code == 404


async def test_static_files_refuse_unknown_names(client3d: httpx.AsyncClient) -> None:
    assert (await client3d.get("/map3d/static/nothing.js")).status_code == 404
    r = await client3d.get("/map3d/static/..%2Froutes.py")
    assert r.status_code in (404, 422)
    r = await client3d.get("/map3d/static/routes.py")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


async def test_config_lists_only_the_pipe_categories_the_caller_may_read(
    client3d: httpx.AsyncClient, principals: SampleCity
) -> None:
    r = await client3d.get("/map3d/config")
    assert "pipeline_" not in r.text  # not even the names of the layers an anonymous caller may not read
    anon = r.json()
    assert anon["principal"]["anonymous"]
    assert anon["map3d"]["categories"] == []  # pipelines are restricted
    assert anon["map3d"]["buildings"] == "buildings"
    assert anon["map3d"]["tileset"] == "/collections/{id}/3dtiles/tileset.json"
    water = (await client3d.get("/map3d/config", headers=_bearer(principals.water_key))).json()
    assert [c["key"] for c in water["map3d"]["categories"]] == ["water"]
    planner = (await client3d.get("/map3d/config", headers=_bearer(principals.planner_key))).json()
    categories = planner["map3d"]["categories"]
    assert [c["key"] for c in categories] == list(PLATFORM_CATEGORIES)
    assert categories[0]["title_zh"] == "给水管线" and categories[0]["title_en"] == "Water supply pipes"
    assert all(c["layers"] == [f"pipeline_{c['key']}_segments", f"pipeline_{c['key']}_points"] for c in categories)


async def test_category_colours_are_the_styles(client3d: httpx.AsyncClient, principals: SampleCity) -> None:
    auth = _bearer(principals.planner_key)
    config = (await client3d.get("/map3d/config", headers=auth)).json()
    style = (await client3d.get(config["style"], headers=auth)).json()
    line_colour = {x["id"]: x["paint"]["line-color"] for x in style["layers"] if x["type"] == "line"}
    for category in config["map3d"]["categories"]:
        assert category["colour"] == line_colour[f"pipeline_{category['key']}_segments"], category["key"]


async def test_the_2d_map_links_to_3d(client3d: httpx.AsyncClient) -> None:
    main = (await client3d.get("/map/static/main.js")).text
    assert "setupMap3dButton()" in main
    link = (await client3d.get("/map/static/map3d_link.js")).text
    assert "/map3d#" in link
    search = (await client3d.get("/map/static/search.js")).text
    assert "map3dHref(" in search
