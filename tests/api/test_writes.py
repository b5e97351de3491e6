"""Part 4: create, replace, merge-patch and retire, with ETag/If-Match, validation, audit and access."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pyproj import Transformer

from tests.api.conftest import Seed

URL = "/collections/test_parcels/items"


def parcel(code: str, lon: float = 112.94, lat: float = 28.175, **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"code": code, **props},
    }


async def create(client: httpx.AsyncClient, seed: Seed, body: dict[str, Any]) -> httpx.Response:
    r = await client.post(URL, json=body, headers=seed.auth("editor"))
    assert r.status_code == 201, r.text
    return r


async def test_create_replace_patch_delete_round_trip(client: httpx.AsyncClient, seed: Seed) -> None:
    r = await create(client, seed, parcel("W-1", kind="a", n=5, area=12.5))
    fid = r.json()["id"]
    assert r.headers["location"] == f"http://testserver{URL}/{fid}"
    assert r.headers["etag"] == f'"{fid}.1"'
    got = await client.get(f"{URL}/{fid}")
    assert got.json()["properties"]["area"] == 12.5 and got.headers["etag"] == f'"{fid}.1"'

    replaced = await client.put(
        f"{URL}/{fid}",
        json=parcel("W-1", kind="b", n=6),
        headers={**seed.auth("editor"), "If-Match": got.headers["etag"]},
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.headers["etag"] == f'"{fid}.2"'
    assert replaced.json()["properties"]["area"] is None  # PUT replaces every property

    patched = await client.patch(
        f"{URL}/{fid}",
        json={"properties": {"n": 7, "kind": None}},
        headers={
            **seed.auth("editor"),
            "If-Match": replaced.headers["etag"],
            "Content-Type": "application/merge-patch+json",
        },
    )
    assert patched.status_code == 200, patched.text
    props = patched.json()["properties"]
    assert props["n"] == 7 and props["kind"] is None and props["code"] == "W-1"
    assert patched.json()["geometry"]["coordinates"] == [112.94, 28.175]

    deleted = await client.delete(f"{URL}/{fid}", headers={**seed.auth("editor"), "If-Match": f'"{fid}.3"'})
    assert deleted.status_code == 204
    gone = await client.get(f"{URL}/{fid}")
    assert gone.status_code == 410
    assert "retired" in gone.json()["detail"]
    assert 'rel="latest-version"' in gone.headers["link"]
    history = (await client.get(f"{URL}/{fid}/versions")).json()
    assert [v["operation"] for v in history["versions"]] == ["insert", "replace", "update"]
    assert history["retired"] is True


async def test_if_match_is_required_and_checked(client: httpx.AsyncClient, seed: Seed) -> None:
    fid = (await create(client, seed, parcel("W-2"))).json()["id"]
    body = parcel("W-2", n=1)
    missing = await client.put(f"{URL}/{fid}", json=body, headers=seed.auth("editor"))
    assert missing.status_code == 428 and missing.headers["content-type"] == "application/problem+json"
    star = await client.put(f"{URL}/{fid}", json=body, headers={**seed.auth("editor"), "If-Match": "*"})
    assert star.status_code == 428
    first = await client.put(
        f"{URL}/{fid}", json=body, headers={**seed.auth("editor"), "If-Match": f'"{fid}.1"'}
    )
    assert first.status_code == 200
    # A second editor still holding version 1 must not overwrite version 2 (no lost update).
    lost = await client.put(
        f"{URL}/{fid}", json=parcel("W-2", n=99), headers={**seed.auth("admin"), "If-Match": f'"{fid}.1"'}
    )
    assert lost.status_code == 412
    assert "version 2" in lost.json()["detail"]
    for method in ("patch", "delete"):
        r = await client.request(
            method.upper(),
            f"{URL}/{fid}",
            headers=seed.auth("editor"),
            json={"properties": {"n": 2}} if method == "patch" else None,
        )
        assert r.status_code == 428, method
    assert (await client.get(f"{URL}/{fid}")).json()["properties"]["n"] == 1


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (parcel("X", kind="z"), {"kind"}),
        (parcel("X", n=-1), {"n"}),
        (parcel("X", n="many"), {"n"}),
        (parcel("X", colour="red"), {"colour"}),
        (
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [112.94, 28.17]},
                "properties": {},
            },
            {"code"},
        ),
        (parcel("X", lon=2.35, lat=48.85), {"geometry"}),
        (
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [[112.9, 28.1], [113, 28.2]]},
                "properties": {"code": "X"},
            },
            {"geometry"},
        ),
        (
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": "here"},
                "properties": {"code": "X"},
            },
            {"geometry"},
        ),
        ({"type": "FeatureCollection", "features": []}, {"type"}),
    ],
)
async def test_invalid_features_get_field_errors(
    client: httpx.AsyncClient, seed: Seed, body: dict[str, Any], fields: set[str]
) -> None:
    r = await client.post(URL, json=body, headers=seed.auth("editor"))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert fields <= {e["field"] for e in r.json()["errors"]}


async def test_invalid_polygon_is_refused(client: httpx.AsyncClient, seed: Seed) -> None:
    bowtie = {
        "type": "Feature",
        "properties": {"use": "residential"},
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [[112.95, 28.2], [112.96, 28.21], [112.96, 28.2], [112.95, 28.21], [112.95, 28.2]]
            ],
        },
    }
    r = await client.post("/collections/buildings/items", json=bowtie, headers=seed.auth("editor"))
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert err["field"] == "geometry" and err["code"] == "invalid"


async def test_oversized_and_malformed_bodies(client: httpx.AsyncClient, seed: Seed) -> None:
    big = parcel("BIG", kind="a")
    big["properties"]["code"] = "x" * 150_000
    r = await client.post(URL, json=big, headers=seed.auth("editor"))
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    bad = await client.post(URL, content=b'{"type": "Feature",', headers=seed.auth("editor"))
    assert bad.status_code == 400 and "JSON" in bad.json()["detail"]


async def test_content_crs_on_write(client: httpx.AsyncClient, seed: Seed) -> None:
    e, n = Transformer.from_crs(4490, 4547, always_xy=True).transform(112.95, 28.18)
    body = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [n, e]},
        "properties": {"code": "GK"},
    }
    r = await client.post(
        URL,
        json=body,
        headers={**seed.auth("editor"), "Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/4547>"},
    )
    assert r.status_code == 201, r.text
    lon, lat = r.json()["geometry"]["coordinates"]
    assert abs(lon - 112.95) < 1e-7 and abs(lat - 28.18) < 1e-7


async def test_who_may_write(client: httpx.AsyncClient, seed: Seed) -> None:
    body = parcel("ACL")
    assert (await client.post(URL, json=body)).status_code == 401
    assert (await client.post(URL, json=body, headers=seed.auth("viewer"))).status_code == 403
    seg = {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [[112.95, 28.2], [112.951, 28.2]]},
        "properties": {"segment_no": "RQ-1"},
    }
    # Restricted layer without a grant: 404, as if it did not exist.
    assert (
        await client.post("/collections/pipeline_gas_segments/items", json=seg, headers=seed.auth("editor"))
    ).status_code == 404
    granted = await client.post(
        "/collections/pipeline_gas_segments/items", json=seg, headers=seed.auth("gas_editor")
    )
    assert granted.status_code == 422  # reached validation: the grant let it through
    assert (
        await client.post(
            "/collections/pipeline_water_segments/items", json=seg, headers=seed.auth("gas_editor")
        )
    ).status_code == 404


async def test_version_uris_are_not_mutable(client: httpx.AsyncClient, seed: Seed) -> None:
    fid = (await create(client, seed, parcel("V"))).json()["id"]
    r = await client.put(
        f"{URL}/{fid}",
        params={"datetime": "2024-01-01T00:00:00Z"},
        json=parcel("V"),
        headers={**seed.auth("editor"), "If-Match": f'"{fid}.1"'},
    )
    assert r.status_code == 405


async def test_retired_feature_cannot_be_edited(client: httpx.AsyncClient, seed: Seed) -> None:
    fid = (await create(client, seed, parcel("R"))).json()["id"]
    auth = {**seed.auth("editor"), "If-Match": f'"{fid}.1"'}
    assert (await client.delete(f"{URL}/{fid}", headers=auth)).status_code == 204
    assert (await client.put(f"{URL}/{fid}", json=parcel("R"), headers=auth)).status_code == 410
    assert (await client.delete(f"{URL}/{fid}", headers=auth)).status_code == 410
    assert (
        await client.put(
            f"{URL}/987654321", json=parcel("R"), headers={**seed.auth("editor"), "If-Match": '"987654321.1"'}
        )
    ).status_code == 404


async def test_every_write_is_audited(client: httpx.AsyncClient, seed: Seed) -> None:
    fid = (await create(client, seed, parcel("A"))).json()["id"]
    await client.patch(
        f"{URL}/{fid}",
        json={"properties": {"n": 3}},
        headers={**seed.auth("admin"), "If-Match": f'"{fid}.1"'},
    )
    assert (await client.get("/collections/test_parcels/changes", params={"fid": fid})).status_code == 401
    r = await client.get(
        "/collections/test_parcels/changes", params={"fid": fid}, headers=seed.auth("viewer")
    )
    changes = r.json()["changes"]
    assert [(c["operation"], c["actor"], c["versionBefore"], c["versionAfter"]) for c in changes] == [
        ("update", "admin", 1, 2),
        ("insert", "editor", None, 1),
    ]
    assert all(c["source"] == "api" and c["recordedAt"].endswith("Z") for c in changes)


async def test_signed_in_user_writes_with_a_token(client: httpx.AsyncClient) -> None:
    bad = await client.post("/auth/token", data={"username": "zhang.san", "password": "wrong"})
    assert bad.status_code == 401
    tok = await client.post(
        "/auth/token", data={"username": "zhang.san", "password": "correct horse", "grant_type": "password"}
    )
    assert tok.status_code == 200
    token = tok.json()["access_token"]
    r = await client.post(URL, json=parcel("JWT"), headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201
    changes = await client.get(
        "/collections/test_parcels/changes",
        params={"fid": r.json()["id"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert changes.json()["changes"][0]["actor"] == "zhang.san"


async def test_cookie_sign_in_and_out(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/auth/token",
        data={"username": "zhang.san", "password": "correct horse", "cookie": "true", "next": "/collections"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/collections"
    cookie = r.headers["set-cookie"]
    assert (
        "onemap_token=" in cookie
        and "HttpOnly" in cookie
        and "SameSite=strict" in cookie.replace("Strict", "strict")
    )
    me = await client.get("/auth/me")
    assert me.json()["name"] == "zhang.san"
    out = await client.post("/auth/logout")
    assert out.status_code == 204
    assert (await client.get("/auth/me")).json()["anonymous"] is True
    evil = await client.post(
        "/auth/token",
        data={
            "username": "zhang.san",
            "password": "correct horse",
            "cookie": "true",
            "next": "//evil.example/",
        },
    )
    assert evil.headers["location"] == "/"
    sneaky = await client.post(
        "/auth/token",
        data={
            "username": "zhang.san",
            "password": "correct horse",
            "cookie": "true",
            "next": "/\\evil.example/",
        },
    )
    assert sneaky.headers["location"] == "/"
    await client.post("/auth/logout")
