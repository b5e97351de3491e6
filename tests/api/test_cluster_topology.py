"""`onemap cluster`'s topology for real: primary, standby, two app instances and HAProxy.

Losing an app instance under 32 concurrent readers fails no request (HAProxy retries the reads on
the other instance); losing the primary and promoting the standby brings the instances back by
themselves.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.topology import Topology, TopologyState, haproxy_config
from layers.cluster import find_free_port
from layers.replication import kill_hard, promote

CLIENTS = 32
PATHS = ["/collections/buildings/items?limit=2", "/health/ready", "/collections/rail_stations/items?limit=1",
         "/collections"]


def test_haproxy_config_checks_readiness_and_retries_reads() -> None:
    cfg = haproxy_config(9140, [9141, 9142])
    assert "bind 127.0.0.1:9140" in cfg
    assert "server app0 127.0.0.1:9141 check" in cfg and "server app1 127.0.0.1:9142 check" in cfg
    assert "option httpchk GET /health/ready" in cfg
    assert "retry-on all-retryable-errors" in cfg and "option redispatch" in cfg


@pytest.fixture(scope="module")
def topology() -> Iterator[tuple[Topology, TopologyState]]:
    # Not tmp_path: pytest runs of other checkouts on this machine prune /tmp/pytest-of-<user> under us.
    with tempfile.TemporaryDirectory(prefix="onemap-topology-") as tmp:
        topo = Topology(Path(tmp))
        port = find_free_port(21000 + os.getpid() % 2000)
        try:
            state = topo.start(instances=2, workers=1, port=port)
            yield topo, state
        finally:
            topo.stop()
            topo.standby.destroy()
            topo.primary.destroy()


async def _reader(base: str, stop: asyncio.Event, offset: int, failures: list[str], done: list[int]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        i = offset
        while not stop.is_set():
            path = PATHS[i % len(PATHS)]
            i += 1
            try:
                r = await client.get(path)
                if r.status_code != 200:
                    failures.append(f"{path}: {r.status_code}")
            except httpx.HTTPError as exc:
                failures.append(f"{path}: {exc.__class__.__name__}")
            done.append(1)


@pytest.mark.slow
async def test_losing_an_instance_under_32_readers_fails_no_request(topology: tuple[Topology, TopologyState]) -> None:
    topo, state = topology
    base = f"http://127.0.0.1:{state.port}"
    failures: list[str] = []
    done: list[int] = []
    stop = asyncio.Event()
    load = [asyncio.create_task(_reader(base, stop, k, failures, done)) for k in range(CLIENTS)]
    deadline = time.monotonic() + 60
    while len(done) < 2 * CLIENTS and time.monotonic() < deadline:  # noqa: ASYNC110 - every client is under way
        await asyncio.sleep(0.1)
    served_before = len(done)
    topo.kill_app(0)  # SIGKILL: the supervisor and its workers, mid-request
    await asyncio.sleep(6)
    stop.set()
    await asyncio.gather(*load)
    assert served_before > 0 and len(done) > served_before
    assert failures == []
    assert len(topo.running_apps()) == 1


@pytest.mark.slow
async def test_after_the_primary_dies_and_the_standby_is_promoted_instances_reconnect(
    topology: tuple[Topology, TopologyState],
) -> None:
    topo, state = topology
    base = f"http://127.0.0.1:{state.port}"
    await asyncio.to_thread(kill_hard, topo.primary)
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        assert (await client.get("/health/ready")).status_code in (502, 503)
        await asyncio.to_thread(promote, topo.standby)
        deadline = time.monotonic() + 30
        status = 0
        while time.monotonic() < deadline:
            status = (await client.get("/health/ready")).status_code
            if status == 200:
                break
            await asyncio.sleep(0.2)
        assert status == 200
        items = await client.get("/collections/buildings/items?limit=1")
        assert items.status_code == 200
        ready = (await client.get("/health/ready")).json()
        assert ready["standbys"] == []  # the promoted server streams to nobody yet
