"""A committed test layer on a fresh database: the feed numbers transactions at COMMIT, so its tests
cannot run inside a rolled-back transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from layers.db import connect
from layers.model import Layer, LayerDef
from layers.registry import register_layer
from tests.layers.conftest import TEST_LAYER


@pytest.fixture
async def conn(fresh_db_url: str) -> AsyncIterator[asyncpg.Connection]:
    c = await connect(fresh_db_url)
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture
async def sites(conn: asyncpg.Connection) -> Layer:
    async with conn.transaction():
        return await register_layer(conn, LayerDef.model_validate(TEST_LAYER))
