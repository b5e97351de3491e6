"""Absolute links, media types and the base URL (``ONEMAP_PUBLIC_URL`` or the request's own)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote_plus

from fastapi import Request

from api.context import AppContext
from api.query_string import first_header

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
SCHEMA_JSON = "application/schema+json"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"


def base_url(request: Request) -> str:
    """``ONEMAP_PUBLIC_URL``, else scheme and Host of the request (cheaper than ``request.base_url``)."""
    scope = request.scope
    ctx: AppContext = scope["app"].state.ctx
    configured = ctx.settings.api.public_url
    if configured:
        return configured.rstrip("/")
    host = first_header(scope, b"host")
    if not host:
        server = scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}".rstrip("/")


def link(
    href: str, rel: str, type_: str | None = None, title: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A link object (``href``, ``rel``, optional ``type``/``title`` and any extra members)."""
    out: dict[str, Any] = {"href": href, "rel": rel}
    if type_:
        out["type"] = type_
    if title:
        out["title"] = title
    out.update(extra)
    return out


def self_url(request: Request, *, base: str | None = None, **replace: str | None) -> str:
    """The request's URL on the public base (``base``, when the caller has it already), with query
    parameters replaced or removed (None).

    Works on the raw query string: the hot paths call this for every link of a page.
    """
    raw = request.scope.get("query_string", b"").decode("latin-1")
    keep = [p for p in raw.split("&") if p and unquote_plus(p.partition("=")[0]) not in replace] if raw else []
    keep += [f"{k}={_quoted(v)}" for k, v in replace.items() if v is not None]
    query = "&".join(keep)
    return f"{base or base_url(request)}{request.scope['path']}" + (f"?{query}" if query else "")


def _quoted(value: str) -> str:
    """``value`` percent-encoded for a query string; a plain ASCII word (``json``, ``html``) as it is."""
    return value if value.isascii() and value.isalnum() else quote(value, safe="")


def self_and_alternate(
    request: Request, fmt: str, json_type: str = JSON, *, base: str | None = None
) -> list[dict[str, Any]]:
    """``self`` in the format served and ``alternate`` in the other one (JSON or HTML)."""
    base = base or base_url(request)
    if fmt == "html":
        return [
            link(self_url(request, base=base, f="html"), "self", HTML, "this page"),
            link(self_url(request, base=base, f="json"), "alternate", json_type, "as JSON"),
        ]
    return [
        link(self_url(request, base=base, f="json"), "self", json_type, "this document"),
        link(self_url(request, base=base, f="html"), "alternate", HTML, "as HTML"),
    ]
