"""Which requests may read from the hot standby, and read-your-writes across requests.

The routing itself is :class:`layers.routing.RoutedPool`; this ASGI middleware only says which
requests are stale-tolerant reads, and hands writers the position to wait for:

* ``GET``/``HEAD`` of items, tiles (vector, raster, 3D) and case statistics may read from the
  standby. Requests with HTTP Basic credentials stay on the primary: a failed password is
  recorded, a write the standby would refuse.
* A successful write (any other method) answers ``OneMap-LSN: <primary WAL position>`` and sets the
  ``onemap_lsn`` cookie to it. A later read carrying either is served by the standby only once it
  has replayed that position (it waits up to ``ONEMAP_REPLICA_MAX_WAIT_MS``, then reads the primary),
  so a user always sees their own edit, whichever instance HAProxy picks.
"""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from layers.db import DATABASE_OUTAGE_ERRORS
from layers.replication import Lsn
from layers.routing import READ_INTENT, RoutedPool, mark_read

LSN_HEADER = "onemap-lsn"
LSN_COOKIE = "onemap_lsn"
_STALE_TOLERANT = re.compile(
    r"^/(?:collections/[^/]+/(?:items(?:/|$)|tiles/|3dtiles)|tiles/|3dtiles|cases/(?:stats|hotspots)$)"
)
_READS = frozenset({"GET", "HEAD"})


def _asked_lsn(headers: list[tuple[bytes, bytes]]) -> int:
    """The position the client asks us to have replayed (header first, then cookie); 0 for none."""
    for name, value in headers:
        if name == LSN_HEADER.encode():
            return _parse(value.decode("latin-1"))
    for name, value in headers:
        if name == b"cookie":
            morsel = SimpleCookie(value.decode("latin-1")).get(LSN_COOKIE)
            if morsel is not None:
                return _parse(morsel.value)
    return 0


def _parse(text: str) -> int:
    try:
        return Lsn.parse(text).value
    except ValueError:
        return 0  # a garbled position asks for nothing; the read may then be a little stale


def _has_basic(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(name == b"authorization" and value[:6].lower() == b"basic " for name, value in headers)


def _routed_pool(scope: Scope) -> RoutedPool | None:
    """The app's pool when it routes reads to a standby, else None."""
    ctx = getattr(scope["app"].state, "ctx", None) if "app" in scope else None
    pool = getattr(ctx, "pool", None)
    return pool if isinstance(pool, RoutedPool) and pool.replica is not None else None


async def read_marked(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run the read ``scope`` through ``app``, marked for the standby when it is stale-tolerant.

    The feature lanes (api/ogc/item_lane.py), which run before this middleware, call it too.
    """
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    if _routed_pool(scope) is None or not _STALE_TOLERANT.match(scope["path"]) or _has_basic(headers):
        await app(scope, receive, send)
        return
    token = mark_read(_asked_lsn(headers))
    try:
        await app(scope, receive, send)
    finally:
        # A server runs each request in its own task; an in-process client (httpx's ASGI
        # transport) does not, and its next request (a write) must not inherit the mark.
        READ_INTENT.reset(token)


class ReplicaRouting:
    """Mark stale-tolerant reads for the standby; stamp writes with the primary's WAL position."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap ``app``; the pool is looked up per request (it exists only after start-up)."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route one request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] in _READS:
            await read_marked(self.app, scope, receive, send)  # looks the pool up itself
            return
        pool = _routed_pool(scope)
        if pool is None:
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                try:
                    lsn = str(await pool.written_lsn())
                except DATABASE_OUTAGE_ERRORS:
                    # The write is committed; without the position the next read may only be a little stale.
                    await send(message)
                    return
                message["headers"] = [
                    *message.get("headers", []),
                    (LSN_HEADER.encode(), lsn.encode()),
                    (b"set-cookie", f"{LSN_COOKIE}={lsn}; Path=/; Max-Age=300; SameSite=Lax".encode()),
                ]
            await send(message)

        await self.app(scope, receive, stamped)
