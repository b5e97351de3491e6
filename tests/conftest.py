"""Session-wide real PostGIS: a throwaway cluster (or ONEMAP_DATABASE_URL), migrated once into a
template; tests get clones of the template or a rolled-back transaction on a shared clone."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from layers.db import connect
from layers.migrate import migrate
from layers.registry import Registry
from tests.support import TestServer, rolled_back


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TestServer]:
    server = TestServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def template_db(pg_server: TestServer) -> AsyncIterator[str]:
    """A database migrated to head with every built-in layer; never written to directly."""
    name = pg_server.new_name("tmpl")
    url = await pg_server.create_database(name)
    await migrate(url)
    yield name
    await pg_server.drop_database(name)


@pytest.fixture(scope="session")
async def shared_db_url(pg_server: TestServer, template_db: str) -> AsyncIterator[str]:
    """One clone shared by tests that run inside a rolled-back transaction."""
    name = pg_server.new_name("shared")
    url = await pg_server.create_database(name, template=template_db)
    yield url
    await pg_server.drop_database(name)


@pytest.fixture
async def db(shared_db_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection whose every change is rolled back after the test."""
    async with rolled_back(shared_db_url) as conn:
        yield conn


@pytest.fixture
async def registry(db: asyncpg.Connection) -> Registry:
    return await Registry.load(db)


@pytest.fixture(scope="module")
async def module_db_url(pg_server: TestServer, template_db: str) -> AsyncIterator[str]:
    """A fresh clone for one test module, for tests that must commit (API, notify, kill -9)."""
    name = pg_server.new_name("mod")
    url = await pg_server.create_database(name, template=template_db)
    yield url
    await pg_server.drop_database(name)


@pytest.fixture
async def fresh_db_url(pg_server: TestServer, template_db: str) -> AsyncIterator[str]:
    """A fresh clone for one test."""
    name = pg_server.new_name("fn")
    url = await pg_server.create_database(name, template=template_db)
    yield url
    await pg_server.drop_database(name)


@pytest.fixture
async def committed_conn(fresh_db_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await connect(fresh_db_url)
    try:
        yield conn
    finally:
        await conn.close()
