"""One query parameter or header off the raw request (api/query_string.py), as Starlette's mappings give it."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from api.query_string import first_header, has_query_param, query_value


def _request(query: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "query_string": query, "headers": headers or []})


QUERIES = [b"", b"f=json", b"f=html&f=json", b"F=json", b"f", b"f=", b"datetime=2020%2F..&f=j%20s"]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("name", ["f", "datetime", "F"])
def test_the_same_value_as_query_params(query: bytes, name: str) -> None:
    request = _request(query)
    assert query_value(request, name) == request.query_params.get(name)
    assert has_query_param(request, name) == (name in request.query_params)


def test_the_first_header_as_headers_get() -> None:
    headers = [(b"host", b"a"), (b"accept", b"text/html"), (b"accept", b"application/json"), (b"x-name", "长".encode())]
    request = _request(b"", headers)
    for name in ("host", "accept", "x-name", "cookie"):
        assert first_header(request.scope, name.encode()) == request.headers.get(name)
