"""The browser view in headless Chromium: ``modconsole web`` serves the console (textual-serve), a tab
asks for the token in the page, and a display token shows the running timer.

A real server (in this process, port 0) runs the mayors' call with its opening started; ``modconsole
web`` runs as its own process on a free port; Chromium is driven over the Chrome DevTools protocol
through Playwright for Python (``executable_path``: Debian's browser, none downloaded). The terminal's text
is read from xterm's buffer with ``page.evaluate``: a script added before the page loads keeps a reference
to the page's xterm Terminal when textual.js makes it. Keys are typed with Playwright's keyboard, as a
person's would arrive.
Screenshots are kept under ``artifacts/`` (git-ignored). Skipped, with the reason, where Chromium is
not installed (``.ci/run`` installs Debian's ``chromium``) or cannot start.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.browser import SKIP_REASON, chromium_path, launch, playwright_missing
from support.tui import Served

from modconsole.core import commands as c
from modconsole.tui.bigfont import decode

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
WAIT_S = 30.0

pytestmark = [
    pytest.mark.skipif(chromium_path() is None, reason=SKIP_REASON),
    pytest.mark.skipif(playwright_missing() is not None, reason=playwright_missing() or ""),
]

# Runs before the page's own scripts: when textual.js sets its xterm addons on the object that also
# holds the Terminal, keep the Terminal where Runtime.evaluate can read it.
KEEP_TERMINAL = r"""
Object.defineProperty(Object.prototype, "unicode11Addon", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "unicode11Addon", {value, writable: true, configurable: true, enumerable: true});
    if (this.terminal) {
      window.__modconsoleTerminal = this.terminal;
      window.__modconsoleSent = [];  // what the terminal sent to the app: shown when a test fails
      this.terminal.onData((data) => window.__modconsoleSent.push(data));
    }
  },
});
"""
READ_TERMINAL = r"""
(() => {
  const term = window.__modconsoleTerminal;
  if (!term) return null;
  const buffer = term.buffer.active, lines = [];
  for (let row = 0; row < term.rows; row++) {
    const line = buffer.getLine(buffer.viewportY + row);
    lines.push(line ? line.translateToString(true) : "");
  }
  return lines.join("\n");
})()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Tab:
    """One Playwright page on ``modconsole web``: the terminal's text read from xterm's buffer, keys typed."""

    def __init__(self, page: Any) -> None:
        self.page = page

    async def evaluate(self, expression: str) -> Any:
        return await self.page.evaluate(expression)

    async def terminal(self) -> str:
        return await self.evaluate(READ_TERMINAL) or ""

    async def until(self, predicate: Any, what: str, timeout: float = WAIT_S) -> str:
        """Read the terminal until ``predicate(text)`` holds; fail with the last text if it does not."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = await self.terminal()
            if predicate(text):
                return text
            await asyncio.sleep(0.1)
        sent = await self.evaluate("JSON.stringify(window.__modconsoleSent)")
        raise AssertionError(f"timed out waiting for {what}; the terminal sent {sent} and shows:\n{text}")

    async def type_text(self, text: str) -> None:
        await self.page.keyboard.insert_text(text)

    async def press_enter(self) -> None:
        await self.page.keyboard.press("Enter")

    async def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(path))


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process this test started, with the children it started (its own process group)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


@contextlib.contextmanager
def web_server(server_url: str) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "MODCONSOLE_TOKEN": "mc_must_not_be_used"}
    process = subprocess.Popen(
        [sys.executable, "-m", "modconsole", "web", "--port", str(port), "--server", server_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop(process)


async def page_served(url: str) -> str:
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            return await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=2).read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Tab]:
    """Debian's Chromium under Playwright, one page of 1200×760 with the terminal kept for reading."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 760})  # type: ignore[attr-defined]
            await page.add_init_script(KEEP_TERMINAL)
            yield Tab(page)
        finally:
            await browser.close()  # type: ignore[attr-defined]


async def test_a_display_token_typed_in_the_page_shows_the_running_timer(served: Served) -> None:
    desk = await served.client(served.tokens.moderator, label="desk")
    await desk.command(c.Start())
    await desk.command(c.Floor(person="garcetti"))
    with web_server(served.url) as url:
        page = await page_served(url)
        assert "fonts.googleapis.com" not in page  # the page loads nothing from elsewhere
        async with chromium() as browser:
            await browser.page.goto(url)
            await browser.until(lambda t: "Access token" in t, "the sign-in screen")
            await browser.evaluate("window.__modconsoleTerminal.focus()")

            # A wrong token: back to the sign-in screen, with the reason.
            await browser.type_text("mc_not_a_token")
            await browser.press_enter()
            await browser.until(lambda t: "token was not accepted" in t, "the refusal on the sign-in screen")
            await browser.screenshot(ARTIFACTS / "web-refused.png")

            token = served.tokens.display
            await browser.type_text(token)
            shown = await browser.until(lambda t: "•" * 10 in t, "the token, masked as it is typed")
            assert token not in shown
            await browser.press_enter()
            text = await browser.until(
                lambda t: "Opening by the chair" in t and decode(t.splitlines()), "the display with its clock"
            )
            assert re.search(r"ON TIME · \d:\d\d left of 3:00", text), text
            assert "Floor: Eric Garcetti" in text
            first = decode(text.splitlines())
            assert re.fullmatch(r"[0-3]:\d\d", first), first
            # The timer runs: the big digits count down.
            later = await browser.until(
                lambda t: decode(t.splitlines()) not in ("", first), "the clock to tick", timeout=5
            )
            assert decode(later.splitlines()) < first
            assert token not in await browser.evaluate("location.href")
            await browser.screenshot(ARTIFACTS / "web-display.png")
