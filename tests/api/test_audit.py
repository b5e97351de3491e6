"""Audit of access through the API: reads of internal/restricted layers on every path (items,
item, versions, tiles incl. cache hits, combined tiles, quick-look, search), none for public
layers, security events (sign-in, refusals, key use, registration), JWT sign-out and revocation,
and the admin page."""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import mapbox_vector_tile
import pytest
from fastapi import FastAPI

from api.app import create_app
from layers.audit import AuditQuery, search_events, verify_chain
from layers.credentials import revoke_all_sessions
from layers.db import connect
from tests.api.conftest import Seed, api_settings, power_rows


@pytest.fixture(scope="module")
async def app(seed: Seed, var_dir: Path) -> AsyncIterator[FastAPI]:
    application = create_app(api_settings(seed.url, var_dir))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="module")
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def logged(app: FastAPI, seed: Seed, **filters: Any) -> list[dict[str, Any]]:
    """Flush the app's queue, then the matching events, newest first."""
    await app.state.ctx.audit.flush()
    conn = await connect(seed.url)
    try:
        return await search_events(conn, AuditQuery(**filters))
    finally:
        await conn.close()


def power_tile(z: int = 15) -> tuple[int, int, int]:
    """(z, y, x) in WebMercatorQuad of the first seeded power facility."""
    import shapely

    point = shapely.from_wkb(power_rows()[0][1]).representative_point()
    n = 2**z
    x = int((point.x + 180) / 360 * n)
    lat = math.radians(point.y)
    y = int((1 - math.asinh(math.tan(lat)) / math.pi) / 2 * n)
    return z, y, x


async def test_items_of_an_internal_layer_are_logged_with_area_and_count(
    app: FastAPI, http: httpx.AsyncClient, seed: Seed
) -> None:
    bbox = "112.5,27.8,113.5,28.7"
    r = await http.get(f"/collections/power_facilities/items?bbox={bbox}&limit=7", headers=seed.auth("viewer"))
    assert r.status_code == 200
    returned = r.json()["numberReturned"]
    rows = await logged(app, seed, layer="power_facilities", kind="read.items")
    assert len(rows) == 1
    row = rows[0]
    assert (row["actor"], row["area"], row["features"], row["status"]) == ("viewer", f"bbox:{bbox}", returned, 200)
    assert row["credential"] == f"key:{seed.keys['viewer'].split('_')[1]}"
    assert row["detail"]["limit"] == "7" and row["path"] == "/collections/power_facilities/items"


async def test_public_reads_are_not_logged(app: FastAPI, http: httpx.AsyncClient, seed: Seed) -> None:
    assert (await http.get("/collections/rail_stations/items?limit=3", headers=seed.auth("viewer"))).status_code == 200
    z, y, x = power_tile(12)
    assert (await http.get(f"/collections/rail_stations/tiles/WebMercatorQuad/{z}/{y}/{x}")).status_code in (200, 204)
    assert await logged(app, seed, layer="rail_stations") == []


async def test_item_and_versions_reads_are_logged(app: FastAPI, http: httpx.AsyncClient, seed: Seed) -> None:
    first = (await http.get("/collections/power_facilities/items?limit=1", headers=seed.auth("viewer"))).json()
    fid = first["features"][0]["id"]
    item_page = await http.get(f"/collections/power_facilities/items/{fid}", headers=seed.auth("viewer"))
    assert item_page.status_code == 200
    versions = await http.get(f"/collections/power_facilities/items/{fid}/versions", headers=seed.auth("viewer"))
    assert versions.status_code == 200
    changes = await http.get(f"/collections/power_facilities/changes?fid={fid}", headers=seed.auth("viewer"))
    assert changes.status_code == 200
    feed = await logged(app, seed, layer="power_facilities", kind="read.changes")
    assert feed[0]["area"] == f"fid:{fid}" and feed[0]["features"] == len(changes.json()["changes"])
    item = await logged(app, seed, layer="power_facilities", kind="read.item")
    history = await logged(app, seed, layer="power_facilities", kind="read.versions")
    assert item[0]["area"] == f"fid:{fid}" and item[0]["features"] == 1
    assert history[0]["area"] == f"fid:{fid}" and history[0]["features"] == len(versions.json()["versions"])


async def test_tiles_are_logged_on_every_read_cache_hits_included(
    app: FastAPI, http: httpx.AsyncClient, seed: Seed
) -> None:
    z, y, x = power_tile()
    url = f"/collections/power_facilities/tiles/WebMercatorQuad/{z}/{y}/{x}"
    first = await http.get(url, headers=seed.auth("viewer"))
    second = await http.get(url, headers=seed.auth("viewer"))
    assert first.status_code == second.status_code == 200
    assert second.headers["X-Tile-Source"] == "memory"
    features = len(mapbox_vector_tile.decode(first.content)["power_facilities"]["features"])
    rows = await logged(app, seed, layer="power_facilities", kind="read.tile")
    assert [r["area"] for r in rows] == [f"tile:WebMercatorQuad/{z}/{y}/{x}"] * 2
    assert [r["features"] for r in rows] == [features, features] and features > 0
    assert [r["detail"]["source"] for r in rows] == ["memory", "database"]


async def test_combined_tile_logs_only_its_non_public_layers(app: FastAPI, http: httpx.AsyncClient, seed: Seed) -> None:
    z, y, x = power_tile(14)
    r = await http.get(f"/tiles/WebMercatorQuad/{z}/{y}/{x}?collections=power_facilities,buildings,rail_stations",
                       headers=seed.auth("viewer"))
    assert r.status_code in (200, 204)
    rows = await logged(app, seed, kind="read.tile", actor="viewer")
    combined = [row for row in rows if row["path"].startswith("/tiles/")]
    assert [row["layer"] for row in combined] == ["power_facilities"]


async def test_quicklook_and_search_are_logged(app: FastAPI, http: httpx.AsyncClient, seed: Seed) -> None:
    page = await http.get("/collections/power_facilities/map?limit=5", headers=seed.auth("viewer"))
    assert page.status_code == 200
    name = next(row[3] for row in power_rows() if row[3])
    found = await http.get("/search", params={"q": name[:4]}, headers=seed.auth("viewer"))
    assert found.status_code == 200
    hits = sum(1 for h in found.json()["results"] if h["collection"] == "power_facilities")
    assert hits > 0
    restricted = next(layer.id for layer in app.state.ctx.registry.all() if layer.access == "restricted")
    refused = await http.get("/search", params={"q": "x", "collections": restricted}, headers=seed.auth("viewer"))
    assert refused.status_code == 400
    assert (await logged(app, seed, kind="auth.refused", layer=restricted, actor="viewer"))[0]["status"] == 400
    quick = await logged(app, seed, layer="power_facilities", kind="read.map")
    search = await logged(app, seed, layer="power_facilities", kind="read.search")
    assert quick[0]["features"] == 5
    assert search[0]["features"] == hits and search[0]["detail"]["q"] == name[:4]


async def test_refusals_are_logged_and_restricted_404_names_the_layer(
    app: FastAPI, http: httpx.AsyncClient, seed: Seed
) -> None:
    restricted = next(layer.id for layer in app.state.ctx.registry.all() if layer.access == "restricted")
    assert (await http.get(f"/collections/{restricted}/items", headers=seed.auth("viewer"))).status_code == 404
    assert (await http.get("/collections/no_such_layer/items", headers=seed.auth("viewer"))).status_code == 404
    assert (await http.get("/auth/me", headers={"Authorization": "Bearer om_deadbeef_nope"})).status_code == 401
    post = await http.post("/collections/power_facilities/items", headers=seed.auth("viewer"),
                           json={"type": "Feature", "geometry": None, "properties": {}})
    assert post.status_code == 403
    z, y, x = power_tile()
    # No credentials, no query: the shape the tile fast lane takes; it serves public layers only, so
    # this goes down the route, which refuses (404) and logs the refusal.
    anonymous_tile = await http.get(f"/collections/power_facilities/tiles/WebMercatorQuad/{z}/{y}/{x}")
    assert anonymous_tile.status_code == 404
    rows = await logged(app, seed, kind="auth.refused")
    assert any(r["actor"] == "anonymous" and r["layer"] == "power_facilities" for r in rows)
    by_status = {r["status"]: r for r in rows if "/tiles/" not in r["path"]}
    assert by_status[404]["layer"] == restricted and by_status[404]["actor"] == "viewer"
    assert by_status[401]["credential"] == "key:deadbeef"
    assert by_status[403]["actor"] == "viewer" and by_status[403]["detail"]["method"] == "POST"
    assert not any(r["path"] == "/collections/no_such_layer/items" for r in rows)  # a real 404 is no refusal


async def test_sign_in_events_sign_out_and_revocation(app: FastAPI, http: httpx.AsyncClient, seed: Seed) -> None:
    bad = await http.post("/auth/token", data={"username": "zhang.san", "password": "wrong"})
    assert bad.status_code == 401
    good = await http.post("/auth/token", data={"username": "zhang.san", "password": "correct horse"})
    token = good.json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await http.get("/auth/me", headers=bearer)).status_code == 200
    assert (await http.post("/auth/logout", headers=bearer)).status_code == 204
    after = await http.get("/auth/me", headers=bearer)
    assert after.status_code == 401 and "revoked" in after.json()["detail"]
    # An admin revoking all sessions ends a token that was never signed out.
    other = (await http.post("/auth/token", data={"username": "zhang.san", "password": "correct horse"})).json()
    other_bearer = {"Authorization": f"Bearer {other['access_token']}"}
    assert (await http.get("/auth/me", headers=other_bearer)).status_code == 200
    revoked = await http.post("/auth/users/zhang.san/revoke-tokens", headers=seed.auth("admin"))
    assert revoked.status_code == 204
    assert (await http.get("/auth/me", headers=other_bearer)).status_code == 401
    assert (await http.post("/auth/users/nobody/revoke-tokens", headers=seed.auth("admin"))).status_code == 404
    assert (await http.post("/auth/users/zhang.san/revoke-tokens", headers=seed.auth("viewer"))).status_code == 403
    third = (await http.post("/auth/token", data={"username": "zhang.san", "password": "correct horse"})).json()
    third_bearer = {"Authorization": f"Bearer {third['access_token']}"}
    assert (await http.get("/auth/me", headers=third_bearer)).status_code == 200  # a new sign-in works again
    conn = await connect(seed.url)
    try:
        assert await revoke_all_sessions(conn, "zhang.san")  # the same, from the layers API the CLI uses
    finally:
        await conn.close()
    assert (await http.get("/auth/me", headers=third_bearer)).status_code == 401
    kinds = [r["kind"] for r in await logged(app, seed, actor="zhang.san", kind="auth.")]
    assert {"auth.sign_in_failed", "auth.sign_in", "auth.sign_out", "auth.refused"} <= set(kinds)
    revocations = await logged(app, seed, kind="admin.sessions_revoked")
    assert revocations[0]["actor"] == "admin" and revocations[0]["detail"] == {"principal": "zhang.san"}


async def test_key_use_is_logged_once_per_period(app: FastAPI, http: httpx.AsyncClient, seed: Seed) -> None:
    for _ in range(3):
        assert (await http.get("/collections", headers=seed.auth("editor"))).status_code == 200
    rows = await logged(app, seed, actor="editor", kind="auth.key_used")
    assert len(rows) == 1 and rows[0]["credential"] == f"key:{seed.keys['editor'].split('_')[1]}"


async def test_layer_registration_is_logged(app: FastAPI, http: httpx.AsyncClient, seed: Seed) -> None:
    body = {"id": "audit_overlay", "title_zh": "审计叠加", "title_en": "Audit overlay", "geometry_type": "Point",
            "access": "internal", "schema": {"fields": []}}
    r = await http.post("/collections", json=body, headers=seed.auth("admin"))
    assert r.status_code == 201, r.text
    rows = await logged(app, seed, kind="layer.registered")
    assert rows[0]["layer"] == "audit_overlay" and rows[0]["actor"] == "admin"


async def test_admin_page_filters_and_is_admin_only(app: FastAPI, http: httpx.AsyncClient, seed: Seed) -> None:
    assert (await http.get("/admin/audit", headers=seed.auth("viewer"))).status_code == 403
    assert (await http.get("/admin/audit")).status_code == 401
    await http.get("/collections/power_facilities/items?limit=1", headers=seed.auth("viewer"))
    await app.state.ctx.audit.flush()
    page = await http.get("/admin/audit?f=html&lang=zh&layer=power_facilities&kind=read.&since=1d",
                          headers=seed.auth("admin"))
    assert page.status_code == 200 and "审计日志" in page.text and "read.items" in page.text
    assert re.search(r'href="[^"]*/admin/audit\?f=html"', page.text)  # admins find it in the menu
    viewer_page = await http.get("/collections?f=html", headers=seed.auth("viewer"))
    assert "/admin/audit" not in viewer_page.text
    assert "https://" not in page.text.split("<body>")[0]  # assets are local
    data = (await http.get("/admin/audit?user=viewer&kind=read.items", headers=seed.auth("admin"))).json()
    assert data["count"] > 0 and {e["actor"] for e in data["events"]} == {"viewer"}
    bad = await http.get("/admin/audit?since=yesterday", headers=seed.auth("admin"))
    assert bad.status_code == 400
    conn = await connect(seed.url)
    try:
        assert (await verify_chain(conn)).ok
    finally:
        await conn.close()


async def test_lock_out_is_logged_and_backs_off(app: FastAPI, http: httpx.AsyncClient, seed: Seed) -> None:
    statuses = [(await http.post("/auth/token", data={"username": "wang.wu", "password": f"guess{i}"})).status_code
                for i in range(6)]
    assert statuses == [401, 401, 401, 401, 429, 429]
    rows = await logged(app, seed, actor="wang.wu")
    assert [r["kind"] for r in reversed(rows)] == ["auth.sign_in_failed"] * 5 + ["auth.locked"]
    assert rows[1]["status"] == 429 and "locked_until" in rows[1]["detail"]
    # The second lock lasts twice as long as the first (15 then 30 minutes by default).
    conn = await connect(seed.url)
    try:
        await conn.execute("UPDATE onemap.sign_in_failures SET locked_until = now() - interval '1 second' "
                           "WHERE name = 'wang.wu'")
        for i in range(5):
            await http.post("/auth/token", data={"username": "wang.wu", "password": f"again{i}"})
        minutes = await conn.fetchval("SELECT extract(epoch FROM locked_until - now()) / 60 "
                                      "FROM onemap.sign_in_failures WHERE name = 'wang.wu'")
    finally:
        await conn.close()
    assert 29 < minutes <= 30
