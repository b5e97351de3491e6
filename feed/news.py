"""One process's LISTEN on ``onemap_feed`` (notified at every commit that wrote a change), waking the
SSE streams and the delivery worker that wait for news. Losing the connection costs latency, never
mutations: every waiter also reads on a timer, and a reconnect wakes them all."""

from __future__ import annotations

from layers.listener import ChannelNews

FEED_CHANNEL = "onemap_feed"


class FeedNews(ChannelNews):
    """Wakes waiters when a transaction that wrote changes commits."""

    def __init__(self, url: str) -> None:
        """Nothing listens before :meth:`start`."""
        super().__init__(url, FEED_CHANNEL, name="feed")
