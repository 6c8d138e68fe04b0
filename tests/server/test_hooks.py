"""Automations (modconsole/server/hooks.py) against a real server on port 0, a real local HTTP receiver and a
real OSC UDP server: the triggers' bodies, retries with backoff, a bounded queue for a slow receiver, a
failing hook that is logged and never holds up a command, and the hooks file's errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import AsyncIOOSCUDPServer
from support.servers import FakeClock, RunningServer, run_cli

from modconsole.client import MeetingClient
from modconsole.protocol import CLIENT_ADAPTER, Hello, Ping, ReportRequest
from modconsole.server.hooks import Hook, Hooks, HooksError, load_hooks, parse_hooks


class Receiver:
    """A real HTTP server on port 0 that keeps each JSON body it is sent; ``fail`` answers 500 that many times."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.fail = 0
        self.calls = 0
        self.hang = False
        self.arrived = asyncio.Event()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _take(self, request: web.Request) -> web.Response:
        self.calls += 1
        if self.hang:
            await asyncio.sleep(3600)
        if self.fail > 0:
            self.fail -= 1
            return web.Response(status=500)
        self.bodies.append(await request.json())
        self.arrived.set()
        return web.Response(text="ok")

    async def start(self) -> None:
        app = web.Application()
        app.add_routes([web.post("/hook", self._take)])
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hook"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        async with asyncio.timeout(timeout):
            while len(self.bodies) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.bodies


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    one = Receiver()
    await one.start()
    yield one
    await one.stop()


@pytest.fixture
async def hooked(
    start_server: Callable[..., Awaitable[RunningServer]],
) -> AsyncIterator[Callable[..., Awaitable[tuple[RunningServer, Hooks]]]]:
    made: list[Hooks] = []

    async def make(hooks: list[Hook], **options: Any) -> tuple[RunningServer, Hooks]:
        clock = options.pop("clock", None)
        running = await start_server(**({"clock": clock} if clock is not None else {}))
        runner = Hooks(hooks, **({"backoff_s": 0.05, "tick_s": 3600} | options))
        runner.attach(running.server)
        made.append(runner)
        return running, runner

    yield make
    for runner in made:
        await runner.stop()


async def command(running: RunningServer, *frames: dict[str, Any]) -> None:
    client = MeetingClient(running.url, running.tokens.moderator, client="test")
    await client.connect()
    try:
        for frame in frames:
            command = CLIENT_ADAPTER.validate_python(frame)
            assert not isinstance(command, Hello | Ping | ReportRequest)
            await client.command(command)
    finally:
        await client.close()


def post(trigger: str, url: str) -> Hook:
    return parse_hooks({trigger: [{"post": url}]})[0]


async def test_the_floor_an_item_a_turn_and_the_session_end_are_posted(
    hooked: Callable[..., Awaitable[tuple[RunningServer, Hooks]]], receiver: Receiver
) -> None:
    triggers = ("item_started", "floor_given", "turn_ended", "session_ended")
    running, _ = await hooked([post(t, receiver.url) for t in triggers])
    person = "garcetti"
    await command(
        running,
        {"type": "start", "id": "1"},
        {"type": "floor", "person": person, "id": "2"},
        {"type": "end_turn", "id": "3"},
        {"type": "next", "id": "4"},
        {"type": "end", "id": "5"},
    )
    bodies = await receiver.wait(5)
    assert [b["trigger"] for b in bodies] == [
        "item_started",
        "floor_given",
        "turn_ended",
        "item_started",
        "session_ended",
    ]
    started, given, ended, moved, _ = bodies
    assert started["item"] == "opening" and started["item_title"] == "Opening by the chair"
    assert given["person"] == person and given["person_name"] == "Eric Garcetti" and given["item"] == "opening"
    assert ended["person"] == person
    assert moved["item"] == "seoul-briefing"
    assert all(b["event_id"] == running.event_id and b["session"] == "call" for b in bodies)
    assert all(isinstance(b["seq"], int) and b["at_local"].startswith("20") for b in bodies)


async def test_an_osc_message_reaches_a_real_osc_server(
    hooked: Callable[..., Awaitable[tuple[RunningServer, Hooks]]],
) -> None:
    got: asyncio.Queue[tuple[str, tuple[Any, ...]]] = asyncio.Queue()
    dispatcher = Dispatcher()
    dispatcher.map("/cue/*", lambda address, *args: got.put_nowait((address, args)))
    osc = AsyncIOOSCUDPServer(("127.0.0.1", 0), dispatcher, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport, _ = await osc.create_serve_endpoint()
    try:
        port = transport.get_extra_info("sockname")[1]
        hook = parse_hooks(
            {"floor_given": {"osc": f"127.0.0.1:{port}", "address": "/cue/spotlight", "args": ["{person_name}", 1]}}
        )[0]
        running, _ = await hooked([hook])
        await command(running, {"type": "start"}, {"type": "floor", "person": "garcetti"})
        address, args = await asyncio.wait_for(got.get(), 5)
        assert address == "/cue/spotlight" and args == ("Eric Garcetti", 1)
    finally:
        transport.close()


async def test_a_failing_receiver_is_retried_with_backoff(
    hooked: Callable[..., Awaitable[tuple[RunningServer, Hooks]]], receiver: Receiver
) -> None:
    receiver.fail = 2
    running, hooks = await hooked([post("item_started", receiver.url)])
    await command(running, {"type": "start"})
    bodies = await receiver.wait(1)
    assert bodies[0]["trigger"] == "item_started"
    async with asyncio.timeout(5):
        while hooks.targets[0].sent < 1:
            await asyncio.sleep(0.01)
    assert receiver.calls == 3 and hooks.targets[0].failed == 0


async def test_a_dead_hook_is_logged_and_never_holds_up_a_command(
    hooked: Callable[..., Awaitable[tuple[RunningServer, Hooks]]], caplog: pytest.LogCaptureFixture
) -> None:
    dead = "http://127.0.0.1:9/nobody"  # the discard port: nothing listens
    running, hooks = await hooked([post("item_started", dead)], attempts=2)
    with caplog.at_level(logging.WARNING, "modconsole.server.hooks"):
        await asyncio.wait_for(command(running, {"type": "start"}, {"type": "next"}), 5)
        async with asyncio.timeout(5):
            while hooks.targets[0].failed < 2:
                await asyncio.sleep(0.02)
    session = running.state.session("call")
    assert session is not None and session.current_item is not None
    assert session.current_item.id == "seoul-briefing"
    assert "hook item_started → http://127.0.0.1:9/nobody failed" in caplog.text


async def test_a_slow_receiver_cannot_grow_memory(
    hooked: Callable[..., Awaitable[tuple[RunningServer, Hooks]]], receiver: Receiver
) -> None:
    receiver.hang = True
    running, hooks = await hooked([post("item_started", receiver.url)], timeout_s=60)
    target = hooks.targets[0]
    body = {"trigger": "item_started", "event_id": running.event_id}
    for _ in range(500):
        hooks.fire(body)
    assert target.queue.qsize() <= target.queue.maxsize
    assert target.dropped >= 500 - target.queue.maxsize - 1


async def test_the_timers_phases_fire_once_each(
    hooked: Callable[..., Awaitable[tuple[RunningServer, Hooks]]], receiver: Receiver, fake_clock: FakeClock
) -> None:
    hooks_list = [post("phase_warning", receiver.url), post("phase_overtime", receiver.url)]
    running, hooks = await hooked(hooks_list, clock=fake_clock)
    await command(running, {"type": "start"})
    hooks.look_at_phases()  # the first look takes note
    assert receiver.bodies == []
    fake_clock.advance(minutes=2, seconds=40)  # the opening (3 min) nears its end
    hooks.look_at_phases()
    hooks.look_at_phases()
    fake_clock.advance(minutes=1)
    hooks.look_at_phases()
    hooks.look_at_phases()
    bodies = await receiver.wait(2)
    await asyncio.sleep(0.1)
    assert [(b["trigger"], b["timer"], b["item"]) for b in bodies] == [
        ("phase_warning", "item", "opening"),
        ("phase_overtime", "item", "opening"),
    ]
    assert bodies[1]["phase"] == "overtime"


def test_the_hooks_file_errors_name_what_is_wrong(tmp_path: Path) -> None:
    cases = {
        'floor_givn = [{ post = "http://x/" }]': "unknown trigger 'floor_givn'",
        'floor_given = [{ post = "ftp://x/" }]': "'post' must be an http:// or https:// URL",
        'floor_given = [{ osc = "host" }]': "'osc' must be HOST:PORT",
        'floor_given = [{ post = "http://x/", osc = "h:1" }]': "give one of 'post'",
        'floor_given = [{ osc = "h:1", args = ["{nobody}"] }]': "names 'nobody'",
        'floor_given = [{ post = "http://x/", when = 1 }]': "unknown key 'when'",
    }
    for table, message in cases.items():
        path = tmp_path / "hooks.toml"
        path.write_text("[hooks]\n" + table + "\n")
        with pytest.raises(HooksError, match=message):
            load_hooks(path)
    path.write_text('[event]\ntitle = "x"\n')
    with pytest.raises(HooksError, match=r"no \[hooks\] table"):
        load_hooks(path)


def test_serve_refuses_a_bad_hooks_file_and_create_event_an_agenda_with_bad_hooks(tmp_path: Path) -> None:
    agenda = Path(__file__).resolve().parents[2] / "examples" / "mayors-call.toml"
    bad = tmp_path / "agenda.toml"
    bad.write_text(agenda.read_text() + '\n[hooks]\nfloor_given = [{ post = "nowhere" }]\n')
    db = tmp_path / "x.db"
    made = run_cli("modconsole-server", "create-event", bad, "--db", db)
    assert made.returncode == 2 and "'post' must be an http://" in made.stderr
    good = tmp_path / "good.toml"
    good.write_text(agenda.read_text() + '\n[hooks]\nfloor_given = [{ post = "http://127.0.0.1:9/x" }]\n')
    assert run_cli("modconsole-server", "create-event", good, "--db", db).returncode == 0
    served = run_cli("modconsole-server", "serve", "--db", db, "--port", "0", "--hooks", bad)
    assert served.returncode == 2 and "'post' must be an http://" in served.stderr


async def test_a_question_put_live_is_posted_with_its_text_and_asker(
    hooked: Callable[..., Awaitable[tuple[RunningServer, Hooks]]], receiver: Receiver
) -> None:
    running, _ = await hooked([post("question_live", receiver.url)])
    asker = MeetingClient(running.url, running.tokens.people["sala"], client="test")
    await asker.connect()
    try:
        await asker.command(CLIENT_ADAPTER.validate_python({"type": "ask", "text": "Who pays for the masks?"}))
    finally:
        await asker.close()
    await command(running, {"type": "question_live", "id": "1"})
    (body,) = await receiver.wait(1)
    assert body["trigger"] == "question_live" and body["question"] == "q1"
    assert body["question_text"] == "Who pays for the masks?" and body["person"] == "sala"
