"""Read routing: reads that may be slightly stale go to a hot standby, everything else to the primary.

One place decides, per checkout, which server a connection comes from: :class:`RoutedPool`, the
process's pool (a :class:`~layers.db.OneMapPool` on the primary) holding a second pool on the
standby. Code that takes connections does not change; the API marks a request as a stale-tolerant
read (:data:`READ_INTENT`, set by api/replica_routing.py) and only checkouts made by that request's
own task may go to the standby, so background work it starts (audit writer, jobs) stays on the
primary.

A checkout goes to the standby only when the standby has replayed

* the caller's own last write (read-your-writes: the ``OneMap-LSN`` the write answered), waiting up
  to ``replica_max_wait_ms`` for it, and
* every edit this process has heard of (:meth:`RoutedPool.fence`, called on each ``onemap_edits``
  notification): a tile dropped because of an edit is never rendered again from a standby that
  has not seen the edit yet, which would put the stale tile back in the cache.

Otherwise, or when the standby is unreachable, the primary serves. The replay position is polled
(a cheap ``pg_last_wal_replay_lsn()``), which also gives the replica lag metric.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from contextvars import ContextVar, Token
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import asyncpg

from layers.db import OneMapPool, create_pool, redact_url
from layers.replication import Lsn, current_lsn, replay_lsn
from layers.settings import DatabaseSettings

log = logging.getLogger("onemap.db")
POLL_S = 0.02
_CAUGHT_UP = 1 << 62  # a promoted standby replays nothing: it is as current as can be


@dataclass(frozen=True, slots=True)
class ReadIntent:
    """This request's reads may come from the standby once it has replayed ``min_lsn``."""

    min_lsn: int
    task: asyncio.Task[Any] | None


READ_INTENT: ContextVar[ReadIntent | None] = ContextVar("onemap_read_intent", default=None)


def mark_read(min_lsn: int = 0) -> Token[ReadIntent | None]:
    """Let the current task's checkouts use the standby (after ``min_lsn`` is replayed there).

    Returns the token that ends the mark (``READ_INTENT.reset``) when the request is done.
    """
    return READ_INTENT.set(ReadIntent(min_lsn=min_lsn, task=asyncio.current_task()))


class RoutedPool(OneMapPool):
    """The primary's pool, with a standby pool for reads marked by :func:`mark_read`."""

    replica: asyncpg.Pool | None = None
    max_wait_s: float = 0.2
    replayed: int = 0
    primary_lsn: int = 0
    fence_lsn: int = 0
    replica_reads: int = 0
    primary_reads: int = 0
    replica_up: bool = False
    _fences: int = 0
    _poller: asyncio.Task[None] | None = None
    _fence_tasks: set[asyncio.Task[None]]

    async def attach_replica(self, url: str, settings: DatabaseSettings) -> None:
        """Open the standby pool and start polling its replay position (a standby that is down is retried)."""
        self._fence_tasks = set()
        self.max_wait_s = settings.replica_max_wait_ms / 1000
        self.replica_url = url
        with contextlib.suppress(Exception):
            self.replica = await create_pool(url, settings)
        self._poller = asyncio.get_running_loop().create_task(self._poll(url, settings))

    async def _poll(self, url: str, settings: DatabaseSettings) -> None:
        tick = 0
        while True:
            try:
                if self.replica is None:
                    self.replica = await create_pool(url, settings)
                async with self.replica.acquire() as conn:
                    lsn = await replay_lsn(conn)
                self.replayed = _CAUGHT_UP if lsn is None else lsn.value
                self.replica_up = True
                if tick % 50 == 0:  # about once a second: the primary's position, for the lag metric
                    async with super().acquire() as conn:
                        self.primary_lsn = (await current_lsn(conn)).value
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: the standby is not usable until a poll succeeds
                if self.replica_up:
                    log.warning("standby %s not usable (%s); reads go to the primary", redact_url(url),
                                exc.__class__.__name__)
                self.replica_up = False
                await asyncio.sleep(0.5)
            tick += 1
            await asyncio.sleep(POLL_S)

    # ---- routing ------------------------------------------------------------------------------
    def fence(self) -> None:
        """An edit was committed on the primary: no read from the standby until it has replayed it."""
        if self.replica is None:
            return
        self._fences += 1
        task = asyncio.get_running_loop().create_task(self._raise_fence())
        self._fence_tasks.add(task)
        task.add_done_callback(self._fence_tasks.discard)

    async def _raise_fence(self) -> None:
        try:
            async with super().acquire() as conn:
                lsn = (await current_lsn(conn)).value
            self.fence_lsn = max(self.fence_lsn, lsn)
            self.primary_lsn = max(self.primary_lsn, lsn)
        except Exception as exc:  # the primary is away: without its position, stay away from the standby
            log.warning("could not read the primary's WAL position (%s)", exc.__class__.__name__)
            self.fence_lsn = _CAUGHT_UP
        finally:
            self._fences -= 1

    def _standby_has(self, min_lsn: int) -> bool:
        return self.replica_up and not self._fences and self.replayed >= max(min_lsn, self.fence_lsn)

    def _wants_standby(self) -> ReadIntent | None:
        intent = READ_INTENT.get()
        if intent is None or self.replica is None or not self.replica_up:
            return None
        return intent if intent.task is asyncio.current_task() else None

    def acquire(self, *, timeout: float | None = None) -> Any:
        """A checkout from the standby for a marked read it can serve, else from the primary."""
        intent = self._wants_standby()
        if intent is None:
            return super().acquire(timeout=timeout)
        if self._standby_has(intent.min_lsn):
            self.replica_reads += 1
            assert self.replica is not None
            return self.replica.acquire(timeout=timeout)
        return _AfterReplay(self, intent.min_lsn, timeout)

    def primary_acquire(self, *, timeout: float | None = None) -> Any:
        """A checkout from the primary, whatever the request is."""
        return super().acquire(timeout=timeout)

    async def written_lsn(self) -> Lsn:
        """The primary's WAL position now: a read carrying it sees every write committed before."""
        async with super().acquire() as conn:
            return await current_lsn(conn)

    def status(self) -> dict[str, object]:
        """The replica lag metric and the split of reads, for /health/ready."""
        caught_up = self.replayed >= _CAUGHT_UP
        lag = None if caught_up or not self.primary_lsn else max(0, self.primary_lsn - self.replayed)
        return {
            "replica": redact_url(getattr(self, "replica_url", "")),
            "replica_up": self.replica_up,
            "replayed_lsn": None if caught_up else str(Lsn(self.replayed)),
            "lag_bytes": lag,
            "replica_reads": self.replica_reads,
            "primary_reads": self.primary_reads,
        }

    async def close(self) -> None:
        """Stop polling, close the standby pool, then the primary's."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._poller
        if self.replica is not None:
            await self.replica.close()
        await super().close()


class _AfterReplay:
    """A checkout that waits (up to ``max_wait_s``) for the standby to replay ``min_lsn``, else uses the primary."""

    __slots__ = ("_inner", "_min_lsn", "_pool", "_timeout")

    def __init__(self, pool: RoutedPool, min_lsn: int, timeout: float | None) -> None:
        self._pool, self._min_lsn, self._timeout = pool, min_lsn, timeout
        self._inner: Any = None

    async def __aenter__(self) -> asyncpg.Connection:
        pool = self._pool
        deadline = time.monotonic() + pool.max_wait_s
        # Polling, not an Event: the replay position arrives by polling the standby anyway.
        while not pool._standby_has(self._min_lsn) and time.monotonic() < deadline and not pool._fences:  # noqa: ASYNC110
            await asyncio.sleep(POLL_S / 2)
        if pool._standby_has(self._min_lsn) and pool.replica is not None:
            pool.replica_reads += 1
            self._inner = pool.replica.acquire(timeout=self._timeout)
        else:
            pool.primary_reads += 1
            self._inner = pool.primary_acquire(timeout=self._timeout)
        conn: asyncpg.Connection = await self._inner.__aenter__()
        return conn

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)


async def open_pool(url: str, settings: DatabaseSettings) -> asyncpg.Pool:
    """The process's pool: on the primary, routing marked reads to ``settings.replica_url`` if set."""
    if not settings.replica_url:
        return await create_pool(url, settings)
    pool = await create_pool(url, settings, pool_class=RoutedPool)
    assert isinstance(pool, RoutedPool)
    await pool.attach_replica(settings.replica_url, settings)
    return pool


def fence(pool: asyncpg.Pool) -> None:
    """Tell ``pool`` an edit was committed (a no-op without a standby); see :meth:`RoutedPool.fence`."""
    if isinstance(pool, RoutedPool):
        pool.fence()
