"""Load and fault: PostgreSQL restarts (fast restart, then a stop with seconds of downtime) under
concurrent traffic to a live ``onemap serve`` (2 workers).

The server runs on a private throwaway cluster of this module's own, so restarting it disturbs no
other test. Every answer during the outage must be 503 problem+json with Retry-After, never a 500
and never a dropped connection; afterwards every workload succeeds again, and an edit made after
the restarts evicts its tile from the cache.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import mapbox_vector_tile
import pytest

from layers.cluster import PrivateCluster, find_free_port
from layers.db import connect
from layers.migrate import migrate
from layers.model import LayerDef
from layers.principals import create_principal, issue_api_key
from layers.registry import register_layer
from spatial.tms import WEB_MERCATOR_QUAD, tile_range
from tests.api.conftest import SECRET, TYPES_LAYER, _bulk, building_rows, parcel_rows, station_rows
from tests.api.live import Live, onemap_serve

pytestmark = [pytest.mark.slow]

CLIENTS = 12
RUN_S = 24.0
RESTART_AT_S = 4.0
STOP_AT_S = 11.0
DOWNTIME_S = 3.0
EXPECTED = {200, 204}


@dataclass
class Outcomes:
    """What the clients saw: statuses, transport errors, and how many connections each opened."""

    statuses: Counter[int] = field(default_factory=Counter)
    resets: Counter[str] = field(default_factory=Counter)
    bad: list[str] = field(default_factory=list)
    connections: list[int] = field(default_factory=list)
    retry_after_missing: int = 0


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    with tempfile.TemporaryDirectory(prefix="onemap-outage-") as tmp:
        pg = PrivateCluster(Path(tmp) / "pg", throwaway=True)
        # Far from the ports other clusters start at: after a stop, start() moves to another port
        # if ours was taken meanwhile, and the server would then reach some other cluster.
        pg.init(port=find_free_port(random.randint(41000, 49000)))
        pg.start()
        pg.ensure_database()
        try:
            yield pg
        finally:
            pg.destroy()


@dataclass(frozen=True)
class Parcel:
    """The editor's key and one parcel point (EPSG:4490 lon/lat) the test reads and edits."""

    key: str
    fid: int
    lon: float
    lat: float


async def _seed(url: str) -> Parcel:
    await migrate(url)
    conn = await connect(url)
    try:
        await register_layer(conn, LayerDef.model_validate(TYPES_LAYER))
        await _bulk(conn, "rail_stations", station_rows())
        await _bulk(conn, "buildings", building_rows(200))
        await _bulk(conn, "test_parcels", parcel_rows())
        pid = await create_principal(conn, name="editor", kind="system", roles=["editor"], grants=[])
        key = await issue_api_key(conn, principal_id=pid)
        await conn.execute("ANALYZE")
        row = await conn.fetchrow("SELECT fid, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM data.test_parcels "
                                  "WHERE valid_to IS NULL ORDER BY fid LIMIT 1 OFFSET 7")
    finally:
        await conn.close()
    return Parcel(key, row["fid"], row["lon"], row["lat"])


def _paths(parcel: Parcel) -> list[str]:
    parcels = tile_range(WEB_MERCATOR_QUAD, (112.93, 28.17, 112.939, 28.175), 15)
    city = tile_range(WEB_MERCATOR_QUAD, (112.95, 28.2, 112.95, 28.2), 14)
    assert parcels is not None and city is not None
    tiles = [f"/collections/test_parcels/tiles/WebMercatorQuad/15/{y}/{x}"
             for x in range(parcels.x0, parcels.x1 + 1) for y in range(parcels.y0, parcels.y1 + 1)]
    return [
        "/collections",
        "/collections/buildings",
        "/collections/rail_stations/items?limit=5",
        "/collections/buildings/items?limit=10&bbox=112.9,28.1,113.1,28.3",
        f"/collections/test_parcels/items/{parcel.fid}",
        "/collections/test_parcels/items?filter=kind%3D%27a%27&limit=5",
        *tiles,
        # A query string keeps these off the fast lane's cache: they reach the database each time.
        f"/collections/buildings/tiles/WebMercatorQuad/14/{city.y0}/{city.x0}?datetime=2025-01-01T00:00:00Z",
    ]


async def _client(base: str, paths: list[str], offset: int, until: float, out: Outcomes) -> None:
    streams: set[int] = set()  # one network stream per TCP connection the client opened
    held: list[object] = []  # keeps each stream alive, so its id is never reused
    async with httpx.AsyncClient(base_url=base, timeout=15) as client:
        i = offset
        while time.monotonic() < until:
            path = paths[i % len(paths)]
            i += 1
            try:
                r = await client.get(path)
            except httpx.TransportError as exc:
                out.resets[type(exc).__name__] += 1
                await asyncio.sleep(0.05)
                continue
            stream = r.extensions.get("network_stream")
            if stream is not None and id(stream) not in streams:
                streams.add(id(stream))
                held.append(stream)
            out.statuses[r.status_code] += 1
            if r.status_code == 503:
                if not r.headers.get("retry-after") or r.headers["content-type"] != "application/problem+json":
                    out.retry_after_missing += 1
                await asyncio.sleep(0.05)  # a polite client backs off a little
            elif r.status_code not in EXPECTED:
                out.bad.append(f"{r.status_code} {path}: {r.text[:300]}")
    out.connections.append(len(streams))


def _faults(cluster: PrivateCluster, started: float, log: list[str]) -> None:
    time.sleep(max(0.0, started + RESTART_AT_S - time.monotonic()))
    cluster.restart(mode="fast")
    log.append(f"restarted at {time.monotonic() - started:.1f} s")
    time.sleep(max(0.0, started + STOP_AT_S - time.monotonic()))
    cluster.stop(mode="fast")
    log.append(f"stopped at {time.monotonic() - started:.1f} s")
    time.sleep(DOWNTIME_S)
    port = cluster.port
    cluster.start()
    assert cluster.port == port, "the cluster came back on another port"
    log.append(f"started at {time.monotonic() - started:.1f} s")


async def _load(live: Live, cluster: PrivateCluster, parcel: Parcel) -> tuple[Outcomes, list[str]]:
    out = Outcomes()
    paths = _paths(parcel)
    started = time.monotonic()
    log: list[str] = []
    faults = threading.Thread(target=_faults, args=(cluster, started, log))
    faults.start()
    try:
        await asyncio.gather(*(_client(live.base, paths, k * 3, started + RUN_S, out) for k in range(CLIENTS)))
    finally:
        await asyncio.to_thread(faults.join)
    return out, log


def _parcel_tile(parcel: Parcel) -> str:
    t = tile_range(WEB_MERCATOR_QUAD, (parcel.lon, parcel.lat, parcel.lon, parcel.lat), 16)
    assert t is not None
    return f"/collections/test_parcels/tiles/WebMercatorQuad/16/{t.y0}/{t.x0}"


def _kind_in(tile: bytes, fid: int) -> str | None:
    for f in mapbox_vector_tile.decode(tile).get("test_parcels", {}).get("features", []):
        if f["id"] == fid:
            return str(f["properties"].get("kind"))
    return None


async def _edit_evicts_tile(base: str, parcel: Parcel) -> None:
    fid = parcel.fid
    path = _parcel_tile(parcel)
    auth = {"Authorization": f"Bearer {parcel.key}"}
    async with httpx.AsyncClient(base_url=base, timeout=15) as client:
        for _ in range(4):  # both workers render and cache the tile
            await client.get(path)
        cached = await client.get(path)
        assert cached.status_code == 200 and cached.headers["x-tile-source"] == "memory"
        before = _kind_in(cached.content, fid)
        new_kind = "c" if before != "c" else "a"
        item = await client.get(f"/collections/test_parcels/items/{fid}", headers=auth)
        patched = await client.patch(
            f"/collections/test_parcels/items/{fid}", json={"properties": {"kind": new_kind}},
            headers={**auth, "If-Match": item.headers["etag"], "Content-Type": "application/merge-patch+json"},
        )
        assert patched.status_code in (200, 204), patched.text
        # Every worker heard the edit: a few fresh connections (spread over workers) see the new kind.
        deadline = time.monotonic() + 10
        seen: set[str | None] = set()
        while time.monotonic() < deadline:
            async with httpx.AsyncClient(base_url=base, timeout=15) as fresh:
                seen = {_kind_in((await fresh.get(path)).content, fid) for _ in range(1)}
            if seen == {new_kind}:
                break
            await asyncio.sleep(0.2)
        for _ in range(8):
            async with httpx.AsyncClient(base_url=base, timeout=15) as fresh:
                assert _kind_in((await fresh.get(path)).content, fid) == new_kind


async def test_database_restarts_under_load_give_503_then_recover(cluster: PrivateCluster, tmp_path: Path) -> None:
    url = cluster.url()
    parcel = await _seed(url)
    with onemap_serve(url, tmp_path / "var", workers=2, secret=SECRET) as live:
        out, faults = await _load(live, cluster, parcel)
        print(f"\noutage run: {dict(out.statuses)}, resets {dict(out.resets)}, "
              f"connections per client {out.connections}, faults {faults}")
        # After the restarts every workload succeeds again.
        async with httpx.AsyncClient(base_url=live.base, timeout=15) as client:
            for path in _paths(parcel):
                r = await client.get(path)
                assert r.status_code in EXPECTED, f"{path}: {r.status_code} {r.text[:300]}"
        await _edit_evicts_tile(live.base, parcel)
        server_log = live.log_text()

    assert len(faults) == 3
    assert out.bad == []
    assert out.statuses[500] == 0
    assert not out.resets, f"dropped connections: {dict(out.resets)}"
    assert out.retry_after_missing == 0
    assert out.statuses[503] > 0, "the outage was never seen: the test did not test anything"
    assert sum(out.statuses[s] for s in EXPECTED) > 10 * CLIENTS
    # One keep-alive connection per client for the whole run: neither 503s nor the restarts closed one.
    assert out.connections == [1] * CLIENTS
    for never in ("unhandled error", "InternalClientError", "Exception in ASGI application"):
        assert never not in server_log, server_log[-3000:]
