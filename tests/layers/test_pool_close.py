"""Closing the pool at shutdown is bounded: a connection still checked out (a task cancelled
mid-request) must not hang the server's shutdown, as asyncpg's own ``Pool.close`` would."""

from __future__ import annotations

import asyncio
import time

from layers.db import close_pool, connect, create_pool
from layers.settings import DatabaseSettings


async def test_a_connection_never_handed_back_does_not_hang_closing_the_pool(shared_db_url: str) -> None:
    pool = await create_pool(shared_db_url, DatabaseSettings(pool_min_size=1, pool_max_size=2))
    held = await pool.acquire().__aenter__()  # never handed back, as by a task lost mid-checkout
    pid = held.get_server_pid()
    # asyncpg alone waits for it for ever.
    try:
        await asyncio.wait_for(asyncio.shield(pool.close()), 0.3)
        raise AssertionError("asyncpg's close returned while a connection was checked out")
    except TimeoutError:
        pass
    started = time.monotonic()
    await close_pool(pool, timeout_s=0.5)
    assert time.monotonic() - started < 5
    assert pool.is_closing()
    # Its server session is gone too (terminated, not left idle on the server).
    conn = await connect(shared_db_url)
    try:
        for _ in range(50):
            if not await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"backend {pid} still there")
    finally:
        await conn.close()


async def test_an_idle_pool_closes_gracefully(shared_db_url: str) -> None:
    pool = await create_pool(shared_db_url, DatabaseSettings(pool_min_size=1, pool_max_size=2))
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT 1") == 1
    await close_pool(pool, timeout_s=5)
    assert pool.is_closing()
