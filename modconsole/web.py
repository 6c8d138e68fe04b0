"""``modconsole web``: the console's views in a browser (textual-serve), for speakers, participants
and stage displays without a terminal. Each browser tab runs ``modconsole join SERVER --ask``, which
asks for the token in the page (a password field), so the token never travels in a URL and is never
shown in the page's title.

Each tab is a console process on the web host (tens of MiB), started as soon as its websocket opens,
before any token is typed. So the server is bounded: a tab's websocket must come from the console's own
page (its Origin, checked before any process starts), the tabs open at once are capped in total and per
client address, the terminal size a page asks for is clamped, and a tab's process ends when its
websocket closes (killed if it does not quit in time)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import shlex
import sys
import tempfile
from collections import Counter
from pathlib import Path

import textual_serve
from aiohttp import WSCloseCode, WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.server import Server
from yarl import URL

log = logging.getLogger("modconsole.web")

MAX_TABS = 20
MAX_TABS_PER_ADDRESS = 4
COLUMNS = (20, 500)
ROWS = (10, 200)
QUIT_GRACE_S = 5.0  # a tab's process that has not quit this long after its websocket closed is killed
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
EVERY_ADDRESS = frozenset({"0.0.0.0", "::", ""})

# Runs before textual.js: when the server closes a tab's websocket with a reason (too many tabs open),
# the page's "Session ended." dialog says that reason instead.
SHOW_CLOSE_REASON = """<script>
      (() => {
        const Native = window.WebSocket;
        window.WebSocket = class extends Native {
          constructor(...args) {
            super(...args);
            this.addEventListener("close", (event) => {
              const message = document.querySelector(".closed-dialog .message");
              if (event.reason && message) message.textContent = event.reason;
            });
          }
        };
      })();
    </script>
    """


def page_template(original: str) -> str:
    """textual-serve's page without its web font from a third-party host: a venue network without
    internet access would hold the page until that request failed, and nobody's browser needs to tell
    a font service who opens the console. And with the reason a tab was refused shown when it is."""
    page = re.sub(r'\s*<link\s+rel="stylesheet"\s+href="https://fonts\.googleapis\.com[^>]*>', "", original)
    return page.replace(
        '<script src="{{ config.static.url }}js/textual.js">',
        SHOW_CLOSE_REASON + '<script src="{{ config.static.url }}js/textual.js">',
        1,
    )


def command(server_url: str, cafile: str | None = None) -> str:
    """The shell command a tab runs; ``exec``, so the tab is one process (no shell waiting on it) and
    stopping that process stops the console."""
    argv = [sys.executable, "-m", "modconsole", "join", server_url, "--ask"]
    if cafile:
        argv += ["--cafile", cafile]
    return "exec " + shlex.join(argv)


Origin = tuple[str, str, int]


def origin_of(url: str) -> Origin | None:
    """``(scheme, host, port)`` of an http(s) URL, the port filled in as a browser's Origin leaves it out;
    None for anything else."""
    try:
        parsed = URL(url)
    except (TypeError, ValueError):
        return None
    if parsed.scheme not in ("http", "https") or not parsed.host or parsed.port is None:
        return None
    return parsed.scheme, parsed.host.lower(), parsed.port


def allowed_origins(public_url: str) -> frozenset[Origin]:
    """The origins a tab's websocket may come from: the page's address (``--public-url``, or the
    ``http://HOST:PORT`` textual-serve builds from where it listens). On this machine's loopback, or
    listening on every address, ``localhost``, ``127.0.0.1`` and ``[::1]`` are the same page."""
    origin = origin_of(public_url)
    if origin is None:
        return frozenset()
    scheme, host, port = origin
    if host in LOOPBACK or host in EVERY_ADDRESS:
        return frozenset({origin} | {(scheme, name, port) for name in LOOPBACK})
    return frozenset({origin})


def size(value: str | None, bounds: tuple[int, int], default: int) -> int:
    """A terminal dimension from the page's query, clamped to ``bounds``; ValueError if not a number."""
    if value is None:
        return default
    if not re.fullmatch(r"-?[0-9]{1,9}", value):
        raise ValueError(f"not a whole number: {value[:20]!r}")
    return min(max(int(value), bounds[0]), bounds[1])


def resize(data: object) -> tuple[int, int] | None:
    """The clamped ``(width, height)`` of a resize message, None if it does not hold two whole numbers."""
    if not isinstance(data, dict):
        return None
    width, height = data.get("width"), data.get("height")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (width, height)):
        return None
    assert isinstance(width, int) and isinstance(height, int)
    return min(max(width, COLUMNS[0]), COLUMNS[1]), min(max(height, ROWS[0]), ROWS[1])


class BoundedServer(Server):
    """textual-serve's server, with its websocket handler bounded (see the module's docstring)."""

    def __init__(
        self,
        command: str,
        *,
        host: str,
        port: int,
        public_url: str | None = None,
        max_tabs: int = MAX_TABS,
        max_tabs_per_address: int = MAX_TABS_PER_ADDRESS,
        statics_path: str | os.PathLike[str] = "./static",
        templates_path: str | os.PathLike[str] = "./templates",
    ) -> None:
        super().__init__(
            command,
            host=host,
            port=port,
            title="modconsole",
            public_url=public_url,
            statics_path=statics_path,
            templates_path=templates_path,
        )
        self.max_tabs = max_tabs
        self.max_tabs_per_address = max_tabs_per_address
        self.origins = allowed_origins(self.public_url)
        self.tabs: Counter[str] = Counter()  # tabs with a process, by client address
        self.sockets: set[web.WebSocketResponse] = set()

    def refusal(self, address: str) -> str | None:
        """Why one more tab from ``address`` is refused (a websocket close reason, at most 123 bytes)."""
        if self.tabs.total() >= self.max_tabs:
            return f"All {self.max_tabs} tabs this console serves are open; close one, then Restart."
        if self.tabs[address] >= self.max_tabs_per_address:
            n = self.max_tabs_per_address
            return (
                f"{n} {'tab is' if n == 1 else 'tabs are'} open from your address, the most allowed; "
                "close one, then Restart."
            )
        return None

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        origin = request.headers.get("Origin", "")
        if origin_of(origin) not in self.origins:
            log.warning(
                "refused a tab from origin %r (%s): not the console's page %s",
                origin[:100],
                request.remote,
                self.public_url,
            )
            raise web.HTTPForbidden(
                text=f"modconsole web: a tab opens from the console's page at "
                f"{self.public_url}, not from {origin[:100] or 'no page'}\n"
            )
        try:
            width = size(request.query.get("width"), COLUMNS, 80)
            height = size(request.query.get("height"), ROWS, 24)
        except ValueError as exc:
            raise web.HTTPBadRequest(text=f"modconsole web: width and height: {exc}\n") from None

        address = request.remote or "unknown"
        websocket = web.WebSocketResponse(heartbeat=15)
        reason = self.refusal(address)
        if reason is not None:
            log.warning("refused a tab from %s: %s", address, reason)
            await websocket.prepare(request)
            await websocket.close(code=WSCloseCode.TRY_AGAIN_LATER, message=reason.encode())
            return websocket

        self.tabs[address] += 1  # counted from now, with no await since the check above
        app_service: AppService | None = None
        try:
            await websocket.prepare(request)
            self.sockets.add(websocket)

            async def close() -> None:  # the process quit (ctrl+q): so does the tab
                await websocket.close()

            app_service = AppService(
                self.command,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=close,
                download_manager=self.download_manager,
                debug=self.debug,
            )
            await app_service.start(width, height)
            await self._process_messages(websocket, app_service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:
            log.exception(error)
        finally:
            self.sockets.discard(websocket)
            try:
                if app_service is not None:
                    await end(app_service)
            finally:
                self.tabs[address] -= 1
                if self.tabs[address] <= 0:
                    del self.tabs[address]
        return websocket

    async def _process_messages(self, websocket: web.WebSocketResponse, app_service: AppService) -> None:
        """textual-serve's message loop, with a resize clamped and anything malformed ignored."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = json.loads(message.data)
            except ValueError:
                log.warning("ignored a message that is not JSON")
                continue
            if not isinstance(envelope, list) or not envelope:
                continue
            kind, data = envelope[0], envelope[1] if len(envelope) > 1 else None
            if kind == "stdin" and isinstance(data, str):
                await app_service.send_bytes(data.encode("utf-8", "replace"))
            elif kind == "resize":
                if (dimensions := resize(data)) is None:
                    log.warning("ignored a resize without two whole numbers: %.100r", data)
                else:
                    await app_service.set_terminal_size(*dimensions)
            elif kind == "ping":
                await websocket.send_json(["pong", data])
            elif kind == "blur":
                await app_service.blur()
            elif kind == "focus":
                await app_service.focus()

    async def on_shutdown(self, app: web.Application) -> None:
        """Close every tab (each handler then ends its process) rather than wait for the browsers."""
        await asyncio.gather(
            *(
                socket.close(code=WSCloseCode.GOING_AWAY, message=b"modconsole web is stopping")
                for socket in list(self.sockets)
            ),
            return_exceptions=True,
        )


async def end(app_service: AppService) -> None:
    """Ask a tab's process to quit, as textual-serve does; kill it if it has not within QUIT_GRACE_S."""
    process = app_service._process
    try:
        await asyncio.wait_for(app_service.stop(), QUIT_GRACE_S)
        if process is not None:
            await asyncio.wait_for(process.wait(), QUIT_GRACE_S)
    except TimeoutError:
        log.warning("a tab's process did not quit in %.0f s: killed", QUIT_GRACE_S)
    finally:
        if process is not None:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
            await process.wait()


def serve(
    server_url: str,
    host: str,
    port: int,
    public_url: str | None = None,
    *,
    cafile: str | None = None,
    max_tabs: int = MAX_TABS,
    max_tabs_per_address: int = MAX_TABS_PER_ADDRESS,
) -> int:
    if host in EVERY_ADDRESS and public_url is None:
        print(
            f"modconsole web: listening on every address; browsers on other machines need "
            f"--public-url http://THIS-MACHINE:{port} (the page connects back to that address)",
            file=sys.stderr,
        )
    if public_url is None and ":" in host:  # an IPv6 address: textual-serve would write http://::1:8080
        public_url = f"http://[{host}]:{port}"
    # Every tab's process inherits this environment: a token in it must not open the console for anyone.
    os.environ.pop("MODCONSOLE_TOKEN", None)
    package = Path(textual_serve.__file__).parent
    with tempfile.TemporaryDirectory(prefix="modconsole-web-") as templates:
        index = (package / "templates" / "app_index.html").read_text(encoding="utf-8")
        (Path(templates) / "app_index.html").write_text(page_template(index), encoding="utf-8")
        server = BoundedServer(
            command(server_url, cafile),
            host=host,
            port=port,
            public_url=public_url,
            max_tabs=max_tabs,
            max_tabs_per_address=max_tabs_per_address,
            statics_path=package / "static",
            templates_path=templates,
        )
        server.serve()
    return 0
