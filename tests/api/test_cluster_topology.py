"""`onemap cluster`'s topology for real: primary, standby, three app instances and HAProxy.

A token signed by one instance is valid on all, and a layer registered on the primary appears on
all; case events stream through HAProxy and resume on another instance after theirs dies; losing an app
instance under 32 concurrent readers fails no request (HAProxy retries the reads on another
instance); losing the primary and promoting the standby brings the instances back by themselves.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest

from api.topology import Topology, TopologyState, haproxy_config
from layers.cluster import find_free_port
from layers.db import connect
from layers.model import LayerDef
from layers.principals import create_principal, issue_api_key
from layers.registry import register_layer
from layers.replication import kill_hard, promote
from tests.api.cases.conftest import jpeg
from tests.api.conftest import TYPES_LAYER
from tests.cases.city import seed_city

CLIENTS = 32
PASSWORD = "cluster-test-passphrase-1"
OVERLAY = {**TYPES_LAYER, "id": "cluster_overlay", "title_zh": "集群测试图层", "title_en": "Cluster test overlay"}
REPORT = {"geometry": {"type": "Point", "coordinates": [112.9525, 28.2015]}, "kind": "event", "big_class": "01",
          "small_class": "0101", "description": "暴露垃圾（集群测试）"}
PATHS = ["/collections/buildings/items?limit=2", "/health/ready", "/collections/rail_stations/items?limit=1",
         "/collections"]


def test_haproxy_config_checks_readiness_and_retries_reads() -> None:
    cfg = haproxy_config(9140, [9141, 9142])
    assert "bind 127.0.0.1:9140" in cfg
    assert "server app0 127.0.0.1:9141 check" in cfg and "server app1 127.0.0.1:9142 check" in cfg
    assert "option httpchk GET /health/ready" in cfg
    assert "retry-on all-retryable-errors" in cfg and "option redispatch" in cfg
    # A lost instance leaves rotation at its first refused connection; a busy one is not dropped.
    assert ("server app0 127.0.0.1:9141 check inter 1s fall 2 rise 1 observe layer4 error-limit 1 on-error mark-down"
            in cfg)
    assert "timeout check 5s" in cfg
    assert "log stdout" in cfg and "option httplog" in cfg
    with tempfile.NamedTemporaryFile("w", suffix=".cfg") as f:
        f.write(cfg)
        f.flush()
        check = subprocess.run(["haproxy", "-c", "-f", f.name], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr


async def _seed_cases(url: str) -> dict[str, str]:
    conn = await connect(url)
    try:
        await seed_city(conn)
        await create_principal(conn, name="wang.wu", kind="user", roles=["viewer"], password=PASSWORD)
        keys = {}
        for name, roles in (("inspector", ["inspector"]), ("supervisor", ["supervisor"])):
            pid = await create_principal(conn, name=name, kind="system", roles=roles)
            keys[name] = await issue_api_key(conn, principal_id=pid)
        return keys
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def topology() -> Iterator[tuple[Topology, TopologyState, dict[str, str]]]:
    # Not tmp_path: another checkout's pytest run on this machine may prune pytest's base folder under us.
    with tempfile.TemporaryDirectory(prefix="onemap-topology-") as tmp:
        topo = Topology(Path(tmp))
        port = find_free_port(21000 + os.getpid() % 2000)
        try:
            topo.start_databases()
            keys = asyncio.run(_seed_cases(topo.primary.url()))
            state = topo.start_apps(instances=3, workers=1, port=port)
            yield topo, state, keys
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
                failures.append(f"{path}: {exc.__class__.__name__} {exc}")
            done.append(1)


@pytest.mark.slow
async def test_every_instance_verifies_a_token_and_sees_a_new_layer(
    topology: tuple[Topology, TopologyState, dict[str, str]],
) -> None:
    topo, state, _ = topology
    bases = [f"http://127.0.0.1:{p}" for p in state.app_ports]
    async with httpx.AsyncClient(timeout=20) as client:
        signed = await client.post(f"{bases[0]}/auth/token", data={"username": "wang.wu", "password": PASSWORD})
        assert signed.status_code == 200, signed.text
        bearer = {"Authorization": f"Bearer {signed.json()['access_token']}"}
        for base in bases:  # signed by instance 0, verified by each
            me = await client.get(f"{base}/auth/me", headers=bearer)
            assert me.status_code == 200 and me.json()["name"] == "wang.wu"
        for base in bases:
            assert (await client.get(f"{base}/collections/cluster_overlay")).status_code == 404
        conn = await connect(topo.primary.url())
        try:
            await register_layer(conn, LayerDef.model_validate(OVERLAY))  # NOTIFY on the primary
        finally:
            await conn.close()
        for base in bases:  # every instance's registry reloads
            deadline = time.monotonic() + 10
            status = 0
            while time.monotonic() < deadline:
                status = (await client.get(f"{base}/collections/cluster_overlay")).status_code
                if status == 200:
                    break
                await asyncio.sleep(0.1)
            assert status == 200


async def _report(base: str, key: str) -> int:
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        r = await client.post("/cases/reports", headers={"Authorization": f"Bearer {key}"},
                              data={"report": json.dumps(REPORT)}, files=[("photo", ("a.jpg", jpeg(), "image/jpeg"))])
        assert r.status_code == 201, r.text
        return int(r.json()["id"])


async def _case_ids(lines: AsyncIterator[str], n: int, wait_s: float) -> list[tuple[int, int]]:
    """(event id, case id) of the next ``n`` case events."""
    out: list[tuple[int, int]] = []
    frame: dict[str, str] = {}
    async with asyncio.timeout(wait_s):
        async for line in lines:
            if line == "" and "data" in frame:
                out.append((int(frame["id"]), int(json.loads(frame["data"])["id"])))
                frame = {}
                if len(out) == n:
                    return out
            elif ":" in line and not line.startswith(":"):
                name, _, value = line.partition(":")
                frame[name] = value.strip()
    raise ConnectionError("the stream ended")


@pytest.mark.slow
async def test_case_events_stream_through_haproxy_and_resume_after_an_instance_dies(
    topology: tuple[Topology, TopologyState, dict[str, str]],
) -> None:
    topo, state, keys = topology
    base = f"http://127.0.0.1:{state.port}"
    auth = {"Authorization": f"Bearer {keys['supervisor']}"}
    async with AsyncExitStack() as stack:
        streams = []
        for _ in range(3):  # round robin: one stream on each instance
            client = await stack.enter_async_context(httpx.AsyncClient(base_url=base, timeout=30))
            response = await stack.enter_async_context(client.stream("GET", "/cases/events", headers=auth))
            assert response.status_code == 200
            lines = response.aiter_lines()
            async with asyncio.timeout(10):
                async for line in lines:
                    if line == ": connected":
                        break
            streams.append(lines)
        first = await _report(base, keys["inspector"])
        last_ids = []
        for lines in streams:
            [(event_id, case_id)] = await _case_ids(lines, 1, 10)
            assert case_id == first
            last_ids.append(event_id)
        topo.kill_app(2)
        later = [await _report(base, keys["inspector"]) for _ in range(2)]
        broken = 0
        for lines, last_id in zip(streams, last_ids, strict=True):
            try:
                got = await _case_ids(lines, 2, 5)
            except (ConnectionError, TimeoutError, httpx.HTTPError):
                broken += 1  # this stream ran on the dead instance: reconnect through HAProxy, as a browser does
                client = await stack.enter_async_context(httpx.AsyncClient(base_url=base, timeout=30))
                response = await stack.enter_async_context(
                    client.stream("GET", "/cases/events", headers={**auth, "Last-Event-ID": str(last_id)}))
                assert response.status_code == 200
                got = await _case_ids(response.aiter_lines(), 2, 10)
            assert [case_id for _, case_id in got] == later  # nothing missed, nothing twice
    assert broken >= 1


@pytest.mark.slow
async def test_losing_an_instance_under_32_readers_fails_no_request(
    topology: tuple[Topology, TopologyState, dict[str, str]],
) -> None:
    topo, state, _ = topology
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
    if failures:
        # HAProxy logs each request it retried, redispatched or failed (api/topology.py): what the kill did.
        log = (topo.root / "haproxy.log").read_text(errors="replace").splitlines()
        retried = [line for line in log if " 200 " in line and " ---- " in line]
        rest = [line for line in log if line not in retried]
        pytest.fail(f"{len(failures)} failed: {failures}\nHAProxy: {len(retried)} requests retried and answered 200; "
                    "the rest of its log:\n" + "\n".join(rest[-60:]))
    alive = topo.running_apps()
    assert state.app_pids[0] not in alive and alive  # another instance carries on


@pytest.mark.slow
async def test_after_the_primary_dies_and_the_standby_is_promoted_instances_reconnect(
    topology: tuple[Topology, TopologyState, dict[str, str]],
) -> None:
    topo, state, _ = topology
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
