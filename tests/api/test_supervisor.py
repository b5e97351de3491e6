"""``onemap serve --workers 2``: a worker that crashes (SIGSEGV, as a native library would) is
replaced by uvicorn's supervisor, and the service answers throughout."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import SECRET, Seed
from tests.api.live import Live, onemap_serve

pytestmark = [pytest.mark.slow]


def _fresh_get(base: str, path: str, timeout_s: float = 5.0) -> httpx.Response:
    # A new connection each time: a kept-alive one would stick to one worker.
    with httpx.Client(timeout=timeout_s) as client:
        return client.get(base + path)


def _wait_for(predicate: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _serves_alone(live: Live, path: str, timeout_s: float) -> int:
    """Requests answered while every other worker is frozen; raises if none was answered in time."""
    deadline = time.monotonic() + timeout_s
    answered = 0
    while time.monotonic() < deadline and answered < 5:
        try:
            if _fresh_get(live.base, path, timeout_s=2).status_code == 200:
                answered += 1
        except httpx.HTTPError:
            pass
    assert answered == 5, "the replacement worker did not serve"
    return answered


def test_a_crashed_worker_is_replaced_and_the_service_keeps_answering(seed: Seed, tmp_path: Path) -> None:
    path = "/collections/rail_stations/items?limit=5"
    with onemap_serve(seed.url, tmp_path / "var", workers=2, secret=SECRET) as live:
        _wait_for(lambda: len(live.workers()) == 2, 30, "two workers")
        first, survivor = sorted(live.workers())

        os.kill(first, signal.SIGSEGV)
        # The other worker answers at once, on fresh connections, while the replacement starts.
        for _ in range(10):
            assert _fresh_get(live.base, path).status_code == 200
        _wait_for(lambda: len(live.workers() - {first, survivor}) == 1, 30, "a replacement worker")
        (replacement,) = live.workers() - {first, survivor}
        assert first not in live.workers()

        # Freeze the survivor: now only the replacement can accept, and it must answer.
        os.kill(survivor, signal.SIGSTOP)
        try:
            _serves_alone(live, path, timeout_s=45)
        finally:
            if survivor in live.workers():
                os.kill(survivor, signal.SIGCONT)
        assert replacement in live.workers()
        _wait_for(lambda: len(live.workers()) == 2, 30, "two workers again")
        assert _fresh_get(live.base, "/health").status_code == 200
        assert live.proc.poll() is None  # the supervisor itself never went down
