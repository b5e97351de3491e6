"""Pool checkouts are served first come, first served: a request that waits for a connection is never
overtaken by one that asked later (asyncpg's own queue lets a newcomer take a just-released connection,
which sent the waiter to the back of the line: the tail at 64 clients, issue 15)."""

from __future__ import annotations

import asyncio
import random

from layers.db import create_pool
from layers.settings import DatabaseSettings


async def test_checkouts_are_granted_in_the_order_they_were_asked_for(shared_db_url: str) -> None:
    pool = await create_pool(shared_db_url, DatabaseSettings(pool_min_size=2, pool_max_size=2))
    asked: list[int] = []
    granted: list[int] = []
    rng = random.Random(15)

    async def request(n: int) -> None:
        asked.append(n)
        async with pool.acquire() as conn:
            granted.append(n)
            await conn.fetchval("SELECT pg_sleep($1::float8)", rng.random() / 500)

    try:
        tasks: list[asyncio.Task[None]] = []
        for n in range(120):
            tasks.append(asyncio.create_task(request(n)))
            # Newcomers arrive while connections are being handed back: sometimes at once, sometimes
            # a little later, as requests reach a busy server.
            await asyncio.sleep(rng.choice((0, 0, 0.0005, 0.002)))
        await asyncio.gather(*tasks)
    finally:
        await pool.close()
    assert sorted(granted) == asked  # every request served once
    overtaken = [n for i, n in enumerate(granted) if any(m > n for m in granted[:i])]
    assert granted == asked, f"{len(overtaken)} requests were overtaken by later ones, e.g. {overtaken[:5]}"
