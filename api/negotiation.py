"""Choosing the representation: the ``f`` parameter first, then the Accept header.

``f=json`` (or ``geojson``) and ``f=html`` are understood everywhere; browsers
sending ``Accept: text/html`` get HTML, everything else JSON.
"""

from __future__ import annotations

from typing import Literal

from fastapi import Request

from api.errors import InvalidParameter, NotAcceptable
from api.query_string import first_header, query_value

Format = Literal["json", "html"]
_F_VALUES: dict[str, Format] = {"json": "json", "geojson": "json", "html": "html"}
_JSON_TYPES = (
    "application/json",
    "application/geo+json",
    "application/schema+json",
    "application/vnd.oai.openapi+json",
    "application/problem+json",
    "application/*",
)


def _parse_accept(header: str) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    for part in header.split(","):
        media, _, params = part.strip().partition(";")
        q = 1.0
        for p in params.split(";"):
            name, _, value = p.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media:
            out.append((media.strip().lower(), q))
    return sorted(out, key=lambda item: -item[1])


def negotiate(request: Request, *, html: bool = True) -> Format:
    """The format to answer in.

    Raises:
        InvalidParameter: ``f`` names a format we do not have (400).
        NotAcceptable: Accept lists only types we cannot produce (406).
    """
    f = query_value(request, "f")
    if f is not None:
        fmt = _F_VALUES.get(f.lower())
        if fmt is None or (fmt == "html" and not html):
            allowed = "json" + (", html" if html else "")
            raise InvalidParameter(f"f={f!r} is not available here; use {allowed}", extra={"parameter": "f"})
        return fmt
    accept = first_header(request.scope, b"accept")
    if not accept:
        return "json"
    for media, q in _parse_accept(accept):
        if q <= 0:
            continue
        if media in ("text/html", "application/xhtml+xml") and html:
            return "html"
        if media in _JSON_TYPES or media == "*/*" or media.endswith("+json"):
            return "json"
    raise NotAcceptable(
        "this resource is available as JSON (application/json, application/geo+json)"
        + (" and HTML (text/html)" if html else "")
    )


def wants_lang(request: Request) -> Literal["zh", "en"]:
    """Page language: ``lang`` parameter, else Accept-Language (Chinese by default)."""
    lang = request.query_params.get("lang")
    if lang in ("zh", "en"):
        return lang  # type: ignore[return-value]
    header = request.headers.get("accept-language", "")
    first = header.split(",")[0].strip().lower()
    return "en" if first.startswith("en") else "zh"
