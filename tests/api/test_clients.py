"""Real clients against One Map under uvicorn: GDAL's OAPIF driver, OWSLib, HTTP Part 4, schemathesis."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from layers.db import connect
from tests.api.conftest import Seed

pytestmark = [pytest.mark.slow]


def all_items(base: str, collection: str, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    url: str | None = f"{base}/collections/{collection}/items"
    query: dict[str, Any] | None = {"limit": 100, **params}
    while url:
        body = httpx.get(url, params=query, timeout=30).json()
        out += body["features"]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        query = None
    return out


@pytest.fixture(autouse=True)
def owslib_headers_restored() -> Iterator[None]:
    """Undo OWSLib's shared header state after each test.

    OWSLib 0.35's OGC API classes start from one module-level dict (``owslib.ogcapi.REQUEST_HEADERS``)
    and update it in place, so ``headers=`` given to one ``Features`` (an Authorization header, the
    Content-Type its writes set) is sent by every later one in the process, to any server.
    """
    from owslib import ogcapi

    saved = dict(ogcapi.REQUEST_HEADERS)
    yield
    ogcapi.REQUEST_HEADERS.clear()
    ogcapi.REQUEST_HEADERS.update(saved)


gdal = pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="needs gdal-bin")


@gdal
@pytest.mark.gdal
def test_ogrinfo_lists_collections(server: str) -> None:
    out = subprocess.run(
        ["ogrinfo", "-ro", "-so", f"OAPIF:{server}/"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    for name in ("rail_stations", "buildings", "test_parcels"):
        assert name in out.stdout
    assert "power_facilities" not in out.stdout and "pipeline_" not in out.stdout


@gdal
@pytest.mark.gdal
def test_ogr2ogr_pulls_every_feature(server: str, tmp_path: Path, seed: Seed) -> None:
    gpkg = tmp_path / "out.gpkg"
    out = subprocess.run(
        [
            "ogr2ogr",
            "-f",
            "GPKG",
            str(gpkg),
            f"OAPIF:{server}/",
            "rail_stations",
            "buildings",
            "-oo",
            "PAGE_SIZE=60",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    for layer in ("rail_stations", "buildings"):
        info = subprocess.run(
            ["ogrinfo", "-ro", "-so", str(gpkg), layer], capture_output=True, text=True, timeout=60
        )
        count = int(next(line for line in info.stdout.splitlines() if "Feature Count" in line).split(":")[1])
        assert count == len(all_items(server, layer)) == seed.counts[layer]
    attrs = subprocess.run(
        ["ogrinfo", "-ro", "-q", str(gpkg), "-sql", "SELECT name FROM rail_stations WHERE name = '五一广场'"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "五一广场" in attrs.stdout


@gdal
@pytest.mark.gdal
def test_ogrinfo_with_bbox_and_cql2_matches_the_server(server: str) -> None:
    out = subprocess.run(
        [
            "ogrinfo",
            "-ro",
            "-q",
            f"OAPIF:{server}/",
            "rail_stations",
            "-spat",
            "112.9",
            "28.1",
            "113.1",
            "28.3",
            "-where",
            "station = 'subway'",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    gdal_ids = {int(m) for m in re.findall(r"^OGRFeature\(rail_stations\):(\d+)", out.stdout, re.MULTILINE)}
    ours = {
        f["id"]
        for f in all_items(server, "rail_stations", bbox="112.9,28.1,113.1,28.3", filter="station = 'subway'")
    }
    assert gdal_ids and gdal_ids == ours


def test_owslib_pages_with_bbox_without_duplicates_or_gaps(server: str) -> None:
    from owslib.ogcapi.features import Features

    api = Features(server)
    assert "rail_stations" in {c["id"] for c in api.collections()["collections"]}
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in api.conformance()["conformsTo"]
    bbox = [112.85, 28.05, 113.15, 28.35]
    seen: list[int] = []
    params: dict[str, Any] = {"bbox": bbox, "limit": 13}
    pages = 0
    while True:
        page = api.collection_items("rail_stations", **params)
        seen += [f["id"] for f in page["features"]]
        pages += 1
        nxt = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
        if nxt is None:
            break
        params = {"bbox": bbox, "limit": 13, "cursor": httpx.URL(nxt).params["cursor"]}
    assert pages > 2
    assert len(seen) == len(set(seen))
    expected = {
        f["id"]
        for f in all_items(server, "rail_stations")
        if bbox[0] <= f["geometry"]["coordinates"][0] <= bbox[2]
        and bbox[1] <= f["geometry"]["coordinates"][1] <= bbox[3]
    }
    assert set(seen) == expected
    queryables = api.collection_queryables("buildings")
    assert "height_m" in queryables["properties"]


def test_part4_round_trip_with_etags(server: str, seed: Seed) -> None:
    from owslib.ogcapi.features import Features

    url = f"{server}/collections/test_parcels/items"
    auth = seed.auth("editor")
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [112.945, 28.175]},
        "properties": {"code": "RT-1", "n": 1},
    }
    api = Features(server, headers=auth)
    api.collection_item_create("test_parcels", feature)  # OWSLib create: no If-Match needed to create
    created = all_items(server, "test_parcels", filter="code = 'RT-1'")
    assert len(created) == 1
    fid = created[0]["id"]
    got = httpx.get(f"{url}/{fid}")
    etag = got.headers["etag"]
    feature["properties"]["n"] = 2
    ok = httpx.put(f"{url}/{fid}", json=feature, headers={**auth, "If-Match": etag})
    assert ok.status_code == 200 and ok.headers["etag"] != etag
    stale = httpx.put(f"{url}/{fid}", json=feature, headers={**auth, "If-Match": etag})
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    stale_delete = httpx.delete(f"{url}/{fid}", headers={**auth, "If-Match": etag})
    assert stale_delete.status_code == 412
    gone = httpx.delete(f"{url}/{fid}", headers={**auth, "If-Match": ok.headers["etag"]})
    assert gone.status_code == 204
    assert httpx.get(f"{url}/{fid}").status_code == 410
    versions = httpx.get(f"{url}/{fid}/versions").json()["versions"]
    assert [v["version"] for v in versions] == [1, 2]


def audit_flags(url: str, fid: int) -> list[tuple[str, bool]]:
    """(operation, unconditional) of a feature's audit rows, read from the server's database."""

    async def fetch() -> list[tuple[str, bool]]:
        conn = await connect(url)
        try:
            rows = await conn.fetch("SELECT op, unconditional FROM onemap.changes WHERE fid = $1 ORDER BY id", fid)
        finally:
            await conn.close()
        return [(r["op"], r["unconditional"]) for r in rows]

    return asyncio.run(fetch())


def test_owslib_part4_calls_need_no_if_match(server: str, seed: Seed) -> None:
    """OWSLib's create, update (PUT) and delete send no If-Match; each is a new, audited version."""
    from owslib.ogcapi.features import Features

    api = Features(server, headers=seed.auth("editor"))
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [112.946, 28.176]},
        "properties": {"code": "OWS-1", "n": 1},
    }
    assert api.collection_item_create("test_parcels", feature)
    [created] = all_items(server, "test_parcels", filter="code = 'OWS-1'")
    fid = created["id"]
    feature["properties"]["n"] = 2
    assert api.collection_item_update("test_parcels", str(fid), feature)
    assert api.collection_item("test_parcels", str(fid))["properties"]["n"] == 2
    assert api.collection_item_delete("test_parcels", str(fid))
    assert httpx.get(f"{server}/collections/test_parcels/items/{fid}").status_code == 410
    versions = httpx.get(f"{server}/collections/test_parcels/items/{fid}/versions").json()["versions"]
    assert [(v["version"], v["operation"]) for v in versions] == [(1, "insert"), (2, "replace")]
    assert audit_flags(seed.url, fid) == [("insert", False), ("replace", True), ("retire", True)]


def test_schemathesis_finds_no_server_errors_or_schema_violations(
    server: str, seed: Seed, tmp_path: Path
) -> None:
    """Bounded: every operation (writes too, as admin), deterministic generation, < 1 min."""
    cmd = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{server}/openapi",
        "--checks",
        "not_a_server_error,response_schema_conformance,content_type_conformance",
        "--max-examples",
        "15",
        "--phases",
        "examples,coverage,fuzzing",
        "--generation-deterministic",
        "--request-timeout",
        "20",
        "--max-failures",
        "5",
        "--report-dir",
        str(tmp_path),
        "-H",
        f"Authorization: Bearer {seed.keys['admin']}",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert re.search(r"Tested: 2[0-9]", out.stdout), out.stdout[-2000:]  # 22 with the Processes operations


@gdal
@pytest.mark.gdal
def test_gdal_with_a_token_sees_internal_layers(server: str, seed: Seed) -> None:
    header = f"Authorization: Bearer {seed.keys['viewer']}"
    out = subprocess.run(
        [
            "ogrinfo",
            "-ro",
            "-so",
            "--config",
            "GDAL_HTTP_HEADERS",
            header,
            f"OAPIF:{server}/",
            "power_facilities",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert f"Feature Count: {seed.counts['power_facilities']}" in out.stdout
