"""The mayors' call end to end: planned for 45 minutes, it runs 70 with an extension.

A real server on port 0 with a fake wall clock (so every figure is exact), a real SQLite file, and
one websocket client per mayor (45), three moderator desks, a display and a participant.

Timeline (minutes after the planned start, 23:15 in Seoul):
  0  start; the chair has the floor for the opening (3 planned)          -> runs 4
  4  Seoul's briefing (10 planned)                                       -> runs 12
 16  six cities share, 140 s each against a 2-minute turn limit (12)     -> runs 14
 30  open discussion (15): all 45 mayors raise hands in 45 s, three
     of them points of order; +15 min on the item, +25 min on the call;
     from 32:00 45 turns of 40 s; "Please wrap up" to every 9th speaker   -> runs 34
 64  closing (5)                                                         -> runs 6
 70  end: 45 planned + 25 extended = 70, so the call ends on its new time.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import asdict

from modconsole.client import MeetingClient
from modconsole.core import commands as c
from modconsole.core.read_model import session_view

CITIES = ["sala", "aki-sawyerr", "baswedan", "breed", "delhi", "lopez"]
POINTS_OF_ORDER = {7, 19, 33}  # indexes (in raising order) of the mayors who raise a point of order
WRAP_UP_EVERY = 9  # "Please wrap up" to the speaker of every 9th discussion turn


def _view(srv) -> dict:
    state = srv.state
    return session_view(state, state.sessions[0], srv.now())


async def test_mayors_call_runs_70_minutes_with_an_extension(start_server, connect, fake_clock) -> None:
    clock = fake_clock
    clock.set(minutes=-10)  # the event is created and served ten minutes before the call
    srv = await start_server(clock=clock)
    tokens = srv.tokens
    mayors = list(tokens.people)
    assert len(mayors) == 45

    desks = [await connect(srv.url, tokens.moderator, label=f"desk-{n}") for n in range(3)]
    display = await connect(srv.url, tokens.display, label="wall")
    observer = await connect(srv.url, tokens.participant, name="Observer from Busan", label="observer")
    speakers: dict[str, MeetingClient] = dict(
        zip(
            mayors,
            await asyncio.gather(*(connect(srv.url, tokens.people[p], label=p) for p in mayors)),
            strict=True,
        )
    )
    assert all(s.welcome is not None and s.welcome.role == "speaker" for s in speakers.values())
    everyone = [*desks, display, observer, *speakers.values()]

    # Moderator commands go round the three desks (each connection has its own rate limit).
    rotation = itertools.cycle(desks)
    private: dict[str, str] = {}  # message id -> recipient

    async def mod(command: c.Command) -> int:
        desk = next(rotation)
        ack = await desk.command(command)
        return ack.seq

    async def wrap_up(recipient: str) -> None:
        """Ask whoever has the floor to wrap up; the recipient acknowledges five seconds later."""
        seq = await mod(c.SendMessage(text="Please wrap up", to="floor"))
        message_id = f"m{seq}"
        private[message_id] = recipient
        target = speakers[recipient]
        await target.wait_for(lambda s: any(m.id == message_id for m in s.messages))
        clock.advance(seconds=5)
        await target.command(c.Ack())

    # --- opening: starts on time, the chair speaks 4 minutes --------------------------------
    clock.set(minutes=0)
    await mod(c.Start())
    await mod(c.Floor(person="garcetti"))
    clock.set(minutes=4)
    await mod(c.Next())
    assert _view(srv)["over_under_s"] == 60.0  # a minute behind already

    # --- Seoul's briefing: 12 minutes --------------------------------------------------------
    await mod(c.Floor(person="park-won-soon"))
    clock.set(minutes=16)
    await mod(c.Next())

    # --- six cities share: 140 s each against a 120 s limit ---------------------------------
    for index, city in enumerate(CITIES):
        clock.set(minutes=16, seconds=140 * index)
        await mod(c.Floor(person=city))
        if index == 0:
            clock.advance(seconds=110)
            await wrap_up(city)
        clock.set(minutes=16, seconds=140 * (index + 1))
        await mod(c.EndTurn())
    assert srv.now() == clock.set(minutes=30)
    await mod(c.Next())
    view = _view(srv)
    assert view["current_item"] == "discussion"
    assert view["over_under_s"] == 300.0  # five minutes behind: 30:00 + 15 + 5 = 50:00 against 45:00

    # --- open discussion: all 45 raise hands ------------------------------------------------
    for index, mayor in enumerate(mayors):
        clock.set(minutes=30, seconds=index)
        kind = "point_of_order" if index in POINTS_OF_ORDER else "contribution"
        await speakers[mayor].command(c.Raise(kind=kind))
    expected_order = [mayors[i] for i in sorted(POINTS_OF_ORDER)]
    expected_order += [m for i, m in enumerate(mayors) if i not in POINTS_OF_ORDER]
    discussion = srv.state.sessions[0].items[3]
    assert [h.person for h in discussion.queue] == expected_order
    view = _view(srv)
    assert [h["estimated_wait_s"] for h in view["queue"][:4]] == [0, 120, 240, 360]  # turn limit 2 min
    assert view["queue"][-1]["estimated_wait_s"] == 44 * 120  # far longer than the time left

    clock.set(minutes=31)
    await mod(c.AddTime(delta_s=15 * 60))
    assert _view(srv)["over_under_s"] == 1200.0  # 31:00 + 29:00 + 5:00 = 65:00 against 45:00
    clock.set(minutes=31, seconds=30)
    await mod(c.Extend(delta_s=25 * 60))
    view = _view(srv)
    assert view["over_under_s"] == -300.0  # 65:00 against the new 70:00: five minutes in hand
    assert view["extended_s"] == 1500

    for turn in range(45):
        clock.set(minutes=32, seconds=40 * turn)
        await mod(c.Floor())  # the head of the queue
        if turn % WRAP_UP_EVERY == 0:
            clock.advance(seconds=30)
            await wrap_up(expected_order[turn])
        clock.set(minutes=32, seconds=40 * (turn + 1))
        await mod(c.EndTurn())
    assert srv.now() == clock.set(minutes=62)
    assert discussion is srv.state.sessions[0].items[3]
    assert discussion.queue == [] and discussion.floor is None

    clock.set(minutes=63)
    one_minute = f"m{await mod(c.SendMessage(text='One minute', to='all'))}"
    for mayor in ("garcetti", "sala", "london"):
        await speakers[mayor].wait_for(lambda s: any(m.id == one_minute for m in s.messages))
        clock.advance(seconds=1)
        await speakers[mayor].command(c.Ack(message_id=one_minute))

    # --- closing: 6 minutes, then the end at 70 ----------------------------------------------
    clock.set(minutes=64)
    await mod(c.Next())
    await mod(c.Floor(person="garcetti"))
    clock.set(minutes=70)
    await mod(c.End())

    # --- the figures ------------------------------------------------------------------------
    state = srv.state
    session = state.sessions[0]
    view = _view(srv)
    assert session.status == "ended"
    assert view["elapsed_s"] == 70 * 60
    assert view["planned_duration_s"] == 2700
    assert view["extended_s"] == 1500
    assert view["over_under_s"] == 0.0  # ends exactly on the extended time
    actual = {item["id"]: item["actual_duration_s"] for item in view["items"]}
    assert actual == {
        "opening": 240.0,
        "seoul-briefing": 720.0,
        "cities-share": 840.0,
        "discussion": 2040.0,
        "closing": 360.0,
    }
    assert {item["id"]: item["duration_s"] for item in view["items"]}["discussion"] == 1800

    # Turns: who spoke, in what order, for how long.
    opening, briefing, cities, discussion, closing = session.items
    assert [(t.person, t.timer.accumulated_ms) for t in opening.turns] == [("garcetti", 240_000)]
    assert [(t.person, t.timer.accumulated_ms) for t in briefing.turns] == [("park-won-soon", 720_000)]
    assert [(t.person, t.timer.accumulated_ms) for t in cities.turns] == [(p, 140_000) for p in CITIES]
    assert [(t.person, t.timer.accumulated_ms) for t in discussion.turns] == [(p, 40_000) for p in expected_order]
    assert [t.kind for t in discussion.turns[:3]] == ["point_of_order"] * 3
    assert all(t.limit_s == 120 for t in [*cities.turns, *discussion.turns])
    assert [(t.person, t.timer.accumulated_ms) for t in closing.turns] == [("garcetti", 360_000)]

    # Messages: every "Please wrap up" acknowledged by its recipient only.
    assert len(private) == 1 + len(range(0, 45, WRAP_UP_EVERY))
    for message in state.messages:
        if message.id in private:
            assert message.to == private[message.id]
            assert set(message.acknowledged) == {private[message.id]}
        else:
            assert message.id == one_minute and message.to == "all"
            assert set(message.acknowledged) == {"garcetti", "sala", "london"}

    # --- every replica equals what its holder may see of the server's state ------------------
    final_seq = state.seq
    for client in everyone:
        await client.wait_for(lambda s: s.seq == final_seq)
        await srv.settled(client)
    for desk in desks:
        assert {m.id for m in desk.state.messages} == {*private, one_minute}
    for mayor, client in speakers.items():
        seen = {m.id for m in client.state.messages}
        assert seen == {one_minute} | {mid for mid, to in private.items() if to == mayor}
        for message in client.state.messages:  # others' acknowledgements stay theirs
            assert set(message.acknowledged) == (
                {mayor} & set(state.messages[-1].acknowledged) if message.id == one_minute else {mayor}
            )
    assert [m.id for m in display.state.messages] == [one_minute]
    assert display.state.messages[0].acknowledged == {}
    assert [m.id for m in observer.state.messages] == [one_minute]
    assert all(not client.unsolicited_errors for client in everyone)

    # --- the log in SQLite replays to the same state -----------------------------------------
    entries = srv.read_log()
    assert [e.seq for e in entries] == list(range(1, final_seq + 1))
    assert asdict(srv.replayed()) == asdict(state)
