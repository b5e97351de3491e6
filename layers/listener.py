"""A LISTEN connection that comes back after the database does.

Each process keeps long-lived connections that only LISTEN (registry changes, tile invalidation).
They are not pooled: a notification is delivered to the connection that listens, and a pooled
connection is handed to requests. When the server restarts the connection dies, and every
notification sent until it listens again is lost, so :class:`Listener`

* tells its owner at once (``on_lost``), so caches stop trusting what they hold;
* reconnects with a short capped back-off (the pool reconnects on the next request, so a slow
  listener would leave a window in which caches fill again with nobody hearing edits);
* after LISTEN is in place again, lets its owner catch up (``on_back``) with what it missed.

The connection is used for nothing but LISTEN: a query on it would race the notifications
asyncpg reads on the same socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import asyncpg

from layers.db import connect

log = logging.getLogger("onemap.db")
Callback = Callable[[Any, int, str, str], None]
FIRST_RETRY_S = 0.25
MAX_RETRY_S = 5.0
CLOSE_TIMEOUT_S = 5.0  # for the goodbye at stop()


async def _nothing() -> None:
    return None


class Listener:
    """LISTEN on ``channels`` over one connection to ``url``, reconnecting for as long as it runs."""

    def __init__(
        self,
        url: str,
        channels: Mapping[str, Callback],
        *,
        name: str,
        on_lost: Callable[[], None] = lambda: None,
        on_back: Callable[[], Awaitable[None]] = _nothing,
    ) -> None:
        """Wire the callbacks; nothing connects before :meth:`start`."""
        self.url = url
        self.name = name
        self._channels = dict(channels)
        self._on_lost = on_lost
        self._on_back = on_back
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.reconnects = 0

    @property
    def listening(self) -> bool:
        """Whether notifications are being heard right now."""
        return self._conn is not None and not self._conn.is_closed()

    async def start(self) -> None:
        """Connect and LISTEN. Raises :class:`~layers.errors.DatabaseUnavailable` when the server is away."""
        await self._listen()

    async def stop(self) -> None:
        """Stop reconnecting and close the connection."""
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._conn is not None and not self._conn.is_closed():
            # Bounded: a server that went away without closing the socket would never answer the
            # goodbye; asyncpg aborts the connection when the wait runs out.
            with contextlib.suppress(Exception):
                await self._conn.close(timeout=CLOSE_TIMEOUT_S)
        self._conn = None

    async def _listen(self) -> None:
        conn = await connect(self.url)
        try:
            for channel, callback in self._channels.items():
                await conn.add_listener(channel, callback)
        except BaseException:
            conn.terminate()
            raise
        conn.add_termination_listener(self._lost)
        self._conn = conn

    def _lost(self, _conn: object) -> None:
        if self._closing:
            return
        log.warning("%s: lost the LISTEN connection; reconnecting", self.name)
        self._conn = None
        self._on_lost()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        delay = FIRST_RETRY_S
        while not self._closing:
            try:
                if not self.listening:
                    await self._listen()
                await self._on_back()
            except Exception as exc:  # any failure means "not back yet": retry
                log.info("%s: database not back yet (%s); retrying in %.2f s", self.name, exc.__class__.__name__,
                         delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_S)
                continue
            if self.listening:
                self.reconnects += 1
                log.warning("%s: listening again", self.name)
                return
            # Lost again while catching up: _lost has told the owner; go round once more.


class ChannelNews:
    """Wakes the waiters of one process (SSE streams, workers) when a notification arrives on ``channel``.

    Waiters take :meth:`waiter` *before* they read, so a notification that comes while they read is not
    missed. A reconnect wakes everyone too: notifications sent while nobody listened are lost, so each
    waiter reads again.
    """

    def __init__(self, url: str, channel: str, *, name: str) -> None:
        """Nothing listens before :meth:`start`."""
        self._news = asyncio.Event()
        self._listener = Listener(url, {channel: self._heard}, name=name, on_back=self._caught_up)

    def _heard(self, _conn: object, _pid: int, _channel: str, _payload: str) -> None:
        self.wake()

    async def _caught_up(self) -> None:
        self.wake()

    def wake(self) -> None:
        """Wake every waiter."""
        news, self._news = self._news, asyncio.Event()
        news.set()

    def waiter(self) -> asyncio.Event:
        """The event the next notification sets."""
        return self._news

    async def wait(self, news: asyncio.Event, timeout_s: float) -> bool:
        """Wait for ``news`` at most ``timeout_s``; whether it came."""
        try:
            await asyncio.wait_for(news.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def start(self) -> None:
        """Connect and LISTEN."""
        await self._listener.start()

    async def stop(self) -> None:
        """Close the LISTEN connection."""
        await self._listener.stop()
