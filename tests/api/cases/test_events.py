"""The live feed: a new case reaches a connected client; a client resumes with Last-Event-ID and
misses nothing; handlers hear only their department; heartbeats keep an idle stream alive."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from tests.api.cases.conftest import CaseSeed, jpeg
from tests.cases.city import WATER_COVER_AT

pytestmark = pytest.mark.slow
EVENT = {"geometry": {"type": "Point", "coordinates": [112.9525, 28.2015]}, "kind": "event", "big_class": "01",
         "small_class": "0101", "description": "暴露垃圾（推送测试）"}
COVER = {"geometry": {"type": "Point", "coordinates": list(WATER_COVER_AT)}, "kind": "component",
         "big_class": "01", "small_class": "0101", "description": "井盖缺失"}


class Stream:
    """Reads SSE frames from an open response."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()
        self.comments: list[str] = []

    async def next_event(self, wait_s: float = 5.0) -> tuple[int, dict[str, Any]]:
        """The next ``case`` event (id, data), skipping comments (kept in ``comments``)."""
        frame: dict[str, str] = {}
        async with asyncio.timeout(wait_s):
            async for line in self.lines:
                if line.startswith(":"):
                    self.comments.append(line)
                elif line == "" and "data" in frame:
                    assert frame.get("event") == "case"
                    return int(frame["id"]), json.loads(frame["data"])
                elif ":" in line:
                    name, _, value = line.partition(":")
                    frame[name] = value.strip()
        raise AssertionError("stream ended")


@asynccontextmanager
async def feed(base: str, seed: CaseSeed, who: str, last_id: int | None = None) -> AsyncIterator[Stream]:
    headers = {**seed.auth(who), **({"Last-Event-ID": str(last_id)} if last_id is not None else {})}
    async with httpx.AsyncClient(base_url=base, timeout=10) as client, \
            client.stream("GET", "/cases/events", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Stream(response)
        async with asyncio.timeout(5):
            async for line in stream.lines:  # the stream is open once the server said so
                if line == ": connected":
                    break
        yield stream


async def file(base: str, seed: CaseSeed, report: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        r = await client.post("/cases/reports", headers=seed.auth("inspector"), data={"report": json.dumps(report)},
                              files=[("photo", ("a.jpg", jpeg(), "image/jpeg"))])
        assert r.status_code == 201, r.text
        return dict(r.json())


async def test_new_case_reaches_a_connected_client_within_a_second(case_server: str, case_seed: CaseSeed) -> None:
    await file(case_server, case_seed, EVENT)  # warm the fresh server (imports, pool) before timing
    async with feed(case_server, case_seed, "supervisor") as stream:
        started = time.monotonic()
        filed = await file(case_server, case_seed, EVENT)
        _, data = await stream.next_event()
        elapsed = time.monotonic() - started
    assert data["id"] == filed["id"] and data["case_no"] == filed["case_no"] and data["action"] == "report"
    assert data["state"] == "reported" and data["grid_code"] == filed["grid_code"]
    assert elapsed < 1.0


async def test_resume_with_last_event_id_misses_nothing(case_server: str, case_seed: CaseSeed) -> None:
    async with feed(case_server, case_seed, "operator") as stream:
        first = await file(case_server, case_seed, EVENT)
        last_id, data = await stream.next_event()
        assert data["id"] == first["id"]
    # Disconnected: two reports and a move happen meanwhile.
    second = await file(case_server, case_seed, EVENT)
    third = await file(case_server, case_seed, EVENT)
    async with httpx.AsyncClient(base_url=case_server) as client:
        moved = await client.post(f"/cases/{second['id']}/actions/accept", headers=case_seed.auth("operator"), json={})
        assert moved.status_code == 200
    async with feed(case_server, case_seed, "operator", last_id=last_id) as stream:
        got = [await stream.next_event() for _ in range(3)]
    assert [(d["id"], d["action"]) for _, d in got] == [(second["id"], "report"), (third["id"], "report"),
                                                        (second["id"], "accept")]
    assert [i for i, _ in got] == sorted(i for i, _ in got) and got[0][0] > last_id


async def test_handler_hears_only_its_department_and_heartbeats(case_server: str, case_seed: CaseSeed) -> None:
    async with feed(case_server, case_seed, "water") as stream:
        await file(case_server, case_seed, EVENT)  # 城管's: not for the water company
        cover = await file(case_server, case_seed, COVER)
        _, data = await stream.next_event()
        assert data["id"] == cover["id"] and data["department"] == "sw"
        await asyncio.sleep(1.2)
        with pytest.raises(TimeoutError):
            await stream.next_event(wait_s=0.3)
    assert ": heartbeat" in stream.comments


async def test_viewer_hears_nothing(case_server: str, case_seed: CaseSeed) -> None:
    async with feed(case_server, case_seed, "viewer") as stream:
        await file(case_server, case_seed, EVENT)
        with pytest.raises(TimeoutError):
            await stream.next_event(wait_s=1.0)
