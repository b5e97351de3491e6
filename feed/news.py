"""One process's LISTEN on ``onemap_feed`` (notified at every commit that wrote a change), waking the
SSE streams and the delivery worker that wait for news. Losing the connection costs latency, never
mutations: every waiter also reads on a timer, and a reconnect wakes them all."""

from __future__ import annotations

import asyncio

from layers.listener import Listener

FEED_CHANNEL = "onemap_feed"


class FeedNews:
    """Wakes waiters when a transaction that wrote changes commits."""

    def __init__(self, url: str) -> None:
        """Nothing listens before :meth:`start`."""
        self._news = asyncio.Event()
        self._listener = Listener(url, {FEED_CHANNEL: self._heard}, name="feed", on_back=self._caught_up)

    def _heard(self, _conn: object, _pid: int, _channel: str, _payload: str) -> None:
        self.wake()

    async def _caught_up(self) -> None:
        self.wake()

    def wake(self) -> None:
        """Wake every waiter (each re-reads the feed)."""
        news, self._news = self._news, asyncio.Event()
        news.set()

    def waiter(self) -> asyncio.Event:
        """The event the next notification sets; take it *before* reading, so none is missed."""
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
