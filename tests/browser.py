"""Real headless Chromium for the page tests: Debian's /usr/bin/chromium driven by Playwright.

Nothing is downloaded: Playwright is told where Chromium is. MapLibre needs WebGL, which
headless Chromium gives through SwiftShader with these flags.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A Chromium browser for one test module (the caller wraps it in a fixture)."""
    if not shutil.which(CHROMIUM):
        pytest.fail("Debian's chromium is missing: run scripts/bootstrap.sh test")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


class Watch:
    """Console errors, page errors, every request URL and every failed response of one page."""

    def __init__(self, page: Page, origin: str) -> None:
        self.origin = origin
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.failed: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("response", lambda r: self.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    def foreign(self) -> list[str]:
        """Requests to anywhere but our own server."""
        return [u for u in self.requests if not u.startswith((self.origin + "/", "data:", "blob:"))]
