"""Items and item: keyset paging, counts, bbox/bbox-crs, output CRSs, properties, sortby, errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pyproj import Transformer

from tests.api.conftest import Seed

CS_BBOX = "112.90,28.10,113.10,28.30"  # central Changsha, lon/lat


async def walk(
    client: httpx.AsyncClient,
    url: str,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Follow next links to the end; return every feature seen."""
    seen: list[dict[str, Any]] = []
    r = await client.get(url, params=params, headers=headers)
    while True:
        assert r.status_code == 200, r.text
        body = r.json()
        seen += body["features"]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if not nxt:
            return seen
        r = await client.get(nxt[0], headers=headers)


async def test_paging_visits_every_feature_once(client: httpx.AsyncClient, seed: Seed) -> None:
    feats = await walk(client, "/collections/rail_stations/items", {"limit": 17})
    ids = [f["id"] for f in feats]
    assert len(ids) == seed.counts["rail_stations"] == len(set(ids))
    assert ids == sorted(ids)


async def test_prev_link_returns_the_previous_page(client: httpx.AsyncClient) -> None:
    first = (await client.get("/collections/rail_stations/items", params={"limit": 10})).json()
    assert not [link for link in first["links"] if link["rel"] == "prev"]
    nxt = next(link["href"] for link in first["links"] if link["rel"] == "next")
    second = (await client.get(nxt)).json()
    prev = next(link["href"] for link in second["links"] if link["rel"] == "prev")
    back = (await client.get(prev)).json()
    assert [f["id"] for f in back["features"]] == [f["id"] for f in first["features"]]


async def test_keyset_is_stable_while_data_changes(client: httpx.AsyncClient, seed: Seed) -> None:
    first = (await client.get("/collections/test_parcels/items", params={"limit": 20})).json()
    ids_first = [f["id"] for f in first["features"]]
    # A new feature (higher id) and a retired one on the first page must not shift page two.
    new = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [112.95, 28.18]},
        "properties": {"code": "NEW"},
    }
    created = await client.post("/collections/test_parcels/items", json=new, headers=seed.auth("editor"))
    assert created.status_code == 201
    victim = ids_first[0]
    tag = (await client.get(f"/collections/test_parcels/items/{victim}")).headers["etag"]
    gone = await client.delete(
        f"/collections/test_parcels/items/{victim}", headers={**seed.auth("editor"), "If-Match": tag}
    )
    assert gone.status_code == 204
    nxt = next(link["href"] for link in first["links"] if link["rel"] == "next")
    rest = await walk(client, nxt)
    ids_rest = [f["id"] for f in rest]
    assert not set(ids_rest) & set(ids_first)
    assert ids_rest[-1] == created.json()["id"]
    assert len(ids_first) + len(ids_rest) == seed.counts["test_parcels"] + 1


async def test_count_policy_says_which(client: httpx.AsyncClient, seed: Seed) -> None:
    # Fixture cap is 300 rows: stations (205) are counted exactly, buildings (~400) are estimated.
    small = await client.get("/collections/rail_stations/items", params={"limit": 5})
    assert small.json()["numberMatched"] == seed.counts["rail_stations"]
    assert small.headers["OneMap-Number-Matched"] == "exact"
    big = await client.get("/collections/buildings/items", params={"limit": 5})
    body = big.json()
    assert "numberMatched" not in body
    assert body["numberMatchedKind"] == "estimate"
    assert abs(body["numberMatchedEstimate"] - seed.counts["buildings"]) < seed.counts["buildings"] * 0.2
    filtered = await client.get(
        "/collections/buildings/items", params={"limit": 5, "filter": "use = 'residential'"}
    )
    exact = filtered.json()
    assert exact["numberMatchedKind"] == "exact"
    everything = await walk(
        client, "/collections/buildings/items", {"limit": 100, "filter": "use = 'residential'"}
    )
    assert exact["numberMatched"] == len(everything)


async def test_bbox_selects_intersecting_features(client: httpx.AsyncClient) -> None:
    inside = await walk(client, "/collections/rail_stations/items", {"bbox": CS_BBOX, "limit": 50})
    everything = await walk(client, "/collections/rail_stations/items", {"limit": 100})
    assert 0 < len(inside) < len(everything)
    for f in inside:
        lon, lat = f["geometry"]["coordinates"]
        assert 112.90 <= lon <= 113.10 and 28.10 <= lat <= 28.30
    expected = [
        f
        for f in everything
        if 112.90 <= f["geometry"]["coordinates"][0] <= 113.10
        and 28.10 <= f["geometry"]["coordinates"][1] <= 28.30
    ]
    assert {f["id"] for f in inside} == {f["id"] for f in expected}


@pytest.mark.parametrize(
    "crs", ["http://www.opengis.net/def/crs/EPSG/0/4326", "http://www.opengis.net/def/crs/EPSG/0/4490"]
)
async def test_bbox_crs_lat_lon_axis_order(client: httpx.AsyncClient, crs: str) -> None:
    ref = await walk(client, "/collections/rail_stations/items", {"bbox": CS_BBOX, "limit": 100})
    swapped = "28.10,112.90,28.30,113.10"
    got = await walk(
        client, "/collections/rail_stations/items", {"bbox": swapped, "bbox-crs": crs, "limit": 100}
    )
    assert {f["id"] for f in got} == {f["id"] for f in ref}


async def test_bbox_crs_gauss_kruger(client: httpx.AsyncClient) -> None:
    to_gk = Transformer.from_crs(4490, 4547, always_xy=True)
    e1, n1 = to_gk.transform(112.95, 28.15)
    e2, n2 = to_gk.transform(113.05, 28.25)
    # EPSG:4547 axis order is northing, easting.
    bbox = f"{n1},{e1},{n2},{e2}"
    got = await walk(
        client,
        "/collections/rail_stations/items",
        {"bbox": bbox, "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/4547", "limit": 100},
    )
    assert got
    for f in got:
        lon, lat = f["geometry"]["coordinates"]
        assert 112.94 <= lon <= 113.06 and 28.14 <= lat <= 28.26


@pytest.mark.parametrize(
    ("crs", "check"),
    [
        ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", lambda x, y, lon, lat: (x, y) == (lon, lat)),
        ("http://www.opengis.net/def/crs/EPSG/0/4326", lambda x, y, lon, lat: (x, y) == (lat, lon)),
        ("http://www.opengis.net/def/crs/EPSG/0/4490", lambda x, y, lon, lat: (x, y) == (lat, lon)),
        (
            "http://www.opengis.net/def/crs/EPSG/0/3857",
            lambda x, y, lon, lat: (
                abs(x - Transformer.from_crs(4326, 3857, always_xy=True).transform(lon, lat)[0]) < 0.01
            ),
        ),
        (
            "http://www.opengis.net/def/crs/EPSG/0/4547",
            lambda x, y, lon, lat: (
                abs(y - Transformer.from_crs(4490, 4547, always_xy=True).transform(lon, lat)[0]) < 0.01
            ),
        ),
        ("http://www.opengis.net/def/crs/EPSG/0/4526", lambda x, y, lon, lat: 38_000_000 < y < 39_000_000),
    ],
)
async def test_output_crs_and_content_crs(client: httpx.AsyncClient, crs: str, check: Any) -> None:
    plain = (await client.get("/collections/rail_stations/items", params={"limit": 3})).json()["features"]
    r = await client.get("/collections/rail_stations/items", params={"limit": 3, "crs": crs})
    assert r.status_code == 200
    assert r.headers["Content-Crs"] == f"<{crs}>"
    for a, b in zip(plain, r.json()["features"], strict=True):
        lon, lat = a["geometry"]["coordinates"]
        x, y = b["geometry"]["coordinates"]
        assert check(x, y, lon, lat), (crs, x, y, lon, lat)


async def test_properties_selects_returnables(client: httpx.AsyncClient) -> None:
    r = await client.get("/collections/buildings/items", params={"limit": 3, "properties": "name,height_m"})
    for f in r.json()["features"]:
        assert set(f["properties"]) == {"name", "height_m"}
    none = await client.get("/collections/buildings/items", params={"limit": 1, "properties": ""})
    assert none.json()["features"][0]["properties"] == {}
    bad = await client.get("/collections/buildings/items", params={"properties": "name,colour"})
    assert bad.status_code == 400 and "colour" in bad.json()["detail"]


@pytest.mark.parametrize("sortby", ["-n", "+area", "-area", "kind,-surveyed", "-ok,code"])
async def test_sortby_pages_through_in_order(client: httpx.AsyncClient, sortby: str) -> None:
    feats = await walk(client, "/collections/test_parcels/items", {"limit": 7, "sortby": sortby})
    ids = [f["id"] for f in feats]
    assert len(ids) == len(set(ids))
    assert len(ids) == len(await walk(client, "/collections/test_parcels/items", {"limit": 100}))

    def key(f: dict[str, Any]) -> tuple[Any, ...]:
        out: list[Any] = []
        for term in sortby.split(","):
            desc = term.startswith("-")
            v = f["properties"][term.lstrip("+-")]
            # NULLs sort as the largest value, both directions (PostgreSQL's default).
            if isinstance(v, bool):
                v = int(v)
            if desc:
                out.append((0 if v is None else 1, -v if isinstance(v, int | float) else _Rev(v)))
            else:
                out.append((1 if v is None else 0, v if v is not None else 0))
        out.append(f["id"])
        return tuple(out)

    assert feats == sorted(feats, key=key)


class _Rev:
    def __init__(self, v: Any) -> None:
        self.v = v

    def __lt__(self, other: _Rev) -> bool:
        return bool(self.v > other.v)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Rev) and self.v == other.v


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"bbox": "1,2,3"}, "4 numbers"),
        ({"bbox": "a,b,c,d"}, "numbers"),
        ({"bbox": "113,28,112,29"}, "lower corner"),
        ({"bbox": "112,95,113,96"}, "degree range"),
        ({"limit": "10001"}, "between 1 and"),
        ({"limit": "0"}, "between 1 and"),
        ({"limit": "ten"}, "whole number"),
        ({"crs": "EPSG:9999"}, "crs"),
        ({"bbox-crs": "EPSG:4326"}, "bbox-crs needs bbox"),
        ({"sortby": "colour"}, "colour"),
        ({"datetime": "yesterday"}, "RFC 3339"),
        ({"datetime": "2024-02-01T00:00:00Z/2023-01-01T00:00:00Z"}, "ends before"),
        ({"cursor": "forged.token"}, "cursor"),
        ({"offset": "-1"}, "offset must be a whole number"),
        ({"offset": "2.5"}, "offset must be a whole number"),
        ({"offset": "ten"}, "offset must be a whole number"),
        ({"offset": "10", "cursor": "whatever.token"}, "offset and cursor cannot be combined"),
        ({"profile": "nope"}, "profile"),
    ],
)
async def test_bad_parameters_are_400_problems(
    client: httpx.AsyncClient, params: dict[str, str], needle: str
) -> None:
    r = await client.get("/collections/buildings/items", params=params)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert needle in body["detail"], body
    assert "SELECT" not in r.text


async def test_cursor_of_another_query_is_refused(client: httpx.AsyncClient) -> None:
    first = (await client.get("/collections/test_parcels/items", params={"limit": 5, "sortby": "-n"})).json()
    nxt = next(link["href"] for link in first["links"] if link["rel"] == "next")
    cursor = httpx.URL(nxt).params["cursor"]
    r = await client.get("/collections/test_parcels/items", params={"limit": 5, "cursor": cursor})
    assert r.status_code == 400 and "different query" in r.json()["detail"]


async def test_item_by_id(client: httpx.AsyncClient) -> None:
    some = (await client.get("/collections/rail_stations/items", params={"limit": 1})).json()["features"][0]
    r = await client.get(f"/collections/rail_stations/items/{some['id']}")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/geo+json"
    body = r.json()
    assert body["id"] == some["id"] and body["geometry"] == some["geometry"]
    assert r.headers["etag"] == f'"{some["id"]}.1"'
    assert r.headers["memento-datetime"] == "Mon, 01 Jan 2024 00:00:00 GMT"
    rels = {link["rel"] for link in body["links"]}
    assert {"self", "alternate", "collection", "canonical", "original", "timemap", "version-history"} <= rels
    assert body["time"]["interval"] == ["2024-01-01T00:00:00.000000Z", ".."]
    assert (await client.get("/collections/rail_stations/items/99999999")).status_code == 404
    assert (await client.get("/collections/rail_stations/items/abc")).status_code == 404


async def test_item_and_items_html(client: httpx.AsyncClient) -> None:
    page = await client.get("/collections/rail_stations/items", params={"f": "html", "limit": 5})
    assert page.status_code == 200 and "站名" in page.text and 'id="map"' in page.text
    assert "/vendor/maplibre-gl/dist/maplibre-gl.css" in page.text
    some = (await client.get("/collections/rail_stations/items", params={"limit": 1})).json()["features"][0]
    item = await client.get(
        f"/collections/rail_stations/items/{some['id']}", params={"f": "html", "lang": "en"}
    )
    assert item.status_code == 200 and "Station name" in item.text
    assert '"type":"FeatureCollection"' in item.text


async def test_offset_pages_match_the_cursor_walk(client: httpx.AsyncClient, seed: Seed) -> None:
    """pygeoapi/tipg/GeoServer-style paging by offset sees what the keyset walk sees."""
    walked = [f["id"] for f in await walk(client, "/collections/rail_stations/items", {"limit": 50})]
    for offset in (0, 7, 50, 199, seed.counts["rail_stations"] - 1, seed.counts["rail_stations"] + 5):
        r = await client.get("/collections/rail_stations/items", params={"limit": 10, "offset": offset})
        assert r.status_code == 200, r.text
        body = r.json()
        assert [f["id"] for f in body["features"]] == walked[offset : offset + 10]
        assert body["numberMatched"] == seed.counts["rail_stations"]  # the count ignores the offset
    by_area = {"limit": 7, "sortby": "-area,code"}
    sorted_walk = await walk(client, "/collections/test_parcels/items", by_area)
    page = await client.get("/collections/test_parcels/items", params={**by_area, "offset": 20})
    assert [f["id"] for f in page.json()["features"]] == [f["id"] for f in sorted_walk[20:27]]


async def test_a_page_reached_by_offset_links_on_with_cursors(client: httpx.AsyncClient) -> None:
    walked = [f["id"] for f in await walk(client, "/collections/rail_stations/items", {"limit": 100})]
    body = (await client.get("/collections/rail_stations/items", params={"limit": 10, "offset": 30})).json()
    links = {link["rel"]: link["href"] for link in body["links"]}
    for rel in ("next", "prev"):
        query = httpx.URL(links[rel]).params
        assert "cursor" in query and "offset" not in query, links[rel]
    nxt = (await client.get(links["next"])).json()
    assert [f["id"] for f in nxt["features"]] == walked[40:50]
    prev = (await client.get(links["prev"])).json()
    assert [f["id"] for f in prev["features"]] == walked[20:30]
    rest = await walk(client, links["next"])
    assert [f["id"] for f in rest] == walked[40:]
    first = (await client.get("/collections/rail_stations/items", params={"limit": 10, "offset": 0})).json()
    assert "prev" not in {link["rel"] for link in first["links"]}
