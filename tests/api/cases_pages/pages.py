"""Helpers of the case page browser tests: signed-in contexts, pages opened until ready, a JPEG."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image
from playwright.async_api import Browser, BrowserContext, Page

from tests.browser import Watch

READY_MS = 90_000
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
                         "device_scale_factor": 2}
TABLET: dict[str, Any] = {"viewport": {"width": 820, "height": 1180}, "has_touch": True}
DESK: dict[str, Any] = {"viewport": {"width": 1366, "height": 768}}


async def signed_in(browser: Browser, base: str, key: str, **options: Any) -> BrowserContext:
    """A browser context whose session cookie holds ``key`` (api.auth reads an API key there too)."""
    context = await browser.new_context(locale="zh-CN", **options)
    # The machine running the suite may be busy: every wait gets the page-load budget, not 30 s.
    context.set_default_timeout(READY_MS)
    await context.add_cookies([{"name": "onemap_token", "value": key, "url": base}])
    return context


async def open_page(context: BrowserContext, base: str, path: str) -> tuple[Page, Watch]:
    """Open ``path`` and wait until the page says it is ready (or failed: then the test fails)."""
    page = await context.new_page()
    watch = Watch(page, base)
    await page.goto(base + path, wait_until="domcontentloaded")
    await page.wait_for_function("document.body.dataset.ready === '1' || !!document.body.dataset.failed",
                                 timeout=READY_MS)
    failed = await page.evaluate("document.body.dataset.failed || ''")
    assert not failed, f"{path} failed to start: {failed}"
    return page, watch


def jpeg(width: int = 320, height: int = 240, colour: tuple[int, int, int] = (180, 40, 30)) -> bytes:
    """A small real JPEG (a coloured frame with a stripe, so it is not one flat colour)."""
    image = Image.new("RGB", (width, height), colour)
    for x in range(width // 3, width // 2):
        for y in range(height):
            image.putpixel((x, y), (250, 250, 250))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def photo_file(name: str = "photo.jpg") -> dict[str, Any]:
    """``jpeg()`` as Playwright's set_input_files wants it."""
    return {"name": name, "mimeType": "image/jpeg", "buffer": jpeg()}


async def choose_class(page: Page, kind: str) -> dict[str, str]:
    """Pick ``kind``'s first big class and its first small class on the report form."""
    await page.check(f"input[name=kind][value={kind}]")
    big = await page.evaluate("document.querySelector('#big-class option:nth-child(2)').value")
    await page.select_option("#big-class", big)
    small = await page.evaluate("document.querySelector('#small-class option:nth-child(2)').value")
    await page.select_option("#small-class", small)
    return {"big_class": big, "small_class": small}


async def open_case(page: Page, case_id: int) -> None:
    """Click the queue's row of ``case_id`` and wait for its detail."""
    shown = await page.evaluate("window.onemap.detail.shown || 0")
    await page.click(f"#queue-table tr[data-id='{case_id}']")
    await page.wait_for_function(f"(window.onemap.detail.shown || 0) > {shown}", timeout=READY_MS)


async def act(page: Page, action: str, fill: Any = None) -> dict[str, Any]:
    """Click ``action``; ``fill(page)`` fills its dialog first; returns window.onemap.lastAction."""
    await page.evaluate("window.onemap.lastAction = null")
    await page.click(f"#detail-actions button[data-action={action}]")
    if fill is not None:
        await page.wait_for_selector("#action-dialog[open]")
        await fill(page)
        await page.click("#action-form button[type=submit]")
    await page.wait_for_function("window.onemap.lastAction !== null", timeout=READY_MS)
    result: dict[str, Any] = await page.evaluate("window.onemap.lastAction")
    return result


async def wait_state(page: Page, state: str) -> None:
    """Wait until the open case's detail shows ``state``."""
    await page.wait_for_function(
        "(s) => window.onemap.detail.props && window.onemap.detail.props.state === s", arg=state, timeout=READY_MS
    )
