"""The 3D viewer opens an exported 3D Tiles folder from the laptop's disk (real headless Chromium).

``onemap tiles export --format 3dtiles`` writes the folder; the page's "打开本地文件夹" control picks it
(<input webkitdirectory>), and the pipes are drawn from the folder's own files: the visitor is
anonymous (the server shows them no pipes at all), no 3D tile is fetched from the server after the
folder is opened, and no request leaves our own server.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from playwright.async_api import Browser

from api.settings import PROJECT_ROOT
from tests.browser import chromium
from tests.map3d.conftest import CENTRE, LiveServer
from tests.map3d.test_map3d_browser import (
    LOAD_MS,
    MIN_PIXELS,
    OUTPUT,
    TOLERANCE,
    _ground_opacity,
    _open,
    _pixels,
    _ready,
    _settle,
    _style_colours,
    _view,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]
PIPES = ["pipeline_water_segments", "pipeline_sewage_segments", "pipeline_gas_segments", "pipeline_power_segments"]


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


async def _export(live: LiveServer, out: Path) -> None:
    env = {**os.environ, "ONEMAP_DATABASE_URL": live.city.url, "ONEMAP_VAR_DIR": str(out.parent / "var")}
    proc = await asyncio.create_subprocess_exec(
        str(PROJECT_ROOT / ".venv" / "bin" / "onemap"), "tiles", "export", "--format", "3dtiles",
        "--layers", ",".join(PIPES), "--include-restricted", "--out", str(out), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()


async def test_an_exported_folder_opens_from_disk(browser: Browser, live3d: LiveServer, tmp_path: Path) -> None:
    folder = tmp_path / "city3d"
    await _export(live3d, folder)
    assert (folder / "tileset.json").exists() and list(folder.rglob("*.glb"))
    page, watch = await _open(browser, live3d, path=_view(*CENTRE, 300, 0, -60))
    try:
        await _ready(page)
        await page.eval_on_selector("#tree .layer[data-layer=buildings] input",
                                    "(el) => { if (el.checked) el.click(); }")
        before = len(watch.requests)
        await page.set_input_files("#folder-input", folder)
        await page.wait_for_function("!!document.body.dataset.folder || !!document.body.dataset.folderError",
                                     timeout=LOAD_MS)
        assert await page.evaluate("document.body.dataset.folder") == "city3d"
        assert "本地文件夹: city3d" in await page.inner_text("#tree .layer[data-layer=folder]")
        await page.evaluate("([lon, lat]) => window.onemap3d.lookAt({lon, lat, range: 150, heading: 20, pitch: -60})",
                            list(CENTRE))
        await _settle(page)
        await _ground_opacity(page, 0)
        png = await page.locator("#globe").screenshot()
        OUTPUT.mkdir(exist_ok=True)
        (OUTPUT / "map3d-folder.png").write_bytes(await page.screenshot())
        image = _pixels(png)
        colours = await _style_colours(live3d)
        found = {key: int((np.abs(image - np.array(colours[key])).max(axis=2) <= TOLERANCE).sum())
                 for key in ("water", "sewage", "gas", "power")}
        assert sum(n >= MIN_PIXELS for n in found.values()) >= 3, f"pixels per CJJ 61 colour: {found}"
        after = watch.requests[before:]
        assert [u for u in after if "/3dtiles/" in u or "/collections/" in u] == []  # all from the folder
        assert any(u.startswith("blob:") for u in after)
        assert not [u for u in watch.requests if "/collections/pipeline_" in u]  # anonymous: no pipes served
        assert watch.foreign() == [] and watch.errors == [] and watch.failed == [], (
            watch.foreign(), watch.errors, watch.failed)
    finally:
        await page.context.close()


async def test_a_folder_without_a_tileset_is_refused(browser: Browser, live3d: LiveServer, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "readme.txt").write_text("not a tileset")
    page, watch = await _open(browser, live3d, path=_view(*CENTRE, 300, 0, -60))
    try:
        await _ready(page)
        page.on("dialog", lambda d: asyncio.ensure_future(d.dismiss()))
        await page.set_input_files("#folder-input", folder)
        await page.wait_for_function("!!document.body.dataset.folderError", timeout=30_000)
        assert "tileset.json" in await page.evaluate("document.body.dataset.folderError")
        assert not await page.evaluate("document.body.dataset.folder || ''")
        assert watch.foreign() == [], watch.foreign()
    finally:
        await page.context.close()
