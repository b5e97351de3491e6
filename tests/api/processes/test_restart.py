"""Jobs outlive the process that ran them: a worker killed (SIGKILL) mid-job leaves a job that the
next process reports ``failed`` with a message, not ``running`` for ever; and a job one process
created is answered by another (the table is shared, nothing is held in memory)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from layers.db import connect
from layers.jobs import WORKER_LOST
from tests.api.conftest import SECRET, Seed
from tests.api.live import serve_subprocess

pytestmark = [pytest.mark.slow]
# A server process offering the test processes (they live in the tests, so it registers them first).
SERVE = """
import sys, uvicorn
from analysis.catalogue import PROCESSES
from tests.api.processes.conftest import TEST_PROCESSES
PROCESSES.update(TEST_PROCESSES)
from api.app import create_app
uvicorn.run(create_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


@contextmanager
def server(seed: Seed, var: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    env = {**os.environ, "ONEMAP_DATABASE_URL": seed.url, "ONEMAP_SECRET_KEY": SECRET, "ONEMAP_ENV": "test",
           "ONEMAP_VAR_DIR": str(var)}
    var.mkdir(parents=True, exist_ok=True)
    with serve_subprocess(lambda port: [sys.executable, "-c", SERVE, str(port)], env, var / "server.log",
                          first_port=19500, timeout_s=60) as (base, proc):
        yield base, proc


async def job_status_in_table(seed: Seed, job_id: str) -> str:
    conn = await connect(seed.url)
    try:
        status: str = await conn.fetchval("SELECT status FROM onemap.jobs WHERE id = $1::uuid", job_id)
        return status
    finally:
        await conn.close()


def test_a_killed_workers_job_reads_failed_after_restart(seed: Seed, tmp_path: Path) -> None:
    auth = seed.auth("viewer")
    with server(seed, tmp_path / "a") as (base, proc):
        r = httpx.post(f"{base}/processes/test-sleep/execution", json={"inputs": {"seconds": 30, "steps": 60}},
                       headers={**auth, "Prefer": "respond-async"}, timeout=30)
        assert r.status_code == 201, r.text
        job = r.json()["jobID"]
        deadline = time.monotonic() + 20
        while httpx.get(f"{base}/jobs/{job}", headers=auth, timeout=10).json().get("progress", 0) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        proc.kill()  # no shutdown hook runs: the job row still says running
        proc.wait()
    assert asyncio.run(job_status_in_table(seed, job)) == "running"
    with server(seed, tmp_path / "b") as (base, _proc):
        assert asyncio.run(job_status_in_table(seed, job)) == "failed"  # the new process's start-up sweep
        status = httpx.get(f"{base}/jobs/{job}", headers=auth, timeout=10).json()
        assert status["status"] == "failed" and status["message"] == WORKER_LOST
        problem = httpx.get(f"{base}/jobs/{job}/results", headers=auth, timeout=10)
        assert problem.status_code == 422 and problem.headers["content-type"].startswith("application/problem+json")


def test_a_job_is_answered_by_another_process(seed: Seed, tmp_path: Path) -> None:
    auth = seed.auth("viewer")
    with server(seed, tmp_path / "c") as (first, _p1), server(seed, tmp_path / "d") as (second, _p2):
        r = httpx.post(f"{first}/processes/test-sleep/execution", json={"inputs": {"seconds": 0.5}},
                       headers={**auth, "Prefer": "respond-async"}, timeout=30)
        job = r.json()["jobID"]
        deadline = time.monotonic() + 20
        status = {"status": "accepted"}
        while status["status"] != "successful":
            assert time.monotonic() < deadline and status["status"] in ("accepted", "running"), status
            time.sleep(0.1)
            status = httpx.get(f"{second}/jobs/{job}", headers=auth, timeout=10).json()
        results = httpx.get(f"{second}/jobs/{job}/results", headers=auth, timeout=10)
        assert results.json() == 0.5
