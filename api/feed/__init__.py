"""The change feed's HTTP side: ``/collections/{id}/changes`` (pull, and the audit trail),
``/collections/{id}/changes/events`` (SSE), ``/subscriptions`` (webhooks, admin), and the delivery
worker ``onemap serve`` runs in the background."""

from __future__ import annotations

from fastapi import APIRouter

from api.feed.changes import router as changes_router
from api.feed.lifecycle import start_feed, stop_feed
from api.feed.subscriptions import router as subscriptions_router

__all__ = ["feed_routers", "start_feed", "stop_feed"]


def feed_routers() -> list[APIRouter]:
    """The feed's routers."""
    return [changes_router, subscriptions_router]
