"""HTML pages in real headless Chromium (Debian's, through Playwright): the item and items maps.

The page runs in real time and the test polls the map element until MapLibre has drawn the
feature(s) on the canvas.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser, Page

from tests.browser import Watch, chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow]
MAP_STATE = "JSON.stringify(Object.assign({}, document.getElementById('map')?.dataset))"


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


async def _open(browser: Browser, url: str, origin: str) -> tuple[Page, Watch]:
    page = await browser.new_page(viewport={"width": 1000, "height": 800})
    watch = Watch(page, origin)
    await page.goto(url)
    return page, watch


async def _rendered(page: Page, at_least: int) -> bool:
    try:
        await page.wait_for_function(
            f"Number(document.getElementById('map')?.dataset.rendered || 0) >= {at_least}", timeout=30_000
        )
    except Exception:  # the assertion below reports the map's state
        return False
    return True


async def test_item_page_map(server: str, browser: Browser) -> None:
    async with httpx.AsyncClient() as http:
        first = await http.get(f"{server}/collections/buildings/items", params={"limit": 1})
    fid = first.json()["features"][0]["id"]
    page, watch = await _open(browser, f"{server}/collections/buildings/items/{fid}?f=html&lang=zh", server)
    rendered = await _rendered(page, 1)
    state = json.loads(await page.evaluate(MAP_STATE))
    assert rendered, f"MapLibre did not draw the feature: {state}"
    assert "error" not in state
    assert "建筑用途" in await page.inner_text("body")  # the properties table, in Chinese
    assert await page.locator("canvas.maplibregl-canvas").count() == 1
    assert len(await page.screenshot()) > 5_000
    assert watch.errors == [] and watch.foreign() == [], (watch.errors, watch.failed, watch.foreign())
    await page.close()


async def test_items_page_map_draws_every_feature(server: str, browser: Browser) -> None:
    page, watch = await _open(browser, f"{server}/collections/rail_stations/items?f=html&limit=20", server)
    assert await _rendered(page, 20), json.loads(await page.evaluate(MAP_STATE))
    assert await page.locator("tbody tr").count() == 20
    assert watch.errors == [] and watch.foreign() == [], (watch.errors, watch.failed, watch.foreign())
    await page.close()


def test_pages_load_nothing_from_outside(server: str) -> None:
    for path in (
        "/?f=html",
        "/collections?f=html",
        "/collections/rail_stations/items?f=html&limit=5",
        "/openapi?f=html",
        "/auth/sign-in",
    ):
        page = httpx.get(f"{server}{path}").text
        for src in re.findall(r'(?:src|href)="([^"]+)"', page):
            assert src.startswith((server, "/", "#")) or src.startswith("http://www.opengis.net"), (path, src)
