"""Can pygeoapi's Processes job manager (PostgreSQL) run One Map's analyses? A measured answer.

Issue 9 and docs/DESIGN.md name pygeoapi's Processes implementation with its PostgreSQL job
manager. This script checks the requirements One Map has of it, one by one, against a real
PostgreSQL, and prints PASS/FAIL with what it saw. It is evidence for the closing note, not a
test: pygeoapi is not a dependency of One Map, so run it in a venv of its own::

    python3 -m venv /tmp/pge && /tmp/pge/bin/pip install pygeoapi==0.21.0 psycopg2-binary
    /tmp/pge/bin/python benchmarks/pygeoapi_processes_check.py postgresql://postgres@127.0.0.1:5432/postgres

(0.21.0 is the newest release installable on Python 3.11; 0.22 and later require Python 3.12.)
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from sqlalchemy import create_engine, text

URL = sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:55999/postgres"

# The columns pygeoapi's manager writes (pygeoapi ships the table only as a test dump).
JOBS_DDL = """
DROP TABLE IF EXISTS public.jobs;
CREATE TABLE public.jobs (
  type text, process_id text, identifier text PRIMARY KEY, status text, location text, mimetype text,
  message text, progress integer, created timestamptz, started timestamptz, finished timestamptz,
  updated timestamptz, job_start_datetime timestamptz, job_end_datetime timestamptz
)
"""
LOOP_OF_APP: dict[str, Any] = {}


def verdict(name: str, ok: bool, seen: str) -> None:
    """One line of evidence."""
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {seen}")


def main() -> None:
    """Run each check and print its verdict."""
    from pygeoapi.process.base import BaseProcessor  # type: ignore[import-not-found]
    from pygeoapi.process.manager.postgresql import PostgreSQLManager  # type: ignore[import-not-found]
    from pygeoapi.util import RequestedProcessExecutionMode  # type: ignore[import-not-found]

    engine = create_engine(URL.replace("postgresql://", "postgresql+psycopg2://"))
    with engine.begin() as conn:
        for statement in JOBS_DDL.split(";"):
            if statement.strip():
                conn.execute(text(statement))

    class AsyncAnalysis(BaseProcessor):  # type: ignore[misc]
        """Our analyses are coroutines on the app's event loop, using its asyncpg pool."""

        def __init__(self, processor_def: dict[str, Any]) -> None:
            super().__init__(processor_def, {"id": "count", "jobControlOptions": ["sync-execute", "async-execute"],
                                             "outputs": {}})

        def execute(self, data: dict[str, Any], outputs: Any = None) -> tuple[str, Any]:
            time.sleep(float(data.get("sleep", 0)))
            # The only way to reach the app's pool (bound to the app's loop) from a worker thread.
            future = asyncio.run_coroutine_threadsafe(asyncio.sleep(0, result=42), LOOP_OF_APP["loop"])
            return "application/json", {"count": future.result(timeout=2)}

    sys.modules[__name__].AsyncAnalysis = AsyncAnalysis  # type: ignore[attr-defined]
    conf = {"name": "PostgreSQL", "connection": URL, "output_dir": None,
            "processes": {"count": {"processor": {"name": f"{__name__}.AsyncAnalysis"}}}}
    manager = PostgreSQLManager(conf)

    # 1. Results stored in PostgreSQL, visible to every worker?
    async def app_loop_sync() -> Any:
        LOOP_OF_APP["loop"] = asyncio.get_running_loop()
        # pygeoapi's manager is synchronous (SQLAlchemy + psycopg2): called from the app's loop it blocks
        # the loop, so the analysis, which needs that loop, can never finish.
        started = time.monotonic()
        _, _, outputs, status, _ = manager.execute_process("count", {}, RequestedProcessExecutionMode.wait)
        return status.value, outputs, time.monotonic() - started

    status, outputs, took = asyncio.run(app_loop_sync())
    verdict("sync execution of an asyncio analysis from the app's event loop", status == "successful",
            f"status={status} after {took:.1f} s (event loop blocked meanwhile); outputs={outputs}")

    async def run_async_job() -> tuple[str, Any]:
        LOOP_OF_APP["loop"] = asyncio.get_running_loop()
        job_id, *_ = manager.execute_process("count", {"sleep": 0.2}, RequestedProcessExecutionMode.respond_async)
        await asyncio.sleep(1.5)
        return job_id, manager.get_job(job_id)

    job_id, job = asyncio.run(run_async_job())
    verdict("async job finishes", job["status"] == "successful", f"status={job['status']} message={job['message']!r}")
    try:
        result = manager.get_job_result(job_id)
        verdict("results readable from PostgreSQL (no output_dir)", True, str(result))
    except Exception as exc:
        verdict("results readable from PostgreSQL (no output_dir)", False,
                f"{type(exc).__name__}; location column={job['location']!r} (results go to a file on one host's disk)")
    columns = list(manager.table_model.__table__.columns.keys())
    verdict("job has an owner (visible only to owner and admins)", any("owner" in c or "user" in c for c in columns),
            f"jobs columns: {columns}; get_jobs() takes only status/limit/offset")

    # 3. Dismiss cancels the running task?
    async def dismiss_running() -> tuple[bool, Any]:
        LOOP_OF_APP["loop"] = asyncio.get_running_loop()
        jid, *_ = manager.execute_process("count", {"sleep": 1.0}, RequestedProcessExecutionMode.respond_async)
        await asyncio.sleep(0.2)
        deleted = manager.delete_job(jid)
        await asyncio.sleep(1.5)
        with engine.connect() as conn:
            row = conn.execute(text("SELECT status FROM public.jobs WHERE identifier = :i"), {"i": jid}).first()
        return deleted, row

    deleted, row = asyncio.run(dismiss_running())
    verdict("dismiss cancels a running job and keeps it as 'dismissed'", row is not None and row[0] == "dismissed",
            f"delete_job()={deleted}; row afterwards={row} (the thread ran on; the job row was deleted)")

    # 4. A job left running by a dead worker: does a new manager notice?
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO public.jobs (type, process_id, identifier, status, message, progress) "
                          "VALUES ('process', 'count', 'dead-worker-job', 'running', 'Job running', 50)"))
    PostgreSQLManager(conf)
    status = PostgreSQLManager(conf).get_job("dead-worker-job")["status"]
    verdict("a job of a dead worker gets a truthful status on restart", status != "running",
            f"status after a new manager started: {status!r}")

    # 5. Error bodies: problem+json?
    try:
        manager.get_job("no-such-job")
    except Exception as exc:
        verdict("errors as RFC 9457 problem+json", False,
                f"{type(exc).__name__} (pygeoapi's API answers {{'code','description'}} OGC exception JSON)")


if __name__ == "__main__":
    main()
