"""Two moderators, one revision: for every command that takes ``expected_seq``, exactly one applies.

Like test_server_race.py (two nexts, two undos), for each kind of flow command and for a few pairs of
different ones: both moderators look at the same revision of the session and send at the same moment.
Exactly one command is acknowledged and logged (every new log row is the winner's); the other gets
``stale`` with the revision it expected and the one there is now; the state is the log's replay and
both replicas end equal to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict

import pytest

from modconsole.client import CommandRefused
from modconsole.core import commands as c

Make = Callable[[int], c.Command]

# name: (commands that prepare the session, first moderator's command, second moderator's command)
SCENARIOS: dict[str, tuple[list[c.Command], Make, Make]] = {
    "start": ([], lambda r: c.Start(expected_seq=r), lambda r: c.Start(expected_seq=r)),
    "pause": ([c.Start()], lambda r: c.Pause(expected_seq=r), lambda r: c.Pause(expected_seq=r)),
    "resume": ([c.Start(), c.Pause()], lambda r: c.Resume(expected_seq=r), lambda r: c.Resume(expected_seq=r)),
    "next": ([c.Start()], lambda r: c.Next(expected_seq=r), lambda r: c.Next(expected_seq=r)),
    "prev": ([c.Start(), c.Next(), c.Next()], lambda r: c.Prev(expected_seq=r), lambda r: c.Prev(expected_seq=r)),
    "goto": (
        [c.Start()],
        lambda r: c.Goto(item="discussion", expected_seq=r),
        lambda r: c.Goto(item="closing", expected_seq=r),
    ),
    "skip": ([c.Start()], lambda r: c.Skip(expected_seq=r), lambda r: c.Skip(expected_seq=r)),
    "floor": (
        [c.Start(), c.QueueAdd(person="sala"), c.QueueAdd(person="breed")],
        lambda r: c.Floor(person="sala", expected_seq=r),
        lambda r: c.Floor(person="breed", expected_seq=r),
    ),
    "end_turn": (
        [c.Start(), c.QueueAdd(person="sala"), c.Floor()],
        lambda r: c.EndTurn(expected_seq=r),
        lambda r: c.EndTurn(expected_seq=r),
    ),
    "end": ([c.Start()], lambda r: c.End(expected_seq=r), lambda r: c.End(expected_seq=r)),
    "undo": (
        [c.Start(), c.AddTime(delta_s=60), c.AddTime(delta_s=120)],
        lambda r: c.Undo(expected_seq=r),
        lambda r: c.Undo(expected_seq=r),
    ),
    "add_time": (
        [c.Start()],
        lambda r: c.AddTime(delta_s=60, expected_seq=r),
        lambda r: c.AddTime(delta_s=-60, expected_seq=r),
    ),
    # Different commands on the same revision.
    "next against prev": ([c.Start(), c.Next()], lambda r: c.Next(expected_seq=r), lambda r: c.Prev(expected_seq=r)),
    "next against goto": (
        [c.Start()],
        lambda r: c.Next(expected_seq=r),
        lambda r: c.Goto(item="closing", expected_seq=r),
    ),
    "pause against end": ([c.Start()], lambda r: c.Pause(expected_seq=r), lambda r: c.End(expected_seq=r)),
    "resume against end": (
        [c.Start(), c.Pause()],
        lambda r: c.Resume(expected_seq=r),
        lambda r: c.End(expected_seq=r),
    ),
    "floor against end_turn": (
        [c.Start(), c.QueueAdd(person="sala"), c.QueueAdd(person="breed"), c.Floor()],
        lambda r: c.Floor(expected_seq=r),
        lambda r: c.EndTurn(expected_seq=r),
    ),
    "undo against next": (
        [c.Start(), c.AddTime(delta_s=60)],
        lambda r: c.Undo(expected_seq=r),
        lambda r: c.Next(expected_seq=r),
    ),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_one_of_two_conflicting_commands_applies_and_the_other_is_told_why(server, connect, name) -> None:
    setup, make_first, make_second = SCENARIOS[name]
    first = await connect(server.url, server.tokens.moderator, label="chair")
    second = await connect(server.url, server.tokens.moderator, label="co-chair")
    for command in setup:
        await first.command(command)
    seq_before = server.state.seq
    for client in (first, second):
        await client.wait_for(lambda s: s.seq == seq_before)
    rev = server.state.sessions[0].rev
    assert first.state.sessions[0].rev == second.state.sessions[0].rev == rev  # the same view

    answers = await asyncio.gather(
        first.command(make_first(rev)), second.command(make_second(rev)), return_exceptions=True
    )
    acked = [(client, a) for client, a in zip((first, second), answers, strict=True) if not isinstance(a, Exception)]
    refused = [a for a in answers if isinstance(a, CommandRefused)]
    assert len(acked) == 1 and len(refused) == 1, answers
    winner, ack = acked[0]
    assert refused[0].code == "stale", refused[0]
    assert f"changed since seq {rev}" in refused[0].message and "look again" in refused[0].message

    # Exactly one applied: every row after the race is the winner's.
    new = [e for e in server.read_log() if e.seq > seq_before]
    assert new and [e.seq for e in new] == list(range(seq_before + 1, ack.seq + 1))
    assert {e.actor.client for e in new} == {winner.client_label}
    assert server.state.seq == ack.seq == server.log_rows()
    # The revision moved (to the winner's event; after an undo, back to the newest action left standing).
    if new[-1].event.type == "undone":
        assert server.state.sessions[0].rev < rev
    else:
        assert server.state.sessions[0].rev == ack.seq
    assert asdict(server.replayed()) == asdict(server.state)
    for client in (first, second):
        await client.wait_for(lambda s: s.seq == ack.seq)
        await server.settled(client)


async def test_a_burst_of_same_revision_commands_from_five_desks_applies_once(server, connect) -> None:
    """Five moderators, twenty rounds: each round every desk sends "next" on the same revision."""
    desks = [await connect(server.url, server.tokens.moderator, label=f"desk-{n}") for n in range(5)]
    await desks[0].command(c.Start())
    items = len(server.state.sessions[0].items)
    for round_ in range(1, items):
        rev = server.state.sessions[0].rev
        for desk in desks:
            await desk.wait_for(lambda s, rev=rev: s.sessions[0].rev == rev)
        answers = await asyncio.gather(
            *(desk.command(c.Next(expected_seq=rev)) for desk in desks), return_exceptions=True
        )
        codes = sorted(a.code if isinstance(a, CommandRefused) else "ok" for a in answers)
        assert codes == ["ok"] + ["stale"] * (len(desks) - 1), (round_, answers)
        assert server.state.sessions[0].current == round_
    assert server.log_rows() == server.state.seq
    assert asdict(server.replayed()) == asdict(server.state)
