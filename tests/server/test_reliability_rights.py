"""Rights beyond test_server_rights.py's matrix: nobody acts on someone else's behalf, a wrong token
says nothing about which events exist (same text, same close code, same timing class), and no token
ever reaches a log line of a ``modconsole-server serve -v`` that served a whole session.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import statistics
import time
from pathlib import Path
from typing import Any

import pytest
from support.servers import MAYORS_CALL, run_cli, script
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from modconsole.client import ClientError, CommandRefused, MeetingClient
from modconsole.core import commands as c
from modconsole.server.events_admin import create_event
from modconsole.server.store import SqliteStore
from modconsole.server.tokens import new_token

# --- on someone else's behalf ------------------------------------------------------------------------


async def test_a_participant_cannot_lower_another_participants_hand(server, connect) -> None:
    moderator = await connect(server.url, server.tokens.moderator, label="moderator")
    ana = await connect(server.url, server.tokens.participant, name="Ana Lima", label="ana")
    bo = await connect(server.url, server.tokens.participant, name="Bo Chen", label="bo")
    await moderator.command(c.Start())
    await ana.command(c.Raise())
    await bo.command(c.Raise(kind="question"))
    ana_id, bo_id = ana.welcome.person.id, bo.welcome.person.id
    assert ana_id != bo_id
    queue = lambda: [h.person for h in server.state.sessions[0].items[0].queue]  # noqa: E731
    assert queue() == [ana_id, bo_id]
    rows = server.log_rows()

    # Naming Bo is not part of "lower" (nor of "raise"); taking Bo out of the queue is a moderator's.
    for raw in (
        json.dumps({"type": "lower", "id": "l1", "person": bo_id}),
        json.dumps({"type": "raise", "id": "r1", "person": bo_id, "kind": "point_of_order"}),
        json.dumps({"type": "ack", "id": "a1", "person": bo_id}),
    ):
        await ana.send_raw(raw)
    await ana.wait_for(lambda _s: len(ana.unsolicited_errors) == 3)
    assert [(e.id, e.code) for e in ana.unsolicited_errors] == [
        ("l1", "bad_frame"),
        ("r1", "bad_frame"),
        ("a1", "bad_frame"),
    ]
    for command in (c.QueueRemove(person=bo_id), c.QueueMove(person=bo_id, position=1), c.Floor(person=bo_id)):
        with pytest.raises(CommandRefused) as refused:
            await ana.command(command)
        assert refused.value.code == "forbidden", command
    assert queue() == [ana_id, bo_id] and server.log_rows() == rows

    # Ana's own "lower" lowers Ana's hand only; a second one finds nothing of hers.
    await ana.command(c.Lower())
    assert queue() == [bo_id]
    with pytest.raises(CommandRefused) as refused:
        await ana.command(c.Lower())
    assert refused.value.code == "not_found"
    assert queue() == [bo_id]
    await server.settled(bo)
    _every_audience_event_is_the_actors_own(server)


async def test_a_speaker_cannot_acknowledge_anothers_message(server, connect) -> None:
    tokens = server.tokens
    moderator = await connect(server.url, tokens.moderator, label="moderator")
    sala = await connect(server.url, tokens.people["sala"], label="sala")
    breed = await connect(server.url, tokens.people["breed"], label="breed")
    ana = await connect(server.url, tokens.participant, name="Ana Lima", label="ana")
    await moderator.command(c.Start())
    to_sala = await moderator.command(c.SendMessage(text="Please wrap up", to="sala"))
    to_all = await moderator.command(c.SendMessage(text="Five minutes to the break", to="all"))
    sala_message, all_message = f"m{to_sala.seq}", f"m{to_all.seq}"
    rows = server.log_rows()

    # Sala's message, by its id, from Breed and from a participant: not theirs to acknowledge.
    for client in (breed, ana):
        with pytest.raises(CommandRefused) as refused:
            await client.command(c.Ack(message_id=sala_message))
        assert refused.value.code == "not_found", client.client_label
        assert sala_message in refused.value.message and "for you" in refused.value.message
    # Nor by naming Sala in the frame.
    await breed.send_raw(json.dumps({"type": "ack", "id": "a1", "message_id": sala_message, "person": "sala"}))
    await breed.wait_for(lambda _s: len(breed.unsolicited_errors) == 1)
    assert (breed.unsolicited_errors[0].id, breed.unsolicited_errors[0].code) == ("a1", "bad_frame")
    assert server.log_rows() == rows
    assert server.state.messages[0].acknowledged == {}

    # The message to everyone: Breed's acknowledgement is Breed's alone, and only Breed sees it.
    ack = await breed.command(c.Ack(message_id=all_message))
    assert set(server.state.messages[1].acknowledged) == {"breed"}
    assert await sala.ping() >= 0  # anything sent to Sala before the pong has arrived
    assert sala.state.seq == to_all.seq  # Breed's acknowledgement (the latest event) was not sent to Sala
    assert [m.acknowledged for m in sala.state.messages] == [{}, {}]
    # A second acknowledgement of the same message by Breed finds nothing left for Breed.
    with pytest.raises(CommandRefused) as refused:
        await breed.command(c.Ack(message_id=all_message))
    assert refused.value.code == "not_found"
    # Sala's own: yes.
    await sala.command(c.Ack(message_id=sala_message))
    assert set(server.state.messages[0].acknowledged) == {"sala"}
    final = await moderator.command(c.AddTime(delta_s=60))
    for client in (moderator, sala, breed, ana):
        await client.wait_for(lambda s: s.seq == final.seq)
        await server.settled(client)
    assert ack.seq < final.seq
    _every_audience_event_is_the_actors_own(server)


def _every_audience_event_is_the_actors_own(server) -> None:  # type: ignore[no-untyped-def]
    """In the log, every hand and acknowledgement a speaker or participant logged is their own."""
    seen = 0
    for entry in server.read_log():
        if entry.actor.role in ("speaker", "participant") and hasattr(entry.event, "person"):
            person = entry.event.person
            person = person.id if hasattr(person, "id") else person  # participant_registered carries a Person
            assert person == entry.actor.person, entry
            seen += 1
    assert seen > 0


# --- a wrong token says nothing -------------------------------------------------------------------


async def _refusal(url: str, token: str) -> tuple[tuple[Any, ...], float]:
    """Say hello with ``token``; return what the refusal looked like and how long it took."""
    async with ws_connect(url) as ws:
        started = time.perf_counter()
        await ws.send(json.dumps({"type": "hello", "token": token, "client": "probe"}))
        raw = await asyncio.wait_for(ws.recv(), 5)
        elapsed = time.perf_counter() - started
        with contextlib.suppress(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    frame = json.loads(raw)
    return (frame["type"], frame["code"], frame["message"], frame.get("id"), ws.close_code, ws.close_reason), elapsed


async def test_a_wrong_token_gets_the_same_refusal_in_the_same_time(server, tmp_path: Path, mayors_agenda) -> None:
    other_store = SqliteStore(tmp_path / "another.db")
    try:
        other = create_event(other_store, mayors_agenda)
    finally:
        other_store.close()
    kinds = {
        "another database's moderator": lambda n: other.moderator,
        "another database's speaker": lambda n: list(other.people.values())[n % len(other.people)],
        "random": lambda n: new_token(),
    }
    answers: dict[str, set[tuple[Any, ...]]] = {k: set() for k in kinds}
    times: dict[str, list[float]] = {k: [] for k in kinds}
    for _ in range(3):  # warm-up: the first connections pay for imports and caches
        await _refusal(server.url, new_token())
    for n in range(40):  # interleaved, so that whatever else the machine does falls on all of them
        for kind, make in kinds.items():
            answer, elapsed = await _refusal(server.url, make(n))
            answers[kind].add(answer)
            times[kind].append(elapsed)
    everything = set().union(*answers.values())
    assert len(everything) == 1, everything  # one text, one code, one close code, one reason
    ((kind, code, message, frame_id, close_code, reason),) = everything
    assert (kind, code, frame_id, close_code) == ("error", "unauthorized", None, 1008)
    assert reason == message[:120]
    medians = {k: statistics.median(v) for k, v in times.items()}
    low, high = min(medians.values()), max(medians.values())
    # The same timing class: the same code path (one indexed lookup by hash), nothing that depends on
    # whether the token's event exists anywhere. Loose bounds, for a loaded machine.
    assert high - low <= max(0.002, 0.5 * low), medians
    print("\nrefusal round trip, median of 40: " + ", ".join(f"{k}: {v * 1000:.2f} ms" for k, v in medians.items()))


# --- tokens never reach the logs ------------------------------------------------------------------


async def test_no_token_appears_in_the_servers_log_lines(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    created = run_cli("modconsole-server", "create-event", MAYORS_CALL, "--db", db, "--json")
    assert created.returncode == 0, created.stderr
    tokens = json.loads(created.stdout)["tokens"]
    other_db = tmp_path / "other.db"
    other = json.loads(run_cli("modconsole-server", "create-event", MAYORS_CALL, "--db", other_db, "--json").stdout)
    out_path, err_path = tmp_path / "serve.out", tmp_path / "serve.err"
    with out_path.open("w") as out, err_path.open("w") as err:
        process = await asyncio.create_subprocess_exec(
            script("modconsole-server"), "serve", "--db", str(db), "--port", "0", "-v", stdout=out, stderr=err
        )
    try:
        url = None
        for _ in range(150):  # bounded: 15 s for the first line
            match = re.search(r"listening on (ws://\S+)", out_path.read_text())
            if match:
                url = match.group(1)
                break
            await asyncio.sleep(0.1)
        assert url, err_path.read_text()
        wrong = [
            other["tokens"]["moderator"],
            new_token(),
            tokens["moderator"] + "x",
            tokens["moderator"][:-1],
            tokens["display"].upper(),
            "mc_" + "y" * 190,
        ]
        await _a_session_with_refusals(url, tokens, wrong)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 15) == 0
    output = out_path.read_text() + err_path.read_text()
    assert "connection open" in output and "connection rejected" in output  # -v did log the session
    secrets = [tokens["moderator"], tokens["display"], tokens["participant"], *tokens["people"].values(), *wrong]
    for secret in secrets:
        assert secret not in output
        assert secret[3:15] not in output  # not even a piece of its random part


async def _a_session_with_refusals(url: str, tokens: dict[str, Any], wrong: list[str]) -> None:
    moderator = MeetingClient(url, tokens["moderator"], client="moderator")
    speaker = MeetingClient(url, tokens["people"]["sala"], client="sala")
    participant = MeetingClient(url, tokens["participant"], name="Ana Lima", client="ana")
    display = MeetingClient(url, tokens["display"], client="display")
    clients = [moderator, speaker, participant, display]
    for client in clients:
        await client.connect()
    try:
        await moderator.command(c.Start())
        await speaker.command(c.Raise())
        await participant.command(c.Raise())
        await moderator.command(c.Floor())
        await moderator.command(c.SendMessage(text="Please wrap up", to="floor"))
        await speaker.command(c.Ack())
        with pytest.raises(CommandRefused):
            await display.command(c.Next())
        # A token sent again where it does not belong: in a second hello, in a command's extra field.
        await speaker.send_raw(json.dumps({"type": "hello", "token": tokens["people"]["sala"]}))
        await speaker.send_raw(json.dumps({"type": "next", "id": "n1", "token": tokens["moderator"]}))
        await speaker.wait_for(lambda _s: len(speaker.unsolicited_errors) >= 1)
        await moderator.report()
    finally:
        await asyncio.gather(*(client.close() for client in clients), return_exceptions=True)
    # Refused: wrong tokens in the header and in the hello, a participant without a name.
    for token in wrong:
        with pytest.raises(ClientError) as refused:
            await MeetingClient(url, token).connect()
        assert refused.value.code == "unauthorized"
        await _refusal(url, token)
    with pytest.raises(ClientError):
        await MeetingClient(url, tokens["participant"]).connect()
    # Tokens in a plain HTTP request's URL and header: refused before any websocket.
    host, port = url.removeprefix("ws://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"GET /?token={tokens['moderator']} HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {tokens['display']}\r\n\r\n".encode()
    )
    await writer.drain()
    assert (await asyncio.wait_for(reader.readline(), 5)).startswith(b"HTTP/1.1 426")
    writer.close()
    await writer.wait_closed()
