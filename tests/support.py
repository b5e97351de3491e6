"""Shared test plumbing: a real PostGIS for the session, template databases, clones per module."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from layers.cluster import PrivateCluster
from layers.db import connect

# The real open data the repository carries (sample/data, with SOURCES.md and licences).
SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample" / "data"


def with_database(url: str, name: str) -> str:
    """``url`` pointed at database ``name`` (keeps host, port, user and query)."""
    scheme, rest = url.split("://", 1)
    authority, _, tail = rest.partition("/")
    query = tail.partition("?")[2]
    return f"{scheme}://{authority}/{name}" + (f"?{query}" if query else "")


class TestServer:
    """A PostgreSQL server for the test session: a throwaway cluster, or ONEMAP_DATABASE_URL's server."""

    def __init__(self) -> None:
        self.cluster: PrivateCluster | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.admin_url = ""
        self.tag = uuid.uuid4().hex[:8]

    def start(self) -> None:
        external = os.environ.get("ONEMAP_DATABASE_URL")
        if external:
            self.admin_url = external
            return
        self._tmp = tempfile.TemporaryDirectory(prefix="onemap-test-")
        self.cluster = PrivateCluster(Path(self._tmp.name) / "pg", throwaway=True)
        self.cluster.init()
        self.cluster.start()
        self.admin_url = self.cluster.url("postgres")

    def stop(self) -> None:
        if self.cluster is not None:
            self.cluster.destroy()
        if self._tmp is not None:
            self._tmp.cleanup()

    def url(self, database: str) -> str:
        return with_database(self.admin_url, database)

    async def create_database(self, name: str, *, template: str | None = None) -> str:
        conn = await connect(self.admin_url)
        try:
            tmpl = f' TEMPLATE "{template}"' if template else ""
            await conn.execute(f'CREATE DATABASE "{name}"{tmpl}')
        finally:
            await conn.close()
        return self.url(name)

    async def drop_database(self, name: str) -> None:
        conn = await connect(self.admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    def new_name(self, purpose: str) -> str:
        return f"onemap_test_{self.tag}_{purpose}_{uuid.uuid4().hex[:6]}"[:63]


@asynccontextmanager
async def rolled_back(url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection inside a transaction that is always rolled back."""
    conn = await connect(url)
    tx = conn.transaction()
    await tx.start()
    try:
        yield conn
    finally:
        await tx.rollback()
        await conn.close()
