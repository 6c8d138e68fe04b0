"""The wire protocol against a real server: hello and welcome, refusals, hostile frames, limits, health."""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.request
from dataclasses import asdict
from typing import Any

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from modconsole.client import ClientError, CommandRefused, MeetingClient
from modconsole.core import commands as c
from modconsole.core.agenda import Person
from modconsole.protocol import MAX_FRAME_BYTES, Pong
from modconsole.server.connection import RATE_BURST
from modconsole.server.events_admin import create_event
from modconsole.server.store import SqliteStore
from modconsole.server.tokens import new_token


async def _exchange(
    url: str, hello: dict[str, Any], token: str | None = None
) -> tuple[list[dict[str, Any]], int | None]:
    """Say hello on a bare websocket; return every frame until the server closes, and the close code.

    Stops after the first frame when it is a welcome (the server keeps such a connection open).
    """
    headers = {"Authorization": f"Bearer {token}"} if token is not None else None
    frames: list[dict[str, Any]] = []
    async with ws_connect(url, additional_headers=headers) as ws:
        await ws.send(json.dumps(hello))
        try:
            async for raw in ws:
                frames.append(json.loads(raw))
                if frames[-1]["type"] == "welcome":
                    break
        except ConnectionClosed:
            pass
        if frames and frames[-1]["type"] == "welcome":
            return frames, None
        await ws.wait_closed()
    return frames, ws.close_code


async def _unsolicited(client: MeetingClient, count: int) -> list[Any]:
    """Wait until the client has received ``count`` errors that answer no request of its own."""
    await client.wait_for(lambda _state: len(client.unsolicited_errors) >= count)
    return client.unsolicited_errors[:count]


# --- hello and welcome ---------------------------------------------------------------------------


@pytest.fixture
async def clocked(start_server, fake_clock):
    """A server on the fake clock, at the call's planned start."""
    return await start_server(clock=fake_clock)


async def test_welcome_for_every_role(clocked, connect, fake_clock) -> None:
    srv = clocked
    fake_clock.advance(seconds=90)
    moderator = await connect(srv.url, srv.tokens.moderator)
    welcome = moderator.welcome
    assert welcome is not None
    assert (welcome.role, welcome.person, welcome.event_id) == ("moderator", None, srv.event_id)
    assert welcome.seq == srv.state.seq == 2  # event_created, clock_set
    assert welcome.server_time == fake_clock() == srv.now()
    assert welcome.time_scale == 1.0
    assert welcome.snapshot is not None and asdict(welcome.snapshot) == asdict(srv.state)

    speaker = await connect(srv.url, srv.tokens.people["park-won-soon"])
    assert speaker.welcome is not None and speaker.welcome.role == "speaker"
    assert speaker.welcome.person == srv.state.person("park-won-soon")
    assert speaker.welcome.person is not None and speaker.welcome.person.name == "Park Won-soon"

    display = await connect(srv.url, srv.tokens.display)
    assert display.welcome is not None and (display.welcome.role, display.welcome.person) == ("display", None)

    participant = await connect(srv.url, srv.tokens.participant, name="  Observer from Busan ")
    person = participant.welcome.person if participant.welcome else None
    assert isinstance(person, Person)
    assert person.participant and person.name == "Observer from Busan" and person.id.startswith("p-")
    # A participant is a credential, not a name: the same name (in any case) is another person, shown apart.
    again = await connect(srv.url, srv.tokens.participant, name="OBSERVER FROM BUSAN")
    assert again.welcome is not None and again.welcome.person is not None
    assert again.welcome.person.id != person.id
    assert again.welcome.person.name == "OBSERVER FROM BUSAN (2)"
    # Each joins again as themselves with the credential their first join was given.
    assert participant.token != srv.tokens.participant and participant.name is None
    back = await connect(srv.url, participant.token)
    assert back.welcome is not None and back.welcome.person == person and back.welcome.credential is None

    for client in (moderator, speaker, display, participant, again, back):
        await srv.settled(client)


async def test_a_rehearsal_clock_runs_faster(start_server, connect, fake_clock) -> None:
    start = fake_clock()
    srv = await start_server(clock=fake_clock, time_scale=600)
    client = await connect(srv.url, srv.tokens.moderator)
    assert client.welcome is not None and client.welcome.time_scale == 600
    fake_clock.advance(seconds=0.1)  # a tenth of a second of wall time: a minute of meeting
    await client.ping()
    pong = _last_pong(client)
    assert pong.server_time == start + 60_000 == srv.now()
    assert pong.wall_time == fake_clock()  # the server's own wall clock, unscaled
    assert pong.time_scale == client.clock.scale == 600


def _last_pong(client) -> Pong:
    pongs = [frame for frame in client.frames if isinstance(frame, Pong)]
    assert pongs, "no pong received"
    return pongs[-1]


async def test_ping_answers_with_the_event_clock(clocked, connect, fake_clock) -> None:
    srv = clocked
    client = await connect(srv.url, srv.tokens.display)
    start = fake_clock()
    for step in (1, 60, 3600):
        fake_clock.advance(seconds=step)
        rtt = await client.ping()
        assert rtt >= 0
        assert _last_pong(client).server_time == fake_clock() == srv.now()
    # The client's estimate keeps a sample with a short round trip (the welcome's, or a pong's).
    assert client.clock.server_ms in {start, start + 1000, start + 61_000, start + 3_661_000}


async def test_the_token_may_come_in_the_hello(server) -> None:
    frames, code = await _exchange(server.url, {"type": "hello", "token": server.tokens.moderator, "client": "raw"})
    assert code is None
    assert frames[0]["type"] == "welcome" and frames[0]["role"] == "moderator"
    assert frames[0]["snapshot"]["event_id"] == server.event_id

    frames, code = await _exchange(
        server.url, {"type": "hello", "token": server.tokens.participant, "name": "Ana Lima"}
    )
    assert frames[0]["type"] == "welcome" and frames[0]["person"]["name"] == "Ana Lima"


async def test_a_wrong_token_gets_the_same_answer_whatever_it_looks_like(server, tmp_path, mayors_agenda) -> None:
    other_store = SqliteStore(tmp_path / "another.db")
    try:
        other = create_event(other_store, mayors_agenda)
    finally:
        other_store.close()
    wrong = {
        "another event's moderator": other.moderator,
        "another event's speaker": other.people["garcetti"],
        "well formed, never issued": new_token(),
        "garbage": "x' OR 1=1 --",
        "empty": "",
        "unicode": "jeton-\u00e9\u00e8-\u2603",
    }
    answers = set()
    for label, token in wrong.items():
        for in_header in (True, False) if token.isascii() else (False,):  # HTTP headers are ASCII
            hello: dict[str, Any] = {"type": "hello"}
            if not in_header:
                hello["token"] = token
            frames, code = await _exchange(server.url, hello, token if in_header else None)
            assert code == 1008, label
            assert len(frames) == 1 and frames[0]["type"] == "error", label
            assert frames[0]["code"] == "unauthorized", label
            answers.add((frames[0]["message"], frames[0].get("id")))
    assert len(answers) == 1  # nothing tells a token of another event from garbage

    client = MeetingClient(server.url, other.moderator)
    with pytest.raises(ClientError) as refused:
        await client.connect()
    assert refused.value.code == "unauthorized"
    assert other.moderator not in refused.value.message


@pytest.mark.parametrize(
    ("name", "why"),
    [
        (None, "name is needed"),
        ("   ", "name is needed"),
        ("Ana\x07Lima", "control characters"),
        ("Ana\nLima", "control characters"),
        ("Ana\u200bLima", "control characters"),  # a zero-width space (format character)
        ("x" * 81, "at most 80"),
    ],
)
async def test_a_participant_needs_a_proper_name(server, name, why) -> None:
    frames, code = await _exchange(server.url, {"type": "hello", "name": name}, server.tokens.participant)
    assert code == 1008
    assert frames[-1]["type"] == "error" and frames[-1]["code"] == "bad_frame"
    assert why in frames[-1]["message"]
    assert server.state.participants == {}


@pytest.mark.parametrize(
    "first",
    [
        '{"type": "ping", "id": "p1"}',
        '{"type": "start"}',
        "not json",
        '{"type": "hello", "last_seq": -1}',
        '{"type": "hello", "unknown": 1}',
        b"\x00\x01binary",
    ],
)
async def test_the_first_frame_must_be_a_valid_hello(server, first) -> None:
    async with ws_connect(server.url, additional_headers={"Authorization": f"Bearer {server.tokens.moderator}"}) as ws:
        await ws.send(first)
        answer = json.loads(await ws.recv())
        await ws.wait_closed()
    assert answer["type"] == "error" and answer["code"] == "bad_frame"
    assert ws.close_code == 1008


# --- hostile frames --------------------------------------------------------------------------------

HOSTILE = [
    ("not JSON", "{not json", None),
    ("invalid UTF-8 as a binary frame", b"\xff\xfe\xfd{}", None),
    ("a JSON array", '[{"type": "start"}]', None),
    ("a JSON string", '"start"', None),
    ("unknown type", '{"type": "self_destruct", "id": "u1"}', "u1"),
    ("no type", '{"id": "n1"}', "n1"),
    ("missing field", '{"type": "goto", "id": "g1"}', "g1"),
    ("wrong type", '{"type": "add_time", "id": "w1", "delta_s": "five minutes"}', "w1"),
    ("fractional", '{"type": "add_time", "id": "f1", "delta_s": 1.5}', "f1"),
    ("extra field", '{"type": "next", "id": "e1", "force": true}', "e1"),
    ("deep nesting", '{"type": "start", "id": "d1", "session": ' + "[" * 20_000 + "]" * 20_000 + "}", None),
    ("huge integer", '{"type": "add_time", "id": "h1", "delta_s": 1' + "0" * 5000 + "}", None),
    ("big integer", '{"type": "queue_move", "id": "b1", "person": "sala", "position": 1' + "0" * 40 + "}", "b1"),
    ("infinite number", '{"type": "add_time", "id": "i1", "delta_s": 1e999}', "i1"),
    ("NaN", '{"type": "add_time", "id": "x1", "delta_s": NaN}', "x1"),
    ("overlong id", '{"type": "start", "id": "' + "i" * 65 + '"}', None),
    ("a second hello", '{"type": "hello"}', None),
]


async def test_hostile_frames_get_bad_frame_and_the_connection_stays_usable(server, connect) -> None:
    moderator = await connect(server.url, server.tokens.moderator, label="moderator")
    hostile = await connect(server.url, server.tokens.people["sala"], label="hostile")
    bystander = await connect(server.url, server.tokens.display, label="bystander")
    rows = server.log_rows()
    await moderator.command(c.Start())

    for count, (label, frame, echoed_id) in enumerate(HOSTILE, start=1):
        await hostile.send_raw(frame)
        errors = await _unsolicited(hostile, count)
        assert errors[-1].code == "bad_frame", label
        assert errors[-1].id == echoed_id, label
        assert len(errors[-1].message) < 500, label
        assert await hostile.ping() >= 0, label  # still usable
        # Everyone else keeps getting events.
        ack = await moderator.command(c.AddTime(delta_s=1 if count % 2 else -1))
        await bystander.wait_for(lambda s, seq=ack.seq: s.seq == seq)
        await hostile.wait_for(lambda s, seq=ack.seq: s.seq == seq)
    assert hostile.connected

    await hostile.command(c.Raise())  # and its own commands still work
    await server.settled(bystander)
    await server.settled(hostile)
    assert server.log_rows() == rows + 1 + len(HOSTILE) + 1  # start, the add_times, the raise: nothing else
    assert bystander.unsolicited_errors == []


async def test_a_frame_over_64_kib_closes_only_that_connection(server, connect) -> None:
    moderator = await connect(server.url, server.tokens.moderator)
    big = await connect(server.url, server.tokens.people["sala"], label="big")
    other = await connect(server.url, server.tokens.people["breed"], label="other")
    await big.send_raw('{"type": "message", "text": "' + "x" * (MAX_FRAME_BYTES + 1) + '"}')
    await asyncio.wait_for(big.closed.wait(), 5)
    assert big.close_code == 1009

    ack = await moderator.command(c.Start())
    await other.wait_for(lambda s: s.seq == ack.seq)
    assert await other.ping() >= 0
    await server.settled(other)

    # A frame just under the limit is read (and refused for what it says, not for its size).
    big_but_allowed = '{"type": "ping", "id": "fits", "pad": "' + "x" * (MAX_FRAME_BYTES - 100) + '"}'
    assert len(big_but_allowed.encode()) <= MAX_FRAME_BYTES
    await other.send_raw(big_but_allowed)
    errors = await _unsolicited(other, 1)
    assert errors[0].code == "bad_frame"
    assert other.connected


async def test_flooding_gets_rate_limited_then_closed(server, connect) -> None:
    watcher = await connect(server.url, server.tokens.display, label="watcher")
    moderator = await connect(server.url, server.tokens.moderator, label="moderator")
    headers = {"Authorization": f"Bearer {server.tokens.people['sala']}"}
    async with ws_connect(server.url, additional_headers=headers) as ws:
        await ws.send(json.dumps({"type": "hello", "client": "flood"}))
        assert json.loads(await ws.recv())["type"] == "welcome"
        received: list[dict[str, Any]] = []
        limited = asyncio.Event()

        async def read() -> None:
            with contextlib.suppress(ConnectionClosed):
                async for raw in ws:
                    received.append(json.loads(raw))
                    if received[-1].get("code") == "rate_limited":
                        limited.set()

        reader = asyncio.create_task(read())
        burst = [json.dumps({"type": "ping", "id": f"flood-{n}"}) for n in range(int(RATE_BURST) + 10)]
        for frame in burst:
            await ws.send(frame)
        await asyncio.wait_for(limited.wait(), 5)  # told to slow down...
        with contextlib.suppress(ConnectionClosed):
            for _ in range(300):  # ...and does not
                await ws.send(json.dumps({"type": "ping", "id": "more"}))
        await asyncio.wait_for(reader, 5)
    assert ws.close_code == 1008
    assert ws.close_reason == "too many frames"
    errors = [f for f in received if f["type"] == "error"]
    pongs = [f for f in received if f["type"] == "pong"]
    assert errors and {f["code"] for f in errors} == {"rate_limited"}
    assert errors[0]["id"] in {f"flood-{n}" for n in range(len(burst))}
    assert len(pongs) >= int(RATE_BURST)  # the burst itself is served
    assert len(pongs) + len(errors) < len(burst) + 300

    # The others did not notice.
    ack = await moderator.command(c.Start())
    await watcher.wait_for(lambda s: s.seq == ack.seq)
    assert await watcher.ping() >= 0


async def test_a_rate_limited_command_is_answered_not_left_hanging(server, connect) -> None:
    moderator = await connect(server.url, server.tokens.moderator)
    await moderator.command(c.Start())
    rows = server.log_rows()
    for n in range(int(RATE_BURST) + 40):  # pings use up the burst (and are cheap for the server)
        await moderator.send_raw(json.dumps({"type": "ping", "id": f"spent-{n}"}))
    with pytest.raises(CommandRefused) as refused:
        await moderator.command(c.AddTime(delta_s=60), timeout=5)
    assert refused.value.code == "rate_limited"
    assert server.log_rows() == rows
    assert moderator.connected


async def test_healthz_answers_200(server) -> None:
    def get() -> tuple[int, bytes]:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=5) as response:
            return response.status, response.read()

    assert await asyncio.to_thread(get) == (200, b"ok\n")


async def test_healthz_over_a_raw_socket(server) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), 5)
    writer.close()
    await writer.wait_closed()
    assert status.startswith(b"HTTP/1.1 200")


# --- refused commands change nothing --------------------------------------------------------------


async def test_refused_commands_leave_the_log_and_the_state_alone(server, connect) -> None:
    moderator = await connect(server.url, server.tokens.moderator)
    speaker = await connect(server.url, server.tokens.people["sala"])
    display = await connect(server.url, server.tokens.display)
    await moderator.command(c.Start())
    rows, before = server.log_rows(), asdict(server.state)

    refusals = [
        (moderator, c.Goto(item="nope"), "not_found"),
        (moderator, c.Start(), "invalid_state"),
        (moderator, c.Prev(), "invalid_state"),
        (moderator, c.Next(session="nope"), "not_found"),
        (moderator, c.Next(expected_seq=1), "stale"),
        (moderator, c.AddTime(delta_s=0), "invalid"),
        (moderator, c.AddTime(delta_s=-3600), "invalid"),
        (moderator, c.EndTurn(), "invalid_state"),
        (moderator, c.Floor(person="nobody"), "not_found"),  # (an empty queue gives the listed speaker)
        (moderator, c.QueueRemove(person="sala"), "not_found"),
        (moderator, c.SendMessage(text="hello", to="nobody"), "not_found"),
        (moderator, c.SendMessage(text="bell\x07", to="all"), "invalid"),
        (moderator, c.Extend(delta_s=-60), "invalid"),
        (moderator, c.Undo(), None),  # an undo of the start is allowed: checked apart below
        (speaker, c.Next(), "forbidden"),
        (speaker, c.Lower(), "not_found"),
        (speaker, c.Ack(), "not_found"),
        (display, c.Raise(), "forbidden"),
    ]
    for client, command, code in refusals:
        if code is None:
            continue
        with pytest.raises(CommandRefused) as refused:
            await client.command(command)
        assert refused.value.code == code, command
        assert server.log_rows() == rows, command
        assert asdict(server.state) == before, command
    for client in (moderator, speaker, display):
        await server.settled(client)


# --- stopping ---------------------------------------------------------------------------------------


async def test_stop_closes_every_client_with_1001(server, connect) -> None:
    clients = [
        await connect(server.url, server.tokens.moderator),
        await connect(server.url, server.tokens.display),
        await connect(server.url, server.tokens.people["garcetti"]),
    ]
    await server.server.stop()
    for client in clients:
        await asyncio.wait_for(client.closed.wait(), 5)
        assert client.close_code == 1001
    with pytest.raises(ClientError) as refused:
        await MeetingClient(server.url, server.tokens.moderator, open_timeout=2).connect()
    assert refused.value.code == "unreachable"
    # Waiting on a closed client says so at once, rather than at the timeout.
    with pytest.raises(ClientError) as closed:
        await asyncio.wait_for(clients[0].wait_for(lambda _s: False, timeout=30), 2)
    assert closed.value.code == "closed"


async def test_a_websocket_server_that_is_not_modconsole() -> None:
    async def silent(ws) -> None:
        await ws.wait_closed()

    async def echo(ws) -> None:
        async for message in ws:
            await ws.send(message)

    for handler in (silent, echo):
        async with serve(handler, "127.0.0.1", 0) as other:
            port = next(iter(other.sockets)).getsockname()[1]
            client = MeetingClient(f"ws://127.0.0.1:{port}", "mc_token", open_timeout=0.5)
            with pytest.raises(ClientError) as refused:
                await asyncio.wait_for(client.connect(), 5)
            assert refused.value.code == "unreachable", handler.__name__
            assert "modconsole server" in refused.value.message
