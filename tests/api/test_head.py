"""HEAD wherever GET is answered: the same status and headers, no body (RFC 9110 §9.3.2)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
from fastapi.routing import APIRoute

from api.tiles.fastpath import CachedTileFastPath
from spatial.tms import WEB_MERCATOR_QUAD, tile_range
from tests.api.conftest import Seed

# Headers that must agree between GET and HEAD (Date and the like may tick between the two).
SAME = ("content-type", "content-length", "etag", "link", "content-crs", "memento-datetime", "cache-control")
FILLERS = {
    "collectionId": "rail_stations",
    "featureId": "1000",
    "styleId": "rail_stations",
    "tileMatrixSetId": "WebMercatorQuad",
    "tileMatrix": "12",
    "tileRow": "1710",
    "tileCol": "3331",
    "name": "onemap.css",
    "path": "maplibre-gl/dist/maplibre-gl.js",
    "fontstack": "Noto Sans Regular",
    "fontrange": "0-255",
    "processId": "pipe-trace",
    "jobId": "00000000-0000-0000-0000-000000000000",
    "level": "15",
    "x": "26673",
    "y": "5765",
}


# Pages whose body changes with every request: viewing the audit log is itself an audited event.
SELF_CHANGING = frozenset({"/admin/audit"})
# Streams that never end by design (Server-Sent Events): a GET waits for the next event forever.
STREAMS = frozenset({"/cases/events", "/collections/{collectionId}/changes/events"})


async def assert_head_matches_get(client: httpx.AsyncClient, url: str, **kwargs: Any) -> httpx.Response:
    got = await client.get(url, **kwargs)
    head = await client.head(url, **kwargs)
    assert head.status_code == got.status_code, (url, got.status_code, head.status_code)
    assert head.content == b"", url
    for name in SAME:
        if url in SELF_CHANGING and name in ("content-length", "etag"):
            continue
        assert head.headers.get(name) == got.headers.get(name), (url, name)
    return got


async def test_head_items_and_item(client: httpx.AsyncClient) -> None:
    page = await assert_head_matches_get(client, "/collections/rail_stations/items?limit=5")
    assert page.status_code == 200 and page.headers["content-type"] == "application/geo+json"
    fid = page.json()["features"][0]["id"]
    item = await assert_head_matches_get(client, f"/collections/rail_stations/items/{fid}")
    assert item.headers["etag"] and item.headers["memento-datetime"]
    missing = await assert_head_matches_get(client, "/collections/rail_stations/items/999999999")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    bad = await assert_head_matches_get(client, "/collections/rail_stations/items?limit=-1")
    assert bad.status_code == 400


async def test_head_tiles_through_the_fast_lane_and_the_route(client: httpx.AsyncClient) -> None:
    lon, lat = (await client.get("/collections/buildings/items?limit=1")).json()["features"][0]["geometry"][
        "coordinates"
    ][0][0][0]
    rng = tile_range(WEB_MERCATOR_QUAD, (lon, lat, lon, lat), 15)
    assert rng is not None
    url = f"/collections/buildings/tiles/WebMercatorQuad/15/{rng.y0}/{rng.x0}"
    first = await assert_head_matches_get(client, url)  # rendered (route or lane), then cached
    assert first.status_code == 200 and first.content
    cached = await assert_head_matches_get(client, url)  # the pre-routing fast lane, from memory
    assert cached.headers["x-tile-source"] == "memory"
    head = await client.head(url)
    assert head.headers["x-tile-source"] == "memory" and head.headers["etag"] == cached.headers["etag"]
    via_route = await assert_head_matches_get(client, url + "?datetime=2025-01-01T00:00:00Z")
    assert via_route.status_code == 200
    not_modified = await client.head(url, headers={"If-None-Match": cached.headers["etag"]})
    assert not_modified.status_code == 304


async def test_every_openapi_get_path_answers_head(client: httpx.AsyncClient, seed: Seed) -> None:
    doc = (await client.get("/openapi")).json()
    paths = [p for p, ops in doc["paths"].items() if "get" in ops]
    assert len(paths) >= 10
    for path in paths:
        url = re.sub(r"\{(\w+)\}", lambda m: FILLERS[m.group(1)], path)
        got = await assert_head_matches_get(client, url, headers=seed.auth("admin"))
        assert got.status_code < 500, url


def _routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every APIRoute with its full path (FastAPI 0.165 keeps included routers nested)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes, prefix + route.include_context.prefix)


async def test_every_get_route_answers_head(client: httpx.AsyncClient, seed: Seed) -> None:
    """Beyond the Features document: styles, pages, static and vendor files, map, tiles."""
    app = client._transport.app  # type: ignore[attr-defined]
    routes = [(path, r) for path, r in _routes(app.routes) if "GET" in r.methods]
    assert len(routes) > 40
    seen = set()
    for path, _route in routes:
        if path in STREAMS:
            continue
        url = re.sub(r"\{(\w+)(:path)?\}", lambda m: FILLERS.get(m.group(1), "x"), path)
        got = await assert_head_matches_get(client, url, headers=seed.auth("admin"))
        assert got.status_code < 500, url
        seen.add((path, got.status_code))
    paths = {p for p, _ in seen}
    assert {"/styles", "/map", "/static/{name}", "/vendor/{path:path}", "/conformance"} <= paths
    assert ("/static/{name}", 200) in seen and ("/styles", 200) in seen


async def test_the_tile_fast_lane_itself_answers_head(client: httpx.AsyncClient) -> None:
    """Whatever order app.py stacks the middlewares in, the lane never sends a body to HEAD."""
    app = client._transport.app  # type: ignore[attr-defined]
    coords = (await client.get("/collections/buildings/items?limit=1")).json()["features"][0]["geometry"]
    lon, lat = coords["coordinates"][0][0][0]
    rng = tile_range(WEB_MERCATOR_QUAD, (lon, lat, lon, lat), 16)
    assert rng is not None
    path = f"/collections/buildings/tiles/WebMercatorQuad/16/{rng.y0}/{rng.x0}"
    got = await client.get(path)
    sent: list[dict[str, Any]] = []
    fell_through = []

    async def route(scope: Any, receive: Any, send: Any) -> None:
        fell_through.append(scope["method"])

    async def record(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "HEAD", "path": path, "query_string": b"", "headers": [], "app": app}
    await CachedTileFastPath(route)(scope, receive, record)
    assert not fell_through
    start, body = sent
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    assert start["status"] == got.status_code == 200
    assert headers["etag"] == got.headers["etag"] and headers["content-length"] == str(len(got.content))
    assert body["body"] == b""
