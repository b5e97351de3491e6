"""Small real processes for the Processes API tests, registered in ``analysis.catalogue.PROCESSES``
for the module, and a live server (uvicorn in a thread, so it sees them) for real clients.

- ``test-count``: counts a layer's current features in a bbox with a real query;
- ``test-sleep``: sleeps in steps and reports progress (for async jobs, dismiss, restart);
- ``test-refuse``: refuses its input (InvalidInput);
- ``test-crash``: raises an unexpected error whose text must never reach the caller.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from analysis.catalogue import PROCESSES
from analysis.contract import JSON, InvalidInput, ProcessContext, ProcessDefinition
from api.app import create_app
from layers.sql import qualified
from tests.api.conftest import Seed, api_settings

SECRET_DETAIL = "SELECT secret FROM onemap.principals"


def _count_reads(inputs: JSON) -> list[str]:
    return [str(inputs["collection"])]


async def _count(ctx: ProcessContext, inputs: JSON) -> JSON:
    layer_id = str(inputs["collection"])
    if not ctx.readable(layer_id):  # the API checked already; an analysis checks what it adds itself
        raise InvalidInput("collection", "not readable")
    w, s, e, n = inputs["bbox"]
    async with ctx.pool.acquire() as conn:
        count = await conn.fetchval(
            f"SELECT count(*) FROM {qualified('data', layer_id)} "
            "WHERE valid_to IS NULL AND geom && ST_MakeEnvelope($1, $2, $3, $4, 4490)", w, s, e, n)
    return {"count": int(count), "summary": {"collection": layer_id, "count": int(count)},
            "note": f"{count} features"}


async def _sleep(ctx: ProcessContext, inputs: JSON) -> JSON:
    steps = int(inputs.get("steps", 4))
    for i in range(steps):
        await asyncio.sleep(float(inputs["seconds"]) / steps)
        await ctx.progress(int(100 * (i + 1) / steps), f"step {i + 1} of {steps}")
    return {"slept": inputs["seconds"]}


async def _refuse(_ctx: ProcessContext, inputs: JSON) -> JSON:
    raise InvalidInput("start", f"no pipe within 50 m of {inputs['start']}")


async def _crash(_ctx: ProcessContext, _inputs: JSON) -> JSON:
    raise RuntimeError(SECRET_DETAIL)


BBOX = {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4}
TEST_PROCESSES: dict[str, ProcessDefinition] = {
    "test-count": ProcessDefinition(
        id="test-count", title="Count features", title_zh="计数", description="Counts features in a bbox",
        version="1.0.0", keywords=["test"],
        inputs={"collection": {"title": "Layer id", "schema": {"type": "string", "pattern": "^[a-z0-9_]+$"}},
                "bbox": {"title": "bbox (lon/lat)", "schema": BBOX}},
        outputs={"count": {"title": "Count", "schema": {"type": "integer"}},
                 "summary": {"title": "Summary", "schema": {"type": "object"}},
                 "note": {"title": "Note", "schema": {"type": "string"}}},
        reads=_count_reads, run=_count,
        examples=[{"inputs": {"collection": "buildings", "bbox": [112.9, 28.1, 113.1, 28.3]}}],
    ),
    "test-sleep": ProcessDefinition(
        id="test-sleep", title="Sleep", description="Sleeps, reporting progress", version="1.0.0",
        inputs={"seconds": {"schema": {"type": "number", "minimum": 0, "maximum": 60}},
                "steps": {"schema": {"type": "integer", "minimum": 1}, "minOccurs": 0}},
        outputs={"slept": {"schema": {"type": "number"}}}, reads=lambda _i: [], run=_sleep,
    ),
    "test-refuse": ProcessDefinition(
        id="test-refuse", title="Refuse", description="Refuses its input", version="1.0.0",
        inputs={"start": {"schema": {"type": "string"}}}, outputs={"x": {"schema": {"type": "string"}}},
        reads=lambda _i: [], run=_refuse,
    ),
    "test-crash": ProcessDefinition(
        id="test-crash", title="Crash", description="Fails unexpectedly", version="1.0.0",
        inputs={}, outputs={"x": {"schema": {"type": "string"}}}, reads=lambda _i: [], run=_crash,
    ),
}


@pytest.fixture(scope="module", autouse=True)
def test_processes() -> Iterator[dict[str, ProcessDefinition]]:
    """The test processes, offered for the module (the real ones stay as they are)."""
    PROCESSES.update(TEST_PROCESSES)
    try:
        yield TEST_PROCESSES
    finally:
        for key in TEST_PROCESSES:
            PROCESSES.pop(key, None)


def serve_in_thread(application: Any) -> Iterator[str]:
    """Run ``application`` under uvicorn in a thread of this process; yields its base URL."""
    # The socket is bound here and handed to uvicorn, so the port is ours from the moment it is picked:
    # picking a "free" port and letting uvicorn bind it later races with other xdist workers' servers.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@pytest.fixture(scope="module")
def live(seed: Seed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Map under uvicorn in this process (so it offers the test processes)."""
    var: Path = tmp_path_factory.mktemp("var")
    yield from serve_in_thread(create_app(api_settings(seed.url, var)))
