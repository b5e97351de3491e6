"""Valid time as properties (GDAL and QGIS drop JSON-FG ``time``), checked through real clients:
an ogr2ogr GeoPackage export, ``datetime=`` against the properties, and the empty-layer extent
that QGIS needs to open a layer with a CRS."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from spatial.geometry import CHANGSHA_BBOX_4490
from tests.api.conftest import Seed

URL = "/collections/test_parcels/items"
SEED_START = "2024-01-01T00:00:00Z"
EDIT_1 = "2025-03-01T08:00:00Z"
EDIT_2 = "2025-09-15T12:30:00Z"
RETIRED = "2025-06-01T00:00:00Z"
gdal = pytest.mark.skipif(shutil.which("ogr2ogr") is None, reason="needs gdal-bin")


def when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def every(base: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    url: str | None = f"{base}{URL}"
    query: dict[str, Any] | None = {"limit": 100, **params}
    while url:
        r = httpx.get(url, params=query, timeout=30)
        assert r.status_code == 200, r.text
        out += r.json()["features"]
        url = next((lk["href"] for lk in r.json()["links"] if lk["rel"] == "next"), None)
        query = None
    return out


@pytest.fixture(scope="module")
def history(server: str, seed: Seed) -> dict[str, int]:
    """Two edits of P001 and the retirement of P002, each at a chosen valid time."""
    auth = seed.auth("editor")
    fids = {f["properties"]["code"]: f["id"] for f in every(server, {"filter": "code IN ('P001','P002')"})}
    item = f"{server}{URL}/{fids['P001']}"
    for n, at in ((101, EDIT_1), (102, EDIT_2)):
        tag = httpx.get(item).headers["etag"]
        r = httpx.patch(
            item,
            json={"properties": {"n": n}},
            headers={
                **auth,
                "If-Match": tag,
                "OGC-Mutation-Datetime": at,
                "Content-Type": "application/merge-patch+json",
            },
        )
        assert r.status_code == 200, r.text
    gone = f"{server}{URL}/{fids['P002']}"
    r = httpx.delete(
        gone, headers={**auth, "If-Match": httpx.get(gone).headers["etag"], "OGC-Mutation-Datetime": RETIRED}
    )
    assert r.status_code == 204, r.text
    return fids


def test_properties_carry_valid_time(server: str, history: dict[str, int]) -> None:
    feature = httpx.get(f"{server}{URL}/{history['P001']}").json()
    assert feature["properties"]["valid_from"] == EDIT_2 and feature["properties"]["valid_to"] is None
    assert when(feature["time"]["interval"][0]) == when(EDIT_2)  # JSON-FG time is kept
    old = httpx.get(f"{server}{URL}/{history['P001']}", params={"datetime": "2025-05-01T00:00:00Z"}).json()
    assert (old["properties"]["valid_from"], old["properties"]["valid_to"]) == (EDIT_1, EDIT_2)
    picked = httpx.get(f"{server}{URL}", params={"properties": "code,valid_to", "limit": 3}).json()
    assert all(set(f["properties"]) == {"code", "valid_to"} for f in picked["features"])
    only = httpx.get(f"{server}{URL}", params={"properties": "valid_from", "limit": 3}).json()
    assert all(list(f["properties"]) == ["valid_from"] for f in only["features"])
    page = httpx.get(f"{server}{URL}/{history['P001']}", params={"f": "html"}).text
    assert "有效期开始" in page and EDIT_2 in page
    listing = httpx.get(f"{server}{URL}", params={"f": "html", "lang": "en", "limit": 5}).text
    assert "Valid from" in listing and SEED_START in listing


@pytest.mark.parametrize(
    "instant",
    [
        "2023-12-31T23:59:59Z",
        SEED_START,
        "2025-02-28T23:59:59.999999Z",
        EDIT_1,
        "2025-05-31T23:59:59Z",
        RETIRED,
        EDIT_2,
        "2026-01-01T00:00:00Z",
    ],
)
def test_datetime_selects_exactly_the_versions_valid_then(server: str, history: dict[str, int], instant: str) -> None:
    versions = every(server, {"datetime": "../.."})
    t = when(instant)
    expected = {
        (f["id"], f["properties"]["valid_from"])
        for f in versions
        if when(f["properties"]["valid_from"]) <= t
        and (f["properties"]["valid_to"] is None or t < when(f["properties"]["valid_to"]))
    }
    got = every(server, {"datetime": instant})
    assert len(got) == len({f["id"] for f in got})  # one version per feature
    assert {(f["id"], f["properties"]["valid_from"]) for f in got} == expected
    retired_then = history["P002"] not in {f["id"] for f in got}
    assert retired_then == (t >= when(RETIRED) or t < when(SEED_START))


def test_writing_back_what_was_read_ignores_read_only_valid_time(
    server: str, history: dict[str, int], seed: Seed
) -> None:
    item = f"{server}{URL}/{history['P001']}"
    got = httpx.get(item)
    feature = got.json()
    feature.pop("links")
    feature["properties"]["n"] = 103
    r = httpx.put(item, json=feature, headers={**seed.auth("editor"), "If-Match": got.headers["etag"]})
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["n"] == 103 and when(r.json()["properties"]["valid_from"]) > when(EDIT_2)


@gdal
@pytest.mark.gdal
def test_ogr2ogr_geopackage_export_keeps_valid_time(server: str, history: dict[str, int], tmp_path: Path) -> None:
    gpkg = tmp_path / "parcels.gpkg"
    out = subprocess.run(
        ["ogr2ogr", "-f", "GPKG", str(gpkg), f"OAPIF:{server}/", "test_parcels", "-oo", "PAGE_SIZE=25"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    api = {f["properties"]["code"]: f["properties"] for f in every(server, {})}
    with sqlite3.connect(gpkg) as db:
        types = {row[1]: row[2] for row in db.execute("PRAGMA table_info(test_parcels)")}
        rows = db.execute("SELECT code, valid_from, valid_to FROM test_parcels").fetchall()
    assert types["valid_from"] == "DATETIME" and types["valid_to"] in ("DATETIME", "TEXT")
    assert len(rows) == len(api) and "P002" not in {r[0] for r in rows}
    for code, valid_from, valid_to in rows:
        # GeoPackage DATETIME keeps milliseconds; a valid time the server chose (an edit without
        # OGC-Mutation-Datetime) has microseconds, rounded to the millisecond in the file.
        assert abs(when(api[code]["valid_from"]) - when(valid_from)) <= dt.timedelta(microseconds=500), code
        assert valid_to is None
    exported = dict((r[0], r[1]) for r in rows)
    assert when(exported["P000"]) == when(SEED_START)
    assert when(exported["P001"]) > when(EDIT_2)  # the write-back above made a newer version


def test_empty_overlay_has_a_nominal_extent_until_it_has_data(server: str, seed: Seed) -> None:
    admin = seed.auth("admin")
    for layer_id, declared in (("empty_sites", None), ("declared_sites", [112.9, 28.1, 113.0, 28.2])):
        definition = {
            "id": layer_id,
            "title_zh": "空图层",
            "title_en": "Empty overlay",
            "geometry_type": "Point",
            "schema": {"fields": [{"name": "code", "type": "string", "title_zh": "编码", "title_en": "Code"}]},
            "metadata": {"extent": declared} if declared else {},
        }
        r = httpx.post(f"{server}/collections", json=definition, headers=admin)
        assert r.status_code == 201, r.text
        for doc in (r.json(), httpx.get(f"{server}/collections/{layer_id}").json()):
            assert doc["extent"]["spatial"]["bbox"] == [declared or list(CHANGSHA_BBOX_4490)]
            assert doc["extent"]["spatial"]["crs"] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
            assert doc["x-onemap"]["extentKind"] == "nominal"
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [112.95, 28.15]}, "properties": {}}
    posted = httpx.post(f"{server}/collections/empty_sites/items", json=feature, headers=seed.auth("editor"))
    assert posted.status_code == 201, posted.text
    deadline = time.monotonic() + 70  # the edit notification drops the cached extent at once; the TTL bounds it
    while True:
        doc = httpx.get(f"{server}/collections/empty_sites").json()
        if doc["x-onemap"]["extentKind"] == "exact" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert doc["x-onemap"]["extentKind"] == "exact"
    assert doc["extent"]["spatial"]["bbox"] == [[112.95, 28.15, 112.95, 28.15]]


@gdal
@pytest.mark.gdal
def test_gdal_opens_an_empty_layer_with_a_crs_and_an_extent(server: str, seed: Seed) -> None:
    definition = {"id": "still_empty", "title_zh": "空", "title_en": "Empty", "geometry_type": "Polygon"}
    assert httpx.post(f"{server}/collections", json=definition, headers=seed.auth("admin")).status_code == 201
    out = subprocess.run(
        ["ogrinfo", "-ro", "-so", f"OAPIF:{server}/", "still_empty"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    x0, y0, x1, y1 = CHANGSHA_BBOX_4490
    assert f"Extent: ({x0:.6f}, {y0:.6f}) - ({x1:.6f}, {y1:.6f})" in out.stdout, out.stdout
    assert "WGS 84" in out.stdout or "CRS84" in out.stdout, out.stdout


def test_head_through_uvicorn(server: str) -> None:
    got = httpx.get(f"{server}{URL}?limit=2")
    head = httpx.head(f"{server}{URL}?limit=2")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"] == "application/geo+json"
    assert head.headers["content-length"] == got.headers["content-length"]
