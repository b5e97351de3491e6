"""Fast lanes for features: anonymous JSON ``GET /collections/{id}/items/{fid}`` and ``…/items``.

Item by id is the leanest read there is, so FastAPI's routing (the request walks every included
router and matches ~20 route patterns before it reaches the item route) and its endpoint wrapper
cost a quarter of its Python time; a page of items pays the same, plus FastAPI's dependency solving
(a tenth of a page's Python: py-spy, issue 15). Each lane matches its one path pattern itself and
calls the very same endpoint, :func:`api.ogc.items.get_item` or :func:`api.ogc.items.get_items` (same
SQL, headers, links, ETag, paging, audit), so it can never answer differently from the route, only sooner.

The lanes run outside every other middleware (:class:`api.app.OneMapAPI` puts them there): FastAPI's
own three and our five cost as much Python as the endpoint's links and headers. What those do for
a request a lane takes, it does itself: the standby marking of a read (:func:`api.replica_routing.
read_marked`); a query that may hold a NUL takes the route, whose guard answers it; HEAD, tiles and
every other path are not the lanes'.

Anything a lane does not take — credentials (their checks may audit), HTML, an item parameter it
does not know — goes down the normal route unchanged. So does a refusal the endpoint raises (404,
410, 400 …): the route repeats it and answers (and reports) it as problem+json. The endpoint has done
nothing visible by then: the only side effect of a read, the audit event of a non-public layer, cannot
happen to an anonymous caller, who reads public layers only. A failure of the database (an outage,
a statement timeout) is not repeated: the lane answers it with the app's own handler for it.
"""

from __future__ import annotations

import re
from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import ApiError
from api.ogc.items import get_item, get_items
from api.replica_routing import read_marked
from layers.db import DATABASE_OUTAGE_ERRORS
from layers.errors import LayerError
from layers.principals import ANONYMOUS
from spatial.errors import SpatialError

_ITEM = re.compile(r"^/collections/([a-z][a-z0-9_]{0,62})/items(?:/(\d{1,18}))?$")
# Parameters the item lane passes to the endpoint; anything else (a typo the endpoint refuses …) takes
# the route. A page takes any: its endpoint checks them all before it queries.
_ITEM_PARAMS = frozenset({b"f", b"crs", b"datetime"})
# ``f`` values that are JSON (api/negotiation.py); HTML pages take the route, whose templates may want
# what routing puts in the scope.
_JSON_F = frozenset({b"json", b"geojson"})
# Refusals the route repeats and reports; anything else (the database failing) is answered in the lane.
_REFUSALS = (ApiError, LayerError, SpatialError)


class ItemFastPath:
    """ASGI middleware; see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer an anonymous JSON item or items GET through its endpoint; pass everything else on."""
        match = _ITEM.match(scope["path"]) if scope["type"] == "http" and scope["method"] == "GET" else None
        if (match is None or not _lane_query(scope.get("query_string", b""), item=match[2] is not None)
                or not _plain_headers(scope)):
            await self.app(scope, receive, send)
            return
        # A copy: what the endpoint leaves in its scope must not reach the route if it falls back.
        # The caller is anonymous: _plain_headers found no Authorization and no sign-in cookie, which
        # is all api.auth.current_principal would look for; it takes the principal from the state.
        params = {"collectionId": match[1]} if match[2] is None else {"collectionId": match[1], "featureId": match[2]}
        child = {**scope, "path_params": params, "state": {**scope.get("state", {}), "principal": ANONYMOUS}}
        await read_marked(partial(self._answer, scope), child, receive, send)

    async def _answer(self, scope: Scope, child: Scope, receive: Receive, send: Send) -> None:
        """Answer ``child`` (``scope`` with the path's parameters) from the endpoint, or ``scope`` by the route."""
        request = Request(child, receive)
        try:
            if "featureId" in child["path_params"]:
                response = await get_item(request)
            else:
                response = await get_items(request, child["path_params"]["collectionId"])
        except Exception as exc:
            if isinstance(exc, _REFUSALS) and not isinstance(exc, DATABASE_OUTAGE_ERRORS):
                await self.app(scope, receive, send)  # the route answers (and reports) it, as problem+json
                return
            response = await _handled(request, exc)
        await response(child, receive, send)


async def _handled(request: Request, exc: Exception) -> Response:
    """The app's own answer to ``exc`` (api/errors.py), as its exception middleware would give it."""
    handlers = request.app.exception_handlers
    for cls in type(exc).__mro__:
        handler = handlers.get(cls)
        if handler is not None:
            response: Response = await handler(request, exc)
            return response
    raise exc  # not reached: api/errors.py handles Exception


def _lane_query(raw: bytes, *, item: bool) -> bool:
    """Whether the raw query string is the lane's: ``f`` asks for JSON, and an item's parameters are
    ones the lane hands on.

    A query that may decode to a NUL is never the lane's: the route's guard (api/input_guard.py) answers it.
    """
    if b"%00" in raw or b"\x00" in raw:
        return False
    for part in raw.split(b"&") if raw else ():
        name, _, value = part.partition(b"=")
        if (item and name not in _ITEM_PARAMS) or (name == b"f" and value.lower() not in _JSON_F):
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
