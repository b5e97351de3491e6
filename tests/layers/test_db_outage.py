"""A server that ends sessions (restart, shutdown, pg_terminate_backend) costs at most the requests
that held them: the pool discards those connections, and LISTEN connections come back by themselves."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from layers.db import DATABASE_OUTAGE_ERRORS, connect, create_pool, is_connection_lost, when_up
from layers.errors import DatabaseUnavailable
from layers.listener import Listener
from layers.settings import DatabaseSettings


async def _terminate(admin: asyncpg.Connection, pid: int) -> None:
    assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)


async def test_a_connection_the_server_ended_is_discarded_not_reused(fresh_db_url: str) -> None:
    pool = await create_pool(fresh_db_url, DatabaseSettings(pool_min_size=1, pool_max_size=1))
    admin = await connect(fresh_db_url)
    try:
        with pytest.raises(DATABASE_OUTAGE_ERRORS):
            async with pool.acquire() as conn:
                ended = conn.get_server_pid()
                await _terminate(admin, ended)
                await asyncio.sleep(0.05)  # let the FATAL arrive
                await conn.fetchval("SELECT 1")
        # The one pooled connection was replaced: the next checkout works, on a new backend.
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT 41 + 1") == 42
            assert conn.get_server_pid() != ended
    finally:
        await admin.close()
        await pool.close()


async def test_idle_pooled_connections_ended_by_the_server_never_fail_a_query_twice(fresh_db_url: str) -> None:
    pool = await create_pool(fresh_db_url, DatabaseSettings(pool_min_size=3, pool_max_size=3))
    admin = await connect(fresh_db_url)
    try:
        pids = await admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'onemap'"
        )
        assert len(pids) == 3
        for row in pids:
            await _terminate(admin, row["pid"])
        failures = []
        for _ in range(6):
            try:
                async with pool.acquire() as conn:
                    assert await conn.fetchval("SELECT 1") == 1
            except DATABASE_OUTAGE_ERRORS as exc:  # anything else (InternalClientError) fails the test
                failures.append(exc)
        assert len(failures) <= 3  # at most once per ended connection; then fresh ones
        async with pool.acquire() as conn:
            assert conn.get_server_pid() not in {r["pid"] for r in pids}
    finally:
        await admin.close()
        await pool.close()


async def test_an_unreachable_server_is_database_unavailable(fresh_db_url: str) -> None:
    dead = fresh_db_url.replace(fresh_db_url.split("@")[1].split("/")[0], "127.0.0.1:9")  # discard port
    with pytest.raises(DatabaseUnavailable, match="Is PostgreSQL running"):
        await create_pool(dead, DatabaseSettings(pool_min_size=1, pool_max_size=1))
    assert is_connection_lost(ConnectionResetError()) and not is_connection_lost(ValueError())


async def test_a_listener_reconnects_and_catches_up_after_its_session_ends(fresh_db_url: str) -> None:
    heard: list[str] = []
    events: list[str] = []

    async def back() -> None:
        events.append("back")

    listener = Listener(fresh_db_url, {"onemap_test": lambda _c, _p, _ch, payload: heard.append(payload)},
                        name="test", on_lost=lambda: events.append("lost"), on_back=back)
    await listener.start()
    admin = await connect(fresh_db_url)
    try:
        assert listener._conn is not None
        await _terminate(admin, listener._conn.get_server_pid())
        for _ in range(200):
            if listener.reconnects == 1:
                break
            await asyncio.sleep(0.02)
        assert listener.listening and events == ["lost", "back"]
        await admin.execute("NOTIFY onemap_test, 'after'")
        for _ in range(100):
            if heard:
                break
            await asyncio.sleep(0.02)
        assert heard == ["after"]
    finally:
        await admin.close()
        await listener.stop()
    assert not listener.listening


async def test_when_up_retries_an_unreachable_server_but_not_a_wrong_database(fresh_db_url: str) -> None:
    settings = DatabaseSettings(pool_min_size=1, pool_max_size=1)
    dead = fresh_db_url.replace(fresh_db_url.split("@")[1].split("/")[0], "127.0.0.1:9")
    attempts = 0

    async def dead_pool() -> asyncpg.Pool:
        nonlocal attempts
        attempts += 1
        return await create_pool(dead, settings)

    started = asyncio.get_running_loop().time()
    with pytest.raises(DatabaseUnavailable):
        await when_up(dead_pool, wait_s=1.0)
    assert attempts >= 3 and asyncio.get_running_loop().time() - started < 3

    missing = fresh_db_url.rsplit("/", 1)[0] + "/no_such_database"
    attempts = 0

    async def missing_pool() -> asyncpg.Pool:
        nonlocal attempts
        attempts += 1
        return await create_pool(missing, settings)

    with pytest.raises(DatabaseUnavailable, match="does not exist"):
        await when_up(missing_pool, wait_s=10.0)
    assert attempts == 1  # a wrong name does not fix itself: no waiting

    pool = await when_up(lambda: create_pool(fresh_db_url, settings), wait_s=1.0)
    await pool.close()
