"""A fast lane for one feature by id: anonymous JSON ``GET /collections/{id}/items/{fid}``.

Item by id is the leanest read there is, so FastAPI's routing (the request walks every included
router and matches ~20 route patterns before it reaches the item route) and its endpoint wrapper
cost a quarter of its Python time. The lane matches the one path pattern itself and calls the very
same endpoint, :func:`api.ogc.items.get_item` (same SQL, headers, links, ETag, audit), so it can never
answer differently from the route, only sooner.

Anything the lane does not take — credentials (their checks may audit), HTML, a query string it
does not know, or any error the endpoint raises (404, 410, 400 …) — goes down the normal route
unchanged, which then answers (and reports) it as problem+json. The endpoint has done nothing
visible by then: the only side effect of a read, the audit event of a non-public layer, is queued
after the row is found, and nothing after it can fail.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.ogc.items import get_item

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
        child = {**scope, "path_params": {"collectionId": match[1], "featureId": match[2]}}
        try:
            response = await get_item(Request(child, receive))
        except Exception:  # the route answers (and reports) whatever it was, as problem+json
            await self.app(scope, receive, send)
            return
        await response(child, receive, send)


def _lane_query(raw: bytes) -> bool:
    """Whether every parameter of the raw query string is one the lane hands on (and ``f`` asks for JSON)."""
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
