"""Releasing a pooled connection (layers/db.py ``OneMapPool.release``): done in place when there is
nothing to undo, asyncpg's shielded way when there is (issue 15, item by id)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from layers.db import OneMapPool, create_pool
from layers.settings import DatabaseSettings


@pytest.fixture
async def pool(shared_db_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(shared_db_url, DatabaseSettings(pool_min_size=1, pool_max_size=1))
    assert isinstance(pool, OneMapPool)
    yield pool
    await pool.close()


async def _turns_during_exit(pool: asyncpg.Pool, body: str | None) -> tuple[bool, int]:
    """(whether the event loop ran other callbacks while the block was left, the backend's pid)."""
    ran = asyncio.Event()
    async with pool.acquire() as conn:
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        if body:
            await conn.execute(body)
        asyncio.get_running_loop().call_soon(ran.set)
    return ran.is_set(), pid


async def test_an_idle_connection_is_released_without_yielding(pool: asyncpg.Pool) -> None:
    yielded, pid = await _turns_during_exit(pool, None)
    assert not yielded  # no task and no event-loop turn: asyncpg's shield would have let ran.set run
    assert pool.get_idle_size() == 1
    async with pool.acquire() as again:  # the same connection, usable
        assert await again.fetchval("SELECT pg_backend_pid()") == pid
        assert not again.is_in_transaction()


async def test_a_connection_left_in_a_transaction_is_rolled_back(pool: asyncpg.Pool) -> None:
    yielded, pid = await _turns_during_exit(pool, "BEGIN; CREATE TEMP TABLE left_open (x int)")
    assert yielded  # asyncpg's release, which sends the ROLLBACK
    async with pool.acquire() as again:
        assert await again.fetchval("SELECT pg_backend_pid()") == pid
        assert not again.is_in_transaction()
        assert await again.fetchval("SELECT to_regclass('pg_temp.left_open')") is None  # rolled back


async def test_a_released_proxy_cannot_be_used_again(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await conn.fetchval("SELECT 1")
    with pytest.raises(asyncpg.InterfaceError):
        await conn.fetchval("SELECT 1")
    await pool.release(conn)  # releasing twice is a no-op, as with asyncpg's pool


async def test_a_connection_at_its_query_limit_is_closed_and_replaced(shared_db_url: str) -> None:
    pool = await create_pool(shared_db_url, DatabaseSettings(pool_min_size=1, pool_max_size=1))
    try:
        async with pool.acquire() as conn:
            first = await conn.fetchval("SELECT pg_backend_pid()")
            conn._holder._max_queries = 1  # as if it had served max_queries: asyncpg closes it on release
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT pg_backend_pid()") != first
    finally:
        await pool.close()


async def test_a_connection_the_server_closed_while_idle_is_replaced(pool: asyncpg.Pool, shared_db_url: str) -> None:
    async with pool.acquire() as conn:
        pid = await conn.fetchval("SELECT pg_backend_pid()")
    other = await asyncpg.connect(shared_db_url)
    try:
        assert await other.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await other.close()
    for _ in range(50):  # until the pool's connection has seen its socket close
        await asyncio.sleep(0.02)
        if pool._holders[0]._con is None or pool._holders[0]._con.is_closed():
            break
    async with pool.acquire() as conn:  # asyncpg's acquire reconnects the holder
        assert await conn.fetchval("SELECT pg_backend_pid()") != pid
