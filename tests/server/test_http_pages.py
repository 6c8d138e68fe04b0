"""The pages over plain HTTP on the websocket's port: the table's routes with their types and headers, 304
on an unchanged page, nothing outside the table (no directory traversal), and the websocket untouched."""

from __future__ import annotations

import asyncio
import http.client
import json
import re

import pytest
import websockets
from support.servers import RunningServer

from modconsole.server.http_pages import CSP, Routes


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        connection.close()


async def fetch(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    return await asyncio.to_thread(get, port, path, headers)


@pytest.mark.parametrize(
    ("path", "content_type", "contains"),
    [
        ("/join", "text/html; charset=utf-8", b'<script type="module" src="/pages/join.js">'),
        ("/join?lang=ar", "text/html; charset=utf-8", b"Speakers' list"),
        ("/display?key=00ff00&mirror=1", "text/html; charset=utf-8", b"/pages/display.js"),
        ("/pages/join.js", "text/javascript; charset=utf-8", b"import"),
        ("/pages/feed.js", "text/javascript; charset=utf-8", b"views: true"),
        ("/pages/pages.css", "text/css; charset=utf-8", b"margin-inline"),
    ],
)
async def test_the_pages_are_served_with_their_type_and_a_strict_policy(
    server: RunningServer, path: str, content_type: str, contains: bytes
) -> None:
    status, headers, body = await fetch(server.port, path)
    assert status == 200
    assert headers["content-type"] == content_type
    policy = headers["content-security-policy"]
    if content_type.startswith("text/html"):
        # Its one inline script is allowed by its hash, and nothing else inline.
        assert re.fullmatch(r"default-src 'none'; script-src 'self' 'sha256-[A-Za-z0-9+/]{43}='; .*", policy), policy
    else:
        assert policy == CSP
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy and "default-src 'none'" in policy
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-cache" and headers["etag"]
    assert contains in body


async def test_an_unchanged_page_is_answered_304(server: RunningServer) -> None:
    _status, headers, _body = await fetch(server.port, "/pages/join.js")
    status, _headers, body = await fetch(server.port, "/pages/join.js", {"If-None-Match": headers["etag"]})
    assert status == 304 and body == b""


@pytest.mark.parametrize(
    "path",
    [
        "/pages/../server/service.py",
        "/pages/..%2fserver%2fservice.py",
        "/pages/%2e%2e/pyproject.toml",
        "/pages/join.html",  # the pages are served at their own paths only
        "/pages/i18n/fr.json",
        "/pages/",
        "/pages/nothing.js",
        "/pages/.hidden.js",
        "/i18n/../../pyproject.toml",
        "/i18n/xx.json",
        "/i18n/fr",
    ],
)
async def test_nothing_outside_the_table_is_served(server: RunningServer, path: str) -> None:
    status, headers, body = await fetch(server.port, path)
    assert status == 404, (path, status, body[:80])
    if not path.startswith("/i18n/"):  # the catalogues' route (http_i18n.py) answers its own 404s
        assert headers["cache-control"] == "no-store"


async def test_a_language_without_a_catalogue_is_404_and_a_catalogue_is_served(tmp_path: object) -> None:
    from pathlib import Path

    pages = Path(str(tmp_path)) / "pages"
    (pages / "i18n").mkdir(parents=True)
    (pages / "join.html").write_text("<p>x</p>")
    (pages / "i18n" / "fr.json").write_text(json.dumps({"Join": "Rejoindre"}))
    routes = Routes(pages)
    assets = routes.assets()
    assert assets["i18n/fr.json"].content_type == "application/json; charset=utf-8"
    assert "i18n/es.json" not in assets


async def test_the_websocket_and_the_health_check_still_answer(server: RunningServer) -> None:
    status, _headers, body = await fetch(server.port, "/healthz")
    assert status == 200 and body == b"ok\n"
    async with websockets.connect(server.url) as ws:
        await ws.send(json.dumps({"type": "hello", "token": server.tokens.display}))
        welcome = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert welcome["type"] == "welcome" and welcome["snapshot"] is not None
    # Even at a page's own path, an upgrade is a websocket, not the page.
    async with websockets.connect(server.url + "/join") as ws:
        await ws.send(json.dumps({"type": "hello", "token": server.tokens.display}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "welcome"


async def test_another_surface_adds_its_routes_to_the_table(server: RunningServer) -> None:
    from websockets.http11 import Response

    from modconsole.server.http_pages import plain

    def answer(_connection: object, request: object) -> Response:
        return plain(__import__("http").HTTPStatus.OK, "mine\n")

    server.server.http.add_prefix("/extra/", answer)
    status, _headers, body = await fetch(server.port, "/extra/anything")
    assert status == 200 and body == b"mine\n"
    # A route put in the place of the pages' own (catalogues made some other way) takes over.
    server.server.http.add_prefix("/i18n/", answer)
    status, _headers, body = await fetch(server.port, "/i18n/fr.json")
    assert status == 200 and body == b"mine\n"


def test_serve_says_where_the_pages_are(cli_server) -> None:
    assert cli_server.process.stdout is not None
    cli_server.process.stdout.readline()  # the event's line
    line = cli_server.process.stdout.readline()
    assert line.startswith(f"  pages: http://127.0.0.1:{cli_server.port}/join#token=TOKEN"), line
    assert f"http://127.0.0.1:{cli_server.port}/display#token=DISPLAY_TOKEN" in line


def test_a_page_policy_allows_exactly_its_inline_scripts() -> None:
    from modconsole.server.http_pages import policy_for

    one = policy_for("<script>let a = 1;</script><script src='/pages/x.js'></script>")
    assert one.count("'sha256-") == 1
    assert policy_for("<p>no script</p>") == CSP
    assert policy_for("<script>a</script>") != policy_for("<script>b</script>")
