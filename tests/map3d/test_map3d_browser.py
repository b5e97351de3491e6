"""The 3D viewer in real headless Chromium (Debian's /usr/bin/chromium, WebGL through SwiftShader).

Over the sample city, signed in as a planner who may read pipelines: the scene is drawn, pipes show
in their CJJ 61 colours through the translucent ground, a click on a pipe identifies it, the time
slider reloads the tilesets as of a date, nothing is fetched from another host and the console
stays clean. Also: an anonymous visitor sees no pipes until signing in, the 2D map's 3D button opens
the same place in 3D, and a tablet can tap a pipe.
"""

from __future__ import annotations

import asyncio
import itertools
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from playwright.async_api import Browser, Page
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

from api.settings import PROJECT_ROOT
from tests.browser import Watch, chromium
from tests.map3d.conftest import CENTRE, PLANNER, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]
OUTPUT = PROJECT_ROOT / "test-output"
LOAD_MS = 180_000
TOLERANCE = 24  # per channel, 0–255: the tops of the tubes face the camera and keep their exact colour
MIN_PIXELS = 30


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


async def _settle(page: Page) -> None:
    """Wait until three frames in a row were drawn with the ground and every shown tileset loaded."""
    await asyncio.wait_for(page.evaluate("window.onemap3d.whenSettled()"), LOAD_MS / 1000)


async def _ready(page: Page) -> None:
    await page.wait_for_function("document.body.dataset.ready === '1' || !!document.body.dataset.failed",
                                 timeout=LOAD_MS)
    assert not await page.evaluate("document.body.dataset.failed || ''")
    await _settle(page)


async def _open(browser: Browser, server: LiveServer, *, path: str, width: int = 1024, height: int = 700,
                key: str | None = None, touch: bool = False) -> tuple[Page, Watch]:
    context = await browser.new_context(viewport={"width": width, "height": height}, has_touch=touch,
                                        locale="zh-CN")
    if key:
        # api.auth reads the cookie a sign-in sets; an API key works there too.
        await context.add_cookies([{"name": "onemap_token", "value": key, "url": server.url}])
    page = await context.new_page()
    watch = Watch(page, server.url)
    await page.goto(f"{server.url}{path}", wait_until="domcontentloaded")
    return page, watch


def _view(lon: float, lat: float, range_m: float, heading: float = 0, pitch: float = -90) -> str:
    return f"/map3d#{lon:.6f},{lat:.6f},{range_m:.0f},{heading:.0f},{pitch:.0f}"


async def _ground_opacity(page: Page, percent: int) -> None:
    await page.eval_on_selector("#ground-opacity", """(el, v) => { el.value = String(v);
        el.dispatchEvent(new Event('input', { bubbles: true })); }""", percent)
    await _settle(page)


async def _hide_buildings(page: Page) -> None:
    """Switch buildings off in the layer tree: a pipe may run under a building's footprint."""
    await page.eval_on_selector("#tree .layer[data-layer=buildings] input", "(el) => { if (el.checked) el.click(); }")
    assert not await page.evaluate("window.onemap3d.view.tilesets.buildings.show")


def _pixels(png: bytes) -> np.ndarray[Any, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile(png) as mem, mem.open() as ds:
            return np.moveaxis(ds.read()[:3], 0, -1).astype(int)


def _hex_rgb(colour: str) -> tuple[int, int, int]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


async def _style_colours(server: LiveServer) -> dict[str, tuple[int, int, int]]:
    """Each pipe category's colour, read from our style (the 2D map's line colour of its segments)."""
    auth = {"Authorization": f"Bearer {server.city.planner_key}"}
    async with httpx.AsyncClient(base_url=server.url, headers=auth) as client:
        style = (await client.get("/styles/onemap")).json()
    return {
        layer["id"].removeprefix("pipeline_").removesuffix("_segments"): _hex_rgb(layer["paint"]["line-color"])
        for layer in style["layers"]
        if layer["type"] == "line" and layer["id"].startswith("pipeline_") and layer["id"].endswith("_segments")
    }


async def _a_water_pipe(server: LiveServer) -> dict[str, Any]:
    """A water segment near the centre: its id, the middle of its longest edge, and its axis depth."""
    auth = {"Authorization": f"Bearer {server.city.planner_key}"}
    lon, lat = CENTRE
    box = f"{lon - 0.002},{lat - 0.002},{lon + 0.002},{lat + 0.002}"
    async with httpx.AsyncClient(base_url=server.url, headers=auth) as client:
        items = (await client.get(f"/collections/pipeline_water_segments/items?bbox={box}&limit=50")).json()
    assert items["features"], "no water pipe near the centre of the sample area"

    def longest(f: dict[str, Any]) -> tuple[float, tuple[float, float]]:
        c = f["geometry"]["coordinates"]
        edges = [((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2, ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2))
                 for a, b in itertools.pairwise(c)]
        return max(edges)

    feature = max(items["features"], key=lambda f: longest(f)[0])
    p = feature["properties"]
    radius = (p.get("diameter_mm") or 100) / 2000
    depth = (p["start_depth_m"] + p["end_depth_m"]) / 2
    return {"id": feature["id"], "point": longest(feature)[1], "axis": -(depth + radius)}


async def _screen_point(page: Page, lon: float, lat: float, height: float) -> tuple[float, float]:
    """Page coordinates of a geographic point (the viewer's projection, plus the canvas's offset)."""
    p = await page.evaluate(
        """([lon, lat, h]) => { const p = window.onemap3d.project(lon, lat, h);
            const r = window.onemap3d.viewer.scene.canvas.getBoundingClientRect();
            return p && { x: r.left + p.x, y: r.top + p.y }; }""",
        [lon, lat, height],
    )
    assert p is not None, "the pipe is not in view"
    return p["x"], p["y"]


@pytest.fixture(scope="module")
async def planner_page(browser: Browser, live3d: LiveServer) -> AsyncIterator[tuple[Page, Watch]]:
    """The planner's desktop page, looking down at the centre of the sample area from 150 m."""
    page, watch = await _open(browser, live3d, path=_view(*CENTRE, 150, 20, -60), key=live3d.city.planner_key)
    await _ready(page)
    yield page, watch
    await page.context.close()


async def test_pipes_show_in_their_cjj61_colours_through_the_ground(
    planner_page: tuple[Page, Watch], live3d: LiveServer, tmp_path: Path
) -> None:
    page, watch = planner_page
    opaque = _pixels(await page.locator("#globe").screenshot())
    distinct = len(np.unique(opaque.reshape(-1, 3), axis=0))
    assert distinct > 50, f"the canvas looks blank ({distinct} colours)"
    await _ground_opacity(page, 0)
    png = await page.locator("#globe").screenshot()
    (tmp_path / "map3d-pipes.png").write_bytes(png)
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "map3d-pipes.png").write_bytes(await page.screenshot())
    image = _pixels(png)
    found = {}
    for key, rgb in (await _style_colours(live3d)).items():
        close = np.abs(image - np.array(rgb)).max(axis=2) <= TOLERANCE
        found[key] = int(close.sum())
    shown = [key for key, n in found.items() if n >= MIN_PIXELS]
    assert len(shown) >= 3, f"pixels per CJJ 61 colour: {found}"
    assert watch.foreign() == [], watch.foreign()
    assert watch.errors == [], watch.errors
    assert watch.failed == [], watch.failed
    assert any("/3dtiles/" in u and u.split("?")[0].endswith(".glb") for u in watch.requests)


async def test_a_click_identifies_a_pipe(planner_page: tuple[Page, Watch], live3d: LiveServer) -> None:
    page, watch = planner_page
    pipe = await _a_water_pipe(live3d)
    lon, lat = pipe["point"]
    await page.evaluate("([lon, lat]) => window.onemap3d.lookAt({lon, lat, range: 40, heading: 0, pitch: -90})",
                        [lon, lat])
    await _hide_buildings(page)
    await _ground_opacity(page, 30)
    x, y = await _screen_point(page, lon, lat, pipe["axis"])
    await page.mouse.click(x, y)
    await page.wait_for_function("!!document.body.dataset.identified", timeout=10_000)
    assert await page.evaluate("document.body.dataset.identified") == f"pipeline_water_segments/{pipe['id']}"
    popup = page.locator("#popup")
    assert await popup.is_visible()
    versions = await popup.locator("a").first.get_attribute("href")
    assert versions == f"/collections/pipeline_water_segments/items/{pipe['id']}/versions"
    assert "给水管线" in await popup.inner_text()
    picked = await page.evaluate("window.onemap3d.lastPick.properties")
    assert picked["layer"] == "pipeline_water_segments" and picked["category"] == "JS"
    # The depth readout at the cursor: the pipe lies below the ground, as deep as its metadata says.
    await page.mouse.move(x + 1, y)
    await page.wait_for_function("!!window.onemap3d.view.lastDepth", timeout=10_000)
    depth = await page.evaluate("window.onemap3d.view.lastDepth.depth")
    assert 0.5 < depth < -pipe["axis"] + 0.5
    assert "m" in await page.inner_text("#depth")
    assert watch.errors == [], watch.errors


async def test_the_time_slider_reloads_the_tilesets_as_of_a_year(planner_page: tuple[Page, Watch]) -> None:
    page, watch = planner_page
    await page.eval_on_selector("#time-slider", """(el) => { el.value = '2000';
        el.dispatchEvent(new Event('input', { bubbles: true })); }""")
    await page.wait_for_function("document.body.dataset.asOf === '2000-12-31T23:59:59Z'", timeout=LOAD_MS)
    await _settle(page)
    asked = [u for u in watch.requests if "/3dtiles/tileset.json?datetime=2000-12-31T23%3A59%3A59Z" in u]
    assert any("pipeline_water_segments" in u for u in asked) and any("/buildings/" in u for u in asked)
    assert await page.inner_text("#time-label") == "2000"
    assert watch.errors == [] and watch.failed == [], (watch.errors, watch.failed)


async def test_language_switch_renames_the_layer_tree(planner_page: tuple[Page, Watch]) -> None:
    page, _ = planner_page
    assert "给水管线" in await page.inner_text("#tree")
    await page.click("#lang")
    assert "Water supply pipes" in await page.inner_text("#tree")
    assert await page.inner_text("#underground") == "Underground"
    await page.click("#lang")
    assert "给水管线" in await page.inner_text("#tree")


async def test_anonymous_visitors_see_no_pipes_until_they_sign_in(browser: Browser, live3d: LiveServer) -> None:
    page, watch = await _open(browser, live3d, path=_view(*CENTRE, 300, 0, -50))
    try:
        await _ready(page)
        assert not [u for u in watch.requests if "/collections/pipeline_" in u]
        assert "给水管线" not in await page.inner_text("#tree")
        await page.click("#signin-open")
        await page.fill("#signin-form input[name=username]", PLANNER[0])
        await page.fill("#signin-form input[name=password]", PLANNER[1])
        await page.click("#signin-form button[type=submit]")
        await page.wait_for_function("!!window.onemap3d.view.tilesets.pipeline_water_segments", timeout=LOAD_MS)
        assert "给水管线" in await page.inner_text("#tree")
        assert await page.is_visible("#signout")
        assert watch.errors == [] and watch.failed == [], (watch.errors, watch.failed)
    finally:
        await page.context.close()


async def test_the_2d_maps_3d_button_opens_the_same_place(browser: Browser, live3d: LiveServer) -> None:
    page, watch = await _open(browser, live3d, path="/map", key=live3d.city.planner_key)
    try:
        await page.wait_for_function("document.body.dataset.ready === '1'", timeout=LOAD_MS)
        lon, lat = await page.evaluate("(() => { const c = window.onemap.map.getCenter(); return [c.lng, c.lat]; })()")
        await page.click("#open-3d")
        await page.wait_for_url("**/map3d#*", timeout=30_000)
        hash_parts = [float(v) for v in page.url.split("#", 1)[1].split(",")]
        assert abs(hash_parts[0] - lon) < 1e-5 and abs(hash_parts[1] - lat) < 1e-5
        assert 100 < hash_parts[2] < 100_000  # a distance that shows the 2D map's width
        await _ready(page)
        assert watch.foreign() == [] and watch.errors == [], (watch.foreign(), watch.errors)
    finally:
        await page.context.close()


async def test_a_tablet_can_tap_a_pipe(browser: Browser, live3d: LiveServer, tmp_path: Path) -> None:
    pipe = await _a_water_pipe(live3d)
    lon, lat = pipe["point"]
    page, watch = await _open(browser, live3d, path=_view(lon, lat, 40), width=768, height=1024, touch=True,
                              key=live3d.city.planner_key)
    try:
        await _ready(page)
        assert await page.get_attribute("#panel-toggle", "aria-expanded") == "false"  # the globe gets the screen
        await _hide_buildings(page)
        await _ground_opacity(page, 20)
        x, y = await _screen_point(page, lon, lat, pipe["axis"])
        await page.touchscreen.tap(x, y)
        await page.wait_for_function("!!document.body.dataset.identified", timeout=10_000)
        assert await page.evaluate("document.body.dataset.identified") == f"pipeline_water_segments/{pipe['id']}"
        box = await page.locator("#popup").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 768
        (tmp_path / "map3d-tablet.png").write_bytes(await page.screenshot())
        assert watch.errors == [], watch.errors
    finally:
        await page.context.close()
