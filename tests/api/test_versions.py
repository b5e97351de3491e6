"""Valid time: datetime as instant or interval, the TimeMap (/versions), Memento links and headers, 410."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import Seed

URL = "/collections/test_parcels/items"
T1, T2, T3, T4 = (
    "2020-01-01T00:00:00Z",
    "2021-01-01T00:00:00Z",
    "2022-01-01T00:00:00Z",
    "2023-01-01T00:00:00Z",
)


@pytest.fixture(scope="module")
async def history(client: httpx.AsyncClient, seed: Seed) -> int:
    """A parcel created in 2020, replaced in 2021, patched in 2022 and retired in 2023 (valid time)."""
    body: dict[str, Any] = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [112.99, 28.21]},
        "properties": {"code": "H", "n": 1},
    }
    auth = seed.auth("editor")
    r = await client.post(URL, json=body, headers={**auth, "OGC-Mutation-Datetime": T1})
    assert r.status_code == 201, r.text
    fid = int(r.json()["id"])
    body["properties"]["n"] = 2
    body["geometry"]["coordinates"] = [112.991, 28.211]
    r = await client.put(
        f"{URL}/{fid}", json=body, headers={**auth, "If-Match": f'"{fid}.1"', "OGC-Mutation-Datetime": T2}
    )
    assert r.status_code == 200, r.text
    r = await client.patch(
        f"{URL}/{fid}",
        json={"properties": {"n": 3}},
        headers={**auth, "If-Match": f'"{fid}.2"', "OGC-Mutation-Datetime": T3},
    )
    assert r.status_code == 200, r.text
    r = await client.delete(
        f"{URL}/{fid}", headers={**auth, "If-Match": f'"{fid}.3"', "OGC-Mutation-Datetime": T4}
    )
    assert r.status_code == 204
    return fid


@pytest.mark.parametrize(
    ("at", "n"),
    [("2020-06-01T00:00:00Z", 1), ("2021-06-01T00:00:00Z", 2), (T2, 2), ("2022-12-31T23:59:59Z", 3)],
)
async def test_item_as_of(client: httpx.AsyncClient, history: int, at: str, n: int) -> None:
    r = await client.get(f"{URL}/{history}", params={"datetime": at})
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["n"] == n
    starts = {1: "Wed, 01 Jan 2020", 2: "Fri, 01 Jan 2021", 3: "Sat, 01 Jan 2022"}
    assert r.headers["memento-datetime"] == f"{starts[n]} 00:00:00 GMT"
    assert r.headers["etag"] == f'"{history}.{n}"'
    links = {link["rel"]: link["href"] for link in r.json()["links"]}
    assert links["original"].endswith(f"/items/{history}")
    assert "datetime=20" in links["canonical"]
    assert ("predecessor-version" in links) == (n > 1)
    assert ("successor-version" in links) == (n < 3)
    assert 'rel="timemap"' in r.headers["link"]


async def test_canonical_link_round_trips(client: httpx.AsyncClient, history: int) -> None:
    r = await client.get(f"{URL}/{history}", params={"datetime": "2021-06-01T00:00:00Z"})
    canonical = next(link["href"] for link in r.json()["links"] if link["rel"] == "canonical")
    again = await client.get(canonical)
    assert again.json()["properties"]["n"] == 2
    assert again.headers["cache-control"].endswith("immutable")


async def test_gone_and_never_existed(client: httpx.AsyncClient, history: int) -> None:
    now = await client.get(f"{URL}/{history}")
    assert now.status_code == 410
    links = {link["rel"] for link in now.json()["links"]}
    assert {"latest-version", "timemap", "version-history"} <= links
    before = await client.get(f"{URL}/{history}", params={"datetime": "2019-01-01T00:00:00Z"})
    assert before.status_code == 410 and "did not exist" in before.json()["detail"]
    assert (await client.get(f"{URL}/424242424", params={"datetime": T2})).status_code == 404
    bad = await client.get(f"{URL}/{history}", params={"datetime": f"{T1}/{T2}"})
    assert bad.status_code == 400


async def test_timemap(client: httpx.AsyncClient, history: int) -> None:
    r = await client.get(f"{URL}/{history}/versions")
    assert r.status_code == 200
    doc = r.json()
    mementos = [link for link in doc["links"] if link["rel"] == "memento"]
    assert [m["datetime"] for m in mementos] == [
        "Wed, 01 Jan 2020 00:00:00 GMT",
        "Fri, 01 Jan 2021 00:00:00 GMT",
        "Sat, 01 Jan 2022 00:00:00 GMT",
    ]
    rels = {link["rel"] for link in doc["links"]}
    assert {"self", "original", "first", "last", "latest-version"} <= rels
    assert [(v["version"], v["validFrom"], v["validTo"]) for v in doc["versions"]] == [
        (1, T1, T2),
        (2, T2, T3),
        (3, T3, T4),
    ]
    for m in mementos:
        assert (await client.get(m["href"])).status_code == 200
    html = await client.get(f"{URL}/{history}/versions", params={"f": "html"})
    assert "版本历史" in html.text
    assert (await client.get(f"{URL}/999999999/versions")).status_code == 404


async def test_items_as_of_is_a_snapshot(client: httpx.AsyncClient, history: int, seed: Seed) -> None:
    r = await client.get(URL, params={"datetime": "2021-06-01T00:00:00Z", "limit": 100})
    assert r.headers["memento-datetime"] == "Tue, 01 Jun 2021 00:00:00 GMT"
    feats = r.json()["features"]
    assert [f["properties"]["n"] for f in feats if f["id"] == history] == [2]
    # The seeded parcels start in 2024, so only the history parcel existed in 2021.
    assert len(feats) == 1
    later = await client.get(URL, params={"datetime": "2024-06-01T00:00:00Z", "limit": 1000})
    ids = {f["id"] for f in later.json()["features"]}
    assert history not in ids and len(ids) >= seed.counts["test_parcels"]


async def test_items_interval_returns_versions(client: httpx.AsyncClient, history: int) -> None:
    flt = "code = 'H'"
    r = await client.get(URL, params={"datetime": "2020-06-01T00:00:00Z/..", "filter": flt})
    feats = r.json()["features"]
    assert [f["properties"]["n"] for f in feats] == [1, 2, 3]
    assert {f["id"] for f in feats} == {history}
    assert "versions-as-features" in r.headers["link"]
    unique = await client.get(
        URL,
        params={
            "datetime": "../2021-06-01T00:00:00Z",
            "filter": flt,
            "profile": "versions-as-features-unique-ids",
        },
    )
    assert [f["id"] for f in unique.json()["features"]] == [
        f"{history}.20200101T000000.000000Z",
        f"{history}.20210101T000000.000000Z",
    ]
    # Filters apply per version: only version 3 has n = 3.
    r3 = await client.get(URL, params={"datetime": "../..", "filter": "code = 'H' AND n = 3"})
    assert [f["time"]["interval"] for f in r3.json()["features"]] == [
        ["2022-01-01T00:00:00.000000Z", "2023-01-01T00:00:00.000000Z"]
    ]


async def test_interval_paging_covers_all_versions(client: httpx.AsyncClient, history: int) -> None:
    seen: list[tuple[Any, Any]] = []
    r = await client.get(URL, params={"datetime": "../..", "limit": 7})
    while True:
        body = r.json()
        seen += [(f["id"], f["time"]["interval"][0]) for f in body["features"]]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if not nxt:
            break
        r = await client.get(nxt[0])
    assert len(seen) == len(set(seen))
    assert sum(1 for fid, _ in seen if fid == history) == 3
