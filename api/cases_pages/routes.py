"""Routes of the 数字城管 pages: ``/cases/report|console|tasks|verify|dashboard`` and their files.

The pages are HTML shells rendered from ``templates/``; the ES modules in ``static/`` fetch
everything else from the cases API. A page needs a signed-in caller (sign-in sets the cookie
that EventSource and image requests carry too) with one of the roles the page serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path as FsPath
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from api.auth import PrincipalDep
from api.errors import ApiError
from api.negotiation import wants_lang
from api.static_files import NO_CACHE, page_file
from layers.principals import Principal

HERE = FsPath(__file__).resolve().parent
STATIC_DIR = HERE / "static"
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
STATIC_PREFIX = "/cases-static"


@dataclass(frozen=True)
class Page:
    """One page: its template, its titles, and the roles that may open it (admins always may)."""

    template: str
    title_zh: str
    title_en: str
    roles: frozenset[str]


CASE_ROLES = frozenset({"inspector", "operator", "supervisor", "dispatcher", "handler", "leader"})
PAGES: dict[str, Page] = {
    "report": Page("report.html.j2", "问题上报", "Report a problem", CASE_ROLES | {"editor"}),
    "console": Page("queue.html.j2", "受理派遣", "Intake and dispatch",
                    frozenset({"operator", "supervisor", "dispatcher", "leader"})),
    "tasks": Page("queue.html.j2", "处置任务", "Department tasks", frozenset({"handler", "supervisor"})),
    "verify": Page("queue.html.j2", "核查任务", "Verification", frozenset({"inspector", "supervisor"})),
    "dashboard": Page("dashboard.html.j2", "综合评价", "Statistics and evaluation", CASE_ROLES),
}


class CasesFileNotFound(ApiError):
    """404: no such file under ``api/cases_pages/static``."""

    status = 404
    type_slug = "cases-file-not-found"
    title = "No such case page file"


@cache
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["j2"]))


def _render(request: Request, template: str, *, status: int = 200, **context: object) -> HTMLResponse:
    lang = wants_lang(request)
    body = _environment().get_template(template).render(lang=lang, zh=lang == "zh", static=STATIC_PREFIX,
                                                         pages=PAGES, **context)
    return HTMLResponse(body, status_code=status, headers=NO_CACHE)


def may_open(principal: Principal, page: Page) -> bool:
    """Whether ``principal`` may open ``page``: an admin, or one of the page's roles."""
    return principal.is_admin or bool(page.roles & set(principal.roles))


def _page(name: str, request: Request, principal: Principal) -> Response:
    page = PAGES[name]
    if principal.is_anonymous:
        return RedirectResponse(f"/auth/sign-in?next={quote(request.url.path)}", status_code=303)
    nav = [n for n, p in PAGES.items() if may_open(principal, p)]
    if not may_open(principal, page):
        return _render(request, "forbidden.html.j2", status=403, name=name, page=page, nav=nav,
                       needed=sorted(page.roles), who=principal.name)
    return _render(request, page.template, name=name, page=page, nav=nav, who=principal.name)


def cases_pages_router() -> APIRouter:
    """The page routes and ``/cases-static/{name}``; include it before the cases API's router."""
    router = APIRouter(tags=["数字城管 pages"], include_in_schema=False)

    def add(name: str) -> None:
        async def page(request: Request, principal: PrincipalDep) -> Response:
            return _page(name, request, principal)

        page.__doc__ = f"The {PAGES[name].title_en} page ({PAGES[name].title_zh})."
        router.add_api_route(f"/cases/{name}", page, methods=["GET"], response_class=HTMLResponse)

    for name in PAGES:
        add(name)

    @router.get(STATIC_PREFIX + "/{name}")
    async def cases_static(name: Annotated[str, Path(pattern=r"^[a-z0-9_.-]+$")]) -> Response:
        """One of the pages' ES modules or stylesheet."""
        return page_file(STATIC_DIR, name, STATIC_TYPES, lambda n: CasesFileNotFound(f"no case page file {n!r}"))

    return router
