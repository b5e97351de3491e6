"""Reading one query parameter or header off the request without building Starlette's mappings.

Most reads of the hot paths (item by id, a tile, a page with no parameters) have no query string
at all, and most headers are never asked for: building ``QueryParams`` or ``Headers`` for them is
Python work per request for nothing (py-spy of item by id, issue 15).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import Scope


def query_value(request: Request, name: str) -> str | None:
    """The first value of query parameter ``name``, as ``request.query_params.get(name)`` gives it."""
    if not request.scope.get("query_string"):
        return None
    return request.query_params.get(name)


def has_query_param(request: Request, name: str) -> bool:
    """Whether the query string names ``name`` (with or without a value)."""
    return bool(request.scope.get("query_string")) and name in request.query_params


def first_header(scope: Scope, name: bytes) -> str | None:
    """The first value of header ``name`` (lower case), as ``request.headers.get`` gives it."""
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")  # type: ignore[no-any-return]
    return None
