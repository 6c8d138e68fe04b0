"""The stage display under the longest texts a moderator may send: an 80-character focus text without a space
stays on the screen (wrapped), at the normal scale and at the largest. Chromium through Playwright; skipped,
with the reason, where either is missing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from support.browser import SKIP_REASON, chromium_path, launch, playwright_missing
from support.tui import Served

from modconsole.core import commands as c

pytestmark = [
    pytest.mark.skipif(chromium_path() is None, reason=SKIP_REASON),
    pytest.mark.skipif(playwright_missing() is not None, reason=playwright_missing() or ""),
]

WAIT_MS = 10_000


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    srv = await Served.start(tmp_path / "pages.db")
    yield srv
    await srv.close()


@pytest.mark.parametrize("scale", ["1", "4"])
async def test_a_long_focus_text_stays_on_the_display(served: Served, scale: str) -> None:
    from playwright.async_api import async_playwright

    moderator = await served.client(served.tokens.moderator, label="desk")
    await moderator.command(c.Focus(text="W" * 80))
    async with async_playwright() as playwright:
        browser: Any = await launch(playwright)
        try:
            page = await browser.new_page(viewport={"width": 960, "height": 540})
            await page.goto(f"http://127.0.0.1:{served.port}/display?scale={scale}#token={served.tokens.display}")
            await page.locator("#focus").wait_for(state="visible", timeout=WAIT_MS)
            box = await page.locator("#focus-text").bounding_box()
        finally:
            await browser.close()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= 960, box
