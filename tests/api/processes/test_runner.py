"""Asynchronous jobs through the API: Prefer respond-async, polling, progress, results, failure,
dismissal, ownership, the job list, and the truthful status of a job whose worker died."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx

from layers.db import connect
from layers.jobs import LOCK_CLASS, WORKER_LOST
from tests.api.conftest import Seed
from tests.api.processes.conftest import SECRET_DETAIL
from tests.api.processes.test_routes import CITY, EXECUTE, assert_problem, sql_count

ASYNC = {"Prefer": "respond-async"}


async def submit(client: httpx.AsyncClient, process: str, body: dict[str, Any], who: str, seed: Seed) -> str:
    r = await client.post(EXECUTE.format(process), json=body, headers={**ASYNC, **seed.auth(who)})
    assert r.status_code == 201, r.text
    assert r.headers["preference-applied"] == "respond-async"
    job_id: str = r.json()["jobID"]
    assert r.headers["location"].endswith(f"/jobs/{job_id}")
    assert r.json()["status"] in ("accepted", "running")
    return job_id


async def wait_for(client: httpx.AsyncClient, job_id: str, who: str, seed: Seed, *final: str,
                   timeout_s: float = 20) -> list[dict[str, Any]]:
    seen = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        doc = (await client.get(f"/jobs/{job_id}", headers=seed.auth(who))).json()
        seen.append(doc)
        if doc["status"] in final:
            return seen
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} never reached {final}: {seen[-1]}")


async def test_async_job_runs_reports_progress_and_answers_results(client: httpx.AsyncClient, seed: Seed) -> None:
    job = await submit(client, "test-sleep", {"inputs": {"seconds": 1.2, "steps": 4}, "response": "document"},
                       "viewer", seed)
    seen = await wait_for(client, job, "viewer", seed, "successful")
    progress = [d.get("progress") for d in seen if d["status"] == "running"]
    assert any(p is not None and 0 < p < 100 for p in progress), progress
    final = seen[-1]
    assert final["progress"] == 100 and final["finished"] >= final["started"] >= final["created"]
    results_link = next(link["href"] for link in final["links"] if link["rel"].endswith("/results"))
    results = await client.get(results_link.replace("http://testserver", ""), headers=seed.auth("viewer"))
    assert results.json() == {"slept": {"value": 1.2, "mediaType": "application/json"}}


async def test_async_raw_results_count_like_sql(client: httpx.AsyncClient, seed: Seed) -> None:
    body = {"inputs": {"collection": "pipeline_water_segments", "bbox": CITY}, "outputs": {"count": {}}}
    job = await submit(client, "test-count", body, "pipes", seed)
    await wait_for(client, job, "pipes", seed, "successful")
    raw = await client.get(f"/jobs/{job}/results", headers=seed.auth("pipes"))
    assert raw.headers["content-type"] == "application/json"
    assert raw.json() == await sql_count(seed, "pipeline_water_segments")


async def test_a_job_is_its_owners_and_admins_only(client: httpx.AsyncClient, seed: Seed) -> None:
    job = await submit(client, "test-sleep", {"inputs": {"seconds": 0.1}}, "editor", seed)
    await wait_for(client, job, "editor", seed, "successful")
    for who in ("viewer", "pipes"):
        assert_problem(await client.get(f"/jobs/{job}", headers=seed.auth(who)), 404)
        assert_problem(await client.get(f"/jobs/{job}/results", headers=seed.auth(who)), 404)
        assert_problem(await client.delete(f"/jobs/{job}", headers=seed.auth(who)), 404)
        listed = (await client.get("/jobs", headers=seed.auth(who))).json()["jobs"]
        assert job not in {j["jobID"] for j in listed}
    assert (await client.get(f"/jobs/{job}", headers=seed.auth("admin"))).json()["status"] == "successful"
    assert job in {j["jobID"] for j in (await client.get("/jobs", headers=seed.auth("admin"))).json()["jobs"]}
    assert_problem(await client.get(f"/jobs/{job}"), 404)  # anonymous
    assert_problem(await client.get("/jobs/not-a-uuid", headers=seed.auth("editor")), 404)
    anonymous_async = await client.post(EXECUTE.format("test-sleep"), json={"inputs": {"seconds": 0}}, headers=ASYNC)
    assert_problem(anonymous_async, 401)


async def test_failed_jobs_say_why_and_never_leak(client: httpx.AsyncClient, seed: Seed) -> None:
    crashed = await submit(client, "test-crash", {"inputs": {}}, "viewer", seed)
    status = (await wait_for(client, crashed, "viewer", seed, "failed"))[-1]
    assert "incident" in status["message"] and SECRET_DETAIL not in status["message"]
    problem = assert_problem(await client.get(f"/jobs/{crashed}/results", headers=seed.auth("viewer")), 422)
    assert SECRET_DETAIL not in str(problem)
    refused = await submit(client, "test-refuse", {"inputs": {"start": "JS9"}}, "viewer", seed)
    status = (await wait_for(client, refused, "viewer", seed, "failed"))[-1]
    assert "start" in status["message"] and "50 m" in status["message"]
    problem = assert_problem(await client.get(f"/jobs/{refused}/results", headers=seed.auth("viewer")), 400)
    assert problem["input"] == "start"


async def test_dismiss_cancels_a_running_job(client: httpx.AsyncClient, seed: Seed) -> None:
    job = await submit(client, "test-sleep", {"inputs": {"seconds": 20, "steps": 40}}, "viewer", seed)
    await wait_for(client, job, "viewer", seed, "running")
    not_ready = assert_problem(await client.get(f"/jobs/{job}/results", headers=seed.auth("viewer")), 404)
    assert not_ready["type"].endswith("result-not-ready")
    dismissed = await client.delete(f"/jobs/{job}", headers=seed.auth("viewer"))
    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
    before = (await client.get(f"/jobs/{job}", headers=seed.auth("viewer"))).json()
    await asyncio.sleep(1.0)  # a task still running would move progress on (every 0.5 s)
    after = (await client.get(f"/jobs/{job}", headers=seed.auth("viewer"))).json()
    assert after["status"] == "dismissed" and after["progress"] == before["progress"]
    assert_problem(await client.get(f"/jobs/{job}/results", headers=seed.auth("viewer")), 404)


async def test_job_list_filters_and_pages(client: httpx.AsyncClient, seed: Seed) -> None:
    for _ in range(3):
        await wait_for(client, await submit(client, "test-sleep", {"inputs": {"seconds": 0}}, "gas_editor", seed),
                       "gas_editor", seed, "successful")
    auth = seed.auth("gas_editor")
    page = (await client.get("/jobs", params={"limit": 2, "processID": "test-sleep"}, headers=auth)).json()
    assert len(page["jobs"]) == 2 and all(j["processID"] == "test-sleep" for j in page["jobs"])
    nxt = next(link["href"] for link in page["links"] if link["rel"] == "next")
    rest = (await client.get(nxt.replace("http://testserver", ""), headers=auth)).json()
    assert len(rest["jobs"]) == 1
    assert {j["jobID"] for j in rest["jobs"]}.isdisjoint({j["jobID"] for j in page["jobs"]})
    none = (await client.get("/jobs", params={"status": "failed"}, headers=auth)).json()
    assert none["jobs"] == []
    recent = (await client.get("/jobs", params={"datetime": "2020-01-01T00:00:00Z/..", "maxDuration": 60},
                               headers=auth)).json()
    assert len(recent["jobs"]) == 3
    for bad in ({"status": "done"}, {"type": "wps"}, {"limit": 0}, {"minDuration": "-1"}, {"sort": "x"}):
        assert_problem(await client.get("/jobs", params=bad, headers=auth), 400)


async def test_a_job_of_a_dead_worker_reads_failed(client: httpx.AsyncClient, seed: Seed) -> None:
    job_id = uuid.uuid4()
    conn = await connect(seed.url)
    try:
        # A worker id no live process holds: its process died with the job running.
        await conn.execute(
            "INSERT INTO onemap.jobs (id, process_id, owner, status, inputs, worker, started, progress) "
            "VALUES ($1, 'test-sleep', 'viewer', 'running', '{}', 12345, now(), 40)", job_id)
        held = await conn.fetchval("SELECT pg_try_advisory_lock($1, 12345)", LOCK_CLASS)
        assert held  # nobody holds it
        await conn.execute("SELECT pg_advisory_unlock($1, 12345)", LOCK_CLASS)
    finally:
        await conn.close()
    status = (await client.get(f"/jobs/{job_id}", headers=seed.auth("viewer"))).json()
    assert status["status"] == "failed" and status["message"] == WORKER_LOST
