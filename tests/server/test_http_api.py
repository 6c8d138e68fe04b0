"""The HTTP API (modconsole/server/http_api.py) against a real server on port 0: the same state as
``ctl state --json``, commands through the websocket's write path (durable before the answer), the same
rights and rate limit as a websocket client, typed errors with fitting statuses, and its bounds."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from support.servers import RunningServer, run_cli

from modconsole.server.connection import RATE_BURST, RATE_PER_S
from modconsole.server.http_api import HttpApi


@dataclass
class Api:
    running: RunningServer
    api: HttpApi
    base: str
    http: aiohttp.ClientSession

    async def get(self, path: str, token: str | None) -> tuple[int, Any, Mapping[str, str]]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.get(self.base + path, headers=headers) as response:
            return response.status, await response.json(), response.headers

    async def post(self, body: object, token: str | None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        async with self.http.post(self.base + "/api/command", data=data, headers=headers) as response:
            return response.status, await response.json(content_type=None)


@pytest.fixture
async def api_for(
    start_server: Callable[..., Awaitable[RunningServer]],
) -> AsyncIterator[Callable[..., Awaitable[Api]]]:
    made: list[Api] = []

    async def make(**options: Any) -> Api:
        running = await start_server()
        api = HttpApi(running.server, **options)
        port = await api.start("127.0.0.1", 0)
        made.append(Api(running, api, f"http://127.0.0.1:{port}", aiohttp.ClientSession()))
        return made[-1]

    yield make
    for one in made:
        await one.http.close()
        await one.api.stop()


@pytest.fixture
async def api(api_for: Callable[..., Awaitable[Api]]) -> Api:
    return await api_for()


async def test_state_is_what_ctl_state_json_prints(api: Api) -> None:
    token = api.running.tokens.moderator
    assert (await api.post({"type": "start"}, token))[0] == 200
    status, body, headers = await api.get("/api/state", token)
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    ctl = ("modconsole", "ctl", api.running.url, "--token", token, "state", "--json")
    printed = await asyncio.to_thread(run_cli, *ctl)
    assert printed.returncode == 0, printed.stderr
    from_ctl = json.loads(printed.stdout)
    body.pop("now")
    from_ctl.pop("now")
    for view in (body, from_ctl):  # the figures that run with the clock between the two reads
        for session in view["sessions"]:
            for key in ("current_remaining_s", "elapsed_s", "over_under_s", "projected_end", "next_start"):
                session.pop(key, None)
            session.pop("items")
    assert body == from_ctl
    assert body["sessions"][0]["status"] == "running"


async def test_a_session_view_and_the_current_one(api: Api) -> None:
    token = api.running.tokens.display
    status, view, _ = await api.get("/api/sessions/call", token)
    assert status == 200 and view["id"] == "call" and view["status"] == "not_started"
    status, current, _ = await api.get("/api/session", token)
    assert status == 200 and current["id"] == "call"
    status, error, _ = await api.get("/api/sessions/nope", token)
    assert status == 404 and error == {"type": "error", "id": None, "code": "not_found", "message": "no session 'nope'"}
    status, error, _ = await api.get("/api/state?session=nope", token)
    assert status == 404 and error["code"] == "not_found"


async def test_a_command_is_durable_and_broadcast_before_its_answer(
    api: Api, connect: Callable[..., Awaitable[Any]]
) -> None:
    watcher = await connect(api.running.url, api.running.tokens.display)
    status, ack = await api.post({"type": "start", "id": "desk-1"}, api.running.tokens.moderator)
    assert status == 200
    assert (ack["type"], ack["id"]) == ("ack", "desk-1") and isinstance(ack["seq"], int)
    # On disk by the time the answer came back.
    assert api.running.read_log()[-1].seq == ack["seq"]
    assert [e.event.type for e in api.running.read_log()][-1] == "session_started"
    await watcher.wait_for(lambda s: s.seq >= ack["seq"], timeout=5)
    status, ack2 = await api.post({"type": "next"}, api.running.tokens.moderator)
    assert status == 200 and ack2["id"].startswith("http-") and ack2["seq"] > ack["seq"]


async def test_the_tokens_rights_and_typed_errors(api: Api) -> None:
    tokens = api.running.tokens
    mod = tokens.moderator
    status, error, headers = await api.get("/api/state", None)
    assert status == 401 and error["code"] == "unauthorized" and headers["WWW-Authenticate"] == "Bearer"
    assert (await api.post({"type": "start"}, "not-a-token"))[0] == 401
    # The event-wide participant token registers someone on the websocket; it cannot act here.
    status, error = await api.post({"type": "raise"}, tokens.participant)
    assert status == 403 and error["code"] == "forbidden"
    # A display only watches.
    status, error = await api.post({"type": "start", "id": "d"}, tokens.display)
    assert (status, error["code"], error["id"]) == (403, "forbidden", "d")
    # Not now: the session has not started.
    status, error = await api.post({"type": "pause"}, mod)
    assert status == 409 and error["code"] == "invalid_state"
    # Not a frame.
    status, error = await api.post(b"{not json", mod)
    assert status == 400 and error["code"] == "bad_frame"
    status, error = await api.post({"type": "launch-rockets"}, mod)
    assert status == 400 and error["code"] == "bad_frame"
    status, error = await api.post({"type": "hello"}, mod)
    assert status == 400 and "websocket" in error["message"]
    rows = api.running.log_rows()
    assert (await api.post({"type": "start"}, mod))[0] == 200
    status, error = await api.post({"type": "goto", "item": "nope"}, mod)
    assert status == 404 and error["code"] == "not_found"
    # A personal token: the speaker raises their own hand once the session runs.
    person, token = next(iter(tokens.people.items()))
    status, ack = await api.post({"type": "raise", "kind": "question"}, token)
    assert status == 200, ack
    assert api.running.state.session("call").current_item.queue[0].person == person
    assert api.running.log_rows() == rows + 2  # nothing was written for the refused ones


async def test_a_report_is_answered_to_a_moderator(api: Api) -> None:
    status, report = await api.post({"type": "report", "format": "json"}, api.running.tokens.moderator)
    assert status == 200 and report["type"] == "report" and json.loads(report["text"])
    status, error = await api.post({"type": "report"}, api.running.tokens.display)
    assert status == 403 and error["code"] == "forbidden"


async def test_the_rate_limit_is_a_websocket_clients(api: Api) -> None:
    token = api.running.tokens.display
    started = time.monotonic()
    statuses = [status for status, _, _ in await asyncio.gather(*(api.get("/api/session", token) for _ in range(150)))]
    elapsed = time.monotonic() - started
    assert 429 in statuses
    # The burst, and what refilled while the requests were answered.
    assert statuses.count(200) <= RATE_BURST + RATE_PER_S * elapsed + 1
    # Per token: another token is not slowed by it.
    assert (await api.get("/api/session", api.running.tokens.moderator))[0] == 200


async def test_the_body_is_bounded(api: Api) -> None:
    status, error = await api.post(b'{"type":"message","text":"' + b"x" * 70_000 + b'"}', api.running.tokens.moderator)
    assert status == 413 and error["code"] == "bad_frame"


async def test_connections_are_bounded(api_for: Callable[..., Awaitable[Api]]) -> None:
    api = await api_for(max_connections=2)
    port = int(api.base.rsplit(":", 1)[1])
    held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
    await asyncio.sleep(0.05)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answer = await asyncio.wait_for(reader.read(), 2)
    assert answer.startswith(b"HTTP/1.1 503")
    assert api.api.refused == 1
    for _, w in [*held, (reader, writer)]:
        w.close()
    await asyncio.sleep(0.1)  # the held ones are closed: there is room again
    assert (await api.get("/api/session", api.running.tokens.display))[0] == 200


async def test_a_server_shutting_down_answers_503(api: Api) -> None:
    api.running.server._closing = True
    status, error = await api.post({"type": "start"}, api.running.tokens.moderator)
    api.running.server._closing = False
    assert status == 503 and error["code"] == "unavailable"


async def test_a_named_moderator_is_named_in_the_log_and_kept_to_their_sessions(api: Api) -> None:
    from modconsole.server.tokens_admin import add_moderator

    anna = add_moderator(api.running.store, api.running.event_id, "Anna Berg", sessions=["call"])
    status, ack = await api.post({"type": "start"}, anna.token)
    assert status == 200, ack
    actor = api.running.server.events[api.running.event_id].entries[-1].actor
    assert (actor.role, actor.person, actor.name, actor.client) == ("moderator", "mod-anna-berg", "Anna Berg", "http")
    assert api.running.read_log()[-1].actor.person == "mod-anna-berg"  # on disk too
    status, error = await api.post({"type": "pause", "session": "elsewhere"}, anna.token)
    assert (status, error["code"]) == (403, "forbidden"), error


async def test_a_revoked_token_is_refused_at_once(api: Api) -> None:
    from modconsole.server.tokens_admin import revoke

    token = api.running.tokens.display
    assert (await api.get("/api/session", token))[0] == 200
    revoke(api.running.store, api.running.event_id, "display")
    status, error, _ = await api.get("/api/session", token)
    assert status == 401 and error["code"] == "unauthorized"
