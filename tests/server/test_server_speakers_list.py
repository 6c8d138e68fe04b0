"""The speakers' list and the clock's hard stop on a real server: websocket clients, a SQLite file, a fake wall
clock the test moves, and `modconsole ctl` as a subprocess."""

from __future__ import annotations

import asyncio
import json

from support.servers import run_cli

from modconsole.core import commands as c
from modconsole.core.agenda import Agenda


def with_hard_stop(agenda: Agenda, grace_s: int, limit_s: int = 60) -> Agenda:
    """The agenda with a turn limit and a hard stop on every item (what `turn_hard_stop` in [event] gives)."""
    sessions = tuple(
        session.model_copy(
            update={
                "items": tuple(
                    item.model_copy(update={"turn_limit_s": limit_s, "turn_hard_stop_s": grace_s})
                    for item in session.items
                )
            }
        )
        for session in agenda.sessions
    )
    return agenda.model_copy(update={"sessions": sessions})


async def test_the_server_ends_a_turn_at_its_hard_stop_logged_as_by_the_clock(
    start_server, connect, fake_clock, mayors_agenda
) -> None:
    clock = fake_clock
    srv = await start_server(clock=clock, agenda=with_hard_stop(mayors_agenda, 15))
    chair = await connect(srv.url, srv.tokens.moderator, label="chair")
    wall = await connect(srv.url, srv.tokens.display, label="wall")
    await chair.command(c.Start())
    await chair.command(c.Floor(person="garcetti"))
    started = srv.now()
    clock.advance(seconds=74)
    await asyncio.sleep(1.5)  # the server looks at least once a second: not yet
    assert srv.state.sessions[0].items[0].floor is not None
    clock.advance(seconds=2)
    for client in (chair, wall):
        await client.wait_for(lambda s: s.sessions[0].items[0].floor is None, timeout=3)
    ended = [e for e in srv.read_log() if e.event.type == "turn_hard_stopped"]
    assert len(ended) == 1
    (entry,) = ended
    assert entry.actor.role == "system"
    assert entry.event.person == "garcetti" and entry.event.started_at == started  # type: ignore[union-attr]
    assert entry.event.limit_s == 60 and entry.event.grace_s == 15  # type: ignore[union-attr]
    assert 75_000 <= entry.event.at - started <= 77_000  # type: ignore[union-attr]
    turn = srv.state.sessions[0].items[0].turns[-1]
    assert turn.person == "garcetti" and turn.ended_at == entry.event.at  # type: ignore[union-attr]
    await srv.settled(chair)
    assert srv.replayed() == srv.state


async def test_hands_survive_next_and_a_for_hand_waits_over_ctl(start_server, connect, fake_clock) -> None:
    clock = fake_clock
    srv = await start_server(clock=clock)
    chair = await connect(srv.url, srv.tokens.moderator, label="chair")
    mayor = srv.tokens.people["sala"]

    def ctl(*args: str, token: str) -> object:
        return asyncio.to_thread(run_cli, "modconsole", "ctl", srv.url, *args, env={"MODCONSOLE_TOKEN": token})

    # Before the start, over ctl: one for the session's list, one for the open discussion.
    result = await ctl("raise", token=mayor)
    assert result.returncode == 0, result.stderr  # type: ignore[attr-defined]
    result = await ctl("raise", "--for", "discussion", token=srv.tokens.people["breed"])
    assert result.returncode == 0, result.stderr  # type: ignore[attr-defined]
    result = await ctl("raise", "--for", "nowhere", token=srv.tokens.people["delhi"])
    assert result.returncode == 1 and "no item 'nowhere'" in result.stderr  # type: ignore[attr-defined]
    result = await ctl("state", "--json", token=srv.tokens.moderator)
    session = json.loads(result.stdout)["sessions"][0]  # type: ignore[attr-defined]
    assert session["queue"] == []
    assert [(w["person"], w["for"]) for w in session["waiting"]] == [("sala", None), ("breed", "discussion")]
    words = (await ctl("state", token=srv.tokens.moderator)).stdout  # type: ignore[attr-defined]
    assert "for the start" in words and "for discussion" in words

    await chair.command(c.Start())
    for _ in range(2):
        clock.advance(minutes=1)
        await chair.command(c.Next())
    state = await chair.wait_for(lambda s: s.sessions[0].current == 2)
    session_state = state.sessions[0]
    assert [h.person for h in session_state.items[2].queue] == ["sala"]  # kept from item to item
    assert [h.person for h in session_state.waiting] == ["breed"]
    await chair.command(c.Next())  # the open discussion: the question joins its queue
    state = await chair.wait_for(lambda s: s.sessions[0].current == 3)
    assert [(h.person, h.for_item) for h in state.sessions[0].items[3].queue] == [
        ("sala", None),
        ("breed", "discussion"),
    ]
    await chair.command(c.QueueRemove(person="sala"))
    await chair.command(c.End())
    state = await chair.wait_for(lambda s: s.sessions[0].status == "ended")
    assert {p: r.reason for p, r in state.sessions[0].removed.items()} == {
        "sala": "moderator",
        "breed": "session_ended",
    }
    assert srv.replayed() == srv.state


async def test_undo_past_ten_minutes_needs_force_and_redo_brings_it_back_over_ctl(start_server, fake_clock) -> None:
    clock = fake_clock
    srv = await start_server(clock=clock)
    moderator = srv.tokens.moderator

    def ctl(*args: str) -> object:
        return asyncio.to_thread(run_cli, "modconsole", "ctl", srv.url, *args, env={"MODCONSOLE_TOKEN": moderator})

    assert (await ctl("start")).returncode == 0  # type: ignore[attr-defined]
    clock.advance(minutes=3)
    assert (await ctl("end")).returncode == 0  # type: ignore[attr-defined]
    clock.advance(minutes=270)  # four and a half hours later
    refused = await ctl("undo")
    assert refused.returncode == 1  # type: ignore[attr-defined]
    assert "refused (unconfirmed)" in refused.stderr and "4:30:00 ago" in refused.stderr  # type: ignore[attr-defined]
    assert srv.state.sessions[0].status == "ended"
    answer = await ctl("undo", "--force", "--json")
    assert answer.returncode == 0, answer.stderr  # type: ignore[attr-defined]
    printed = json.loads(answer.stdout)  # type: ignore[attr-defined]
    assert printed["undone"]["type"] == "session_ended"
    session = printed["session"]
    assert session["status"] == "running"
    assert session["items"][0]["actual_duration_s"] == 180  # the gap is no time the opening ran
    assert session["paused_s"] == 270 * 60
    answer = await ctl("redo", "--json")
    assert answer.returncode == 0, answer.stderr  # type: ignore[attr-defined]
    printed = json.loads(answer.stdout)  # type: ignore[attr-defined]
    assert printed["redone"]["type"] == "session_ended" and printed["session"]["status"] == "ended"
    again = await ctl("redo")
    assert again.returncode == 1 and "nothing to redo" in again.stderr  # type: ignore[attr-defined]
    assert srv.replayed() == srv.state
