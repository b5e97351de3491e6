"""layers/jobs.py on a real PostgreSQL: the status machine, the job list, and the dead-worker sweep."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from layers.db import connect
from layers.jobs import (
    WORKER_LOST,
    JobFilter,
    WorkerLease,
    create_job,
    dismiss_job,
    fail_orphaned_jobs,
    finish_job,
    get_job,
    list_jobs,
    report_progress,
    start_job,
)


@pytest.fixture
async def conn(module_db_url: str) -> AsyncIterator[asyncpg.Connection]:
    c = await connect(module_db_url)
    try:
        yield c
    finally:
        await c.close()


async def new_job(conn: asyncpg.Connection, worker: int, owner: str = "alice", process: str = "p") -> uuid.UUID:
    job = await create_job(conn, job_id=uuid.uuid4(), process_id=process, owner=owner, inputs={"a": [1, "二"]},
                           outputs=None, response="document", worker=worker)
    assert job.status == "accepted" and job.inputs == {"a": [1, "二"]}
    return job.id


async def test_status_moves_forward_only(conn: asyncpg.Connection, module_db_url: str) -> None:
    lease = WorkerLease(module_db_url)
    worker = await lease.hold()
    try:
        job = await new_job(conn, worker)
        assert await start_job(conn, job_id=job)
        assert not await start_job(conn, job_id=job)  # already running
        assert await report_progress(conn, job_id=job, percent=150, message="half")
        assert (await get_job(conn, job_id=job)).progress == 100  # type: ignore[union-attr]
        assert await finish_job(conn, job_id=job, results={"n": 3})
        done = await get_job(conn, job_id=job)
        assert done is not None and done.status == "successful" and done.results == {"n": 3}
        assert not await report_progress(conn, job_id=job, percent=5, message="late")
        dismissed = await dismiss_job(conn, job_id=job)
        assert dismissed is not None and dismissed.status == "dismissed" and dismissed.results is None
        assert not await finish_job(conn, job_id=job, results={"n": 4})  # a late finish changes nothing
        assert (await get_job(conn, job_id=job)).status == "dismissed"  # type: ignore[union-attr]
    finally:
        await lease.release()


async def test_sweep_fails_only_jobs_of_dead_workers(conn: asyncpg.Connection, module_db_url: str) -> None:
    alive, dead = WorkerLease(module_db_url), WorkerLease(module_db_url)
    live_job = await new_job(conn, await alive.hold())
    dead_job = await new_job(conn, await dead.hold())
    await start_job(conn, job_id=live_job)
    await start_job(conn, job_id=dead_job)
    assert await fail_orphaned_jobs(conn) == 0  # both workers hold their leases
    await dead.release()  # the process died: its connection, and so its lock, went with it
    assert await fail_orphaned_jobs(conn) == 1
    gone = await get_job(conn, job_id=dead_job)
    assert gone is not None and gone.status == "failed" and gone.message == WORKER_LOST
    assert (await get_job(conn, job_id=live_job)).status == "running"  # type: ignore[union-attr]
    await alive.release()
    assert (await get_job(conn, job_id=live_job)).status == "failed"  # type: ignore[union-attr]


async def test_list_filters_by_owner_process_and_status(conn: asyncpg.Connection, module_db_url: str) -> None:
    lease = WorkerLease(module_db_url)
    worker = await lease.hold()
    try:
        mine = [await new_job(conn, worker, owner="bob", process=p) for p in ("x", "y", "x")]
        await new_job(conn, worker, owner="carol", process="x")
        await start_job(conn, job_id=mine[0])
        await finish_job(conn, job_id=mine[0], results={})
        bobs = await list_jobs(conn, where=JobFilter(owner="bob"), limit=10)
        assert [j.id for j in bobs] == list(reversed(mine))  # newest first
        xs = await list_jobs(conn, where=JobFilter(owner="bob", process_ids=("x",)), limit=10)
        assert {j.id for j in xs} == {mine[0], mine[2]}
        done = await list_jobs(conn, where=JobFilter(owner="bob", statuses=("successful",)), limit=10)
        assert [j.id for j in done] == [mine[0]]
        future = await list_jobs(conn, where=JobFilter(created_from=dt.datetime.now(dt.UTC) + dt.timedelta(days=1)),
                                 limit=10)
        assert future == []
        everyone = await list_jobs(conn, where=JobFilter(), limit=2, offset=1)
        assert len(everyone) == 2
    finally:
        await lease.release()
