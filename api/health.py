"""Health checks for load balancers: liveness (the process answers) and readiness (the database does).

``/health`` (api/app.py) stays the full check people read. HAProxy asks ``/health/ready`` every
second or two and takes an instance out of rotation while it answers 503 (database unreachable).
Readiness also reports replication: the standbys the primary streams to, with their replay lag, and
this process's read routing (layers/routing.py), the replica lag metric.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from api.context import AppContext, get_context
from layers.db import connect
from layers.errors import DatabaseUnavailable
from layers.replication import standbys
from layers.routing import RoutedPool

router = APIRouter(tags=["system"])
READY_TIMEOUT_S = 2.0


@router.get("/health/live", summary="Liveness: the process answers (no database call)")
async def live() -> dict[str, str]:
    """Always ``ok`` while the worker's event loop runs."""
    return {"status": "ok"}


@router.get("/health/ready", summary="Readiness: the primary database answers; replication lag")
async def ready(ctx: Annotated[AppContext, Depends(get_context)]) -> dict[str, Any]:
    """``ready`` with the primary's standbys and this process's read routing, or 503 when the primary is away."""
    try:
        streaming = await _primary_standbys(ctx)
    except TimeoutError:
        raise DatabaseUnavailable("the database did not answer within 2 s") from None
    return {
        "status": "ready",
        "standbys": streaming,
        "routing": ctx.pool.status() if isinstance(ctx.pool, RoutedPool) else None,
    }


async def _primary_standbys(ctx: AppContext) -> list[dict[str, object]]:
    """The primary's standbys, read on a pooled connection or, if every one is busy, on one of our own.

    A pool whose connections are all serving requests is a busy instance, not a lost database: answering
    503 then would make the load balancer drop every busy instance at once under load. So a checkout that
    times out is followed by a direct connection, which fails only when the database really does not answer.
    """
    pool = ctx.pool
    checkout = pool.primary_acquire() if isinstance(pool, RoutedPool) else pool.acquire()
    try:
        async with asyncio.timeout(READY_TIMEOUT_S), checkout as conn:
            return await standbys(conn)
    except TimeoutError:
        pass
    async with asyncio.timeout(READY_TIMEOUT_S):
        try:
            conn = await connect(ctx.database_url, timeout_s=READY_TIMEOUT_S)
        except DatabaseUnavailable:
            raise DatabaseUnavailable("the database does not accept connections") from None
        try:
            return await standbys(conn)
        finally:
            await conn.close()
