"""Absolute links (api/ogc/links.py): the base is ONEMAP_PUBLIC_URL when set, else the request's Host."""

from __future__ import annotations

from types import SimpleNamespace

from starlette.requests import Request

from api.ogc.links import base_url, self_url
from api.settings import ApiSettings


def _request(public_url: str | None, headers: list[tuple[bytes, bytes]], query: bytes = b"") -> Request:
    app = SimpleNamespace(state=SimpleNamespace(ctx=SimpleNamespace(settings=SimpleNamespace(
        api=ApiSettings(env="test", public_url=public_url)))))
    return Request({"type": "http", "method": "GET", "scheme": "https", "path": "/collections/x/items",
                    "root_path": "", "headers": headers, "query_string": query, "server": ("10.0.0.5", 8000),
                    "app": app})


def test_the_public_url_wins_over_the_host() -> None:
    request = _request("https://onemap.changsha.gov.cn/api/", [(b"host", b"internal:8000")])
    assert base_url(request) == "https://onemap.changsha.gov.cn/api"


def test_the_host_header_then_the_server_address() -> None:
    assert base_url(_request(None, [(b"accept", b"*/*"), (b"host", b"map.example:8443")])) == "https://map.example:8443"
    assert base_url(_request(None, [])) == "https://10.0.0.5:8000"


def test_self_url_keeps_the_query_and_replaces_what_it_is_told() -> None:
    request = _request(None, [(b"host", b"h")], b"limit=5&cursor=abc&f=json")
    assert self_url(request, cursor=None, offset="10") == "https://h/collections/x/items?limit=5&f=json&offset=10"


def test_self_url_without_a_query_string_quotes_what_needs_it() -> None:
    request = _request(None, [(b"host", b"h")])
    assert self_url(request, f="json") == "https://h/collections/x/items?f=json"
    assert self_url(request, datetime="2020-01-01T00:00:00Z/..") == (
        "https://h/collections/x/items?datetime=2020-01-01T00%3A00%3A00Z%2F..")
    assert self_url(request, q="长沙 1") == "https://h/collections/x/items?q=%E9%95%BF%E6%B2%99%201"
    assert self_url(request, f=None) == "https://h/collections/x/items"
    assert self_url(request, f="json", limit="5") == "https://h/collections/x/items?f=json&limit=5"
