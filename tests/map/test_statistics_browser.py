"""The web map's 统计 / Statistics panel in real headless Chromium, against the real process.

A viewer picks a community code and runs the statistics: the totals shown are the API's for the
same inputs, the three ECharts charts render, and the CSV download carries the same total; then
a polygon drawn on the map gives the API's answer for that polygon.
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
from tests.map.test_analysis_browser import idle, screen

pytestmark = [pytest.mark.browser, pytest.mark.slow]
OUTPUT = PROJECT_ROOT / "test-output"
TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


def statistics(server: LiveServer, inputs: dict[str, Any]) -> dict[str, Any]:
    r = httpx.post(f"{server.url}/processes/building-statistics/execution", timeout=60,
                   headers={"Authorization": f"Bearer {server.city.viewer_key}"},
                   json={"inputs": inputs, "outputs": {"statistics": {}}})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def open_panel(browser: Browser, server: LiveServer) -> tuple[Page, Watch]:
    context = await browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN",
                                        accept_downloads=True)
    await context.add_cookies([{"name": "onemap_token", "value": server.city.viewer_key, "url": server.url}])
    page = await context.new_page()
    watch = Watch(page, server.url)
    await page.goto(f"{server.url}/map", wait_until="domcontentloaded")
    await page.wait_for_function("document.body.dataset.ready === '1' || !!document.body.dataset.failed",
                                 timeout=TIMEOUT_MS)
    await page.click('.tab[data-tab="stats"]')
    await page.wait_for_selector("#st-run", timeout=TIMEOUT_MS)
    return page, watch


async def wait_runs(page: Page, runs: int) -> None:
    await page.wait_for_function(f"window.onemap.statistics.runs >= {runs}", timeout=TIMEOUT_MS)
    assert await page.evaluate("document.body.dataset.statistics") == "done", await page.inner_text("#st-result")


async def test_community_statistics_charts_and_csv(browser: Browser, live_server: LiveServer) -> None:
    page, watch = await open_panel(browser, live_server)
    community = live_server.city.fixture.grid_code[:12]
    await page.select_option("#st-kind", "community")
    await page.fill("#st-code", community)
    await page.click("#st-run")
    await wait_runs(page, 1)
    expected = statistics(live_server, {"area": {"community": community}})
    shown = await page.evaluate("window.onemap.statistics.last.statistics")
    assert shown["snapshots"][0]["totals"] == expected["snapshots"][0]["totals"]
    assert expected["snapshots"][0]["totals"]["buildings"] > 0
    for name in ("by_use", "by_age", "by_height"):
        drawn = await page.evaluate(f"""() => {{ const c = window.onemap.statisticsCharts.{name};
            return c && !c.isDisposed() ? c.getOption().series[0].data.reduce((a, b) => a + b, 0) : -1; }}""")
        assert drawn == expected["snapshots"][0]["totals"]["buildings"], name
    assert await page.locator("#st-result .st-chart canvas").count() == 3
    await page.screenshot(path=str(OUTPUT / "statistics-community.png"))

    async with page.expect_download() as download:
        await page.click('#stats [data-download="csv"]')
    text = (await (await download.value).path()).read_text(encoding="utf-8-sig")  # type: ignore[union-attr]
    total = next(line for line in text.splitlines() if ",合计," in line)
    assert int(total.split(",")[5]) == expected["snapshots"][0]["totals"]["buildings"]
    assert watch.errors == [], watch.failed
    assert watch.foreign() == []
    await page.context.close()


async def test_drawn_polygon_and_growth(browser: Browser, live_server: LiveServer) -> None:
    page, watch = await open_panel(browser, live_server)
    cx, cy = CENTRE
    await page.evaluate(f"window.onemap.map.jumpTo({{center: [{cx}, {cy}], zoom: 16}})")
    await idle(page)
    await page.fill("#st-from", "2000-01-01")
    await page.dispatch_event("#st-from", "change")
    await page.fill("#st-to", "2020-01-01")
    await page.dispatch_event("#st-to", "change")
    await page.select_option("#st-kind", "polygon")
    await page.click("#st-draw")
    corners = [(cx - 0.004, cy - 0.003), (cx + 0.004, cy - 0.003), (cx + 0.004, cy + 0.003),
               (cx - 0.004, cy + 0.003), (cx - 0.004, cy - 0.003)]
    for lon, lat in corners:
        at = await screen(page, lon, lat)
        await page.mouse.click(at["x"], at["y"])
        await page.wait_for_timeout(200)
    await wait_runs(page, 1)
    inputs = await page.evaluate("window.onemap.statistics.last.inputs")
    assert inputs["area"]["type"] == "Polygon" and len(inputs["datetime"]) == 2
    expected = statistics(live_server, inputs)
    shown = await page.evaluate("window.onemap.statistics.last.statistics")
    assert shown["growth"]["totals"] == expected["growth"]["totals"]
    assert [s["totals"] for s in shown["snapshots"]] == [s["totals"] for s in expected["snapshots"]]
    assert expected["snapshots"][1]["totals"]["buildings"] > 0
    assert await page.locator("#st-result table tr").count() > 3
    await page.screenshot(path=str(OUTPUT / "statistics-polygon.png"))
    assert watch.errors == [], watch.failed
    assert watch.foreign() == []
    await page.context.close()
