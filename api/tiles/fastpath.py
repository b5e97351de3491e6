"""A fast lane for plain tile requests: anonymous, public, no query — answered before FastAPI routing.

Such requests are most of a map's traffic. The lane reads the same per-process cache the tile
routes fill and, on a miss, asks the same :class:`TileService` the route asks (same key, same bytes,
same headers). Anything else — a query string, credentials, a layer that is not public, an address
that is not a tile, an error while rendering — goes down the normal route unchanged, so the lane can
never answer differently from it, only sooner: FastAPI's routing and dependency solving cost as much
Python time as rendering a full-detail tile does.

Because the lane serves public layers only, it has nothing for the audit log: every tile of an
internal or restricted layer (cache hits included) goes down the route, which logs it (api/audit.py).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from api.tiles.params import check_indices
from api.tiles.tile_routes import tile_headers
from spatial.tms import check_tile, get_tms
from tiles.cache import TileKey
from tiles.mvt import TileAddress
from tiles.query import TileQuery

_TILE = re.compile(r"^/collections/([a-z][a-z0-9_]{0,62})/tiles/([A-Za-z0-9]+)/(\d{1,2})/(\d{1,10})/(\d{1,10})$")
MVT = b"application/vnd.mapbox-vector-tile"
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


class CachedTileFastPath:
    """ASGI middleware; see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a plain tile GET (or HEAD: same headers, no body) from the cache or the service."""
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or scope.get("query_string"):
            await self.app(scope, receive, send)
            return
        match = _TILE.match(scope["path"])
        answer = self._cached(scope, match) if match else None
        if answer is None and match is not None:
            answer = await self._rendered(scope, match)
        if answer is None:
            await self.app(scope, receive, send)
            return
        status, headers, body = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    def _public_layer(self, scope: Scope, layer_id: str) -> tuple[Any, Any, str | None] | None:
        """(tile service, layer, If-None-Match) for an anonymous request to a public vector layer."""
        if_none_match = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization" or (name == b"cookie" and b"onemap_token" in value):
                return None
            if name == b"if-none-match":
                if_none_match = value.decode("latin-1")
        state: Any = scope["app"].state
        service = getattr(state, "tiles", None)
        ctx = getattr(state, "ctx", None)
        if service is None or ctx is None:
            return None
        layer = ctx.registry.find(layer_id)
        if layer is None or layer.access != "public" or not layer.is_vector:
            return None
        return service, layer, if_none_match

    def _cached(self, scope: Scope, match: re.Match[str]) -> Answer | None:
        layer_id, tms, z, y, x = match.groups()
        found = self._public_layer(scope, layer_id)
        if found is None or not found[0].memory.enabled:
            return None
        service, _layer, if_none_match = found
        data = service.memory.peek(TileKey((layer_id,), tms, int(z), int(x), int(y), ""))
        if data is None:
            return None
        return _answer(data, "memory", if_none_match)

    async def _rendered(self, scope: Scope, match: re.Match[str]) -> Answer | None:
        layer_id, tms, z, y, x = match.groups()
        found = self._public_layer(scope, layer_id)
        if found is None:
            return None
        service, layer, if_none_match = found
        try:
            check_indices(int(z), int(y), int(x))
            get_tms(tms)
            check_tile(tms, int(z), int(x), int(y))
            result = await service.vector_tile([layer], TileAddress(tms, int(z), int(x), int(y)), TileQuery())
        except Exception:  # the route answers (and reports) whatever went wrong, as problem+json
            return None
        return _answer(result.data, result.source, if_none_match)


def _answer(data: bytes, source: str, if_none_match: str | None) -> Answer:
    headers = tile_headers(data, private=False, source=source)
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    if not data:
        return 204, raw, b""
    if if_none_match == headers["ETag"]:
        return 304, raw, b""
    raw += [(b"content-type", MVT), (b"content-length", str(len(data)).encode())]
    return 200, raw, data
