"""Plain HTTP on the websocket's host and port: the browser pages and their assets.

websockets parses the request and answers with the ``Response`` returned here (``MeetingServer`` hands
every GET that is not a websocket upgrade to ``Routes.respond``); nothing here parses HTTP. The pages are
committed files in ``modconsole/pages`` (no build step), read once and served from memory: only the names
in the table are served, so no path reaches the file system. Other HTTP surfaces add their own routes to the
same table (``Routes.add`` for a path, ``Routes.add_prefix`` for a path and what follows it).
"""

from __future__ import annotations

import base64
import hashlib
import http
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

PAGES_DIR = Path(__file__).resolve().parents[1] / "pages"
LANGUAGES = ("ar", "zh", "en", "fr", "ru", "es")  # the six UN languages the pages speak

# The pages load only their own scripts, styles and catalogues, and talk only to their own host. A page's
# one inline script (it opens the websocket while the modules load) is allowed by its hash, not by
# 'unsafe-inline': the policy of an HTML page names the hashes of the inline scripts it holds.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".svg": "image/svg+xml",
}
ASSET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(?:js|css|svg)$")
PAGES = {"/join": "join.html", "/display": "display.html"}

Handler = Callable[[ServerConnection, Request], Response | None]  # None: not ours (websockets answers 426)


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str
    csp: str = CSP


def policy_for(html: str) -> str:
    """The page's policy: CSP, with the hash of each inline script it holds added to ``script-src``."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in INLINE_SCRIPT.findall(html)
    ]
    return CSP.replace("script-src 'self'", " ".join(["script-src 'self'", *hashes]), 1)


def _asset(path: Path) -> Asset:
    body = path.read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    csp = policy_for(body.decode()) if path.suffix == ".html" else CSP
    return Asset(body, CONTENT_TYPES[path.suffix], etag, csp)


def _headers(content_type: str, csp: str = CSP, **extra: str) -> Headers:
    headers = Headers(
        [
            ("Content-Type", content_type),
            ("Content-Security-Policy", csp),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("Cross-Origin-Opener-Policy", "same-origin"),
        ]
    )
    for name, value in extra.items():
        headers[name.replace("_", "-")] = value
    return headers


def plain(status: http.HTTPStatus, text: str) -> Response:
    """A short text answer (an error): never cached."""
    return Response(
        status.value, status.phrase, _headers("text/plain; charset=utf-8", Cache_Control="no-store"), text.encode()
    )


def _serve(request: Request, asset: Asset | None) -> Response:
    if asset is None:
        return plain(http.HTTPStatus.NOT_FOUND, "not found\n")
    # Revalidated every time (a server upgraded in place serves new pages at once), answered 304 when unchanged.
    extra = {"Cache_Control": "no-cache", "ETag": asset.etag}
    if request.headers.get("If-None-Match") == asset.etag:
        return Response(304, "Not Modified", _headers(asset.content_type, asset.csp, **extra), b"")
    return Response(200, "OK", _headers(asset.content_type, asset.csp, **extra), asset.body)


class Routes:
    """The table of plain GET routes: exact paths, then prefixes, longest first."""

    def __init__(self, pages_dir: Path = PAGES_DIR) -> None:
        self.pages_dir = pages_dir
        self._exact: dict[str, Handler] = {}
        self._prefixes: list[tuple[str, Handler]] = []
        self._assets: dict[str, Asset] | None = None
        for path, name in PAGES.items():
            self.add(path, self._file(name))
        self.add_prefix("/pages/", self._page_asset)
        self.add_prefix("/i18n/", self._catalogue)

    def add(self, path: str, handler: Handler) -> None:
        """Answer GET ``path`` (the query aside) with ``handler``, in place of any handler it had."""
        self._exact[path] = handler

    def add_prefix(self, prefix: str, handler: Handler) -> None:
        """Answer GET of every path under ``prefix`` with ``handler``, in place of any it had (the longest
        prefix that matches wins)."""
        self._prefixes = [entry for entry in self._prefixes if entry[0] != prefix]
        self._prefixes.append((prefix, handler))
        self._prefixes.sort(key=lambda entry: -len(entry[0]))

    def respond(self, connection: ServerConnection, request: Request) -> Response | None:
        """The answer to a plain GET, or None for a path this table does not know (and websocket upgrades)."""
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        path = request.path.split("?", 1)[0].split("#", 1)[0]
        handler = self._exact.get(path)
        if handler is None:
            handler = next((h for prefix, h in self._prefixes if path.startswith(prefix)), None)
        return handler(connection, request) if handler is not None else None

    # --- the pages' files ---------------------------------------------------------------------

    def assets(self) -> dict[str, Asset]:
        """Every file the pages may load, by name, read once (at the first request)."""
        if self._assets is None:
            found: dict[str, Asset] = {}
            for path in sorted(self.pages_dir.glob("*")):
                if path.is_file() and (path.suffix == ".html" or ASSET_NAME.match(path.name)):
                    found[path.name] = _asset(path)
            for lang in LANGUAGES:
                catalogue = self.pages_dir / "i18n" / f"{lang}.json"
                if catalogue.is_file():
                    found[f"i18n/{lang}.json"] = _asset(catalogue)
            self._assets = found
        return self._assets

    def _file(self, name: str) -> Handler:
        def handler(connection: ServerConnection, request: Request) -> Response:
            return _serve(request, self.assets().get(name))

        return handler

    def _page_asset(self, connection: ServerConnection, request: Request) -> Response:
        name = request.path.split("?", 1)[0][len("/pages/") :]
        # Only a plain name in the table: "../", "%2e%2e", a sub-folder or an HTML page never match.
        asset = self.assets().get(name) if ASSET_NAME.match(name) else None
        return _serve(request, asset)

    def _catalogue(self, connection: ServerConnection, request: Request) -> Response:
        name = request.path.split("?", 1)[0][len("/i18n/") :]
        lang = name.removesuffix(".json")
        if lang not in LANGUAGES or not name.endswith(".json"):
            return plain(http.HTTPStatus.NOT_FOUND, "no such language\n")
        # A language with no catalogue yet is 404: the page speaks English then.
        return _serve(request, self.assets().get(f"i18n/{lang}.json"))
