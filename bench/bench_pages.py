"""The browser pages: the participant page's first complete render (8) and the view feed's fan-out and
memory (9).

Page (8): ``modconsole-server serve`` (the real command line) serves the mayors' call with its opening
running, a turn on the floor and a queue; Debian's Chromium under Playwright opens ``/join#token=…`` (a
speaker's personal link) in a fresh context (no cache) over loopback, several times. The render is
complete when the page shows the item's countdown, the floor, the speakers' list and the programme to come;
its time is the page's own mark at the end of that first render (``modconsole:rendered``, from the start of
the navigation). Bytes are everything the page
transferred: its HTTP responses (``transferSize``) and the websocket frames it received until then. The
baseline, from the same browser in the same run, is the load of a bare text page from the same server
(``/healthz``, to its load event's end): the floor of a navigation over loopback.

Views (9): N page connections (``"views": true``, the display token) held by worker processes receive a
change (an ``extend`` from a moderator): the time for the view to reach each, against a plain websockets
server's ``broadcast()`` of frames of the view's size (bench_fanout.py's baseline); and the server's memory
per page connection against that server's per connection. Both servers hold their N clients at once and
their rounds alternate, as in bench_fanout.py.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from .bench_fanout import ModconsoleTarget, PlainTarget, Target, connect_all, disconnect, one_round
from .common import (
    ClientSpec,
    ServerProcess,
    bearer,
    create_event_db,
    figure,
    modconsole_server_argv,
    percentile,
    row,
    spread,
    within,
)

RENDER_TARGET_MS = 500.0
BYTES_TARGET = 100 * 1024

# The page is complete: the countdown, the floor, the list and the programme are drawn.
COMPLETE = """() => {
  const live = document.querySelector('#live');
  return live && !live.hidden
    && document.querySelector('#item-remaining').textContent.length > 0
    && document.querySelector('#floor-name').textContent.length > 0
    && document.querySelectorAll('#queue li').length > 0
    && document.querySelectorAll('#programme li').length > 0;
}"""
RENDERED = "() => performance.getEntriesByName('modconsole:rendered')[0].startTime"
# Where the time went: the HTML's arrival, the scripts run (the socket opened), the welcome, the first view.
STEPS = """() => {
  const out = {html: performance.getEntriesByType('navigation')[0].responseEnd};
  for (const name of ['connect', 'open', 'welcome', 'view', 'rendered']) {
    const entry = performance.getEntriesByName('modconsole:' + name)[0];
    if (entry) out[name] = entry.startTime;
  }
  return out;
}"""
LOADED = "() => performance.getEntriesByType('navigation')[0].loadEventEnd"
HTTP_BYTES = """() => performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
  .reduce((sum, entry) => sum + (entry.transferSize || entry.encodedBodySize || 0), 0)"""


async def _meeting(url: str, tokens: dict[str, Any]) -> Any:
    """The opening running, Garcetti on the floor, two hands up: what a participant's first view holds."""
    from modconsole.client import MeetingClient
    from modconsole.core import commands as c

    moderator = MeetingClient(url, tokens["moderator"], client="bench-moderator")
    await moderator.connect()
    await moderator.command(c.Start())
    await moderator.command(c.Floor(person="garcetti"))
    for person in ("sala", "baswedan"):
        await moderator.command(c.QueueAdd(person=person))
    return moderator


async def _load(
    browser: Any, url: str, complete: str | None, steps: list[dict[str, float]] | None = None
) -> tuple[float, int]:
    """One cold load in a fresh context: ms to complete (or to the load event) and the bytes transferred."""
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    page = await context.new_page()
    frames = {"bytes": 0}

    def on_websocket(ws: Any) -> None:
        ws.on("framereceived", lambda payload: frames.__setitem__("bytes", frames["bytes"] + len(payload)))

    page.on("websocket", on_websocket)
    try:
        await page.goto(url, wait_until="load")
        if complete is not None:
            await page.wait_for_function(complete, timeout=15_000)
            ms = float(await page.evaluate(RENDERED))
            if steps is not None:
                steps.append(await page.evaluate(STEPS))
        else:
            ms = float(await page.evaluate(LOADED))
        http_bytes = int(await page.evaluate(HTTP_BYTES))
        return ms, http_bytes + frames["bytes"]
    finally:
        await context.close()


async def run_page(trials: int) -> dict[str, list[dict[str, Any]]]:
    from playwright.async_api import async_playwright

    path = next((p for p in ("/usr/bin/chromium", shutil.which("chromium")) if p and Path(p).is_file()), None)
    if path is None:
        return {"page": [row("participant page", {}, target="", met=None, skipped="Chromium is not installed")]}
    with tempfile.TemporaryDirectory(prefix="modconsole-bench-") as tmp:
        db = Path(tmp) / "pages.db"
        tokens = create_event_db(db)["tokens"]
        with ServerProcess(modconsole_server_argv(db)) as server:
            http_url = server.url.replace("ws://", "http://")
            moderator = await _meeting(server.url, tokens)
            try:
                async with async_playwright() as playwright:
                    browser = await playwright.chromium.launch(
                        executable_path=path, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
                    )
                    try:
                        join = f"{http_url}/join#token={tokens['people']['park-won-soon']}"
                        await _load(browser, join, COMPLETE)  # a first load: the browser's own start-up
                        steps: list[dict[str, float]] = []
                        ours = [await _load(browser, join, COMPLETE, steps) for _ in range(trials)]
                        bare = [await _load(browser, f"{http_url}/healthz", None) for _ in range(trials)]
                    finally:
                        await browser.close()
            finally:
                await moderator.close()
    render_ms = statistics.median(t for t, _b in ours)
    bare_ms = statistics.median(t for t, _b in bare)
    sent = max(b for _t, b in ours)
    bare_bytes = max(b for _t, b in bare)
    render = figure(render_ms, bare_ms, "ms")
    transferred = figure(sent / 1024, bare_bytes / 1024, "KiB")
    return {
        "page": [
            row(
                "participant page: first complete render",
                {"median": render, "worst": figure(max(t for t, _b in ours), max(t for t, _b in bare), "ms")},
                target=f"<= {RENDER_TARGET_MS:g} ms",
                met=render_ms <= RENDER_TARGET_MS,
                trials=trials,
                all_ms=[round(t, 1) for t, _b in ours],
                median_steps_ms={
                    name: round(statistics.median(step[name] for step in steps if name in step), 1)
                    for name in ("html", "connect", "open", "welcome", "view", "rendered")
                },
            ),
            row(
                "participant page: bytes transferred",
                {"total": transferred},
                target=f"<= {BYTES_TARGET // 1024} KiB",
                met=sent <= BYTES_TARGET,
                bytes=sent,
            ),
        ]
    }


# --- the view feed under N page connections ------------------------------------------------------------


class PagesTarget(ModconsoleTarget):
    """The modconsole server with N page connections: each says ``"views": true`` and gets views."""

    kind = "modconsole pages"

    def __init__(self) -> None:
        super().__init__()
        hello = json.dumps({"type": "hello", "client": "bench-page", "views": True})
        self.spec = ClientSpec(self.server.url, hello, bearer(self.tokens["display"]), answers=2)

    async def view_size(self) -> int:
        """The size of a page's view frame (what the baseline broadcasts)."""
        async with connect(self.server.url, additional_headers=self.spec.headers, compression=None) as ws:
            await ws.send(self.spec.hello)
            await ws.recv()  # the welcome
            return len(await ws.recv())


async def run_views(
    clients: list[int], *, workers: int, rounds: int, warmup_rounds: int
) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {"views": []}
    for n in clients:
        targets: list[Target] = []
        measured: dict[str, dict[str, Any]] = {}
        try:
            pages = PagesTarget()
            targets.append(pages)
            size = await pages.view_size()
            targets.append(PlainTarget(size))
            for target in targets:
                measured[target.kind] = await connect_all(target, n, workers)
            for target in targets:
                await target.open_trigger()
            for index in range(warmup_rounds + rounds):
                for target in targets if index % 2 == 0 else targets[::-1]:
                    await one_round(target, index, measured[target.kind], index >= warmup_rounds)
        finally:
            for target in targets:
                await disconnect(target)
        ours, plain = measured["modconsole pages"], measured["plain websockets"]
        figures = spread(ours["latencies_s"], plain["latencies_s"], "ms", scale=1000)
        figures["all_held_p50"] = figure(
            percentile(ours["all_held_s"], 50) * 1000, percentile(plain["all_held_s"], 50) * 1000, "ms"
        )
        counted = n >= 1000
        out["views"].append(
            row(
                f"{n:,} pages: a change reaching all",
                figures,
                target="p99 <= 1.25 x baseline" if counted else "",
                met=within(figures["p99"], 1.25) if counted else None,
                clients=n,
                rounds=rounds,
                workers=workers,
                frame_bytes=ours["frame_bytes"],
                baseline_frame_bytes=plain["frame_bytes"],
            )
        )
        per_client = figure(ours["per_client_kib"], plain["per_client_kib"], "KiB")
        out["views"].append(
            row(
                f"{n:,} idle pages",
                {"per_client": per_client},
                target="<= 1.3 x baseline" if counted else "",
                met=within(per_client, 1.3) if counted else None,
                clients=n,
                rss_kib={
                    "modconsole": [ours["rss_before_kib"], ours["rss_after_kib"]],
                    "baseline": [plain["rss_before_kib"], plain["rss_after_kib"]],
                },
            )
        )
    return out


def run(args: Any, which: str) -> dict[str, list[dict[str, Any]]]:
    started = time.monotonic()
    if which == "page":
        result = asyncio.run(run_page(3 if args.quick else 15))
    else:
        counts = [20] if args.quick else (args.page_clients or [2000])
        result = asyncio.run(
            run_views(counts, workers=args.workers, rounds=args.rounds, warmup_rounds=1 if args.quick else 2)
        )
    for rows in result.values():
        for entry in rows:
            entry.setdefault("seconds", round(time.monotonic() - started, 1))
    return result
