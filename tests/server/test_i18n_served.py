"""``GET /i18n/LANG.json`` on the websocket's own port (modconsole/server/http_i18n.py), from a real server."""

from __future__ import annotations

import json

import aiohttp
from support.servers import RunningServer

from modconsole.i18n import LANGUAGES


async def test_each_catalogue_is_served_on_the_websocket_port(server: RunningServer) -> None:
    base = f"http://127.0.0.1:{server.port}"
    async with aiohttp.ClientSession() as http:
        for language in LANGUAGES:
            async with http.get(f"{base}/i18n/{language}.json") as response:
                assert response.status == 200
                assert response.headers["Content-Type"] == "application/json; charset=utf-8"
                doc = json.loads(await response.read())
                assert doc[""]["language"] == language
        async with http.get(f"{base}/i18n/fr.json") as response:
            assert json.loads(await response.read())["Please wrap up"] == "Merci de conclure"
            etag = response.headers["ETag"]
        async with http.get(f"{base}/i18n/fr.json", headers={"If-None-Match": etag}) as response:
            assert response.status == 304 and await response.read() == b""
        for path in ("/i18n/de.json", "/i18n/FR.json", "/i18n/fr", "/i18n/fr.json.bak"):
            async with http.get(base + path) as response:
                assert response.status == 404, path
