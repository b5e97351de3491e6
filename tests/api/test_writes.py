"""Part 4: create, replace, merge-patch and retire, with ETag/If-Match, validation, audit and access."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import yaml
from alembic import command
from pyproj import Transformer

from layers.db import connect
from layers.migrate import alembic_config
from layers.model import LayerDef
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


async def unconditional_flags(seed: Seed, fid: int) -> list[tuple[str, bool]]:
    """(operation, unconditional) for every audit row of a feature, oldest first."""
    conn = await connect(seed.url)
    try:
        rows = await conn.fetch(
            "SELECT op, unconditional FROM onemap.changes WHERE fid = $1 ORDER BY id", fid
        )
    finally:
        await conn.close()
    return [(r["op"], r["unconditional"]) for r in rows]


async def test_writes_without_if_match_are_accepted_and_audited(client: httpx.AsyncClient, seed: Seed) -> None:
    fid = (await create(client, seed, parcel("U-1", n=1))).json()["id"]
    put = await client.put(f"{URL}/{fid}", json=parcel("U-1", n=2), headers=seed.auth("editor"))
    assert put.status_code == 200, put.text
    assert put.headers["etag"] == f'"{fid}.2"' and put.json()["properties"]["n"] == 2
    patch = await client.patch(f"{URL}/{fid}", json={"properties": {"n": 3}}, headers=seed.auth("editor"))
    assert patch.status_code == 200, patch.text
    assert patch.headers["etag"] == f'"{fid}.3"' and patch.json()["properties"]["code"] == "U-1"
    checked = await client.patch(
        f"{URL}/{fid}", json={"properties": {"n": 4}}, headers={**seed.auth("editor"), "If-Match": f'"{fid}.3"'}
    )
    assert checked.status_code == 200
    deleted = await client.delete(f"{URL}/{fid}", headers=seed.auth("editor"))
    assert deleted.status_code == 204
    assert (await client.get(f"{URL}/{fid}")).status_code == 410
    # Nothing was lost: every version is still there, and the audit says which writes were blind.
    versions = (await client.get(f"{URL}/{fid}/versions")).json()["versions"]
    assert [(v["version"], v["operation"]) for v in versions] == [
        (1, "insert"), (2, "replace"), (3, "update"), (4, "update")
    ]
    assert await unconditional_flags(seed, fid) == [
        ("insert", False),
        ("replace", True),
        ("update", True),
        ("update", False),
        ("retire", True),
    ]


async def test_if_match_star_matches_any_current_version(client: httpx.AsyncClient, seed: Seed) -> None:
    fid = (await create(client, seed, parcel("S-1"))).json()["id"]
    star = {**seed.auth("editor"), "If-Match": "*"}
    assert (await client.put(f"{URL}/{fid}", json=parcel("S-1", n=1), headers=star)).status_code == 200
    r = await client.patch(f"{URL}/{fid}", json={"properties": {"n": 2}}, headers=star)
    assert r.status_code == 200 and r.headers["etag"] == f'"{fid}.3"'
    assert (await client.delete(f"{URL}/{fid}", headers=star)).status_code == 204
    # '*' needs a current version: a retired feature has none.
    assert (await client.put(f"{URL}/{fid}", json=parcel("S-1"), headers=star)).status_code == 410
    assert [u for _, u in await unconditional_flags(seed, fid)] == [False, True, True, True]


async def test_a_wrong_if_match_is_412_and_changes_nothing(client: httpx.AsyncClient, seed: Seed) -> None:
    fid = (await create(client, seed, parcel("W-2"))).json()["id"]
    other = (await create(client, seed, parcel("W-3"))).json()["id"]
    body = parcel("W-2", n=1)
    first = await client.put(
        f"{URL}/{fid}", json=body, headers={**seed.auth("editor"), "If-Match": f'"{fid}.1"'}
    )
    assert first.status_code == 200
    # A second editor still holding version 1 must not overwrite version 2 (no lost update).
    lost = await client.put(
        f"{URL}/{fid}", json=parcel("W-2", n=99), headers={**seed.auth("admin"), "If-Match": f'"{fid}.1"'}
    )
    assert lost.status_code == 412 and lost.headers["content-type"] == "application/problem+json"
    assert "version 2" in lost.json()["detail"]
    for method, tag in [("patch", f'"{other}.1"'), ("delete", f'"{fid}.1"'), ("put", '"not-ours"')]:
        r = await client.request(
            method.upper(),
            f"{URL}/{fid}",
            headers={**seed.auth("editor"), "If-Match": tag},
            json=None if method == "delete" else {"properties": {"n": 2}} if method == "patch" else body,
        )
        assert r.status_code == 412, (method, r.text)
    current = await client.get(f"{URL}/{fid}")
    assert current.json()["properties"]["n"] == 1 and current.headers["etag"] == f'"{fid}.2"'
    assert await unconditional_flags(seed, fid) == [("insert", False), ("replace", False)]


STRICT_LAYER: dict[str, Any] = {
    "id": "test_strict_sites",
    "title_zh": "须带版本的测试点",
    "title_en": "Test sites that require If-Match",
    "geometry_type": "Point",
    "access": "public",
    "require_if_match": True,
    "schema": {"fields": [{"name": "code", "type": "string", "title_zh": "编码", "title_en": "Code"}]},
}


async def test_a_layer_can_require_if_match(client: httpx.AsyncClient, seed: Seed) -> None:
    reg = await client.post("/collections", json=STRICT_LAYER, headers=seed.auth("admin"))
    assert reg.status_code == 201, reg.text
    conn = await connect(seed.url)
    try:
        stored = await conn.fetchval("SELECT require_if_match FROM onemap.layers WHERE id = $1", STRICT_LAYER["id"])
    finally:
        await conn.close()
    assert stored is True
    url = f"/collections/{STRICT_LAYER['id']}/items"
    made = await client.post(url, json=parcel("STRICT"), headers=seed.auth("editor"))
    assert made.status_code == 201, made.text  # creating names no earlier version
    fid = made.json()["id"]
    for method in ("put", "patch", "delete"):
        r = await client.request(
            method.upper(),
            f"{url}/{fid}",
            headers=seed.auth("editor"),
            json=None if method == "delete" else {"properties": {"code": "X"}} if method == "patch" else parcel("X"),
        )
        assert r.status_code == 428, (method, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert STRICT_LAYER["id"] in r.json()["detail"]
    ok = await client.put(f"{url}/{fid}", json=parcel("Y"), headers={**seed.auth("editor"), "If-Match": f'"{fid}.1"'})
    assert ok.status_code == 200
    star = await client.patch(
        f"{url}/{fid}", json={"properties": {"code": "Z"}}, headers={**seed.auth("editor"), "If-Match": "*"}
    )
    assert star.status_code == 200 and star.json()["properties"]["code"] == "Z"
    # The default stays off: the seeded overlay takes writes without If-Match.
    assert (await client.get("/collections/test_parcels")).status_code == 200
    assert not LayerDef.model_validate({**STRICT_LAYER, "group": "overlay", "require_if_match": False}).require_if_match


def test_require_if_match_is_read_from_the_layer_definitions_yaml() -> None:
    text = """
- id: strict_yaml
  title_zh: 测试
  title_en: Test
  group: overlay
  geometry_type: Point
  require_if_match: true
- id: lax_yaml
  title_zh: 测试
  title_en: Test
  group: overlay
  geometry_type: Point
"""
    strict, lax = (LayerDef.model_validate(d) for d in yaml.safe_load(text))
    assert strict.require_if_match and strict.registry_row()["require_if_match"] is True
    assert not lax.require_if_match and lax.registry_row()["require_if_match"] is False


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
    # The PATCH named its version; an edit without If-Match shows up as unconditional.
    assert [c["unconditional"] for c in changes] == [False, False]
    await client.patch(f"{URL}/{fid}", json={"properties": {"n": 4}}, headers=seed.auth("admin"))
    r = await client.get("/collections/test_parcels/changes", params={"fid": fid}, headers=seed.auth("viewer"))
    newest = r.json()["changes"][0]
    assert (newest["operation"], newest["unconditional"]) == ("update", True)


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


async def test_the_migration_for_unconditional_writes_is_reversible(fresh_db_url: str) -> None:
    """0004 down and up again: the audit column, the layer setting and the lock-out table go and return."""

    async def shape() -> tuple[bool, bool, bool]:
        conn = await connect(fresh_db_url)
        try:
            row = await conn.fetchrow(
                """
                SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'onemap'
                               AND table_name = 'changes' AND column_name = 'unconditional') AS audit,
                       EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'onemap'
                               AND table_name = 'layers' AND column_name = 'require_if_match') AS setting,
                       to_regclass('onemap.sign_in_failures') IS NOT NULL AS lockout
                """
            )
        finally:
            await conn.close()
        return row["audit"], row["setting"], row["lockout"]

    cfg = alembic_config(fresh_db_url)
    assert await shape() == (True, True, True)
    await asyncio.to_thread(command.downgrade, cfg, "0003")
    assert await shape() == (False, False, False)
    await asyncio.to_thread(command.upgrade, cfg, "head")
    assert await shape() == (True, True, True)
