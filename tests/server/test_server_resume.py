"""Reconnecting: a client resumes from its last sequence, or gets a fresh snapshot when it must."""

from __future__ import annotations

from dataclasses import asdict

from modconsole.core import commands as c
from modconsole.protocol import Events, Reset


def _after(client, mark: int) -> list[object]:
    return client.frames[mark:]


async def test_a_reconnecting_client_gets_only_what_it_missed(server, connect) -> None:
    tokens = server.tokens
    moderator = await connect(server.url, tokens.moderator, label="moderator")
    sala = await connect(server.url, tokens.people["sala"], label="sala")
    await moderator.command(c.Start())
    await sala.command(c.Raise())
    await server.settled(sala)
    seen = sala.last_seq
    assert seen == server.state.seq

    await sala.close()
    assert not sala.connected
    await moderator.command(c.AddTime(delta_s=120))
    await moderator.command(c.SendMessage(text="Your turn is next", to="breed"))  # not for Sala
    await moderator.command(c.QueueAdd(person="breed"))
    await moderator.command(c.Floor())  # Sala, the head of the queue
    await moderator.command(c.SendMessage(text="Please wrap up", to="floor"))  # for Sala
    await moderator.command(c.Next())
    missed = [e.seq for e in server.read_log() if e.seq > seen]
    private_to_breed = next(e.seq for e in server.read_log() if getattr(e.event, "to", None) == "breed")

    mark = len(sala.frames)
    welcome = await sala.connect()
    assert welcome.snapshot is None  # a resume, not a fresh start
    assert welcome.seq == server.state.seq
    await server.settled(sala)
    frames = _after(sala, mark)
    assert all(isinstance(f, Events) for f in frames)
    resent = [entry.seq for frame in frames for entry in frame.events]
    assert resent == [seq for seq in missed if seq != private_to_breed]
    assert [m.text for m in sala.state.messages] == ["Please wrap up"]


async def test_a_resume_that_missed_nothing_visible_gets_no_events(server, connect) -> None:
    moderator = await connect(server.url, server.tokens.moderator)
    sala = await connect(server.url, server.tokens.people["sala"], label="sala")
    ack = await moderator.command(c.Start())
    await sala.wait_for(lambda s: s.seq == ack.seq)
    await sala.close()
    await moderator.command(c.SendMessage(text="For Breed only", to="breed"))
    mark = len(sala.frames)
    welcome = await sala.connect()
    assert welcome.snapshot is None
    assert await sala.ping() >= 0  # anything the server sent before the pong has arrived
    assert [type(f).__name__ for f in _after(sala, mark)] == ["Pong"]
    # The replica is the server's view but for the sequence: the last event was not for Sala.
    expected = server.expected_view(sala)
    assert sala.state.seq == ack.seq < expected["seq"]
    assert asdict(sala.state) == expected | {"seq": ack.seq}


async def test_a_reconnect_after_an_undo_gets_a_fresh_snapshot(server, connect) -> None:
    moderator = await connect(server.url, server.tokens.moderator)
    display = await connect(server.url, server.tokens.display, label="display")
    await moderator.command(c.Start())
    await server.settled(display)
    await display.close()
    await moderator.command(c.Next())
    await moderator.command(c.AddTime(delta_s=300))
    await moderator.command(c.Undo())  # takes back the added time
    assert server.state.sessions[0].items[1].duration_s == 600

    mark = len(display.frames)
    welcome = await display.connect()
    assert welcome.snapshot is not None
    assert asdict(welcome.snapshot) == server.expected_view(display)
    await server.settled(display)
    assert not any(isinstance(f, Events) for f in _after(display, mark))


async def test_a_client_far_behind_gets_a_snapshot(server, connect, monkeypatch) -> None:
    import modconsole.server.runtime as runtime

    monkeypatch.setattr(runtime, "RESUME_WINDOW", 3)
    moderator = await connect(server.url, server.tokens.moderator)
    speaker = await connect(server.url, server.tokens.people["lopez"], label="lopez")
    await moderator.command(c.Start())
    await server.settled(speaker)
    await speaker.close()
    for delta in (60, -30, 60, -30):
        await moderator.command(c.AddTime(delta_s=delta))
    welcome = await speaker.connect()
    assert welcome.snapshot is not None  # four behind, with a window of three
    await server.settled(speaker)

    # Just inside the window it resumes.
    await speaker.close()
    for delta in (60, -30, 60):
        await moderator.command(c.AddTime(delta_s=delta))
    welcome = await speaker.connect()
    assert welcome.snapshot is None
    await server.settled(speaker)


async def test_a_client_ahead_of_the_server_gets_a_snapshot(server, connect) -> None:
    """A replica from a newer log than the server holds (say, a database restored from a backup)."""
    moderator = await connect(server.url, server.tokens.moderator)
    await moderator.command(c.Start())
    await moderator.close()
    moderator.last_seq = server.state.seq + 50
    welcome = await moderator.connect()
    assert welcome.snapshot is not None
    await server.settled(moderator)
    assert moderator.last_seq == server.state.seq


async def test_after_an_undo_every_client_gets_a_reset(server, connect) -> None:
    tokens = server.tokens
    moderator = await connect(server.url, tokens.moderator, label="moderator")
    others = [
        await connect(server.url, tokens.moderator, label="co-moderator"),
        await connect(server.url, tokens.display, label="display"),
        await connect(server.url, tokens.people["sala"], label="sala"),
        await connect(server.url, tokens.people["breed"], label="breed"),
        await connect(server.url, tokens.participant, name="Ana Lima", label="ana"),
    ]
    await moderator.command(c.Start())
    await moderator.command(c.QueueAdd(person="sala"))
    await moderator.command(c.Floor())
    await moderator.command(c.SendMessage(text="Please wrap up", to="floor"))
    await moderator.command(c.Next())  # a mistaken "next"...
    marks = [len(client.frames) for client in others]
    ack = await moderator.command(c.Undo())  # ...taken back
    state = server.state
    assert state.seq == ack.seq
    assert state.sessions[0].current == 0 and state.sessions[0].items[0].floor is not None
    assert [m.to for m in state.messages] == ["sala"]

    for client, mark in zip(others, marks, strict=True):
        await client.wait_for(lambda s: s.seq == ack.seq)
        resets = [f for f in _after(client, mark) if isinstance(f, Reset)]
        assert [(r.reason, r.seq) for r in resets] == [("undo", ack.seq)], client.client_label
        await server.settled(client)
    await server.settled(moderator)
    assert [m.to for m in others[2].state.messages] == ["sala"]  # Sala's own message, still there
    assert others[3].state.messages == [] and others[4].state.messages == []
    assert asdict(server.replayed()) == asdict(state)


async def test_a_participant_reconnects_as_the_same_person(server, connect) -> None:
    moderator = await connect(server.url, server.tokens.moderator)
    ana = await connect(server.url, server.tokens.participant, name="Ana Lima", label="ana")
    await moderator.command(c.Start())
    await ana.command(c.Raise(kind="question"))
    person = ana.welcome.person.id
    await ana.close()
    await moderator.command(c.AddTime(delta_s=60))
    welcome = await ana.connect()
    assert welcome.snapshot is None and welcome.person is not None and welcome.person.id == person
    await server.settled(ana)
    await ana.command(c.Lower())
    assert server.state.sessions[0].items[0].queue == []
    assert list(server.state.participants) == [person]


async def test_connecting_again_while_connected_replaces_the_connection(server, connect) -> None:
    """connect() on a client that is still connected: the old connection is closed first, and its
    ending does not mark the new one closed or fail the new one's requests."""
    moderator = await connect(server.url, server.tokens.moderator)
    display = await connect(server.url, server.tokens.display, label="display")
    first = await moderator.command(c.Start())
    await display.wait_for(lambda s: s.seq == first.seq)

    welcome = await display.connect()  # no close() before it
    assert welcome.snapshot is None  # a resume from where the replica was
    assert display.connected and not display.closed.is_set()
    assert await display.ping() >= 0  # the new connection answers
    ack = await moderator.command(c.Next())
    state = await display.wait_for(lambda s: s.seq == ack.seq)
    assert state.sessions[0].current == 1
    assert display.connected
    assert len(server.server.events[server.event_id].clients) == 2  # the old connection is gone
