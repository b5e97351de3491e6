"""The web map's 分析 / Analysis panel in real headless Chromium, against the real analyses.

A planner with the water-pipe grant clicks a pipe and runs 关阀分析: the isolated pipes are drawn
and the valves marked, exactly those the API answers for the same break; marking a valve failed
runs it again. Drawing a line across the pipes gives a cross-section SVG with as many pipes as the
API finds on that line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page

from api.settings import PROJECT_ROOT
from tests.browser import Watch, chromium
from tests.citydata import CENTRE
from tests.map.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]
OUTPUT = PROJECT_ROOT / "test-output"
TIMEOUT_MS = 90_000
BREAK = "JS-0-005"


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


async def open_panel(browser: Browser, server: LiveServer, key: str) -> tuple[Page, Watch]:
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    await context.add_cookies([{"name": "onemap_token", "value": key, "url": server.url}])
    page = await context.new_page()
    watch = Watch(page, server.url)
    await page.goto(f"{server.url}/map", wait_until="domcontentloaded")
    await page.wait_for_function("document.body.dataset.ready === '1' || !!document.body.dataset.failed",
                                 timeout=TIMEOUT_MS)
    await page.click('.tab[data-tab="analysis"]')
    await page.wait_for_selector('#analysis [data-run="isolation"]:not([disabled])', timeout=TIMEOUT_MS)
    return page, watch


async def idle(page: Page) -> None:
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


def segment(server: LiveServer, segment_no: str) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {server.city.pipes_key}"}
    found = httpx.get(f"{server.url}/collections/pipeline_water_segments/items",
                      params={"filter": f"segment_no = '{segment_no}'", "limit": 1}, headers=auth, timeout=30).json()
    feature: dict[str, Any] = found["features"][0]
    return feature


def execute(server: LiveServer, process: str, inputs: dict[str, Any]) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {server.city.pipes_key}"}
    r = httpx.post(f"{server.url}/processes/{process}/execution", headers=auth, timeout=60,
                   json={"inputs": inputs, "response": "document"})
    assert r.status_code == 200, r.text
    return {name: v["value"] for name, v in r.json().items()}


async def wait_run(page: Page, runs: int) -> None:
    await page.wait_for_function(f"window.onemap.analysis.runs >= {runs}", timeout=TIMEOUT_MS)
    assert await page.evaluate("document.body.dataset.analysis") == "done", await page.inner_text("#an-result")


async def test_valve_isolation_from_the_map(browser: Browser, live_server: LiveServer) -> None:
    page, watch = await open_panel(browser, live_server, live_server.city.pipes_key)
    pipe = segment(live_server, BREAK)
    (x0, y0), (x1, y1) = pipe["geometry"]["coordinates"][:2]
    await page.evaluate(f"window.onemap.map.jumpTo({{center: [{(x0 + x1) / 2}, {(y0 + y1) / 2}], zoom: 17}})")
    await idle(page)
    at = await screen(page, (x0 + x1) / 2, (y0 + y1) / 2)
    await page.mouse.click(at["x"], at["y"])
    await page.wait_for_function("!!window.onemap.analysis.selected")
    assert await page.evaluate("window.onemap.analysis.selected.fid") == pipe["id"]
    assert not await page.locator(".maplibregl-popup").count()  # the panel owns the click, not identify

    await page.click('#analysis [data-run="isolation"]')
    await wait_run(page, 1)
    expected = execute(live_server, "valve-isolation", {"category": "water", "break": pipe["id"]})
    shown = await page.evaluate("window.onemap.analysis.last.results")
    assert {f["id"] for f in shown["isolated"]["features"]} == {f["id"] for f in expected["isolated"]["features"]}
    assert {f["id"] for f in shown["valves"]["features"]} == {f["id"] for f in expected["valves"]["features"]}
    await idle(page)
    drawn = await page.evaluate("""() => window.onemap.map.queryRenderedFeatures(
        {layers: ['analysis-lines', 'analysis-points']}).map((f) => f.properties._output)""")
    assert "isolated" in drawn and "valves" in drawn
    listed = await page.locator('#an-result details[data-output="valves"] li').count()
    assert listed == len(expected["valves"]["features"])
    await page.screenshot(path=str(OUTPUT / "analysis-isolation.png"))

    # A valve that will not close: marked failed, the isolation runs again and reaches past it.
    first_valve = expected["valves"]["features"][0]["properties"]["point_no"]
    await page.click(f'#an-result [data-valve="{first_valve}"]')
    await wait_run(page, 2)
    again = await page.evaluate("window.onemap.analysis.last")
    assert again["inputs"]["failed_valves"] == [first_valve]
    valves_now = {f["properties"]["point_no"] for f in again["results"]["valves"]["features"]}
    assert first_valve not in valves_now
    assert len(again["results"]["isolated"]["features"]) > len(expected["isolated"]["features"])

    async with page.expect_download() as download:
        await page.click('#an-result [data-download="csv"]')
    text = (await (await download.value).path()).read_text(encoding="utf-8-sig")  # type: ignore[union-attr]
    assert text.splitlines()[0].startswith("output,id") and BREAK in text
    assert watch.errors == [], watch.failed
    assert watch.foreign() == []
    await page.context.close()


async def test_draw_a_cross_section(browser: Browser, live_server: LiveServer) -> None:
    page, watch = await open_panel(browser, live_server, live_server.city.pipes_key)
    cx, cy = CENTRE
    await page.evaluate(f"window.onemap.map.jumpTo({{center: [{cx + 0.0005}, {cy}], zoom: 17}})")
    await idle(page)
    await page.click('#analysis [data-run="section"]')
    start = await screen(page, cx + 0.0005, cy - 0.0004)
    end = await screen(page, cx + 0.0006, cy + 0.0004)
    await page.mouse.click(start["x"], start["y"])
    await page.wait_for_timeout(200)
    await page.mouse.click(end["x"], end["y"])
    await page.wait_for_timeout(200)
    await page.mouse.click(end["x"], end["y"])  # clicking the last point again finishes the line
    await wait_run(page, 1)
    line = await page.evaluate("window.onemap.analysis.last.inputs.line")
    expected = execute(live_server, "cross-section", {"line": line})
    count = len(expected["pipes"]["features"])
    assert count >= 1
    shapes = await page.locator('#an-svg svg ellipse, #an-svg svg rect[stroke="#333333"]').count()
    assert shapes == count
    assert await page.locator('#an-result details[data-output="pipes"] li').count() == count
    await page.screenshot(path=str(OUTPUT / "analysis-section.png"))
    assert watch.errors == [], watch.failed
    assert watch.foreign() == []
    await page.context.close()


def point(server: LiveServer, point_no: str) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {server.city.pipes_key}"}
    found = httpx.get(f"{server.url}/collections/pipeline_water_points/items",
                      params={"filter": f"point_no = '{point_no}'", "limit": 1}, headers=auth, timeout=30).json()
    feature: dict[str, Any] = found["features"][0]
    return feature


async def test_excavation_profile_and_clearance_from_the_map(browser: Browser, live_server: LiveServer) -> None:
    page, watch = await open_panel(browser, live_server, live_server.city.pipes_key)
    cx, cy = CENTRE
    await page.evaluate(f"window.onemap.map.jumpTo({{center: [{cx}, {cy}], zoom: 17}})")
    await idle(page)

    # Excavation: a dig area drawn across the west–east pipe; the pipes listed are the API's.
    await page.fill("#an-depth", "2.5")
    await page.click('#analysis [data-run="excavation"]')
    corners = [(cx - 0.0009, cy - 0.0003), (cx - 0.0003, cy - 0.0003), (cx - 0.0003, cy + 0.0003),
               (cx - 0.0009, cy + 0.0003), (cx - 0.0009, cy - 0.0003)]
    for lon, lat in corners:
        at = await screen(page, lon, lat)
        await page.mouse.click(at["x"], at["y"])
        await page.wait_for_timeout(200)
    await wait_run(page, 1)
    await page.screenshot(path=str(OUTPUT / "analysis-excavation.png"))
    area = await page.evaluate("window.onemap.analysis.last.inputs.area")
    expected = execute(live_server, "excavation-impact", {"area": area, "depth_m": 2.5})
    assert expected["pipes"]["features"]
    listed = await page.locator('#an-result details[data-output="pipes"] li').count()
    assert listed == len(expected["pipes"]["features"])

    # Profile: two wells picked on the map; the drawing comes back.
    await page.click('#analysis [data-run="profile"]')
    for point_no in ("JS0013", "JS0015"):  # wells either side of the centre, on screen
        lon, lat = point(live_server, point_no)["geometry"]["coordinates"]
        at = await screen(page, lon, lat)
        await page.mouse.click(at["x"], at["y"])
        await page.wait_for_timeout(200)
    await wait_run(page, 2)
    assert await page.locator("#an-svg svg").count() == 1
    assert await page.evaluate("window.onemap.analysis.last.process") == "longitudinal-profile"

    # Clearance check for a picked pipe (on screen, away from the crossing at the centre).
    pipe = segment(live_server, "JS-0-011")
    (x0, y0), (x1, y1) = pipe["geometry"]["coordinates"][:2]
    at = await screen(page, (x0 + x1) / 2, (y0 + y1) / 2)
    await page.mouse.click(at["x"], at["y"])
    await page.wait_for_function(f"window.onemap.analysis.selected?.fid === {pipe['id']}")
    await page.click('#analysis [data-run="clearance"]')
    await wait_run(page, 3)
    assert await page.evaluate("window.onemap.analysis.last.process") == "clearance-check"
    await page.click("#lang")
    assert await page.locator('.tab[data-tab="analysis"]').inner_text() == "Analysis"
    assert "Selected pipe" in await page.locator("#analysis").inner_text()
    assert watch.errors == [], watch.failed
    assert watch.foreign() == []
    await page.context.close()
