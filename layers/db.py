"""Connections: one asyncpg pool per process, and the resolution of which server to use.

Hot paths (items, tiles) run hand-written SQL with bound parameters straight on
asyncpg; going through SQLAlchemy's async engine costs a pool checkout and a
statement compile per request, which shows at item-by-id rates.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson

from layers.cluster import PrivateCluster, private_cluster
from layers.errors import DatabaseUnavailable
from layers.settings import DatabaseSettings


def resolve_database_url(settings: DatabaseSettings) -> str:
    """The URL to use: ``ONEMAP_DATABASE_URL`` if set, else the private cluster's.

    Raises:
        DatabaseUnavailable: when no URL is set and the private cluster is not running.
    """
    if settings.database_url:
        return settings.database_url
    cluster = private_cluster(settings.var_dir)
    state = cluster.status()
    if state != "running":
        raise DatabaseUnavailable(
            f"ONEMAP_DATABASE_URL is not set and the private cluster in {cluster.root} is {state}. "
            "Start it with `onemap db start` (or `make demo`), or set ONEMAP_DATABASE_URL."
        )
    return cluster.url()


def cluster_for(settings: DatabaseSettings) -> PrivateCluster | None:
    """The private cluster backing these settings, or None when a URL is configured."""
    return None if settings.database_url else private_cluster(settings.var_dir)


def redact_url(url: str) -> str:
    """``url`` with any password replaced, for messages and logs."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}{':***' if ':' in creds else ''}@{host}"


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename,
            encoder=lambda v: orjson.dumps(v).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
        )


async def connect(url: str, *, timeout_s: float = 10.0) -> asyncpg.Connection:
    """One connection with One Map's codecs, or :class:`DatabaseUnavailable` with the fix."""
    try:
        conn = await asyncpg.connect(url, timeout=timeout_s)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise DatabaseUnavailable(_explain_connect_error(url, exc)) from exc
    await _init_connection(conn)
    return conn


async def _reset_connection(conn: asyncpg.Connection) -> None:
    """Cheap hand-back to the pool: only a left-open transaction needs undoing.

    asyncpg's default reset (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL) costs a
    round trip per request; One Map never sets session state on pooled connections.
    """
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def create_pool(url: str, settings: DatabaseSettings, *, timeout_s: float = 10.0) -> asyncpg.Pool:
    """The process's pool. Statements are capped by ``statement_timeout_ms``."""
    try:
        pool = await asyncpg.create_pool(
            url,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            init=_init_connection,
            reset=_reset_connection,
            timeout=timeout_s,
            server_settings={
                "statement_timeout": str(settings.statement_timeout_ms),
                "application_name": "onemap",
                "jit": "off",
            },
        )
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise DatabaseUnavailable(_explain_connect_error(url, exc)) from exc
    assert pool is not None
    return pool


def _explain_connect_error(url: str, exc: BaseException) -> str:
    where = redact_url(url)
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return f"the database in {where} does not exist; create it, or run `onemap db init`"
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError | asyncpg.InvalidPasswordError):
        return f"the server at {where} refused the credentials: {exc}"
    if isinstance(exc, ConnectionRefusedError | OSError):
        return (
            f"nothing answers at {where} ({exc.__class__.__name__}). Is PostgreSQL running? "
            "Start the private cluster with `onemap db start`, or fix ONEMAP_DATABASE_URL."
        )
    if isinstance(exc, asyncio.TimeoutError):
        return f"connecting to {where} timed out"
    return f"cannot connect to {where}: {exc.__class__.__name__}"


@asynccontextmanager
async def connection(url: str) -> AsyncIterator[asyncpg.Connection]:
    """A single connection to ``url``, closed when the block ends."""
    conn = await connect(url)
    try:
        yield conn
    finally:
        await conn.close()


async def fetch_scalar(conn: asyncpg.Connection, sql: str, *args: Any) -> Any:
    """The first column of the first row of ``sql`` (None if no row)."""
    return await conn.fetchval(sql, *args)


async def postgis_version(conn: asyncpg.Connection) -> str | None:
    """The installed PostGIS extension's version, or None when it is missing (the health check)."""
    version: str | None = await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
    return version
