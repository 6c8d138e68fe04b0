"""The HTTP API under hostile requests: unknown paths, traversal, wrong methods; each answer is the typed
error frame as JSON, like every other refusal of the API (docs/http.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from support.servers import RunningServer

from modconsole.server.http_api import HttpApi


@pytest.fixture
async def base(start_server: Callable[..., Awaitable[RunningServer]]) -> AsyncIterator[tuple[str, str]]:
    running = await start_server()
    api = HttpApi(running.server)
    port = await api.start("127.0.0.1", 0)
    yield f"http://127.0.0.1:{port}", running.tokens.moderator
    await api.stop()


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/", 404, "not_found"),
        ("GET", "/api/nothing", 404, "not_found"),
        ("GET", "/api/sessions/../state", 404, "not_found"),
        ("GET", "/api/%2e%2e/state", 404, "not_found"),
        ("GET", "/", 404, "not_found"),
        ("GET", "/api/command", 405, "bad_frame"),
        ("PUT", "/api/command", 405, "bad_frame"),
        ("DELETE", "/api/state", 405, "bad_frame"),
        ("OPTIONS", "/api/command", 405, "bad_frame"),
    ],
)
async def test_a_wrong_path_or_method_is_a_typed_json_error(
    base: tuple[str, str], method: str, path: str, status: int, code: str
) -> None:
    url, token = base
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            method, aiohttp.client.URL(url + path, encoded=True), headers={"Authorization": f"Bearer {token}"}
        ) as response,
    ):
        assert response.status == status
        assert response.content_type == "application/json"
        body = await response.json()
    assert body["type"] == "error" and body["code"] == code and body["message"]
    if status == 405:
        assert "Allow" in response.headers and method in body["message"]
