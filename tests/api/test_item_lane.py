"""The item-by-id fast lane (api/ogc/item_lane.py): it answers exactly as the route does, or not at all."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from api.app import create_app
from api.ogc.item_lane import ItemFastPath, _handled
from layers.errors import DatabaseUnavailable
from tests.api.conftest import Seed, api_settings

COMPARED = ("content-type", "content-crs", "etag", "memento-datetime", "link", "content-length")


class Behind:
    """The lane in front of a recorder that passes to the whole app: which requests reached the route?"""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.passed: list[str] = []
        self.lane = ItemFastPath(self._route)

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.passed.append(scope["path"])
        await self.app(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["app"] = self.app  # what Starlette sets before its middleware runs
        await self.lane(scope, receive, send)


@pytest.fixture(scope="module")
async def both(seed: Seed, var_dir: Path) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, Behind]]:
    """(client through the lane, client straight to the app, the recorder behind the lane)."""
    app = create_app(api_settings(seed.url, var_dir))
    behind = Behind(app)
    async with app.router.lifespan_context(app):
        lane = httpx.AsyncClient(transport=httpx.ASGITransport(app=behind), base_url="http://testserver")
        direct = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        async with lane, direct:
            yield lane, direct, behind


Case = tuple[str, dict[str, str], dict[str, str], int]


async def _all_take_the_route(both: tuple[httpx.AsyncClient, httpx.AsyncClient, Behind], cases: list[Case]) -> None:
    """Each (path, params, headers, status) reaches the route behind the lane and answers as the app does."""
    lane, direct, behind = both
    for path, params, headers, status in cases:
        behind.passed.clear()
        r = await lane.get(path, params=params, headers=headers)
        direct_r = await direct.get(path, params=params, headers=headers)
        assert r.status_code == direct_r.status_code == status, (path, params, headers)
        assert behind.passed == [path], (path, params, headers)
        if status >= 400:
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["detail"] == direct_r.json()["detail"]


async def _some_fid(client: httpx.AsyncClient, layer: str) -> Any:
    return (await client.get(f"/collections/{layer}/items", params={"limit": 1})).json()["features"][0]["id"]


@pytest.mark.parametrize(
    "query", [{}, {"f": "json"}, {"f": "GeoJSON"}, {"crs": "http://www.opengis.net/def/crs/EPSG/0/4547"}]
)
async def test_the_lane_answers_as_the_route_does(
    both: tuple[httpx.AsyncClient, httpx.AsyncClient, Behind], seed: Seed, query: dict[str, str]
) -> None:
    lane, direct, behind = both
    fid = await _some_fid(direct, "rail_stations")
    behind.passed.clear()
    fast = await lane.get(f"/collections/rail_stations/items/{fid}", params=query)
    assert fast.status_code == 200 and behind.passed == []  # answered in the lane
    # Credentials take the route (a public layer answers them the same).
    routed = await lane.get(f"/collections/rail_stations/items/{fid}", params=query, headers=seed.auth("admin"))
    assert routed.status_code == 200 and behind.passed == [f"/collections/rail_stations/items/{fid}"]
    assert fast.content == routed.content
    for name in COMPARED:
        assert fast.headers.get(name) == routed.headers.get(name), name
    assert fast.headers["etag"] == routed.headers["etag"] is not None


async def test_everything_else_takes_the_route(
    both: tuple[httpx.AsyncClient, httpx.AsyncClient, Behind], seed: Seed
) -> None:
    direct = both[1]
    fid = await _some_fid(direct, "rail_stations")
    cases: list[Case] = [
        (f"/collections/rail_stations/items/{fid + 10_000_000}", {}, {}, 404),  # no such feature
        ("/collections/no_such_layer/items/1", {}, {}, 404),
        (f"/collections/rail_stations/items/{fid}", {"f": "html"}, {}, 200),
        (f"/collections/rail_stations/items/{fid}", {}, {"Accept": "text/html"}, 200),
        (f"/collections/rail_stations/items/{fid}", {}, {"Accept": "application/xhtml+xml;q=0.9, */*;q=0.1"}, 200),
        (f"/collections/rail_stations/items/{fid}", {}, {"Accept": "image/png"}, 406),
        (f"/collections/rail_stations/items/{fid}", {"lang": "en"}, {}, 200),  # a parameter the lane leaves
        (f"/collections/rail_stations/items/{fid}", {"datetime": "2000-01-01T00:00:00Z"}, {}, 410),  # before it existed
        (f"/collections/rail_stations/items/{fid}", {"f": "xml"}, {}, 400),
        (f"/collections/rail_stations/items/{fid}", {}, {"Authorization": "Bearer om_wrong"}, 401),
        # A NUL the lane's own checks would miss: the route's guard answers it (api/input_guard.py).
        (f"/collections/rail_stations/items/{fid}", {"datetime": "2020-01-01T00:00:00Z\x00"}, {}, 400),
    ]
    await _all_take_the_route(both, cases)


async def test_a_restricted_layer_is_never_answered_in_the_lane(
    both: tuple[httpx.AsyncClient, httpx.AsyncClient, Behind], seed: Seed
) -> None:
    lane, direct, behind = both
    hidden = [c["id"] for c in (await direct.get("/collections", headers=seed.auth("admin"))).json()["collections"]
              if c["id"] not in {c2["id"] for c2 in (await direct.get("/collections")).json()["collections"]}]
    assert hidden, "the seed has layers an anonymous caller cannot see"
    layer = hidden[0]
    items = await direct.get(f"/collections/{layer}/items", params={"limit": 1}, headers=seed.auth("admin"))
    features = items.json()["features"]
    fid = features[0]["id"] if features else 1
    behind.passed.clear()
    r = await lane.get(f"/collections/{layer}/items/{fid}")
    assert r.status_code == 404 and behind.passed == [f"/collections/{layer}/items/{fid}"]


def test_the_lane_runs_before_every_other_middleware(seed: Seed, var_dir: Path) -> None:
    app = create_app(api_settings(seed.url, var_dir))
    stack = app.build_middleware_stack()
    assert isinstance(stack, ItemFastPath)  # outside FastAPI's own error, telemetry and body-limit layers
    assert not isinstance(stack.app, ItemFastPath)  # and only once


def _without_time(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "timeStamp"}  # the page's own clock, to the second


@pytest.mark.parametrize(
    "query",
    [{"limit": "3"}, {"limit": "2", "offset": "4"}, {"limit": "5", "bbox": "112.8,28.0,113.2,28.4"},
     {"limit": "2", "f": "json", "crs": "http://www.opengis.net/def/crs/EPSG/0/4547"}, {}],
)
async def test_the_page_lane_answers_as_the_route_does(
    both: tuple[httpx.AsyncClient, httpx.AsyncClient, Behind], seed: Seed, query: dict[str, str]
) -> None:
    lane, _, behind = both
    behind.passed.clear()
    fast = await lane.get("/collections/rail_stations/items", params=query)
    assert fast.status_code == 200 and behind.passed == []  # answered in the lane
    routed = await lane.get("/collections/rail_stations/items", params=query, headers=seed.auth("admin"))
    assert routed.status_code == 200 and behind.passed == ["/collections/rail_stations/items"]
    assert _without_time(fast.json()) == _without_time(routed.json())
    assert fast.json()["features"], "the page has features"
    for name in ("content-type", "content-crs", "onemap-number-matched"):
        assert fast.headers.get(name) == routed.headers.get(name), name
    # Following next: a cursor page, in the lane too.
    nxt = [lk["href"] for lk in fast.json()["links"] if lk["rel"] == "next"]
    if nxt:
        behind.passed.clear()
        page2 = await lane.get(nxt[0].removeprefix("http://testserver"))
        assert page2.status_code == 200 and behind.passed == []
        assert {f["id"] for f in page2.json()["features"]}.isdisjoint({f["id"] for f in fast.json()["features"]})


async def test_page_refusals_and_pages_the_lane_does_not_take_go_to_the_route(
    both: tuple[httpx.AsyncClient, httpx.AsyncClient, Behind],
) -> None:
    path = "/collections/rail_stations/items"
    cases: list[Case] = [
        (path, {"limit": "abc"}, {}, 400),
        (path, {"bbox": "1,2,3"}, {}, 400),
        (path, {"cursor": "not-a-cursor"}, {}, 400),
        (path, {"no_such": "1"}, {}, 400),
        ("/collections/no_such_layer/items", {}, {}, 404),
        (path, {"f": "html"}, {}, 200),
        (path, {}, {"Accept": "text/html"}, 200),
        (path, {"q": "\x00"}, {}, 400),
    ]
    await _all_take_the_route(both, cases)


async def test_a_database_failure_is_answered_by_the_apps_own_handler(seed: Seed, var_dir: Path) -> None:
    app = create_app(api_settings(seed.url, var_dir))
    request = Request({"type": "http", "method": "GET", "path": "/collections/x/items", "headers": [],
                       "query_string": b"", "app": app})
    response = await _handled(request, DatabaseUnavailable("the database connection was lost"))
    assert response.status_code == 503 and response.headers["retry-after"]
    assert response.headers["content-type"] == "application/problem+json"
    assert b"database-unavailable" in bytes(response.body)
