"""Bring a database to the current schema: Alembic migrations, then the built-in layers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from importlib import resources

import asyncpg
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from layers.cluster import postgis_install_hint
from layers.db import connect
from layers.errors import PostgisMissing
from layers.registry import sync_builtin


def alembic_config(url: str) -> Config:
    """An Alembic configuration for the migrations in ``layers/migrations`` against ``url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("layers") / "migrations"))
    cfg.set_main_option("sqlalchemy.url", to_sqlalchemy_url(url).replace("%", "%%"))
    return cfg


def to_sqlalchemy_url(url: str) -> str:
    """``url`` with the asyncpg driver named, as SQLAlchemy wants it; other URLs unchanged."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    return url


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    """Where a database's schema stands: its revision, the newest one, and its PostGIS version."""
    current: str | None
    head: str
    postgis: str | None

    @property
    def up_to_date(self) -> bool:
        """Whether the database is at the newest revision."""
        return self.current == self.head


async def check_postgis(conn: asyncpg.Connection) -> None:
    """Raise :class:`PostgisMissing` with the install command when the server lacks PostGIS."""
    available = await conn.fetchval("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")
    if not available:
        major = int(await conn.fetchval("SHOW server_version_num")) // 10000
        raise PostgisMissing(
            f"the PostgreSQL {major} server has no PostGIS extension; install it on the server with "
            f"`{postgis_install_hint(major)}`"
        )


async def schema_status(url: str) -> SchemaStatus:
    """The schema revision, newest revision and PostGIS version of the database at ``url``."""
    conn = await connect(url)
    try:
        has_table = await conn.fetchval("SELECT to_regclass('onemap.alembic_version') IS NOT NULL")
        current = await conn.fetchval("SELECT version_num FROM onemap.alembic_version") if has_table else None
        postgis = await conn.fetchval(
            "SELECT extversion FROM pg_extension WHERE extname = 'postgis'"
        )
    finally:
        await conn.close()
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head is not None
    return SchemaStatus(current=current, head=head, postgis=postgis)


async def migrate(url: str) -> list[str]:
    """Upgrade to the newest revision and sync built-in layers; return changed layer ids.

    Alembic's environment runs its own event loop, so it goes to a worker thread.
    """
    conn = await connect(url)
    try:
        await check_postgis(conn)
    finally:
        await conn.close()
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    conn = await connect(url)
    try:
        return await sync_builtin(conn)
    finally:
        await conn.close()


def current_revision(sync_conn: object) -> str | None:
    """The Alembic revision recorded in ``onemap.alembic_version`` (None for an empty database)."""
    ctx = MigrationContext.configure(sync_conn, opts={"version_table_schema": "onemap"})  # type: ignore[arg-type]
    return ctx.get_current_revision()
