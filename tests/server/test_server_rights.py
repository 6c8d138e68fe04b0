"""Who may do what: every command by every role, hands and acknowledgements only for oneself,
and tokens that are stored hashed and never echoed."""

from __future__ import annotations

import typing
from dataclasses import asdict
from pathlib import Path

import pytest
from websockets.asyncio.client import connect as ws_connect

from modconsole.client import ClientError, CommandRefused
from modconsole.core import commands as c
from modconsole.server.tokens import token_hash

ROLES = ("moderator", "speaker", "participant", "display")

# One well-formed instance of every command, in an order a moderator can run them all in.
SAMPLES: dict[str, c.Command] = {
    "start": c.Start(),
    "pause": c.Pause(),
    "resume": c.Resume(),
    "next": c.Next(),
    "prev": c.Prev(),
    "goto": c.Goto(item="discussion"),
    "skip": c.Skip(),
    "add_time": c.AddTime(delta_s=3 * 3600),
    "extend": c.Extend(delta_s=5 * 60),
    "queue_add": c.QueueAdd(person="sala"),
    "queue_move": c.QueueMove(person="sala", position=1),
    "floor": c.Floor(),
    "pause_turn": c.PauseTurn(),
    "resume_turn": c.ResumeTurn(),
    "set_turn_limit": c.SetTurnLimit(limit_s=90),
    "end_turn": c.EndTurn(),
    "clear_queue": c.ClearQueue(),
    "close_queue": c.CloseQueue(),
    "open_queue": c.OpenQueue(),
    "message": c.SendMessage(text="One minute", to="all"),
    "raise": c.Raise(kind="question"),
    "lower": c.Lower(),
    "ack": c.Ack(),
    "apply_plan": c.ApplyPlan(),
    "set_queue_order": c.SetQueueOrder(order="first_time_first"),
    "item_add": c.ItemAdd(title="Any other business", duration_s=300, item_id="aob"),
    "item_edit": c.ItemEdit(item="aob", duration_s=600),
    "item_move": c.ItemMove(item="aob", before="closing"),
    "item_remove": c.ItemRemove(item="aob"),
    "session_add": c.SessionAdd(session_id="day2", title="Day two", start="2030-03-28T09:00"),
    "session_edit": c.SessionEdit(session="day2", room="Hall B"),
    "person_add": c.PersonAdd(name="Mayor of Busan", affiliation="Busan"),
    "blackout": c.Blackout(on=True),
    "flash": c.Flash(),
    "focus": c.Focus(text="ON AIR"),
    "ask": c.Ask(text="A question from the chair?"),
    "vote": c.Vote(question="q2"),
    "unvote": c.Unvote(question="q2"),
    "question_edit": c.QuestionEdit(question="q1", text="Edited by the chair?"),
    "question_merge": c.QuestionMerge(question="q2", into="q1"),
    "question_live": c.QuestionGoLive(question="q1"),
    "question_answered": c.QuestionAnswer(question="q1"),
    "question_dismiss": c.QuestionDismiss(question="q1"),
    "question_approve": c.QuestionApprove(question="q1"),
    "undo": c.Undo(),
    "redo": c.Redo(),
    "queue_remove": c.QueueRemove(person="sala"),
    "end": c.End(),
}


def _command_types() -> set[str]:
    union = typing.get_args(c.Command)[0]
    return {typing.get_args(member.model_fields["type"].annotation)[0] for member in typing.get_args(union)}


def test_the_matrix_covers_every_command() -> None:
    assert set(SAMPLES) == _command_types()


async def _client_for(role: str, srv, connect):
    tokens = srv.tokens
    token = {
        "moderator": tokens.moderator,
        "speaker": tokens.people["breed"],
        "participant": tokens.participant,
        "display": tokens.display,
    }[role]
    return await connect(srv.url, token, name="Ana Lima" if role == "participant" else None, label=role)


async def _outcome(client, command: c.Command) -> str:
    try:
        await client.command(command)
    except CommandRefused as refused:
        return refused.code
    return "ok"


async def test_a_moderator_may_do_everything(server, connect) -> None:
    moderator = await _client_for("moderator", server, connect)
    speaker = await _client_for("speaker", server, connect)
    for text in ("First?", "Second?"):  # questions for the moderator's question commands
        await speaker.command(c.Ask(text=text))
    outcomes = {}
    for name, command in SAMPLES.items():
        if name in ("queue_remove", "clear_queue"):
            await moderator.command(c.QueueAdd(person="sala"))  # someone to remove
        outcomes[name] = await _outcome(moderator, command)
    # A moderator puts people in the queue and takes them out; raise, lower and ack are a person's own.
    expected = {name: "ok" for name in SAMPLES} | {"raise": "invalid", "lower": "invalid", "ack": "invalid"}
    # Asking and voting are a person's own too; a dismissed question is not approved (its state, not a right).
    expected |= {"ask": "invalid", "vote": "invalid", "unvote": "invalid", "question_approve": "invalid_state"}
    assert outcomes == expected
    await server.settled(moderator)


@pytest.mark.parametrize("role", ["speaker", "participant", "display"])
async def test_everyone_else_is_refused_the_moderators_commands(server, connect, role) -> None:
    moderator = await _client_for("moderator", server, connect)
    client = await _client_for(role, server, connect)
    await moderator.command(c.Start())
    await moderator.command(c.QueueAdd(person="sala"))
    await moderator.command(c.SendMessage(text="One minute", to="all"))
    audience = {"raise", "lower", "ack", "ask", "vote", "unvote"}
    outcomes = {}
    for name, command in SAMPLES.items():
        if name in audience:
            continue
        rows, before = server.log_rows(), asdict(server.state)
        outcomes[name] = await _outcome(client, command)
        assert server.log_rows() == rows and asdict(server.state) == before, name
    assert outcomes == {name: "forbidden" for name in SAMPLES if name not in audience}

    # Their own hand and their own messages: yes for a person, no for a display.
    own = {name: await _outcome(client, SAMPLES[name]) for name in ("raise", "lower", "ack")}
    if role == "display":
        assert own == {"raise": "forbidden", "lower": "forbidden", "ack": "forbidden"}
    else:
        assert own == {"raise": "ok", "lower": "ok", "ack": "ok"}
    await server.settled(client)


async def test_hands_and_acknowledgements_are_only_ones_own(server, connect) -> None:
    tokens = server.tokens
    moderator = await connect(server.url, tokens.moderator)
    sala = await connect(server.url, tokens.people["sala"], label="sala")
    breed = await connect(server.url, tokens.people["breed"], label="breed")
    ana = await connect(server.url, tokens.participant, name="Ana Lima", label="ana")
    await moderator.command(c.Start())
    for client in (sala, breed, ana):
        await client.command(c.Raise())
    ana_id = ana.welcome.person.id
    queue = lambda: [h.person for h in server.state.sessions[0].items[0].queue]  # noqa: E731
    assert queue() == ["sala", "breed", ana_id]

    # "lower" names nobody: it lowers the caller's own hand.
    await breed.command(c.Lower())
    assert queue() == ["sala", ana_id]
    await ana.command(c.Lower())
    assert queue() == ["sala"]
    with pytest.raises(CommandRefused) as refused:
        await breed.command(c.Lower())
    assert refused.value.code == "not_found"
    # Naming someone else is not part of the command at all.
    for raw in ('{"type": "lower", "id": "l1", "person": "sala"}', '{"type": "raise", "id": "r1", "person": "sala"}'):
        await breed.send_raw(raw)
    await breed.wait_for(lambda _s: len(breed.unsolicited_errors) == 2)
    assert [(e.id, e.code) for e in breed.unsolicited_errors] == [("l1", "bad_frame"), ("r1", "bad_frame")]
    with pytest.raises(CommandRefused) as refused:
        await breed.command(c.QueueRemove(person="sala"))
    assert refused.value.code == "forbidden"
    assert queue() == ["sala"]

    # A message to Sala: Breed can neither see nor acknowledge it.
    await moderator.command(c.Floor())
    ack = await moderator.command(c.SendMessage(text="Please wrap up", to="floor"))
    message_id = f"m{ack.seq}"
    with pytest.raises(CommandRefused) as refused:
        await breed.command(c.Ack(message_id=message_id))
    assert refused.value.code == "not_found"
    with pytest.raises(CommandRefused) as refused:
        await ana.command(c.Ack())
    assert refused.value.code == "not_found"
    assert server.state.messages[-1].acknowledged == {}
    await sala.wait_for(lambda s: any(m.id == message_id for m in s.messages))
    await sala.command(c.Ack())
    assert set(server.state.messages[-1].acknowledged) == {"sala"}
    final = await moderator.command(c.EndTurn())
    for client in (moderator, sala, breed, ana):
        await client.wait_for(lambda s: s.seq == final.seq)
        await server.settled(client)
    assert breed.state.messages == [] and ana.state.messages == []


async def test_tokens_are_stored_hashed_and_never_echoed(server, connect, tmp_path: Path) -> None:
    tokens = server.tokens
    every_token = [tokens.moderator, tokens.display, tokens.participant, *tokens.people.values()]
    messages: list[str] = []

    # Use a few of them, so the log has rows written by each kind of holder.
    moderator = await connect(server.url, tokens.moderator)
    speaker = await connect(server.url, tokens.people["sala"])
    participant = await connect(server.url, tokens.participant, name="Ana Lima")
    await moderator.command(c.Start())
    await speaker.command(c.Raise())
    await participant.command(c.Raise())
    for client, command in ((speaker, c.Next()), (participant, c.End()), (moderator, c.Goto(item="nope"))):
        with pytest.raises(CommandRefused) as refused:
            await client.command(command)
        messages.append(refused.value.message)

    # Refused connections: a wrong token, a token too long, a participant without a name.
    for token, name in ((tokens.moderator + "x", None), ("mc_" + "y" * 300, None), (tokens.participant, None)):
        try:
            await connect(server.url, token, name=name)
        except ClientError as exc:
            messages.append(exc.message)
        else:
            pytest.fail("the connection should have been refused")
    long_token = "mc_" + "z" * 250
    async with ws_connect(server.url) as ws:
        await ws.send('{"type": "hello", "token": "' + long_token + '"}')
        messages.append(await ws.recv())
    assert len(messages) == 7
    for message in messages:
        for token in [*every_token, long_token, "y" * 300]:
            assert token not in message
        assert "z" * 20 not in message

    # The database file and its write-ahead log hold hashes, never the tokens.
    files = [p for p in server.db.parent.iterdir() if p.name.startswith(server.db.name)]
    assert server.db in files
    data = b"".join(p.read_bytes() for p in files)
    assert token_hash(tokens.moderator).encode() in data  # the search does find what is there
    for token in every_token:
        assert token.encode() not in data
        assert token[3:].encode() not in data  # not even without its prefix
