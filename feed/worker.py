"""The delivery worker that ``onemap serve`` runs in the background: deliver whatever is due, then
sleep until a commit notifies ``onemap_feed``, a back-off ends, or ``poll_s`` passes. Every instance
may run one; the claims in PostgreSQL keep them from delivering the same batch twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg
import httpx

from feed.delivery import run_once
from feed.news import FeedNews
from feed.settings import FeedSettings
from layers.errors import LayerError
from layers.registry import Registry

log = logging.getLogger("onemap.feed")
_AWAY = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.CannotConnectNowError,
         asyncpg.AdminShutdownError, LayerError)


class DeliveryWorker:
    """A background task delivering webhooks for as long as the app runs."""

    def __init__(
        self, pool: asyncpg.Pool, registry: Callable[[], Registry], settings: FeedSettings, news: FeedNews
    ) -> None:
        """Nothing runs before :meth:`start`."""
        self._pool = pool
        self._registry = registry
        self._settings = settings
        self._news = news
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start delivering in the background."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="feed-delivery")

    async def stop(self) -> None:
        """Stop after the delivery in flight (its lease simply runs out if cancelled mid-request)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _next_due_s(self) -> float:
        # Only a back-off ending is worth waking for; caught-up subscriptions wait for news.
        async with self._pool.acquire() as conn:
            value = await conn.fetchval(
                "SELECT extract(epoch FROM min(next_attempt) - now()) FROM onemap.subscriptions "
                "WHERE state = 'active' AND deleted_at IS NULL AND failures > 0")
        return self._settings.poll_s if value is None else max(0.0, float(value))

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=self._settings.timeout_s) as client:
            while True:
                news = self._news.waiter()
                wait = self._settings.poll_s
                try:
                    await run_once(self._pool, self._registry, self._settings, client=client)
                    wait = min(wait, await self._next_due_s())
                except asyncio.CancelledError:
                    raise
                except _AWAY as exc:  # the database is away: the pool reconnects, try again later
                    log.warning("feed delivery waits for the database (%s)", exc.__class__.__name__)
                except Exception:  # a bug: keep the worker alive, retry later
                    log.exception("feed delivery round failed; retrying in %.1f s", wait)
                await self._news.wait(news, max(wait, 0.05))
