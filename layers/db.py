"""Connections: one asyncpg pool per process, and the resolution of which server to use.

Hot paths (items, tiles) run hand-written SQL with bound parameters straight on
asyncpg; going through SQLAlchemy's async engine costs a pool checkout and a
statement compile per request, which shows at item-by-id rates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, TypeVar

import asyncpg
import orjson
from asyncpg.exceptions import AdminShutdownError, CannotConnectNowError, CrashShutdownError, TooManyConnectionsError

from layers.cluster import PrivateCluster, private_cluster
from layers.errors import DatabaseUnavailable
from layers.settings import DatabaseSettings

log = logging.getLogger("onemap.db")
T = TypeVar("T")

# What a query or a checkout raises while the server restarts, shuts down or cannot be reached.
# The API answers these with 503 and Retry-After (api/errors.py); none of them is a bug of ours.
DATABASE_OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    DatabaseUnavailable,
    asyncpg.PostgresConnectionError,  # 08xxx, including "connection was closed in the middle of operation"
    AdminShutdownError,  # 57P01: pg_ctl stop/restart -m fast terminated the session
    CrashShutdownError,  # 57P02
    CannotConnectNowError,  # 57P03: the server is starting up or shutting down
    TooManyConnectionsError,  # 53300
    ConnectionError,  # a reset or refused socket asyncpg did not wrap
)
# After one of these the connection cannot be trusted: the server may have sent FATAL and not yet
# closed the socket, leaving the protocol waiting for a ReadyForQuery that never comes. Handed to
# the next request it fails with "InternalClientError: cannot switch to state 12; another operation
# (2) is in progress", so the pool terminates it instead (see :class:`OneMapPool`).
# TargetServerAttributeNotMatched: a multi-host URL (layers/replication.py) found no primary yet,
# e.g. between the old primary's death and the standby's promotion.
_UNREACHABLE = (TimeoutError, OSError, CannotConnectNowError, AdminShutdownError, TooManyConnectionsError,
                asyncpg.PostgresConnectionError, asyncpg.TargetServerAttributeNotMatched)
_CONNECTION_SUSPECT: tuple[type[BaseException], ...] = (
    *DATABASE_OUTAGE_ERRORS, asyncpg.InternalClientError, OSError,
)


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


def is_connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` leaves the connection it came from unusable (discard it, never reuse it)."""
    return isinstance(exc, _CONNECTION_SUSPECT)


async def connect(url: str, *, timeout_s: float = 10.0) -> asyncpg.Connection:
    """One connection with One Map's codecs, or :class:`DatabaseUnavailable` with the fix."""
    try:
        conn = await asyncpg.connect(url, timeout=timeout_s)
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.TargetServerAttributeNotMatched) as exc:
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


def _lost_under_us(conn: Any, exc: BaseException) -> bool:
    """Whether ``exc``, raised in a checkout of ``conn``, says the session is gone."""
    if isinstance(exc, asyncpg.InterfaceError):
        try:
            conn.is_closed()
        except asyncpg.InterfaceError:
            return True  # detached: asyncpg returned it to the pool when the socket closed
        return conn.is_closed()  # type: ignore[no-any-return]
    return is_connection_lost(exc)


class _Checkout:
    """``pool.acquire()``: waits its turn first come, first served, and terminates the connection when
    its block failed with a lost connection.

    Turns: asyncpg's pool hands connections out through an ``asyncio.Queue``, which lets a newcomer
    take a just-released connection before the waiter it was released to has run; the waiter then
    finds the queue empty and goes to the *back* of the line. At 64 clients on a 16-connection pool a
    request could lose its place again and again (p99 ~1 s, max 3.7 s with p50 ~200 ms). A FIFO
    semaphore of the pool's size in front hands each freed place to the oldest waiter, so the queue
    below never has waiters and nobody overtakes.

    Lost connections: asyncpg's pool resets a released connection with our cheap
    :func:`_reset_connection`, which cannot see that the server already sent FATAL (restart,
    shutdown) on it; without this the dead connection would go back to the pool and fail the next
    request that takes it.
    """

    __slots__ = ("_conn", "_pool", "_timeout")

    def __init__(self, pool: OneMapPool, timeout: float | None) -> None:
        self._pool, self._timeout = pool, timeout
        self._conn: Any = None

    async def __aenter__(self) -> asyncpg.Connection:
        turns = self._pool.turns
        if self._timeout is None:
            await turns.acquire()
        else:
            async with asyncio.timeout(self._timeout):
                await turns.acquire()
        try:
            self._conn = await self._pool.checkout(self._timeout)
            return self._conn
        except BaseException:
            turns.release()
            raise

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self._release(exc_type, exc, tb)
        finally:
            self._pool.turns.release()

    async def _release(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        conn, self._conn = self._conn, None
        lost = exc is not None and _lost_under_us(conn, exc)
        if lost:
            # InterfaceError: the socket closed first and asyncpg has already handed the holder back.
            with contextlib.suppress(asyncpg.InterfaceError):
                conn.terminate()  # the holder goes back to the pool empty and reconnects on next use
        await self._pool.release(conn)
        if lost and not isinstance(exc, DATABASE_OUTAGE_ERRORS):
            # asyncpg's words for a session the server ended under us: InternalClientError "cannot
            # switch to state 12; another operation (2) is in progress" (FATAL read while the
            # connection was idle in the pool, socket not yet seen closed), or InterfaceError
            # "connection has been released back to the pool" (closed between two queries).
            # It is the outage, not our bug: say so (503), with asyncpg's words in the log.
            log.warning("discarded a pooled connection the server had ended: %s", exc)
            raise DatabaseUnavailable("the database connection was lost") from exc


class OneMapPool(asyncpg.Pool):  # type: ignore[misc]
    """asyncpg's pool, whose checkouts wait their turn in order and discard connections a server
    restart has broken (see :class:`_Checkout`)."""

    def __init__(self, *args: Any, max_size: int, **kwargs: Any) -> None:
        super().__init__(*args, max_size=max_size, **kwargs)
        self.turns = asyncio.Semaphore(max_size)  # FIFO: a freed place goes to the oldest waiter

    def acquire(self, *, timeout: float | None = None) -> Any:
        """A checkout (``async with pool.acquire() as conn``), as asyncpg's, see :class:`_Checkout`."""
        return _Checkout(self, timeout)

    async def checkout(self, timeout: float | None) -> Any:  # noqa: ASYNC109 (asyncpg's signature)
        """asyncpg's acquire (a connection proxy), done in place for an idle holder with an open connection.

        asyncpg's own goes through four coroutines to take the first holder from its queue; this takes it
        directly and sets it up as its ``acquire`` does (asyncpg 0.30-0.32, pinned in pyproject). A holder
        that must (re)connect first is put back and asyncpg's acquire does the rest.
        """
        if not self._closing and not self._closed and self._initialized and not self._queue.empty():
            holder = self._queue.get_nowait()
            con = holder._con
            if (con is not None and not con.is_closed() and holder._generation == self._generation
                    and holder._setup is None):
                holder._maybe_cancel_inactive_callback()
                holder._proxy = proxy = asyncpg.pool.PoolConnectionProxy(holder, con)
                holder._in_use = self._loop.create_future()
                holder._timeout = timeout
                return proxy
            self._queue.put_nowait(holder)
        return await self._acquire(timeout)

    async def release(self, connection: Any, *, timeout: float | None = None) -> None:  # noqa: ASYNC109 (asyncpg's)
        """asyncpg's release, done in place when it cannot be interrupted.

        asyncpg shields every release in a task of its own, so that a cancelled caller cannot leave
        a connection half-reset. That costs a task and two event-loop turns per request (6 % of an
        item by id). A connection that is open and idle outside a transaction needs no round trip to
        be reset (:func:`_reset_connection` has nothing to do), so its release is a few assignments
        with no await between them, which no cancellation can interrupt. Anything else — an open
        transaction to roll back, a connection to close, one already released — takes asyncpg's way.
        """
        if not self._releases_inline(connection):
            await super().release(connection, timeout=timeout)
            return
        # asyncpg's release, step by step, for a connection that needs no round trip (asyncpg 0.30-0.32,
        # pinned in pyproject; every checkout in the test suite comes this way). Its own holder release
        # also opens a timeout context, whose two event-loop lookups are each a getpid() system call
        # on Python 3.11 (4 % of an item by id); with nothing to await, there is nothing to time out.
        con, holder = connection._con, connection._holder
        con._on_release()  # asyncpg's check for listeners left behind
        holder._timeout = None
        con._listeners.clear()  # what asyncpg's Connection._reset does short of a ROLLBACK
        con._log_listeners.clear()
        holder._release()  # detaches the proxy and puts the holder back in the pool's queue
        holder._setup_inactive_callback()

    def _releases_inline(self, connection: Any) -> bool:
        """Whether asyncpg's holder release of ``connection`` completes without suspending.

        It suspends to roll back an open transaction, and to close a connection that has served
        ``max_queries`` or belongs to an expired generation; a closed or foreign connection, or a
        closing pool, is asyncpg's to refuse or clean up.
        """
        if type(connection) is not asyncpg.pool.PoolConnectionProxy or self._closing or self._closed:
            return False
        con, holder = connection._con, connection._holder
        return bool(
            con is not None and holder._pool is self and not con.is_closed() and not con.is_in_transaction()
            and holder._generation == self._generation and con._protocol.queries_count < holder._max_queries
        )


async def close_pool(pool: asyncpg.Pool, *, timeout_s: float = 10.0) -> None:
    """Close ``pool`` gracefully, waiting at most ``timeout_s`` for checked-out connections, then
    terminate what is left.

    asyncpg's ``Pool.close`` waits for every checked-out connection to come back, for ever: one
    connection a task still holds at shutdown (a request or background task cancelled mid-checkout)
    would hang the server's shutdown (seen once in the test suite: a module's app teardown waited
    until pytest's 300 s timeout).
    """
    try:
        await asyncio.wait_for(pool.close(), timeout_s)
    except TimeoutError:
        log.warning("the pool did not close within %.0f s (a connection was still checked out); "
                    "terminating its connections", timeout_s)
        pool.terminate()


async def _pool_connect(*args: Any, **kwargs: Any) -> asyncpg.Connection:
    """asyncpg's connect for the pool, raising :class:`DatabaseUnavailable` when the server is away.

    The cause (refused, shutting down, timed out) stays in ``__cause__`` for the log; the message
    names no host, so the API can show it.
    """
    try:
        return await asyncpg.connect(*args, **kwargs)
    except _UNREACHABLE as exc:
        raise DatabaseUnavailable(f"cannot connect to the database ({exc.__class__.__name__})") from exc


async def create_pool(url: str, settings: DatabaseSettings, *, timeout_s: float = 10.0,
                      pool_class: type[OneMapPool] = OneMapPool) -> asyncpg.Pool:
    """The process's pool. Statements are capped by ``statement_timeout_ms``.

    Connections a server restart broke are discarded at release (:class:`OneMapPool`), and new
    ones are opened on demand, so the pool recovers by itself as soon as the server is back.
    """
    pool = pool_class(
        url,
        connect=_pool_connect,
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        setup=None,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
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
    try:
        await pool
    except (DatabaseUnavailable, TimeoutError, OSError, asyncpg.PostgresError) as exc:
        pool.terminate()
        cause = exc.__cause__ if isinstance(exc, DatabaseUnavailable) and exc.__cause__ else exc
        raise DatabaseUnavailable(_explain_connect_error(url, cause)) from cause
    return pool


async def when_up(step: Callable[[], Awaitable[T]], *, wait_s: float = math.inf, what: str = "database") -> T:
    """Run ``step``, again and again while the database is unreachable (a worker started mid-outage).

    A supervisor replaces a crashed worker at once; if the database is down then, the replacement
    waits here (not serving, so the other workers take the traffic) instead of failing its start-up,
    which would make uvicorn stop the whole service. Errors that do not fix themselves (a wrong
    URL, database or password) are raised at once; ``wait_s`` bounds the wait.
    """
    deadline = asyncio.get_running_loop().time() + wait_s
    delay = 0.25
    while True:
        try:
            return await step()
        except DATABASE_OUTAGE_ERRORS as exc:
            cause = exc.__cause__ if isinstance(exc, DatabaseUnavailable) else exc
            if not isinstance(cause, _UNREACHABLE + DATABASE_OUTAGE_ERRORS[1:]):
                raise
            if asyncio.get_running_loop().time() + delay > deadline:
                raise
            log.warning("%s: database not reachable (%s); retrying in %.2f s", what, cause.__class__.__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


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
