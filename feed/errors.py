"""Errors raised by :mod:`feed`. They are :class:`~layers.errors.LayerError` subclasses, so the API
maps them to problem+json in the one place it maps every layer error."""

from __future__ import annotations

from layers.errors import LayerError


class FeedError(LayerError):
    """Base class; ``str(exc)`` is safe to show."""

    status = 400
    type_slug = "feed-error"
    title = "Change feed error"


class InvalidCursor(FeedError):
    """A ``since`` / ``Last-Event-ID`` that is not a cursor this server handed out."""

    status = 400
    type_slug = "invalid-cursor"
    title = "The cursor is not valid"


class SubscriptionNotFound(FeedError):
    """No such subscription (or a deleted one)."""

    status = 404
    type_slug = "subscription-not-found"
    title = "No such subscription"


class InvalidSubscription(FeedError):
    """A subscription body that cannot be registered (bad URL, unknown layer, unknown operation)."""

    status = 422
    type_slug = "invalid-subscription"
    title = "The subscription cannot be registered"
