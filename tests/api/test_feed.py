"""The change feed over HTTP: a consumer that takes a snapshot and follows the feed (pull, and a real
local webhook receiver) ends with exactly the server's current state after API edits, a bulk merge,
a bulk retirement and an undo; deliveries are signed, retried in order, paused and resumed; access
follows the layer's rules."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import shapely
from shapely.geometry import Point

from api.app import create_app
from feed.delivery import run_once, verify_signature
from feed.settings import FeedSettings
from layers.bulk import copy_rows, create_staging, retire_by_key, upsert_by_key
from layers.db import connect
from layers.model import LayerDef
from layers.principals import create_principal
from layers.reads import get_feature
from layers.registry import Registry, register_layer
from layers.versioning import FeatureIn, open_changeset, replace_feature
from tests.api.conftest import Seed, api_settings
from tests.feed.receiver import running_receiver
from tests.layers.conftest import TEST_LAYER

LAYER = "feed_sites"
SECRET_LAYER = "feed_secret"
ITEMS = f"/collections/{LAYER}/items"
CHANGES = f"/collections/{LAYER}/changes"
FAST = FeedSettings(worker=False, backoff_base_s=0.01, backoff_cap_s=0.05, max_failures=3, batch=7)


@pytest.fixture(scope="module")
async def layer_ready(seed: Seed) -> str:
    conn = await connect(seed.url)
    try:
        await register_layer(conn, LayerDef.model_validate({**TEST_LAYER, "id": LAYER}))
        await register_layer(conn, LayerDef.model_validate({**TEST_LAYER, "id": SECRET_LAYER, "access": "restricted"}))
        await create_principal(conn, name="feeder", kind="system", roles=["viewer"], grants=[SECRET_LAYER])
    finally:
        await conn.close()
    return LAYER


@pytest.fixture(scope="module")
async def http(seed: Seed, layer_ready: str, var_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = api_settings(seed.url, var_dir)
    settings.feed = FeedSettings(worker=False)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


@pytest.fixture
async def pool(seed: Seed) -> AsyncIterator[asyncpg.Pool]:
    p = await asyncpg.create_pool(seed.url, min_size=1, max_size=4)
    try:
        yield p
    finally:
        await p.close()


def site(code: str, n: int, x: float = 112.95) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, 28.2]},
            "properties": {"code": code, "kind": "a", "n": n}}


async def items(http: httpx.AsyncClient, seed: Seed) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    url: str | None = f"{ITEMS}?limit=1000"
    while url:
        page = (await http.get(url, headers=seed.auth("viewer"))).json()
        out.update({f["id"]: f for f in page["features"]})
        url = next((lk["href"] for lk in page["links"] if lk["rel"] == "next"), None)
    return out


async def pull(http: httpx.AsyncClient, seed: Seed, since: str, limit: int = 5) -> tuple[list[dict[str, Any]], str]:
    got: list[dict[str, Any]] = []
    while True:
        r = await http.get(CHANGES, params={"since": since, "limit": limit}, headers=seed.auth("viewer"))
        assert r.status_code == 200, r.text
        body = r.json()
        got += body["mutations"]
        if not body["mutations"]:
            return got, since
        since = body["next"]


def apply(state: dict[int, dict[str, Any]], mutations: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """What a consumer does: set the feature on insert/update, drop it on retire, in feed order."""
    state = copy.deepcopy(state)
    for m in mutations:
        if m["operation"] == "retire":
            state.pop(m["featureId"], None)
        else:
            state[m["featureId"]] = m["feature"]
    return state


def _staged(rows: list[tuple[str, int, float]]) -> list[tuple[object, ...]]:
    return [(i, shapely.to_wkb(Point(x, 28.2)), None, code, "b", n) for i, (code, n, x) in enumerate(rows)]


async def mixed_writes(http: httpx.AsyncClient, seed: Seed, p: str) -> None:
    """API edits (insert, replace, patch, retire), a bulk merge, a bulk retirement and an undo."""
    editor = seed.auth("editor")
    fids = []
    for i in range(4):
        r = await http.post(ITEMS, json=site(f"{p}K{i}", i), headers=editor)
        assert r.status_code == 201, r.text
        fids.append(r.json()["id"])
    assert (await http.put(f"{ITEMS}/{fids[0]}", json=site(f"{p}K0", 10, 112.96), headers=editor)).status_code == 200
    assert (await http.patch(f"{ITEMS}/{fids[1]}", json={"properties": {"n": 11}}, headers=editor)).status_code == 200
    assert (await http.delete(f"{ITEMS}/{fids[2]}", headers=editor)).status_code == 204
    conn = await connect(seed.url)
    try:
        layer = (await Registry.load(conn)).get(LAYER)
        async with conn.transaction():  # an import re-delivery: K1 unchanged, K3 moved, two new
            cs = await open_changeset(conn, actor="pytest-import", source="import", details={"comment": "复测"})
            staging = await create_staging(conn, layer)
            rows = [(f"{p}K3", 3, 112.97), (f"{p}N1", 1, 112.98), (f"{p}N2", 2, 112.99)]
            await copy_rows(conn, staging, _staged(rows))
            await upsert_by_key(conn, staging, key=["code"], changeset_id=cs)
        async with conn.transaction():
            cs = await open_changeset(conn, actor="pytest-import", source="import")
            staging = await create_staging(conn, layer)
            await copy_rows(conn, staging, _staged([(f"{p}N2", 2, 112.99)]))
            await retire_by_key(conn, staging, key=["code"], changeset_id=cs)
        async with conn.transaction():  # undo of the PUT: K0's version 1 written again as a new version
            cs = await open_changeset(conn, actor="admin", source="admin", details={"comment": "撤销"})
            old = (await conn.fetchrow(f"SELECT ST_AsBinary(geom) AS g, code, kind, n FROM {layer.table} "
                                       "WHERE fid = $1 AND version = 1", fids[0]))
            await replace_feature(conn, layer=layer, fid=fids[0], changeset_id=cs, feature=FeatureIn(
                shapely.from_wkb(old["g"]), {"code": old["code"], "kind": old["kind"], "n": old["n"]}))
        assert (await get_feature(conn, layer=layer, fid=fids[0])).row.properties["n"] == 0  # type: ignore[union-attr]
    finally:
        await conn.close()
    # The editing API: a changeset of several edits, a bulk edit, and the undo of the changeset.
    cs = await http.post("/changesets", headers=editor, json={"comment": "补测更正", "edits": [
        {"op": "insert", "collection": LAYER, "feature": site(f"{p}C1", 5)},
        {"op": "update", "collection": LAYER, "id": fids[1], "patch": {"properties": {"n": 12}}},
        {"op": "retire", "collection": LAYER, "id": fids[3]}]})
    assert cs.status_code == 201, cs.text
    bulk = await http.post(f"/collections/{LAYER}/bulk-edit", headers=editor, json={
        "filter": f"code LIKE '{p}%'", "set": {"kind": "c"}, "comment": "批量改类", "preview": False})
    assert bulk.status_code == 201 and bulk.json()["count"] >= 3, bulk.text
    undo = await http.post(f"/changesets/{cs.json()['id']}/undo", headers=seed.auth("admin"),
                           json={"comment": "撤销补测", "force": True})
    assert undo.status_code == 201, undo.text


async def test_snapshot_then_follow_the_pull_feed_ends_in_the_current_state(
    http: httpx.AsyncClient, seed: Seed
) -> None:
    head = await http.get(CHANGES, params={"since": "now"}, headers=seed.auth("viewer"))
    assert head.status_code == 200 and head.json()["mutations"] == []
    cursor = head.json()["next"]
    snapshot = await items(http, seed)
    await mixed_writes(http, seed, "A")
    mutations, _ = await pull(http, seed, cursor)
    ops = {m["operation"] for m in mutations}
    assert ops == {"insert", "update", "retire"}
    assert {m["source"] for m in mutations} == {"api", "import", "admin"}
    comments = {m["comment"] for m in mutations}
    assert {"复测", "撤销", "补测更正", "批量改类", "撤销补测"} <= comments
    current = await items(http, seed)
    assert apply(snapshot, mutations) == current and len(current) == 4  # the undo took C1 out, put K3 back
    assert "c" in {f["properties"]["kind"] for f in current.values()}  # the bulk edit (the forced undo restored some)
    # From the very beginning, the whole history replays to the same state.
    everything, _ = await pull(http, seed, "0", limit=1000)
    assert apply({}, everything) == current


async def test_webhook_receiver_that_fails_then_recovers_gets_every_mutation_once_in_order(
    http: httpx.AsyncClient, seed: Seed, pool: asyncpg.Pool
) -> None:
    with running_receiver(fail_first=2) as rx:
        created = await http.post("/subscriptions", json={"url": rx.url, "layers": [LAYER]}, headers=seed.auth("admin"))
        assert created.status_code == 201, created.text
        sub, secret = created.json()["id"], created.json()["secret"]
        snapshot = await items(http, seed)
        start = (await http.get(CHANGES, params={"since": "now"}, headers=seed.auth("viewer"))).json()["next"]
        assert start == created.json()["cursor"]
        await mixed_writes(http, seed, "B")
        registry = await _registry(seed)
        for _ in range(40):
            await run_once(pool, lambda: registry, FAST, only=sub)
            if (await http.get(f"/subscriptions/{sub}", headers=seed.auth("admin"))).json()["cursor"] == (
                    await pull(http, seed, start))[1]:
                break
            await asyncio.sleep(0.05)
        expected, _ = await pull(http, seed, start)
        got = rx.mutations()
        assert [m["cursor"] for m in got] == [m["cursor"] for m in expected] and len(got) > FAST.batch
        assert apply(snapshot, got) == await items(http, seed)
        assert len(rx.requests) == len(rx.accepted) + 2
        for headers, body in rx.requests:
            assert verify_signature(secret, body, headers["onemap-signature"])
            assert not verify_signature(secret + "x", body, headers["onemap-signature"])
            assert headers["onemap-delivery"].isdigit() and headers["onemap-timestamp"].isdigit()
        # The two failures resent the same first batch.
        assert rx.requests[0][1] == rx.requests[1][1] or rx.requests[0][1][:80] == rx.requests[2][1][:80]
        doc = (await http.get(f"/subscriptions/{sub}", headers=seed.auth("admin"))).json()
        assert doc["state"] == "active" and doc["failures"] == 0 and doc["lastError"] is None
        assert [d["ok"] for d in doc["deliveries"]][-2:] == [False, False]
        assert (await http.delete(f"/subscriptions/{sub}", headers=seed.auth("admin"))).status_code == 204


async def _registry(seed: Seed) -> Registry:
    conn = await connect(seed.url)
    try:
        return await Registry.load(conn)
    finally:
        await conn.close()


async def test_a_receiver_that_stays_down_is_paused_and_resumes_from_its_cursor(
    http: httpx.AsyncClient, seed: Seed, pool: asyncpg.Pool
) -> None:
    admin = seed.auth("admin")
    with running_receiver(always_fail=True) as rx:
        sub = (await http.post("/subscriptions", json={"url": rx.url, "layers": [LAYER], "ops": ["insert"]},
                               headers=admin)).json()["id"]
        r = await http.post(ITEMS, json=site("DOWN", 1), headers=seed.auth("editor"))
        fid = r.json()["id"]
        registry = await _registry(seed)
        for _ in range(30):
            await run_once(pool, lambda: registry, FAST, only=sub)
            if (await http.get(f"/subscriptions/{sub}", headers=admin)).json()["state"] == "paused":
                break
            await asyncio.sleep(0.03)
        doc = (await http.get(f"/subscriptions/{sub}", headers=admin)).json()
        assert doc["state"] == "paused" and doc["failures"] == FAST.max_failures and "500" in doc["lastError"]
        tries = len(rx.requests)
        await run_once(pool, lambda: registry, FAST, only=sub)
        assert len(rx.requests) == tries  # paused: nothing is sent
        rx.always_fail = False
        resumed = await http.post(f"/subscriptions/{sub}/resume", headers=admin)
        assert resumed.json()["state"] == "active" and resumed.json()["cursor"] == doc["cursor"]
        await http.patch(f"{ITEMS}/{fid}", json={"properties": {"n": 2}}, headers=seed.auth("editor"))
        await run_once(pool, lambda: registry, FAST, only=sub)
        assert [(m["featureId"], m["operation"]) for m in rx.mutations()] == [(fid, "insert")]  # ops=insert only


async def test_two_workers_never_deliver_a_batch_twice(
    http: httpx.AsyncClient, seed: Seed, pool: asyncpg.Pool
) -> None:
    with running_receiver() as rx:
        sub = (await http.post("/subscriptions", json={"url": rx.url, "layers": [LAYER]},
                               headers=seed.auth("admin"))).json()["id"]
        for i in range(20):
            await http.post(ITEMS, json=site(f"W{i}", i), headers=seed.auth("editor"))
        registry = await _registry(seed)
        other = await asyncpg.create_pool(seed.url, min_size=1, max_size=4)
        try:
            await asyncio.gather(run_once(pool, lambda: registry, FAST, only=sub),
                                 run_once(other, lambda: registry, FAST, only=sub))
            await run_once(pool, lambda: registry, FAST, only=sub)
        finally:
            await other.close()
        cursors = [m["cursor"] for m in rx.mutations()]
        assert len(cursors) == 20 and len(set(cursors)) == 20 and cursors == sorted(cursors, key=_key)


def _key(cursor: str) -> tuple[int, ...]:
    return tuple(int(p) for p in cursor.split("."))


async def test_access_follows_the_layer_rules(http: httpx.AsyncClient, seed: Seed) -> None:
    assert (await http.get(CHANGES)).status_code == 401
    hidden = "/collections/pipeline_water_segments/changes"
    assert (await http.get(hidden, headers=seed.auth("viewer"))).status_code == 404
    assert (await http.get(hidden, headers=seed.auth("pipes"))).status_code == 200
    assert (await http.get(CHANGES, params={"since": "x"}, headers=seed.auth("viewer"))).status_code == 400
    assert (await http.get(CHANGES, params={"op": "delete"}, headers=seed.auth("viewer"))).status_code == 400
    # A subscription only for what its owner may read; only admins manage subscriptions.
    body = {"url": "http://127.0.0.1:9/x", "layers": ["pipeline_water_segments"], "owner": "viewer"}
    refused = await http.post("/subscriptions", json=body, headers=seed.auth("admin"))
    assert refused.status_code == 422 and refused.headers["content-type"].startswith("application/problem+json")
    allowed = await http.post("/subscriptions", json={**body, "owner": "pipes"}, headers=seed.auth("admin"))
    assert allowed.status_code == 201
    assert (await http.post("/subscriptions", json=body, headers=seed.auth("editor"))).status_code == 403
    assert (await http.get("/subscriptions", headers=seed.auth("viewer"))).status_code == 403
    assert (await http.post("/subscriptions", json={**body, "url": "file:///etc/passwd", "owner": "pipes"},
                            headers=seed.auth("admin"))).status_code == 422


async def test_a_subscription_never_receives_a_layer_its_owner_lost(
    http: httpx.AsyncClient, seed: Seed, pool: asyncpg.Pool
) -> None:
    with running_receiver() as rx:
        sub = (await http.post("/subscriptions", json={"url": rx.url, "layers": [SECRET_LAYER, LAYER],
                                                       "owner": "feeder"}, headers=seed.auth("admin"))).json()["id"]
        registry = await _registry(seed)
        conn = await connect(seed.url)
        try:
            await conn.execute("UPDATE onemap.principals SET grants = '{}' WHERE name = 'feeder'")
            hidden = await http.post(f"/collections/{SECRET_LAYER}/items", json=site("HID", 1),
                                     headers=seed.auth("admin"))
            assert hidden.status_code == 201
            await http.post(ITEMS, json=site("PUB", 1), headers=seed.auth("editor"))
            await run_once(pool, lambda: registry, FAST, only=sub)
        finally:
            await conn.execute("UPDATE onemap.principals SET grants = $1 WHERE name = 'feeder'", [SECRET_LAYER])
            await conn.close()
        assert {m["collection"] for m in rx.mutations()} == {LAYER}
        assert [m["feature"]["properties"]["code"] for m in rx.mutations()] == ["PUB"]
