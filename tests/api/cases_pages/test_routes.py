"""The 数字城管 page routes: who may open which page, and that every file they load is ours."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.cityfixtures import City

PAGES = ["report", "console", "tasks", "verify", "dashboard"]


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_an_anonymous_visitor_is_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    for page in PAGES:
        r = await client.get(f"/cases/{page}")
        assert r.status_code == 303
        assert r.headers["location"] == f"/auth/sign-in?next=/cases/{page}"


async def test_a_caller_without_a_case_role_is_refused(client: httpx.AsyncClient, city: City) -> None:
    r = await client.get("/cases/console", headers=_auth(city.viewer_key))
    assert r.status_code == 403
    assert "operator" in r.text and "dispatcher" in r.text


@pytest.mark.parametrize("page", PAGES)
async def test_each_page_loads_only_local_modules(client: httpx.AsyncClient, city: City, page: str) -> None:
    headers = _auth(city.admin_key)
    r = await client.get(f"/cases/{page}", headers=headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert 'lang="zh-CN"' in r.text
    refs = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert refs and all(ref.startswith("/") for ref in refs), refs
    # Every module the page reaches, transitively, comes from this server and names no other host.
    modules = [ref for ref in refs if ref.endswith((".js", ".mjs"))]
    seen: set[str] = set()
    while modules:
        ref = modules.pop()
        if ref in seen:
            continue
        seen.add(ref)
        got = await client.get(ref, headers=headers)
        assert got.status_code == 200, ref
        if ref.startswith("/vendor/"):
            continue
        assert "http://" not in got.text and "https://" not in got.text, ref
        imports = re.findall(r'from "([^"]+)"', got.text)
        assert all(i.startswith("/") for i in imports), ref
        modules += imports
    assert "/cases-static/common.js" in seen
    if page == "dashboard":
        assert "/vendor/echarts/dist/echarts.esm.min.mjs" in seen
    if page in ("report", "console", "dashboard"):
        assert "/vendor/maplibre-gl/dist/maplibre-gl.mjs" in seen
    for ref in refs:
        if ref.endswith(".css"):
            assert (await client.get(ref, headers=headers)).status_code == 200, ref


async def test_the_pages_own_files_only(client: httpx.AsyncClient) -> None:
    assert (await client.get("/cases-static/cases.css")).status_code == 200
    assert (await client.get("/cases-static/routes.py")).status_code == 404
    assert (await client.get("/cases-static/..%2Froutes.py")).status_code == 404
    r = await client.get("/cases-static/nothing.js")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


async def test_the_web_map_links_the_case_pages(client: httpx.AsyncClient) -> None:
    page = (await client.get("/map")).text
    assert 'id="cases-menu"' in page
    menu = (await client.get("/map/static/cases_menu.js")).text
    assert all(f'"/cases/{p}"' in menu for p in PAGES)
