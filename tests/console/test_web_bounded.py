"""``modconsole web`` is bounded: real ``modconsole web`` processes on a free port, real websocket clients
(as the page's textual.js would connect), and the tabs' console processes counted from /proc.

Each tab runs ``modconsole join SERVER --ask``, which shows its sign-in screen without connecting
anywhere, so no meeting server is needed: ``--server`` names a port nobody listens on. The size a tab's
process really has is read from what it draws: Textual moves the cursor to each line it paints, so the
lowest row and the rightmost column it writes are its terminal's height and width.

Run: ``.venv/bin/python -m pytest -q -p no:cacheprovider tests/console/test_web_bounded.py`` (``-s`` prints the
tabs held and the memory each one takes, the figures in docs/reliability.md)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from rich.cells import cell_len
from websockets.exceptions import ConnectionClosed, InvalidStatus

from modconsole import web

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="counts processes from /proc (Linux)")

WAIT_S = 20.0
NOBODY = "ws://127.0.0.1:9"  # the meeting server the tabs would join once a token is typed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":  # a zombie has ended; only its exit status is left to collect
                children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cmdline(pid: int) -> list[str]:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    return []


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    assert match, status
    return int(match.group(1)) / 1024


def pss_mib(pid: int) -> float:
    """The tab's proportional share: what it shares with the other tabs (the interpreter) divided among them."""
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    match = re.search(r"^Pss:\s+(\d+) kB", rollup, re.M)
    assert match, rollup
    return int(match.group(1)) / 1024


def environ(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace").split("\0")
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


class Web:
    """A ``modconsole web`` process of this test's, in a process group of its own."""

    def __init__(self, tmp: Path, *options: str) -> None:
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "web.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "modconsole", "web", "--port", str(self.port), "--server", NOBODY, *options],
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def tabs(self) -> list[int]:
        """The tabs' console processes under ``modconsole web``."""
        return [pid for pid in descendants(self.process.pid) if {"join", "--ask"} <= set(cmdline(pid))]

    def processes(self) -> list[int]:
        return descendants(self.process.pid)

    async def until(self, predicate: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out waiting for {what}; tabs' processes: "
                    f"{[cmdline(pid) for pid in self.tabs()]}\n{self.log.read_text()[-3000:]}"
                )
            await asyncio.sleep(0.1)

    async def ready(self) -> None:
        def served() -> bool:
            try:
                return b"textual.js" in urllib.request.urlopen(f"{self.origin}/", timeout=2).read()
            except OSError:
                return False

        await self.until(served, "the page")

    def open(self, query: str = "width=80&height=24", *, origin: str | None = "", local: str = "127.0.0.1") -> Any:
        """A tab's websocket, as textual.js opens it; ``origin=""`` is the console's own page."""
        return websockets.connect(
            f"ws://127.0.0.1:{self.port}/ws?{query}",
            origin=self.origin if origin == "" else origin,  # type: ignore[arg-type]
            local_addr=(local, 0),
            open_timeout=WAIT_S,
            close_timeout=2,
            max_size=None,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)  # its tabs' processes are in its process group: killed with it


@contextlib.contextmanager
def running(tmp: Path, *options: str) -> Iterator[Web]:
    server = Web(tmp, *options)
    try:
        yield server
    finally:
        server.stop()


def drawn_size(output: bytes) -> tuple[int, int]:
    """The (width, height) a Textual app drew in: its rightmost column and lowest row."""
    text = output.decode("utf-8", "replace")
    width = height = 0
    for match in re.finditer(r"\x1b\[(\d+);(\d+)H((?:(?!\x1b\[\d+;\d+H).)*)", text, re.S):
        painted = re.sub(r"\x1b\[[0-9;?$]*[A-Za-z]|\x1b\][^\x07]*\x07", "", match.group(3))
        painted = "".join(ch for ch in painted if ch.isprintable())
        height = max(height, int(match.group(1)))
        width = max(width, int(match.group(2)) - 1 + cell_len(painted))
    return width, height


async def screen(tab: Any, until: Callable[[bytes], bool], what: str, timeout: float = WAIT_S) -> bytes:
    """What the tab's process draws, read until ``until`` holds of it."""
    output = b""
    deadline = time.monotonic() + timeout
    while not until(output):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out waiting for {what}; drawn size {drawn_size(output)}, {len(output)} bytes")
        with contextlib.suppress(TimeoutError):
            message = await asyncio.wait_for(tab.recv(), min(remaining, 1.0))
            if isinstance(message, bytes):
                output += message
    return output


def signed_in_screen(output: bytes) -> bool:
    return b"sign in" in output


async def closed(tab: Any, *, refused: bool = True) -> ConnectionClosed:
    """The close a tab gets; a ``refused`` one at once, with nothing drawn before it."""
    with pytest.raises(ConnectionClosed) as closing:
        async with asyncio.timeout(WAIT_S):
            while True:
                message = await tab.recv()
                assert not (refused and isinstance(message, bytes)), "a refused tab drew a screen"
    return closing.value


def test_origins_are_the_pages_address() -> None:
    assert web.origin_of("https://console.example.org") == ("https", "console.example.org", 443)
    assert web.origin_of("http://Console.Example.org:80/web/") == ("http", "console.example.org", 80)
    assert web.origin_of("null") is None and web.origin_of("") is None and web.origin_of("ftp://h:21") is None
    behind_proxy = web.allowed_origins("https://console.example.org/web")
    assert web.origin_of("https://console.example.org:443") in behind_proxy
    for foreign in (
        "http://console.example.org",
        "https://console.example.org:8443",
        "https://evil.example",
        "https://localhost",
        "null",
    ):
        assert web.origin_of(foreign) not in behind_proxy, foreign
    # As textual-serve builds the page's address from where it listens: loopback names are one page.
    here = web.allowed_origins("http://127.0.0.1:8080")
    for same in ("http://localhost:8080", "http://127.0.0.1:8080", "http://[::1]:8080"):
        assert web.origin_of(same) in here, same
    assert web.origin_of("http://localhost:8081") not in here
    assert web.origin_of("https://localhost:8080") not in here
    assert web.allowed_origins("http://0.0.0.0:8080") == here | {("http", "0.0.0.0", 8080)}
    assert web.allowed_origins("http://[::]:8080") == here | {("http", "::", 8080)}


def test_sizes_are_whole_numbers_clamped() -> None:
    assert web.size(None, web.COLUMNS, 80) == 80
    assert web.size("132", web.COLUMNS, 80) == 132
    assert web.size("99999999", web.COLUMNS, 80) == 500 and web.size("-4", web.ROWS, 24) == 10
    for bad in ("", "abc", "80.5", " 80", "1e9", "٣", "9" * 10):
        with pytest.raises(ValueError):
            web.size(bad, web.COLUMNS, 80)
    assert web.resize({"width": 10**12, "height": 0}) == (500, 10)
    for bad in (
        {"width": "80", "height": 24},
        {"width": 80.0, "height": 24},
        {"width": True, "height": 24},
        {"width": 80},
        [80, 24],
        None,
    ):
        assert web.resize(bad) is None, bad


def test_the_page_shows_why_a_tab_was_closed() -> None:
    import textual_serve

    original = (Path(textual_serve.__file__).parent / "templates" / "app_index.html").read_text()
    page = web.page_template(original)
    assert page.index("event.reason") < page.index("js/textual.js")  # in place before textual.js opens its socket
    assert page.count("<script") == original.count("<script") + 1
    node = shutil.which("node")
    if node is None:
        return
    # The script itself, with a page's WebSocket and dialog stood in for: a close with a reason shows it.
    script = re.search(r"<script>(.*?)</script>", web.SHOW_CLOSE_REASON, re.S)
    assert script
    harness = (
        """
      const message = {textContent: "Session ended."};
      const document = {querySelector: (selector) => selector === ".closed-dialog .message" ? message : null};
      const window = {WebSocket: class { constructor(url) { this.url = url; this.listeners = []; }
                                         addEventListener(kind, listener) { this.listeners.push(listener); } }};
    """
        + script.group(1)
        + """
      const socket = new window.WebSocket("ws://127.0.0.1:8080/ws");
      socket.listeners.forEach((listener) => listener({reason: ""}));
      const before = message.textContent;
      socket.listeners.forEach((listener) => listener({reason: "All 20 tabs this console serves are open"}));
      console.log(JSON.stringify([socket.url, before, message.textContent]));
    """
    )
    result = subprocess.run([node, "-e", harness], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        "ws://127.0.0.1:8080/ws",
        "Session ended.",
        "All 20 tabs this console serves are open",
    ]


def test_the_tab_limits_are_options() -> None:
    from modconsole import cli

    args = cli.parser().parse_args(["web"])
    assert (args.max_tabs, args.max_tabs_per_address) == (20, 4)
    args = cli.parser().parse_args(["web", "--max-tabs", "50", "--max-tabs-per-address", "50"])
    assert (args.max_tabs, args.max_tabs_per_address) == (50, 50)
    for bad in ("0", "-1", "many"):
        with pytest.raises(SystemExit):
            cli.parser().parse_args(["web", "--max-tabs", bad])


async def test_a_tab_from_another_origin_or_with_a_bad_size_is_refused_before_any_process_starts(
    tmp_path: Path,
) -> None:
    with running(tmp_path) as server:
        await server.ready()
        for origin in (
            "http://evil.example",
            f"http://127.0.0.1:{server.port}.evil.example",
            f"http://127.0.0.1:{server.port + 1}",
            f"https://127.0.0.1:{server.port}",
            "null",
            None,
        ):
            with pytest.raises(InvalidStatus) as refusal:
                await server.open(origin=origin)
            assert refusal.value.response.status_code == 403, origin
        for query in ("width=abc&height=24", "width=80&height=24.5", "width=80&height=1e9"):
            with pytest.raises(InvalidStatus) as refusal:
                await server.open(query)
            assert refusal.value.response.status_code == 400, query
        await asyncio.sleep(1.0)
        assert server.processes() == []

        # The page opened as localhost is the same page: its tab starts.
        async with server.open(origin=f"http://localhost:{server.port}") as tab:
            await screen(tab, signed_in_screen, "the sign-in screen")
            assert len(server.tabs()) == 1


async def test_the_tabs_are_capped_in_total_and_per_address_and_closing_one_ends_its_process(tmp_path: Path) -> None:
    # Three loopback addresses are three clients: 127.0.0.1, .2 and .3.
    with running(tmp_path, "--max-tabs", "2", "--max-tabs-per-address", "1") as server:
        await server.ready()
        async with contextlib.AsyncExitStack() as tabs:
            first = await tabs.enter_async_context(server.open())
            async with server.open() as again:  # a second from the same address
                close = await closed(again)
            assert close.rcvd is not None and close.rcvd.code == 1013
            assert close.rcvd.reason == "1 tab is open from your address, the most allowed; close one, then Restart."
            other = await tabs.enter_async_context(server.open(local="127.0.0.2"))
            async with server.open(local="127.0.0.3") as third:
                close = await closed(third)
            assert close.rcvd is not None and close.rcvd.code == 1013
            assert close.rcvd.reason == "All 2 tabs this console serves are open; close one, then Restart."

            for tab in (first, other):
                await screen(tab, signed_in_screen, "the sign-in screen")
            held = server.tabs()
            assert len(held) == 2 and sorted(server.processes()) == sorted(held)  # one process a tab
            sizes = [rss_mib(pid) for pid in held]
            print(
                f"\n{len(held)} tabs held; RSS per tab {min(sizes):.1f}..{max(sizes):.1f} MiB; "
                f"modconsole web itself {rss_mib(server.process.pid):.1f} MiB"
            )

            await first.close()
            await server.until(lambda: len(server.tabs()) == 1, "the closed tab's process to end", timeout=10)
            assert server.tabs() == [pid for pid in held if pid in server.tabs()]
            # Its place is free again.
            async with server.open(local="127.0.0.3") as third:
                await screen(third, signed_in_screen, "the sign-in screen")
                assert len(server.tabs()) == 2
        await server.until(lambda: server.processes() == [], "every tab's process to end", timeout=10)


async def test_the_size_a_tab_asks_for_is_clamped(tmp_path: Path) -> None:
    # Sizes only grow here: what a tab drew before a resize can still arrive after it, and stays inside.
    with running(tmp_path) as server:
        await server.ready()
        async with server.open("width=5&height=2") as tab:
            await screen(tab, lambda out: drawn_size(out) == (20, 10), "the sign-in screen at 20 x 10")
            (pid,) = server.tabs()
            assert (environ(pid)["COLUMNS"], environ(pid)["ROWS"]) == ("20", "10")

            await tab.send('["resize", {"width": 100, "height": 30}]')
            await screen(tab, lambda out: drawn_size(out) == (100, 30), "the screen redrawn at 100 x 30")
            # Not numbers: ignored, and the tab goes on.
            await tab.send('["resize", {"width": "wide", "height": 300}]')
            await tab.send('["resize", {"width": 1e400, "height": 300}]')
            await tab.send("not json")
            await tab.send('["ping", "still there?"]')
            async with asyncio.timeout(WAIT_S):
                while isinstance(answer := await tab.recv(), bytes):  # the screen it may still be drawing
                    pass
            assert answer == '["pong", "still there?"]'
            await tab.send('["resize", {"width": 1000000000, "height": 1000000000}]')
            output = await screen(tab, lambda out: drawn_size(out) >= (500, 200), "the screen redrawn at 500 x 200")
            assert drawn_size(output) == (500, 200)
            assert server.tabs() == [pid]
        await server.until(lambda: server.processes() == [], "the tab's process to end")

        async with server.open("width=100000&height=99999") as tab:
            output = await screen(
                tab,
                lambda out: signed_in_screen(out) and drawn_size(out) >= (500, 200),
                "the sign-in screen at 500 x 200",
            )
            assert drawn_size(output) == (500, 200)
            (pid,) = server.tabs()
            assert (environ(pid)["COLUMNS"], environ(pid)["ROWS"]) == ("500", "200")


async def test_a_tab_whose_process_does_not_quit_is_killed_when_its_socket_closes(tmp_path: Path) -> None:
    with running(tmp_path) as server:
        await server.ready()
        async with server.open() as tab:
            await screen(tab, signed_in_screen, "the sign-in screen")
            (pid,) = server.tabs()
            os.kill(pid, signal.SIGSTOP)  # a console that no longer answers
        await server.until(
            lambda: server.processes() == [], "the stuck tab's process to be killed", timeout=20
        )  # it is given 5 s to quit
        assert "did not quit" in server.log.read_text()


async def test_stopping_modconsole_web_closes_its_tabs_and_ends_their_processes(tmp_path: Path) -> None:
    with running(tmp_path) as server:
        await server.ready()
        async with server.open() as tab:
            await screen(tab, signed_in_screen, "the sign-in screen")
            (pid,) = server.tabs()
            server.process.send_signal(signal.SIGTERM)
            close = await closed(tab, refused=False)
            assert close.rcvd is not None and (close.rcvd.code, close.rcvd.reason) == (
                1001,
                "modconsole web is stopping",
            )
        assert await asyncio.to_thread(server.process.wait, 10) == 0
        assert not Path(f"/proc/{pid}").exists()  # ended, and collected by modconsole web before it exited


@pytest.mark.slow
async def test_the_default_cap_holds_twenty_tabs(tmp_path: Path) -> None:
    """``-m slow``: twenty tabs (four from each of five addresses), the figures for docs/reliability.md."""
    with running(tmp_path) as server:
        await server.ready()
        async with contextlib.AsyncExitStack() as stack:
            tabs = [await stack.enter_async_context(server.open(local=f"127.0.0.{10 + i // 4}")) for i in range(20)]
            async with server.open(local="127.0.0.99") as extra:
                close = await closed(extra)
            assert close.rcvd is not None and close.rcvd.code == 1013 and "All 20 tabs" in close.rcvd.reason
            async with server.open(local="127.0.0.10") as extra:
                close = await closed(extra)
            assert close.rcvd is not None and close.rcvd.code == 1013
            for tab in tabs:
                await screen(tab, signed_in_screen, "the sign-in screen", timeout=90)
            held = server.tabs()
            assert len(held) == 20 and sorted(server.processes()) == sorted(held)
            rss = [rss_mib(pid) for pid in held]
            pss = [pss_mib(pid) for pid in held]
            print(
                f"\n{len(held)} tabs held; RSS per tab {min(rss):.1f}..{max(rss):.1f} MiB, "
                f"{sum(rss):.0f} MiB in all; PSS {sum(pss):.0f} MiB in all; "
                f"modconsole web itself {rss_mib(server.process.pid):.1f} MiB"
            )
        await server.until(lambda: server.processes() == [], "every tab's process to end", timeout=30)
