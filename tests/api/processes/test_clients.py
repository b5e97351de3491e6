"""A real client: OWSLib's ``owslib.ogcapi.processes`` against One Map under uvicorn.

OWSLib 0.35 lists, describes and executes (sync, and async with ``async_=True``); it has no job
methods, so the job is polled and its results read through the same client's ``_request``
(its own URL building, headers and authentication).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from owslib.ogcapi.processes import Processes
from owslib.util import Authentication

from tests.api.conftest import Seed
from tests.api.processes.test_routes import CITY, sql_count

pytestmark = [pytest.mark.slow]


@pytest.fixture(autouse=True)
def owslib_headers_restored() -> Iterator[None]:
    """OWSLib keeps one module-level header dict (execute sets ``Prefer`` in it): undo it after each test."""
    from owslib import ogcapi

    saved = dict(ogcapi.REQUEST_HEADERS)
    yield
    ogcapi.REQUEST_HEADERS.clear()
    ogcapi.REQUEST_HEADERS.update(saved)


def poll(client: Processes, job_id: str, timeout_s: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status: dict[str, Any] = client._request(path=f"jobs/{job_id}")
        if status["status"] in ("successful", "failed", "dismissed"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


async def test_owslib_lists_describes_and_executes(live: str, seed: Seed) -> None:
    expected = await sql_count(seed, "power_facilities")
    client = Processes(live, auth=Authentication("viewer", seed.keys["viewer"]))
    assert {"test-count", "test-sleep"} <= {p["id"] for p in client.processes()}
    described = client.process("test-count")
    assert set(described["inputs"]) == {"collection", "bbox"}
    inputs = {"collection": "power_facilities", "bbox": CITY}
    document = client.execute("test-count", inputs)  # OWSLib asks for response=document
    assert document["count"]["value"] == expected

    created = client.execute("test-count", inputs, async_=True)
    assert created["status"] in ("accepted", "running")
    assert client.response_headers["Location"].endswith(f"/jobs/{created['jobID']}")
    assert poll(client, created["jobID"])["status"] == "successful"
    results = client._request(path=f"jobs/{created['jobID']}/results")
    assert results["count"]["value"] == expected


def test_owslib_without_the_grant_gets_an_error(live: str, seed: Seed) -> None:
    client = Processes(live, auth=Authentication("viewer", seed.keys["viewer"]))
    with pytest.raises(RuntimeError, match="no collection"):
        client.execute("test-count", {"collection": "pipeline_water_segments", "bbox": CITY})
