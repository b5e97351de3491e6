"""OGC API Processes jobs in ``onemap.jobs`` (migration 0006_jobs): create, progress, finish, list, sweep.

Every worker process sees every job, so a client may poll any worker. Status changes are
conditional (``WHERE status = 'running'`` …): a job dismissed while it runs stays dismissed
when its task later finishes, and a job is never moved out of a final state.

**Dead workers.** A process that runs jobs holds a session-level advisory lock on its own worker
id (:class:`WorkerLease`, on a connection of its own) and writes that id on its jobs. The lock
goes when the process dies, so any process can tell a job that is really running from one whose
worker is gone: :func:`fail_orphaned_jobs` marks the latter ``failed`` with a message. It runs at
start-up and whenever an unfinished job is read, so a restart never leaves a job "running" for ever.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from layers.db import connect

FINAL = ("successful", "failed", "dismissed")
STATUSES = ("accepted", "running", *FINAL)
# The advisory-lock class (first key of the two-key form) of job workers: 'OMJB'.
LOCK_CLASS = 0x4F4D4A42
WORKER_LOST = "the server process running this job stopped before it finished; run it again"
COLUMNS = ("id, process_id, owner, status, inputs, outputs, response, results, message, failure, progress, "
           "worker, created, started, finished, updated")


@dataclass(frozen=True, slots=True)
class Job:
    """One row of ``onemap.jobs``. ``results`` maps output names to values (successful jobs only)."""

    id: uuid.UUID
    process_id: str
    owner: str
    status: str
    inputs: dict[str, Any]
    outputs: dict[str, Any] | None
    response: str
    results: dict[str, Any] | None
    message: str | None
    failure: dict[str, Any] | None
    progress: int | None
    worker: int | None
    created: dt.datetime
    started: dt.datetime | None
    finished: dt.datetime | None
    updated: dt.datetime

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Job:
        """The job a ``SELECT {COLUMNS}`` row holds."""
        return cls(**dict(row))


@dataclass(frozen=True, slots=True)
class JobFilter:
    """The job list's filters (OGC API Processes job-list): all optional, combined with AND.

    ``owner`` None lists every owner's jobs (for admins). Durations are in seconds, from start
    (or creation, before start) to finish (or now, while unfinished).
    """

    owner: str | None = None
    process_ids: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    min_duration_s: int | None = None
    max_duration_s: int | None = None


async def create_job(
    conn: asyncpg.Connection, *, job_id: uuid.UUID, process_id: str, owner: str, inputs: dict[str, Any],
    outputs: dict[str, Any] | None, response: str, worker: int,
) -> Job:
    """Record a new ``accepted`` job run by ``worker`` (a :class:`WorkerLease` id)."""
    row = await conn.fetchrow(
        f"INSERT INTO onemap.jobs (id, process_id, owner, inputs, outputs, response, worker, message, progress) "  # noqa: S608
        f"VALUES ($1, $2, $3, $4, $5, $6, $7, 'accepted', 0) RETURNING {COLUMNS}",
        job_id, process_id, owner, inputs, outputs, response, worker,
    )
    return Job.from_row(row)


async def start_job(conn: asyncpg.Connection, *, job_id: uuid.UUID) -> bool:
    """Move an accepted job to ``running``; False if it was dismissed meanwhile."""
    done = await conn.execute(
        "UPDATE onemap.jobs SET status = 'running', started = now(), updated = now(), message = 'running' "
        "WHERE id = $1 AND status = 'accepted'", job_id,
    )
    return str(done).endswith(" 1")


async def report_progress(conn: asyncpg.Connection, *, job_id: uuid.UUID, percent: int, message: str) -> bool:
    """Record progress (0–100) of a running job; False when it is no longer running (dismissed)."""
    done = await conn.execute(
        "UPDATE onemap.jobs SET progress = $2, message = $3, updated = now() WHERE id = $1 AND status = 'running'",
        job_id, max(0, min(100, percent)), message[:500],
    )
    return str(done).endswith(" 1")


async def finish_job(conn: asyncpg.Connection, *, job_id: uuid.UUID, results: dict[str, Any]) -> bool:
    """Store the results and mark the job ``successful``; False if it was dismissed or failed meanwhile."""
    done = await conn.execute(
        "UPDATE onemap.jobs SET status = 'successful', results = $2, progress = 100, message = 'done', "
        "finished = now(), updated = now() WHERE id = $1 AND status = 'running'", job_id, results,
    )
    return str(done).endswith(" 1")


async def fail_job(conn: asyncpg.Connection, *, job_id: uuid.UUID, message: str, failure: dict[str, Any]) -> bool:
    """Mark an unfinished job ``failed`` with a message for the caller and a problem document (``failure``)."""
    done = await conn.execute(
        "UPDATE onemap.jobs SET status = 'failed', message = $2, failure = $3, finished = now(), updated = now() "
        "WHERE id = $1 AND status IN ('accepted', 'running')", job_id, message[:2000], failure,
    )
    return str(done).endswith(" 1")


async def dismiss_job(conn: asyncpg.Connection, *, job_id: uuid.UUID) -> Job | None:
    """Mark a job ``dismissed`` and drop its results (the row stays, so its status stays truthful)."""
    row = await conn.fetchrow(
        f"UPDATE onemap.jobs SET status = 'dismissed', results = NULL, message = 'dismissed', "  # noqa: S608
        f"finished = coalesce(finished, now()), updated = now() WHERE id = $1 RETURNING {COLUMNS}", job_id,
    )
    return Job.from_row(row) if row is not None else None


async def get_job(conn: asyncpg.Connection, *, job_id: uuid.UUID) -> Job | None:
    """The job, with its status made truthful first if its worker died."""
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM onemap.jobs WHERE id = $1", job_id)  # noqa: S608
    if row is not None and row["status"] in ("accepted", "running") and await fail_orphaned_jobs(conn, job_id=job_id):
        row = await conn.fetchrow(f"SELECT {COLUMNS} FROM onemap.jobs WHERE id = $1", job_id)  # noqa: S608
    return Job.from_row(row) if row is not None else None


LIST_SQL = f"""
SELECT {COLUMNS} FROM onemap.jobs
WHERE ($1::text IS NULL OR owner = $1)
  AND (cardinality($2::text[]) = 0 OR process_id = ANY($2))
  AND (cardinality($3::text[]) = 0 OR status = ANY($3))
  AND ($4::timestamptz IS NULL OR created >= $4)
  AND ($5::timestamptz IS NULL OR created <= $5)
  AND ($6::int IS NULL OR coalesce(finished, now()) - coalesce(started, created) >= make_interval(secs => $6))
  AND ($7::int IS NULL OR coalesce(finished, now()) - coalesce(started, created) <= make_interval(secs => $7))
ORDER BY created DESC, id
LIMIT $8 OFFSET $9
"""  # noqa: S608 - COLUMNS is a constant


async def list_jobs(conn: asyncpg.Connection, *, where: JobFilter, limit: int, offset: int = 0) -> list[Job]:
    """Jobs matching ``where``, newest first."""
    rows = await conn.fetch(
        LIST_SQL, where.owner, list(where.process_ids), list(where.statuses), where.created_from, where.created_to,
        where.min_duration_s, where.max_duration_s, limit, offset,
    )
    return [Job.from_row(r) for r in rows]


async def fail_orphaned_jobs(conn: asyncpg.Connection, *, job_id: uuid.UUID | None = None) -> int:
    """Mark ``failed`` the unfinished jobs (or the one job) whose worker no longer holds its lock.

    A live worker's lock is held by its lease connection, so the try-lock fails for it; the lock
    taken for a dead worker's id is transaction-scoped and goes at once.
    """
    done = await conn.execute(
        "UPDATE onemap.jobs SET status = 'failed', message = $1, finished = now(), updated = now(), "
        "failure = jsonb_build_object('type', 'worker-lost', 'detail', $1::text) "
        "WHERE status IN ('accepted', 'running') AND ($2::uuid IS NULL OR id = $2) "
        "AND (worker IS NULL OR pg_try_advisory_xact_lock($3, worker))",
        WORKER_LOST, job_id, LOCK_CLASS,
    )
    return int(str(done).rsplit(" ", 1)[-1])


class WorkerLease:
    """This process's worker id, held as an advisory lock on a connection of its own while it lives."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.id = secrets.randbelow(2**31 - 1) + 1
        self._conn: asyncpg.Connection | None = None

    async def hold(self) -> int:
        """Take (or retake, after a lost connection) the lock; returns the worker id to write on jobs."""
        if self._conn is None or self._conn.is_closed():
            self._conn = await connect(self.url)
            await self._conn.execute("SELECT pg_advisory_lock($1, $2)", LOCK_CLASS, self.id)
        return self.id

    async def release(self) -> None:
        """Close the lease connection (the lock goes with it)."""
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()
        self._conn = None
