"""Landing page, conformance, OpenAPI and content negotiation (f= and Accept)."""

from __future__ import annotations

import httpx
import pytest

from api.ogc.conformance import CONFORMANCE


async def test_landing_links(client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    rels = {link["rel"]: link for link in r.json()["links"]}
    for rel in ("self", "alternate", "service-desc", "service-doc", "conformance", "data"):
        assert rel in rels, rel
    assert rels["data"]["href"] == "http://testserver/collections"


async def test_conformance_lists_declared_classes(client: httpx.AsyncClient) -> None:
    r = await client.get("/conformance")
    assert r.status_code == 200
    assert r.json()["conformsTo"] == list(CONFORMANCE)


@pytest.mark.parametrize(
    ("path", "marker"),
    [("/", "一张图"), ("/conformance", "ogcapi-features-1"), ("/collections", "rail_stations")],
)
async def test_html_by_accept_and_f(client: httpx.AsyncClient, path: str, marker: str) -> None:
    by_accept = await client.get(path, headers={"Accept": "text/html,application/xhtml+xml;q=0.9"})
    by_f = await client.get(path, params={"f": "html"})
    for r in (by_accept, by_f):
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/html")
        assert marker in r.text
        assert "http://" not in r.text.replace("http://testserver", "").replace("http://www.opengis.net", "")


async def test_english_pages(client: httpx.AsyncClient) -> None:
    r = await client.get("/collections", params={"f": "html", "lang": "en"})
    assert "Collections" in r.text and "Rail and metro stations" in r.text
    zh = await client.get("/collections", params={"f": "html"}, headers={"Accept-Language": "zh-CN"})
    assert "轨道交通站点" in zh.text


async def test_f_wins_over_accept_and_bad_f_is_400(client: httpx.AsyncClient) -> None:
    r = await client.get("/", params={"f": "json"}, headers={"Accept": "text/html"})
    assert r.headers["content-type"].startswith("application/json")
    bad = await client.get("/", params={"f": "xml"})
    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/problem+json"
    assert "f=" in bad.json()["detail"]


async def test_unacceptable_accept_is_406(client: httpx.AsyncClient) -> None:
    r = await client.get("/conformance", headers={"Accept": "application/xml"})
    assert r.status_code == 406
    assert r.json()["status"] == 406


async def test_unknown_query_parameter_is_400(client: httpx.AsyncClient) -> None:
    r = await client.get("/collections", params={"colour": "red"})
    assert r.status_code == 400
    assert "colour" in r.json()["detail"]


async def test_openapi_30_describes_every_path(client: httpx.AsyncClient) -> None:
    r = await client.get("/openapi")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    doc = r.json()
    assert doc["openapi"].startswith("3.0")
    for path in (
        "/",
        "/conformance",
        "/collections",
        "/collections/{collectionId}",
        "/collections/{collectionId}/items",
        "/collections/{collectionId}/items/{featureId}",
        "/collections/{collectionId}/queryables",
        "/collections/{collectionId}/items/{featureId}/versions",
    ):
        assert path in doc["paths"], path
    item = doc["paths"]["/collections/{collectionId}/items/{featureId}"]
    assert {"get", "put", "patch", "delete"} <= set(item)
    names = {p["name"] for p in doc["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]}
    assert {
        "bbox",
        "bbox-crs",
        "datetime",
        "filter",
        "filter-lang",
        "filter-crs",
        "crs",
        "sortby",
        "properties",
        "limit",
    } <= names
    html = await client.get("/api-docs")
    assert html.status_code == 200 and "/openapi?f=json" in html.text


async def test_problem_json_for_unknown_path(client: httpx.AsyncClient) -> None:
    r = await client.get("/no/such/thing")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


async def test_static_assets_are_ours(client: httpx.AsyncClient) -> None:
    css = await client.get("/static/onemap.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    js = await client.get("/static/feature-map.js")
    assert "/vendor/maplibre-gl/dist/maplibre-gl.mjs" in js.text
    assert (await client.get("/static/..%2Fapp.py")).status_code == 404


async def test_favicon_is_served_and_linked(client: httpx.AsyncClient) -> None:
    icon = await client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.content.startswith(b"<svg")
    landing = await client.get("/", params={"f": "html"})
    assert 'rel="icon"' in landing.text and "/static/favicon.svg" in landing.text
