"""A fast lane for one feature by id: anonymous JSON ``GET /collections/{id}/items/{fid}``.

Item by id is the leanest read there is, so FastAPI's routing (the request walks every included
router and matches ~20 route patterns before it reaches the item route) and its endpoint wrapper
cost a quarter of its Python time. The lane matches the one path pattern itself and calls the very
same endpoint, :func:`api.ogc.items.get_item` (same SQL, headers, links, ETag, audit), so it can never
answer differently from the route, only sooner.

The lane runs outside every other middleware (:class:`api.app.OneMapAPI` puts it there): FastAPI's
own three and our five cost as much Python as the endpoint's links and headers. What those do for
a request the lane takes, it does itself: the standby marking of a read (:func:`api.replica_routing.
read_marked`); a query that may hold a NUL takes the route, whose guard answers it; HEAD, tiles and
every other path are not the lane's.

Anything the lane does not take — credentials (their checks may audit), HTML, a query string it
does not know, or any error the endpoint raises (404, 410, 400 …) — goes down the normal route
unchanged, which then answers (and reports) it as problem+json. The endpoint has done nothing
visible by then: the only side effect of a read, the audit event of a non-public layer, is queued
after the row is found, and nothing after it can fail.
"""

from __future__ import annotations

import re
from functools import partial

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.ogc.items import get_item
from api.replica_routing import read_marked
from layers.principals import ANONYMOUS

_ITEM = re.compile(r"^/collections/([a-z][a-z0-9_]{0,62})/items/(\d{1,18})$")
# Parameters the lane passes to the endpoint; anything else (a typo the endpoint refuses …) takes the route.
_LANE_PARAMS = frozenset({b"f", b"crs", b"datetime"})
# ``f`` values that are JSON (api/negotiation.py); HTML pages take the route, whose templates may want
# what routing puts in the scope.
_JSON_F = frozenset({b"json", b"geojson"})


class ItemFastPath:
    """ASGI middleware; see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer an anonymous JSON item GET through the item endpoint; pass everything else on."""
        match = _ITEM.match(scope["path"]) if scope["type"] == "http" and scope["method"] == "GET" else None
        if match is None or not _lane_query(scope.get("query_string", b"")) or not _plain_headers(scope):
            await self.app(scope, receive, send)
            return
        # A copy: what the endpoint leaves in its scope must not reach the route if it falls back.
        # The caller is anonymous: _plain_headers found no Authorization and no sign-in cookie, which
        # is all api.auth.current_principal would look for; it takes the principal from the state.
        child = {**scope, "path_params": {"collectionId": match[1], "featureId": match[2]},
                 "state": {**scope.get("state", {}), "principal": ANONYMOUS}}
        await read_marked(partial(self._answer, scope), child, receive, send)

    async def _answer(self, scope: Scope, child: Scope, receive: Receive, send: Send) -> None:
        """Answer ``child`` (``scope`` with the path's parameters) from the endpoint, or ``scope`` by the route."""
        try:
            response = await get_item(Request(child, receive))
        except Exception:  # the route answers (and reports) whatever it was, as problem+json
            await self.app(scope, receive, send)
            return
        await response(child, receive, send)


def _lane_query(raw: bytes) -> bool:
    """Whether every parameter of the raw query string is one the lane hands on (and ``f`` asks for JSON).

    A query that may decode to a NUL is never the lane's: the route's guard (api/input_guard.py) answers it.
    """
    if b"%00" in raw or b"\x00" in raw:
        return False
    for part in raw.split(b"&") if raw else ():
        name, _, value = part.partition(b"=")
        if name not in _LANE_PARAMS or (name == b"f" and value.lower() not in _JSON_F):
            return False
    return True


def _plain_headers(scope: Scope) -> bool:
    """No credentials (their checks may audit) and no Accept that could choose HTML (the route renders pages)."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization" or (name == b"cookie" and b"onemap_token" in value):
            return False
        if name == b"accept" and b"html" in value.lower():
            return False
    return True
