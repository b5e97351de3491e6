"""Pushing the feed to webhooks: claim a due subscription, read its next batch, POST it signed.

A batch is ``{"subscription", "cursor", "previousCursor", "mutations": [...]}``, signed with
HMAC-SHA256 of the raw body under the subscription's secret (``OneMap-Signature: sha256=<hex>``),
with ``OneMap-Delivery`` (unique per attempt) and ``OneMap-Timestamp`` (Unix seconds). The cursor
moves only when the receiver answers 2xx, so a receiver that fails gets the same mutations again,
in order, after an exponential back-off; after ``max_failures`` failures in a row the subscription
is paused, and resuming it continues from its cursor. Claims use ``FOR UPDATE SKIP LOCKED`` and a
lease in PostgreSQL, so several app instances never deliver one batch twice.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources

import asyncpg
import httpx
import orjson

from feed.cursor import parse_cursor
from feed.pages import read_page
from feed.settings import FeedSettings
from feed.subscriptions import owner_principal
from layers.registry import Registry
from layers.sql import bind_named

log = logging.getLogger("onemap.feed")
USER_AGENT = "OneMap-Feed/1"


@cache
def _sql(name: str) -> str:
    return resources.files("feed").joinpath("sql", name).read_text(encoding="utf-8")


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the raw body under the subscription's secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: compare the header with its own HMAC in constant time."""
    return hmac.compare_digest(signature(secret, body), header)


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one claim did: how many mutations it sent and whether the receiver took them."""

    subscription: int
    mutations: int
    ok: bool
    more: bool  # a full batch: there may be more right away


def _body(sub_id: int, cursor_from: str, cursor_to: str, mutations: list[str]) -> bytes:
    head = orjson.dumps({"subscription": sub_id, "cursor": cursor_to, "previousCursor": cursor_from})
    return head[:-1] + b',"mutations":[' + ",".join(mutations).encode() + b"]}"


async def _claim(
    conn: asyncpg.Connection, settings: FeedSettings, token: str, only: int | None
) -> asyncpg.Record | None:
    sql, args = bind_named(_sql("claim.sql"), {"lease_s": settings.lease_s, "token": token, "only_id": only})
    row: asyncpg.Record | None = await conn.fetchrow(sql, *args)
    return row


async def _post(
    client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]
) -> tuple[int | None, str | None]:
    try:
        r = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{exc.__class__.__name__}: {str(exc)[:200]}"
    if 200 <= r.status_code < 300:
        return r.status_code, None
    return r.status_code, f"HTTP {r.status_code}"


async def deliver_next(
    pool: asyncpg.Pool, registry: Registry, settings: FeedSettings, client: httpx.AsyncClient,
    *, only: int | None = None,
) -> Attempt | None:
    """Claim one due subscription and deliver its next batch; None when nothing is due."""
    token = secrets.token_hex(16)
    async with pool.acquire() as conn:
        row = await _claim(conn, settings, token, only)
        if row is None:
            return None
        sub_id, after = row["id"], parse_cursor(row["cursor"])
        owner = await owner_principal(conn, row["created_by"])
        layers = [layer for lid in row["layers"] if (layer := registry.find(lid)) is not None
                  and layer.kind == "vector" and owner is not None and owner.can_read(layer)]
        page = await read_page(conn, layers, after=after, limit=settings.batch, ops=row["ops"])
    status: int | None = None
    error: str | None = None
    delivery_id = 0
    started = time.perf_counter()
    if page.mutations:
        async with pool.acquire() as conn:
            delivery_id = await conn.fetchval("SELECT nextval('onemap.deliveries_id_seq')")
        body = _body(sub_id, row["cursor"], str(page.next), page.mutations)
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                   "OneMap-Signature": signature(row["secret"], body), "OneMap-Delivery": str(delivery_id),
                   "OneMap-Timestamp": str(int(time.time()))}
        status, error = await _post(client, row["url"], body, headers)
    ok = error is None
    async with pool.acquire() as conn, conn.transaction():
        if ok:
            sql, args = bind_named(_sql("delivered.sql"), {"cursor": str(page.next), "id": sub_id, "token": token,
                                                            "delivered": bool(page.mutations)})
        else:
            sql, args = bind_named(_sql("failed.sql"), {
                "error": error, "wait_s": settings.backoff_s(row["failures"] + 1),
                "max_failures": settings.max_failures, "id": sub_id, "token": token})
        await conn.fetchval(sql, *args)
        if page.mutations:
            sql, args = bind_named(_sql("log_delivery.sql"), {
                "id": delivery_id, "subscription_id": sub_id, "cursor_from": row["cursor"], "cursor_to": str(page.next),
                "mutations": len(page.mutations), "status": status, "error": error, "ok": ok,
                "elapsed_ms": (time.perf_counter() - started) * 1000})
            await conn.execute(sql, *args)
    if not ok:
        log.info("subscription %s: delivery failed (%s)", sub_id, error)
    return Attempt(sub_id, len(page.mutations), ok, ok and len(page.mutations) == settings.batch)


async def run_once(
    pool: asyncpg.Pool, registry: Callable[[], Registry], settings: FeedSettings,
    *, client: httpx.AsyncClient | None = None, only: int | None = None, max_attempts: int = 10_000,
) -> list[Attempt]:
    """Deliver until no subscription is due (each due one at least once); the attempts made.

    A subscription is claimed again only after its full batch went through, so one run drains a
    backlog but never retries a failure before its back-off ends.
    """
    own = client is None
    client = client or httpx.AsyncClient(timeout=settings.timeout_s)
    attempts: list[Attempt] = []
    try:
        seen: set[int] = set()
        while len(attempts) < max_attempts:
            attempt = await deliver_next(pool, registry(), settings, client, only=only)
            if attempt is None:
                break
            attempts.append(attempt)
            if not attempt.more and attempt.subscription in seen and not attempt.mutations:
                break
            seen.add(attempt.subscription)
    finally:
        if own:
            await client.aclose()
    return attempts
