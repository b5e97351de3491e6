"""Landing page, conformance declaration and the OpenAPI 3.0 document (JSON and HTML)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import HTMLResponse, Response

from api.auth import PrincipalDep
from api.context import AppContext, get_context
from api.errors import ApiError
from api.negotiation import negotiate
from api.ogc import html
from api.ogc.conformance import CONFORMANCE
from api.ogc.links import HTML, JSON, OPENAPI_JSON, base_url, link, self_and_alternate
from api.ogc.openapi import openapi_document
from api.ogc.params import check_known
from layers.principals import Principal

router = APIRouter(tags=["core"])
STATIC = Path(__file__).resolve().parent.parent / "static"


class StaticNotFound(ApiError):
    """404: no such file under api/static."""

    status = 404
    type_slug = "static-not-found"
    title = "No such file"


Ctx = Annotated[AppContext, Depends(get_context)]
PLAIN = frozenset({"f", "lang"})


@router.get("/", summary="Landing page")
async def landing(request: Request, ctx: Ctx) -> Response:
    """The landing page: links to the API definition, conformance and the collections."""
    check_known(request, PLAIN)
    fmt = negotiate(request)
    base = base_url(request)
    doc = {
        "title": "One Map 一张图 — Changsha spatio-temporal information platform",
        "description": "OGC API Features over Changsha's versioned city layers (CGCS2000, EPSG:4490).",
        "links": [
            *self_and_alternate(request, fmt),
            link(f"{base}/openapi", "service-desc", OPENAPI_JSON, "OpenAPI 3.0 definition"),
            link(f"{base}/openapi?f=html", "service-doc", HTML, "API documentation"),
            link(f"{base}/conformance", "conformance", JSON, "Conformance classes"),
            link(f"{base}/conformance", "http://www.opengis.net/def/rel/ogc/1.0/conformance", JSON),
            link(f"{base}/collections", "data", JSON, "Collections"),
            link(f"{base}/collections", "http://www.opengis.net/def/rel/ogc/1.0/data", JSON),
            link(f"{base}/processes", "http://www.opengis.net/def/rel/ogc/1.0/processes", JSON, "Processes"),
            link(f"{base}/jobs", "http://www.opengis.net/def/rel/ogc/1.0/job-list", JSON, "Your jobs"),
        ],
    }
    if fmt == "html":
        return html.render(request, "landing.html.j2", doc=doc)
    return Response(orjson.dumps(doc), media_type=JSON)


@router.get("/conformance", summary="Conformance classes this server passes")
async def conformance(request: Request) -> Response:
    """The conformance classes declared (exactly those the tests prove)."""
    check_known(request, PLAIN)
    fmt = negotiate(request)
    doc = {"conformsTo": list(CONFORMANCE), "links": self_and_alternate(request, fmt)}
    if fmt == "html":
        return html.render(request, "conformance.html.j2", doc=doc)
    return Response(orjson.dumps(doc), media_type=JSON)


# The document differs per caller (it names only the collections they may read): no shared caching.
PER_CALLER = {"Cache-Control": "private, no-cache", "Vary": "Authorization, Cookie"}


def openapi_response(request: Request, ctx: AppContext, principal: Principal) -> Response:
    """The OpenAPI 3.0 document as ``principal`` may see it, marked private to them."""
    doc = openapi_document(ctx, base_url(request), principal)
    return Response(orjson.dumps(doc), media_type=OPENAPI_JSON, headers=PER_CALLER)


@router.get("/openapi", summary="OpenAPI 3.0 definition of this API")
async def openapi(request: Request, ctx: Ctx, principal: PrincipalDep) -> Response:
    """The OpenAPI 3.0 document (JSON) or its documentation page (HTML)."""
    check_known(request, PLAIN)
    fmt = negotiate(request)
    if fmt == "html":
        return api_docs_page(request)
    return openapi_response(request, ctx, principal)


def api_docs_page(request: Request) -> HTMLResponse:
    """The API documentation page, reading /openapi from this server."""
    return html.render(request, "openapi.html.j2", spec_url=f"{base_url(request)}/openapi?f=json")


docs_router = APIRouter(include_in_schema=False)


@docs_router.get("/api-docs")
async def api_docs(request: Request) -> Response:
    """The API documentation page at a memorable address."""
    return api_docs_page(request)


@docs_router.get("/openapi.json")
async def openapi_json(request: Request, ctx: Ctx, principal: PrincipalDep) -> Response:
    """The OpenAPI document where generic tools look for it (the caller's, as at /openapi)."""
    return openapi_response(request, ctx, principal)


@docs_router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> Response:
    """Browsers ask for /favicon.ico on their own; answering it keeps consoles free of 404s."""
    return await static_file("favicon.svg")


@docs_router.get("/static/{name}")
async def static_file(name: str) -> Response:
    """Our own CSS/JS (api/static); third-party code comes from /vendor."""
    path = STATIC / name
    if "/" in name or name.startswith(".") or not path.is_file():
        raise StaticNotFound(f"no static file {name!r}")
    media = {"css": "text/css", "js": "text/javascript", "svg": "image/svg+xml"}.get(
        name.rsplit(".", 1)[-1], "application/octet-stream"
    )
    return Response(path.read_bytes(), media_type=media, headers={"Cache-Control": "public, max-age=3600"})
