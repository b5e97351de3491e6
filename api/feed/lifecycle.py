"""Starting and stopping the feed's per-process parts: the LISTEN on ``onemap_feed`` (shared by the
SSE streams and the delivery worker) and the worker itself."""

from __future__ import annotations

from fastapi import FastAPI

from api.app_state import started_once
from api.context import AppContext
from feed.news import FeedNews
from feed.worker import DeliveryWorker


async def feed_news(app: FastAPI, ctx: AppContext) -> FeedNews:
    """This app's LISTEN on ``onemap_feed``, started on first use."""

    async def start() -> FeedNews:
        news = FeedNews(ctx.database_url)
        await news.start()
        return news

    return await started_once(app, "feed_news", start)


async def start_feed(app: FastAPI, ctx: AppContext) -> None:
    """Start the webhook delivery worker (unless ``ONEMAP_FEED_WORKER=false``)."""
    if not ctx.settings.feed.worker:
        return
    worker = DeliveryWorker(ctx.pool, lambda: ctx.registry, ctx.settings.feed, await feed_news(app, ctx))
    worker.start()
    app.state.feed_worker = worker


async def stop_feed(app: FastAPI) -> None:
    """Stop the worker and close the LISTEN connection."""
    worker: DeliveryWorker | None = getattr(app.state, "feed_worker", None)
    if worker is not None:
        app.state.feed_worker = None
        await worker.stop()
    news: FeedNews | None = getattr(app.state, "feed_news", None)
    if news is not None:
        app.state.feed_news = None
        await news.stop()
