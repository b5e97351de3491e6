"""The planners' web map in real headless Chromium (Debian's /usr/bin/chromium; nothing downloaded).

Checks what a planner sees: buildings and pipelines drawn, a non-blank canvas, no console
errors, no request leaving our server, the time slider changing the map, identify on click,
search, the cursor's Gauss-Krüger coordinates, and a usable layout on a laptop and a tablet.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page
from pyproj import Transformer

from api.settings import PROJECT_ROOT
from tests.browser import Watch, chromium
from tests.citydata import CENTRE
from tests.cityfixtures import PLANNER
from tests.map.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]
OUTPUT = PROJECT_ROOT / "test-output"
LOAD_TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


async def _open(
    browser: Browser, server: LiveServer, *, width: int, height: int, key: str | None = None, touch: bool = False
) -> tuple[Page, Watch]:
    context = await browser.new_context(viewport={"width": width, "height": height}, has_touch=touch, locale="zh-CN")
    if key:
        # api.auth reads the same cookie a sign-in sets; an API key works there as a bearer token.
        await context.add_cookies([{"name": "onemap_token", "value": key, "url": server.url}])
    page = await context.new_page()
    watch = Watch(page, server.url)
    await page.goto(f"{server.url}/map", wait_until="domcontentloaded")
    await page.wait_for_function(
        "document.body.dataset.ready === '1' || !!document.body.dataset.failed", timeout=LOAD_TIMEOUT_MS
    )
    assert not await page.evaluate("document.body.dataset.failed || ''")
    await _idle(page)
    return page, watch


async def _idle(page: Page) -> None:
    """Wait until the map has fetched and drawn every tile it wants (polled: robust to a missed event)."""
    await page.evaluate("window.onemap.map.triggerRepaint()")
    await page.wait_for_function(
        """() => { const m = window.onemap.map;
            const quiet = m.loaded() && m.areTilesLoaded() && !m.isMoving();
            window.__quiet = quiet ? (window.__quiet || 0) + 1 : 0;
            return window.__quiet >= 3; }""",
        polling=100,
        timeout=LOAD_TIMEOUT_MS,
    )


async def _rendered(page: Page, prefix: str) -> list[Any]:
    return await page.evaluate(
        """(prefix) => window.onemap.map.queryRenderedFeatures()
            .filter((f) => f.layer.metadata && f.layer.metadata['onemap:collection'].startsWith(prefix))
            .map((f) => f.id)""",
        prefix,
    )


async def _distinct_colours(page: Page) -> int:
    return await page.evaluate("""() => {
        const src = window.onemap.map.getCanvas();
        const c = document.createElement('canvas');
        c.width = 200; c.height = 150;
        const ctx = c.getContext('2d');
        ctx.drawImage(src, 0, 0, c.width, c.height);
        const data = ctx.getImageData(0, 0, c.width, c.height).data;
        const seen = new Set();
        for (let i = 0; i < data.length; i += 4) {
            seen.add((data[i] >> 3) + '-' + (data[i + 1] >> 3) + '-' + (data[i + 2] >> 3));
        }
        return seen.size;
    }""")


async def _building_point(page: Page) -> dict[str, float] | None:
    """A canvas pixel well inside a drawn building (its neighbours hit the same building)."""
    return await page.evaluate("""() => {
        const map = window.onemap.map;
        const canvas = map.getCanvas();
        const w = canvas.clientWidth, h = canvas.clientHeight;
        const building = (x, y) => {
            const f = map.queryRenderedFeatures([x, y]).find((f) => f.layer.type !== 'symbol');
            return f && f.layer.metadata && f.layer.metadata['onemap:collection'] === 'buildings' ? f.id : undefined;
        };
        for (let y = Math.round(h * 0.2); y < h * 0.8; y += 5) for (let x = Math.round(w * 0.2); x < w * 0.8; x += 5) {
            const id = building(x, y);
            if (id === undefined) continue;
            if ([[-3, 0], [3, 0], [0, -3], [0, 3]].every(([dx, dy]) => building(x + dx, y + dy) === id)) {
                const r = canvas.getBoundingClientRect();
                return {x: Math.round(r.left) + x, y: Math.round(r.top) + y, id};
            }
        }
        return null;
    }""")


async def test_the_map_for_a_signed_in_planner(browser: Browser, live_server: LiveServer) -> None:
    page, watch = await _open(browser, live_server, width=1366, height=768, key=live_server.city.admin_key)
    await page.evaluate(f"window.onemap.map.jumpTo({{center: [{CENTRE[0]}, {CENTRE[1]}], zoom: 16}})")
    await _idle(page)

    buildings = await _rendered(page, "buildings")
    pipes = await _rendered(page, "pipeline_")
    assert buildings and pipes
    assert await _distinct_colours(page) > 8

    OUTPUT.mkdir(exist_ok=True)
    await page.screenshot(path=str(OUTPUT / "map-1366x768.png"))

    # The layer tree groups layers in Chinese, with the sample badge; English on request.
    groups = await page.locator("#tree summary").all_inner_texts()
    assert groups[:4] == ["一张图", "管线", "建筑", "网格"]
    assert await page.locator("#tree .layer[data-collection=grid_cells] .badge").inner_text() == "示例数据"
    await page.click("#lang")
    assert "Pipelines" in await page.locator("#tree").inner_text()
    await page.click("#lang")

    # Switching a layer off removes it from the rendered features.
    await page.locator("#tree .layer[data-collection=pipeline_water_segments] input[type=checkbox]").uncheck()
    await _idle(page)
    assert not [i for i in await _rendered(page, "pipeline_water_segments")]
    await page.locator("#tree .layer[data-collection=pipeline_water_segments] input[type=checkbox]").check()
    await _idle(page)

    # The time slider: in 2000 only the early buildings stand (the fixture builds half of them in 2015).
    before = set(await _rendered(page, "buildings"))
    await page.evaluate("""() => { const s = document.getElementById('time-slider');
        s.value = '2000'; s.dispatchEvent(new Event('input')); }""")
    await page.wait_for_function("document.body.dataset.asOf === '2000-12-31T23:59:59Z'")
    await page.wait_for_timeout(300)
    await _idle(page)
    after = set(await _rendered(page, "buildings"))
    assert after and after < before
    await page.screenshot(path=str(OUTPUT / "map-2000.png"))
    await page.evaluate("""() => { const s = document.getElementById('time-slider');
        s.value = s.max; s.dispatchEvent(new Event('input')); }""")
    await page.wait_for_function("document.body.dataset.asOf === ''")
    await page.wait_for_timeout(300)
    await _idle(page)

    # Click to identify.
    point = await _building_point(page)
    assert point is not None
    await page.mouse.click(point["x"], point["y"])
    popup = page.locator(".maplibregl-popup .identify")
    await popup.wait_for(timeout=10_000)
    assert "建筑物" in await popup.locator("h3").inner_text()
    assert (
        await popup.locator("a", has_text="历史版本").get_attribute("href")
        == f"/collections/buildings/items/{point['id']}/versions"
    )
    await page.wait_for_function(f"document.body.dataset.identified === 'buildings/{point['id']}'", timeout=10_000)

    # Cursor coordinates in CGCS2000 degrees and Gauss-Krüger zone 38 metres (checked against PROJ).
    await page.mouse.move(point["x"] + 3, point["y"] + 3)
    text = await page.locator("#coords").inner_text()
    found = re.search(r"CGCS2000 ([\d.]+)°E ([\d.]+)°N .* X ([\d.]+) m\s+Y ([\d.]+) m", text)
    assert found, text
    lon, lat, x_n, y_e = (float(v) for v in found.groups())
    east, north = Transformer.from_crs(4490, 4547, always_xy=True).transform(lon, lat)
    assert abs(east - y_e) < 0.5 and abs(north - x_n) < 0.5  # display rounds degrees to 1e-6 (≈ 0.1 m)

    # Search by grid code, then fly there.
    await page.fill("#search", live_server.city.fixture.grid_code or "")
    first = page.locator("#search-results button").first
    await first.wait_for(timeout=10_000)
    assert live_server.city.fixture.grid_code in await first.inner_text()
    await first.click()
    await _idle(page)

    # 3D buildings.
    await page.evaluate(f"window.onemap.map.jumpTo({{center: [{CENTRE[0]}, {CENTRE[1]}], zoom: 16}})")
    await page.click("#toggle-3d")
    await _idle(page)
    assert await page.evaluate("window.onemap.map.getPitch()") > 30
    assert await page.evaluate("window.onemap.map.getLayoutProperty('buildings-3d', 'visibility')") == "visible"
    await page.screenshot(path=str(OUTPUT / "map-3d.png"))

    assert watch.errors == [], watch.failed
    assert watch.foreign() == []
    assert any("/tiles/WebMercatorQuad/" in u for u in watch.requests)
    assert any("/fonts/" in u for u in watch.requests)
    await page.context.close()


async def test_anonymous_visitors_see_no_pipelines(browser: Browser, live_server: LiveServer) -> None:
    page, watch = await _open(browser, live_server, width=1366, height=768)
    await page.evaluate(f"window.onemap.map.jumpTo({{center: [{CENTRE[0]}, {CENTRE[1]}], zoom: 16}})")
    await _idle(page)
    assert await _rendered(page, "buildings")
    assert await _rendered(page, "pipeline_") == []
    assert await page.locator("#tree .layer[data-collection^=pipeline_]").count() == 0
    assert not any("pipeline_" in u for u in watch.requests)
    assert watch.errors == [] and watch.foreign() == []
    await page.context.close()


async def test_signing_in_shows_restricted_pipelines(browser: Browser, live_server: LiveServer) -> None:
    page, watch = await _open(browser, live_server, width=1366, height=768)
    assert await page.locator("#tree .layer[data-collection^=pipeline_]").count() == 0
    await page.click("#signin-open")
    await page.fill("#signin input[name=username]", PLANNER[0])
    await page.fill("#signin input[name=password]", "wrong")
    await page.click("#signin button[type=submit]")
    await page.locator("#signin-error").wait_for(state="visible")
    await page.fill("#signin input[name=password]", PLANNER[1])
    await page.click("#signin button[type=submit]")
    await page.locator("#tree .layer[data-collection=pipeline_water_segments]").wait_for(timeout=15_000)
    assert await page.locator("#who").inner_text() == PLANNER[0]
    await page.evaluate(f"window.onemap.map.jumpTo({{center: [{CENTRE[0]}, {CENTRE[1]}], zoom: 16}})")
    await _idle(page)
    assert await _rendered(page, "pipeline_water_segments")
    assert "pipeline_water" in await page.locator("#legend").inner_html()
    await page.click("#signout")
    await page.locator("#signin-open").wait_for(state="visible")
    await page.wait_for_function("!document.querySelector('#tree .layer[data-collection^=pipeline_]')")
    # The failed sign-in is a 401 the page reports in its form; nothing else may go wrong.
    assert [e for e in watch.errors if "401" not in e] == [] and watch.foreign() == []
    await page.context.close()


async def test_folium_quicklook_draws_offline(browser: Browser, live_server: LiveServer) -> None:
    context = await browser.new_context(viewport={"width": 1366, "height": 768})
    await context.add_cookies([{"name": "onemap_token", "value": live_server.city.admin_key, "url": live_server.url}])
    page = await context.new_page()
    watch = Watch(page, live_server.url)
    await page.goto(f"{live_server.url}/collections/pipeline_water_segments/map", wait_until="networkidle")
    canvas = page.locator(".leaflet-overlay-pane canvas")
    await canvas.first.wait_for(timeout=30_000)
    # Leaflet draws on a canvas (prefer_canvas); the pipes must be there in CJJ 61 给水 sky blue.
    cyan = await page.evaluate("""() => {
        const c = document.querySelector('.leaflet-overlay-pane canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] < 40 && d[i + 1] > 215 && d[i + 2] > 215 && d[i + 3] > 200) n++;
        return n;
    }""")
    assert cyan > 200
    assert "示例数据" in await page.locator(".onemap-legend").inner_text()
    await page.screenshot(path=str(OUTPUT / "quicklook-pipes.png"))
    assert watch.errors == [], watch.failed
    assert watch.foreign() == []
    await context.close()


@pytest.mark.parametrize(("width", "height"), [(1024, 768), (768, 1024)])
async def test_usable_on_a_tablet(browser: Browser, live_server: LiveServer, width: int, height: int) -> None:
    page, watch = await _open(browser, live_server, width=width, height=height, touch=True)
    box = await page.locator("#map").bounding_box()
    assert box and box["width"] >= width * 0.6 and box["height"] >= height * 0.6
    for selector in ("#search", "#time-slider", "#panel-toggle", "#toggle-3d"):
        b = await page.locator(selector).bounding_box()
        assert b and b["x"] >= 0 and b["x"] + b["width"] <= width + 1 and b["y"] + b["height"] <= height + 1, selector
    # Wide screens open the layer panel; narrow ones keep it closed until asked.
    assert await page.locator("#tree .layer").first.is_visible() == (width >= 900)
    if width < 900:
        await page.click("#panel-toggle")
    await page.locator("#tree .layer").first.wait_for(state="visible")
    await page.locator("#tree .layer[data-collection=buildings] input[type=checkbox]").uncheck()
    await page.screenshot(path=str(OUTPUT / f"map-{width}x{height}.png"))
    assert watch.errors == [] and watch.foreign() == []
    await page.context.close()
