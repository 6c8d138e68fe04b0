"""Two moderators acting on the same view at the same moment: exactly one wins, the other is told."""

from __future__ import annotations

import asyncio
from dataclasses import asdict

import pytest

from modconsole.client import CommandRefused
from modconsole.core import commands as c


async def _two_moderators(server, connect):
    first = await connect(server.url, server.tokens.moderator, label="chair")
    second = await connect(server.url, server.tokens.moderator, label="co-chair")
    ack = await first.command(c.Start())
    for client in (first, second):
        await client.wait_for(lambda s: s.seq == ack.seq)
    return first, second


async def test_two_nexts_on_the_same_revision_move_one_item(server, connect) -> None:
    first, second = await _two_moderators(server, connect)
    items = len(server.state.sessions[0].items)
    for step in range(1, items):  # every item change of the call, each one raced
        rev = server.state.sessions[0].rev
        assert first.state.sessions[0].rev == second.state.sessions[0].rev == rev
        answers = await asyncio.gather(
            first.command(c.Next(expected_seq=rev)),
            second.command(c.Next(expected_seq=rev)),
            return_exceptions=True,
        )
        refused = [a for a in answers if isinstance(a, CommandRefused)]
        acked = [a for a in answers if not isinstance(a, BaseException)]
        assert len(acked) == 1 and len(refused) == 1, (step, answers)
        assert refused[0].code == "stale"
        assert server.state.sessions[0].current == step
        assert server.log_rows() == server.state.seq
        for client in (first, second):
            await client.wait_for(lambda s, seq=acked[0].seq: s.seq == seq)
            await server.settled(client)
    assert [i.status for i in server.state.sessions[0].items] == ["done"] * (items - 1) + ["current"]


async def test_a_hand_raised_meanwhile_does_not_make_next_stale(server, connect) -> None:
    first, second = await _two_moderators(server, connect)
    speaker = await connect(server.url, server.tokens.people["sala"])
    rev = first.state.sessions[0].rev
    await speaker.command(c.Raise())
    await first.command(c.Next(expected_seq=rev))
    assert server.state.sessions[0].current == 1
    # The co-chair's view is now behind: its add_time on the old revision is refused, not misapplied.
    with pytest.raises(CommandRefused) as refused:
        await second.command(c.AddTime(delta_s=60, expected_seq=rev))
    assert refused.value.code == "stale"
    assert server.state.sessions[0].items[0].added_s == 0
    assert server.state.sessions[0].items[1].added_s == 0


async def test_many_concurrent_commands_keep_one_order(server, connect) -> None:
    """Commands from several moderators interleave but each is applied once, in log order."""
    desks = [await connect(server.url, server.tokens.moderator, label=f"desk-{n}") for n in range(3)]
    await desks[0].command(c.Start())
    answers = await asyncio.gather(*(desk.command(c.AddTime(delta_s=10)) for desk in desks for _ in range(15)))
    seqs = sorted(a.seq for a in answers)
    assert len(set(seqs)) == 45 and seqs == list(range(seqs[0], seqs[0] + 45))
    assert server.state.sessions[0].items[0].added_s == 450
    for desk in desks:
        await desk.wait_for(lambda s: s.seq == seqs[-1])
        await server.settled(desk)
    assert asdict(server.replayed()) == asdict(server.state)


async def test_two_undos_on_the_same_revision_undo_one_action(server, connect) -> None:
    first, second = await _two_moderators(server, connect)
    await first.command(c.Next())
    ack = await first.command(c.AddTime(delta_s=60))
    for client in (first, second):
        await client.wait_for(lambda s: s.seq == ack.seq)
    rev = server.state.sessions[0].rev
    answers = await asyncio.gather(
        first.command(c.Undo(expected_seq=rev)),
        second.command(c.Undo(expected_seq=rev)),
        return_exceptions=True,
    )
    refused = [a for a in answers if isinstance(a, CommandRefused)]
    assert len(refused) == 1 and refused[0].code == "stale", answers
    session = server.state.sessions[0]
    assert server.state.voided == [ack.seq]  # the added minute only; the "next" stands
    assert session.current == 1 and session.items[1].added_s == 0
    for client in (first, second):
        await server.settled(client)
