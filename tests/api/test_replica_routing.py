"""Two app instances on a primary and a lagging hot standby: reads go to the standby, yet no
instance serves a stale tile after an edit, and a writer reads their own write everywhere."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack

import asyncpg
import httpx
import mapbox_vector_tile
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from api.app import create_app
from api.replica_routing import _STALE_TOLERANT, _asked_lsn
from api.settings import ApiSettings, Settings
from layers.cluster import PrivateCluster
from layers.db import connect
from layers.migrate import migrate
from layers.model import LayerDef
from layers.principals import create_principal, issue_api_key
from layers.registry import register_layer
from layers.replication import wait_replayed
from layers.routing import RoutedPool
from layers.settings import DatabaseSettings
from spatial.tms import WEB_MERCATOR_QUAD, tile_range
from tests.api.conftest import SECRET, TYPES_LAYER, _bulk, parcel_rows
from tests.layers.replica_pair import throwaway_pair

pytestmark = pytest.mark.slow
APPLY_DELAY_MS = 1500  # the standby replays every change this late: stale reads would be caught


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[PrivateCluster, PrivateCluster]]:
    with throwaway_pair("onemap-replicas-") as clusters:
        yield clusters


@pytest.fixture(scope="module")
async def seeded(pair: tuple[PrivateCluster, PrivateCluster]) -> tuple[str, int, float, float]:
    primary, standby = pair
    url = primary.url()
    await migrate(url)
    conn = await connect(url)
    try:
        await register_layer(conn, LayerDef.model_validate(TYPES_LAYER))
        await _bulk(conn, "test_parcels", parcel_rows())
        pid = await create_principal(conn, name="editor", kind="system", roles=["editor"], grants=[])
        key = await issue_api_key(conn, principal_id=pid)
        row = await conn.fetchrow("SELECT fid, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM data.test_parcels "
                                  "WHERE valid_to IS NULL ORDER BY fid LIMIT 1 OFFSET 3")
    finally:
        await conn.close()
    await wait_replayed(url, standby.url())
    s = await asyncpg.connect(standby.url("postgres"))
    try:
        await s.execute(f"ALTER SYSTEM SET recovery_min_apply_delay = '{APPLY_DELAY_MS}ms'")
        await s.execute("SELECT pg_reload_conf()")
    finally:
        await s.close()
    return key, row["fid"], row["lon"], row["lat"]


@pytest.fixture(scope="module")
async def instances(pair: tuple[PrivateCluster, PrivateCluster],
                    seeded: object) -> AsyncIterator[list[tuple[FastAPI, httpx.AsyncClient]]]:
    primary, standby = pair
    out = []
    async with AsyncExitStack() as stack:
        for name in ("a", "b"):  # two instances: own processes in production, own apps and caches here
            settings = Settings(
                db=DatabaseSettings(database_url=primary.url(), replica_url=standby.url(), replica_max_wait_ms=100,
                                    var_dir=primary.root.parent / f"var-{name}"),
                api=ApiSettings(env="test", secret_key=SecretStr(SECRET)),
            )
            app = create_app(settings)
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver"))
            out.append((app, client))
        yield out


def _kind(tile: bytes, fid: int) -> str | None:
    for f in mapbox_vector_tile.decode(tile).get("test_parcels", {}).get("features", []):
        if f["id"] == fid:
            return str(f["properties"].get("kind"))
    return None


async def test_ready_reports_the_standby_and_lag(instances: list[tuple[FastAPI, httpx.AsyncClient]]) -> None:
    _, client = instances[0]
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    ready = (await client.get("/health/ready")).json()
    assert ready["status"] == "ready"
    assert [s["application_name"] for s in ready["standbys"]] == ["standby1"]
    assert ready["routing"]["replica_up"] is True
    assert ready["routing"]["lag_bytes"] is None or ready["routing"]["lag_bytes"] >= 0


async def test_reads_go_to_the_standby(instances: list[tuple[FastAPI, httpx.AsyncClient]],
                                       seeded: tuple[str, int, float, float]) -> None:
    app, client = instances[1]
    pool = app.state.ctx.pool
    assert isinstance(pool, RoutedPool)
    await asyncio.sleep(APPLY_DELAY_MS / 1000 + 0.3)  # past any fence from earlier edits
    before = pool.replica_reads
    r = await client.get("/collections/test_parcels/items?limit=5")
    assert r.status_code == 200 and len(r.json()["features"]) == 5
    assert pool.replica_reads > before
    # Item by id, answered by its lane outside the routing middleware (api/ogc/item_lane.py), too.
    before = pool.replica_reads
    item = await client.get(f"/collections/test_parcels/items/{seeded[1]}")
    assert item.status_code == 200 and item.json()["id"] == seeded[1]
    assert pool.replica_reads == before + 1
    # Not stale-tolerant: the collections list reads the primary.
    before = pool.replica_reads
    assert (await client.get("/collections")).status_code == 200
    assert pool.replica_reads == before


async def test_no_instance_serves_a_stale_tile_and_writers_read_their_writes(
    instances: list[tuple[FastAPI, httpx.AsyncClient]], seeded: tuple[str, int, float, float]
) -> None:
    key, fid, lon, lat = seeded
    (_, a), (app_b, b) = instances
    t = tile_range(WEB_MERCATOR_QUAD, (lon, lat, lon, lat), 16)
    assert t is not None
    path = f"/collections/test_parcels/tiles/WebMercatorQuad/16/{t.y0}/{t.x0}"
    await asyncio.sleep(APPLY_DELAY_MS / 1000 + 0.3)
    for client in (a, b):  # both instances render and cache the tile
        for _ in range(2):
            assert (await client.get(path)).status_code == 200
    before = _kind((await b.get(path)).content, fid)
    new_kind = "c" if before != "c" else "a"
    auth = {"Authorization": f"Bearer {key}"}
    item = await a.get(f"/collections/test_parcels/items/{fid}", headers=auth)
    heard = app_b.state.tiles.invalidation.notifications
    patched = await a.patch(
        f"/collections/test_parcels/items/{fid}", json={"properties": {"kind": new_kind}},
        headers={**auth, "If-Match": item.headers["etag"], "Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code in (200, 204), patched.text
    lsn = patched.headers["onemap-lsn"]
    assert f"onemap_lsn={lsn}" in patched.headers["set-cookie"]
    # Read-your-writes on the other instance, although the standby is 1.5 s behind.
    mine = await b.get(f"/collections/test_parcels/items/{fid}", headers={**auth, "OneMap-LSN": lsn})
    assert mine.json()["properties"]["kind"] == new_kind
    deadline = time.monotonic() + 5
    while app_b.state.tiles.invalidation.notifications == heard and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.005)  # instance b hears the edit from the primary (LISTEN there)
    assert app_b.state.tiles.invalidation.notifications > heard
    # From then on, while the standby has not yet replayed the edit, no answer is stale.
    seen = set()
    until = time.monotonic() + APPLY_DELAY_MS / 1000 + 0.5
    while time.monotonic() < until:
        for client in (a, b):
            seen.add(_kind((await client.get(path)).content, fid))
        await asyncio.sleep(0.05)
    assert seen == {new_kind}


@pytest.mark.parametrize(("path", "standby"), [
    ("/collections/buildings/items", True),
    ("/collections/buildings/items/42", True),
    ("/collections/buildings/tiles/WebMercatorQuad/16/1/2", True),
    ("/tiles/WebMercatorQuad/16/1/2", True),
    ("/cases/stats", True),
    ("/collections", False),
    ("/collections/buildings", False),
    ("/jobs/abc", False),
    ("/auth/me", False),
])
def test_which_reads_may_be_stale(path: str, standby: bool) -> None:
    assert bool(_STALE_TOLERANT.match(path)) is standby


def test_the_asked_position_comes_from_the_header_or_the_cookie() -> None:
    assert _asked_lsn([(b"onemap-lsn", b"0/10")]) == 16
    assert _asked_lsn([(b"cookie", b"a=b; onemap_lsn=1/0")]) == 1 << 32
    assert _asked_lsn([(b"onemap-lsn", b"garbage")]) == 0
    assert _asked_lsn([]) == 0
