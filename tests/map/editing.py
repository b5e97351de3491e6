"""Helpers for the editing browser tests: an editor account, pages signed in, map pixels, the API."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import Browser, Page

from layers.db import connect
from layers.principals import create_principal, issue_api_key
from tests.browser import Watch
from tests.map.conftest import LiveServer

TIMEOUT_MS = 90_000
GEOJSON = "application/geo+json"


async def editor_key(url: str, name: str = "editor1") -> str:
    """An API key of an editor who may read and write the pipelines and public layers."""
    conn = await connect(url)
    try:
        pid = await create_principal(conn, name=name, kind="system", roles=["editor"], grants=["pipeline_*"])
        return await issue_api_key(conn, principal_id=pid)
    finally:
        await conn.close()


async def open_editor(browser: Browser, server: LiveServer, key: str) -> tuple[Page, Watch]:
    """The map signed in with ``key``, its 编辑 tab open."""
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    await context.add_cookies([{"name": "onemap_token", "value": key, "url": server.url}])
    page = await context.new_page()
    watch = Watch(page, server.url)
    await page.goto(f"{server.url}/map", wait_until="domcontentloaded")
    await page.wait_for_function("document.body.dataset.ready === '1' || !!document.body.dataset.failed",
                                 timeout=TIMEOUT_MS)
    assert not await page.evaluate("document.body.dataset.failed || ''")
    await page.click('.tab[data-tab="edit"]')
    return page, watch


async def idle(page: Page) -> None:
    """Wait until the map has drawn every tile it wants."""
    await page.evaluate("window.onemap.map.triggerRepaint()")
    await page.wait_for_function(
        """() => { const m = window.onemap.map;
            const quiet = m.loaded() && m.areTilesLoaded() && !m.isMoving();
            window.__quiet = quiet ? (window.__quiet || 0) + 1 : 0;
            return window.__quiet >= 3; }""", polling=100, timeout=TIMEOUT_MS)


async def screen(page: Page, lon: float, lat: float) -> dict[str, float]:
    """The page pixel of a CRS84 position on the map."""
    return await page.evaluate("""([lon, lat]) => { const m = window.onemap.map;
        const p = m.project([lon, lat]); const r = m.getCanvas().getBoundingClientRect();
        return {x: r.left + p.x, y: r.top + p.y}; }""", [lon, lat])


async def click_at(page: Page, lon: float, lat: float) -> None:
    at = await screen(page, lon, lat)
    await page.mouse.click(at["x"], at["y"])
    await page.wait_for_timeout(250)


def api(server: LiveServer, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


NEAR_CENTRE = {"bbox": "112.915,28.276,112.925,28.284", "limit": 200}


def buildings_near_centre(server: LiveServer, key: str) -> list[dict[str, Any]]:
    """The current buildings around the fixture's centre (GeoJSON features)."""
    with api(server, key) as c:
        features: list[dict[str, Any]] = c.get("/collections/buildings/items", params=NEAR_CENTRE).json()["features"]
    return features


def simple_building(server: LiveServer, key: str, skip: set[int] | None = None) -> dict[str, Any]:
    """A current building with one ring (no holes) and several vertices, near the fixture's centre."""
    for f in buildings_near_centre(server, key):
        parts = f["geometry"]["coordinates"]
        if len(parts) == 1 and len(parts[0]) == 1 and len(parts[0][0]) >= 5 and f["id"] not in (skip or set()):
            return dict(f)
    raise AssertionError("no simple building in the fixture")


def centroid(feature: dict[str, Any]) -> tuple[float, float]:
    ring = feature["geometry"]["coordinates"][0][0][:-1]
    return (sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring))


def bounds(feature: dict[str, Any]) -> tuple[float, float, float, float]:
    ring = feature["geometry"]["coordinates"][0][0]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


async def wait_for(page: Page, condition: str) -> None:
    """Wait for a JS condition; on timeout fail with what the panel said."""
    try:
        await page.wait_for_function(condition, timeout=TIMEOUT_MS)
    except Exception as exc:
        said = await page.evaluate("(document.getElementById('ed-message') || {}).textContent || ''")
        raise AssertionError(f"{condition} never held; the panel says: {said!r}") from exc
