"""A committed database per module with the hand-built networks, and a pool as the API has one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from layers.db import connect, create_pool
from layers.settings import DatabaseSettings
from tests.analysis import networks
from tests.analysis.networks import Built


@pytest.fixture(scope="module")
async def pool(module_db_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(module_db_url, DatabaseSettings(database_url=module_db_url, pool_min_size=1,
                                                          pool_max_size=4))
    try:
        yield p
    finally:
        await p.close()


@pytest.fixture(scope="module")
async def water(module_db_url: str) -> Built:
    conn = await connect(module_db_url)
    try:
        return await networks.write(conn, "water", points=networks.WATER_POINTS, segments=networks.WATER_SEGMENTS)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
async def storm(module_db_url: str) -> Built:
    conn = await connect(module_db_url)
    try:
        return await networks.write(conn, "storm", points=networks.STORM_POINTS, segments=networks.STORM_SEGMENTS)
    finally:
        await conn.close()
