"""OGC API Processes over ``analysis.catalogue.PROCESSES``: routes, execution and jobs in PostgreSQL.

``processes_router()`` is mounted in ``create_app``; :func:`start_jobs`/:func:`stop_jobs` run in
its lifespan (the job runner's lease, and the sweep that fails jobs of dead workers).
"""

from __future__ import annotations

from fastapi import FastAPI

from api.context import AppContext
from api.processes.routes import processes_router
from api.processes.runner import JobRunner

__all__ = ["processes_router", "start_jobs", "stop_jobs"]


async def start_jobs(app: FastAPI, ctx: AppContext) -> None:
    """Start this process's job runner (``app.state.jobs``)."""
    runner = JobRunner(ctx)
    await runner.start()
    app.state.jobs = runner


async def stop_jobs(app: FastAPI) -> None:
    """Stop the runner: running jobs are cancelled and recorded failed."""
    runner: JobRunner | None = getattr(app.state, "jobs", None)
    if runner is not None:
        await runner.stop()
