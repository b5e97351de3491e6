"""Running a process: synchronously in the request, or as a job (an asyncio task in this process).

A job's state lives in ``onemap.jobs`` (:mod:`layers.jobs`), so any worker answers its status.
The task runs on the serving process's event loop with the app's asyncpg pool, as the analyses
expect. Whatever the analysis raises, the job ends ``failed`` with a message the caller may see
(bad input: what was wrong; anything else: an incident id, the trace going to the log only).

Dismissing a job cancels its task when this process runs it; a job running in another worker
sees the dismissal at its next progress report (the update finds it no longer running) and stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from typing import Any

from analysis.contract import JSON, InvalidInput, ProcessContext, ProcessDefinition
from api.context import AppContext
from api.errors import ApiError
from api.processes.execute_request import ExecuteRequest, InvalidExecuteRequest
from layers.db import DATABASE_OUTAGE_ERRORS
from layers.jobs import (
    Job,
    WorkerLease,
    create_job,
    dismiss_job,
    fail_job,
    fail_orphaned_jobs,
    finish_job,
    report_progress,
    start_job,
)
from layers.principals import Principal

log = logging.getLogger("onemap.processes")
STOPPED = "the server stopped while this job ran; run it again"


class ProcessFailed(ApiError):
    """422: the analysis could not produce a result for this request (the incident is logged)."""

    status = 422
    type_slug = "process-failed"
    title = "The process failed"


class JobDismissed(Exception):
    """Raised inside a job's task when its row says it was dismissed (possibly by another worker)."""


def readable_for(ctx: AppContext, principal: Principal) -> Callable[[str], bool]:
    """``ProcessContext.readable`` for a caller: may they read this layer id (now)?"""

    def readable(layer_id: str) -> bool:
        layer = ctx.registry.find(layer_id)
        return layer is not None and principal.can_read(layer)

    return readable


async def _no_progress(_percent: int, _message: str) -> None:
    return None


def failure_of(exc: BaseException, *, process_id: str) -> tuple[str, dict[str, Any]]:
    """(message, problem document) recorded for a job that raised ``exc``."""
    if isinstance(exc, InvalidInput):
        return str(exc), {"type": "/problems/invalid-input", "title": "Invalid process input", "status": 400,
                          "detail": str(exc), "input": exc.input_name}
    if isinstance(exc, DATABASE_OUTAGE_ERRORS):
        message = "the database was unavailable while the job ran; run it again"
        return message, {"type": "/problems/database-unavailable", "title": "The database is not reachable",
                         "status": 503, "detail": message}
    incident = uuid.uuid4().hex[:12]
    log.error("process %s failed (incident %s)", process_id, incident, exc_info=exc)
    message = f"the analysis failed unexpectedly; the error was logged as incident {incident}"
    return message, {"type": "/problems/process-failed", "title": "The process failed", "status": 422,
                     "detail": message, "incident": incident}


async def run_sync(ctx: AppContext, definition: ProcessDefinition, inputs: JSON, principal: Principal) -> JSON:
    """Run ``definition`` in the request and return its outputs.

    Raises:
        InvalidExecuteRequest: 400 naming the input the analysis refused.
        ProcessFailed: 422 for any other failure of the analysis (logged with an incident id).
    """
    context = ProcessContext(pool=ctx.pool, readable=readable_for(ctx, principal), progress=_no_progress)
    try:
        results = await definition.run(context, inputs)
    except InvalidInput as exc:
        raise InvalidExecuteRequest(str(exc), input_name=exc.input_name) from None
    except DATABASE_OUTAGE_ERRORS:
        raise  # 503 with Retry-After (api/errors.py)
    except Exception as exc:
        _, problem = failure_of(exc, process_id=definition.id)
        raise ProcessFailed(problem["detail"], extra={"incident": problem["incident"]}) from None
    if not isinstance(results, dict):
        raise ProcessFailed(f"{definition.id} returned no outputs")
    return results


class JobRunner:
    """The jobs this process runs: their tasks, and the lease that tells others this process lives."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.lease = WorkerLease(ctx.database_url)
        self.tasks: dict[uuid.UUID, asyncio.Task[None]] = {}

    async def start(self) -> None:
        """Take the lease, then fail the jobs of workers that died (their lease is free)."""
        await self.lease.hold()
        async with self.ctx.pool.acquire() as conn:
            orphans = await fail_orphaned_jobs(conn)
        if orphans:
            log.warning("%d job(s) of a stopped server process marked failed", orphans)

    async def stop(self) -> None:
        """Cancel this process's running jobs, record them failed, and release the lease."""
        tasks = list(self.tasks.items())
        for _, task in tasks:
            task.cancel()
        for job_id, task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):  # stopping: nothing to report to
                await task
            try:
                async with self.ctx.pool.acquire() as conn:
                    await fail_job(conn, job_id=job_id, message=STOPPED,
                                   failure={"type": "/problems/worker-stopped", "status": 422, "detail": STOPPED})
            except DATABASE_OUTAGE_ERRORS:
                pass  # the lease goes with the process, so the next sweep fails the job
        await self.lease.release()

    async def submit(self, definition: ProcessDefinition, request: ExecuteRequest, principal: Principal) -> Job:
        """Record an ``accepted`` job and start its task; returns the job as recorded."""
        worker = await self.lease.hold()
        async with self.ctx.pool.acquire() as conn:
            job = await create_job(conn, job_id=uuid.uuid4(), process_id=definition.id, owner=principal.name,
                                   inputs=request.inputs, outputs=request.outputs, response=request.response,
                                   worker=worker)
        task = asyncio.get_running_loop().create_task(self._run(job.id, definition, request.inputs, principal))
        self.tasks[job.id] = task
        task.add_done_callback(lambda _t: self.tasks.pop(job.id, None))
        return job

    async def dismiss(self, job_id: uuid.UUID) -> Job | None:
        """Mark the job dismissed (results dropped) and cancel its task if it runs here."""
        async with self.ctx.pool.acquire() as conn:
            job = await dismiss_job(conn, job_id=job_id)
        task = self.tasks.get(job_id)
        if task is not None:
            task.cancel()
        return job

    async def _run(self, job_id: uuid.UUID, definition: ProcessDefinition, inputs: JSON,
                   principal: Principal) -> None:
        pool = self.ctx.pool

        async def progress(percent: int, message: str) -> None:
            async with pool.acquire() as conn:
                if not await report_progress(conn, job_id=job_id, percent=percent, message=message):
                    raise JobDismissed(str(job_id))

        try:
            async with pool.acquire() as conn:
                if not await start_job(conn, job_id=job_id):
                    return
            context = ProcessContext(pool=pool, readable=readable_for(self.ctx, principal), progress=progress)
            results = await definition.run(context, inputs)
            if not isinstance(results, dict):
                raise TypeError(f"{definition.id} returned {type(results).__name__}, not a dict of outputs")
            async with pool.acquire() as conn:
                await finish_job(conn, job_id=job_id, results=results)
        except JobDismissed:
            return
        except Exception as exc:
            message, problem = failure_of(exc, process_id=definition.id)
            try:
                async with pool.acquire() as conn:
                    await fail_job(conn, job_id=job_id, message=message, failure=problem)
            except DATABASE_OUTAGE_ERRORS:
                log.warning("job %s failed and could not be recorded (database unavailable)", job_id)
