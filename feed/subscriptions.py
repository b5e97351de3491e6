"""Webhook subscriptions: who asked for which layers' mutations, where they go, and how far they got.

A subscription is owned by a principal (``created_by``, or the ``owner`` an admin names) and only
ever receives mutations of layers that principal may read, checked at every delivery. Deleting one
marks it deleted (``deleted_at``); its delivery log stays.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import asyncpg

from feed.cursor import Cursor, parse_cursor
from feed.errors import InvalidSubscription, SubscriptionNotFound
from feed.pages import OPERATIONS
from layers.principals import Principal
from layers.registry import Registry

COLUMNS = ("id, url, layers, ops, cursor, state, failures, next_attempt, last_error, last_delivered_at, "
           "created_by, created_at")

_SET_STATE = (
    "UPDATE onemap.subscriptions SET state = $2, "  # noqa: S608 (COLUMNS is a constant)
    "failures = CASE WHEN $2 = 'active' THEN 0 ELSE failures END, "
    "next_attempt = CASE WHEN $2 = 'active' THEN now() ELSE next_attempt END "
    f"WHERE id = $1 AND deleted_at IS NULL RETURNING {COLUMNS}"
)


@dataclass(frozen=True, slots=True)
class Subscription:
    """A webhook registration (its secret is shown once, at creation, and never again)."""

    id: int
    url: str
    layers: tuple[str, ...]
    ops: tuple[str, ...]
    cursor: str
    state: str
    failures: int
    next_attempt: dt.datetime
    last_error: str | None
    last_delivered_at: dt.datetime | None
    created_by: str
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Subscription:
        """From a row holding at least :data:`COLUMNS`."""
        return cls(
            id=row["id"], url=row["url"], layers=tuple(row["layers"]), ops=tuple(row["ops"]), cursor=row["cursor"],
            state=row["state"], failures=row["failures"], next_attempt=row["next_attempt"],
            last_error=row["last_error"], last_delivered_at=row["last_delivered_at"], created_by=row["created_by"],
            created_at=row["created_at"],
        )


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2000:
        raise InvalidSubscription("url must be an absolute http:// or https:// URL")
    return url


def check_request(
    registry: Registry, owner: Principal, *, url: str, layers: Sequence[str], ops: Sequence[str]
) -> None:
    """Refuse a URL that is not http(s), an empty or unreadable layer list, or unknown operations.

    A layer the owner may not read is refused like a missing one (its existence does not leak).
    """
    _check_url(url)
    if not layers:
        raise InvalidSubscription("layers must name at least one collection")
    for layer_id in layers:
        layer = registry.find(layer_id)
        if layer is None or layer.kind != "vector" or not owner.can_read(layer):
            raise InvalidSubscription(f"there is no collection {layer_id!r} that {owner.name} may read")
    unknown = sorted(set(ops) - set(OPERATIONS))
    if not ops or unknown:
        raise InvalidSubscription(f"ops must be some of {', '.join(OPERATIONS)}")


async def create_subscription(
    conn: asyncpg.Connection, *, url: str, layers: Sequence[str], ops: Sequence[str], owner: str, start: Cursor,
    secret: str | None = None,
) -> tuple[Subscription, str]:
    """Register a webhook starting after ``start``; returns it and its signing secret."""
    secret = secret or secrets.token_urlsafe(32)
    row = await conn.fetchrow(
        f"INSERT INTO onemap.subscriptions (url, secret, layers, ops, cursor, created_by) "  # noqa: S608
        f"VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}",
        _check_url(url), secret, list(dict.fromkeys(layers)), list(dict.fromkeys(ops)), str(start), owner,
    )
    return Subscription.from_row(row), secret


async def get_subscription(conn: asyncpg.Connection, sub_id: int) -> Subscription:
    """The subscription, unless deleted. Raises :class:`SubscriptionNotFound`."""
    row = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM onemap.subscriptions WHERE id = $1 AND deleted_at IS NULL", sub_id  # noqa: S608
    )
    if row is None:
        raise SubscriptionNotFound(f"there is no subscription {sub_id}")
    return Subscription.from_row(row)


async def list_subscriptions(conn: asyncpg.Connection) -> list[Subscription]:
    """Every subscription not deleted, oldest first."""
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM onemap.subscriptions WHERE deleted_at IS NULL ORDER BY id"  # noqa: S608
    )
    return [Subscription.from_row(r) for r in rows]


async def set_state(conn: asyncpg.Connection, sub_id: int, state: str) -> Subscription:
    """Pause, or resume (from the stored cursor, failure count cleared, due at once)."""
    row = await conn.fetchrow(_SET_STATE, sub_id, state)
    if row is None:
        raise SubscriptionNotFound(f"there is no subscription {sub_id}")
    return Subscription.from_row(row)


async def delete_subscription(conn: asyncpg.Connection, sub_id: int) -> None:
    """Stop a subscription for good (it is marked deleted; its delivery log stays)."""
    done = await conn.fetchval(
        "UPDATE onemap.subscriptions SET deleted_at = now(), state = 'paused' "
        "WHERE id = $1 AND deleted_at IS NULL RETURNING id", sub_id,
    )
    if done is None:
        raise SubscriptionNotFound(f"there is no subscription {sub_id}")


async def recent_deliveries(conn: asyncpg.Connection, sub_id: int, limit: int = 10) -> list[dict[str, object]]:
    """The newest delivery attempts of a subscription, newest first."""
    rows = await conn.fetch(
        "SELECT id, attempted_at, cursor_from, cursor_to, mutations, status, error, ok, elapsed_ms "
        "FROM onemap.deliveries WHERE subscription_id = $1 ORDER BY id DESC LIMIT $2", sub_id, limit,
    )
    return [dict(r) for r in rows]


async def owner_principal(conn: asyncpg.Connection, name: str) -> Principal | None:
    """The subscription owner's current roles and grants (None if gone or disabled)."""
    row = await conn.fetchrow(
        "SELECT name, roles, grants, kind, department FROM onemap.principals WHERE name = $1 AND NOT disabled", name
    )
    if row is None:
        return None
    return Principal(name=row["name"], roles=frozenset(row["roles"]), grants=frozenset(row["grants"]),
                     kind=row["kind"], department=row["department"])


def stored_cursor(sub: Subscription) -> Cursor:
    """The subscription's cursor (written by this module, so always well-formed)."""
    return parse_cursor(sub.cursor)
