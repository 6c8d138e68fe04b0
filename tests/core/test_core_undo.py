"""Undo: it voids the newest timing action still standing, and the state is the replay of the log without it."""

from __future__ import annotations

import copy
from dataclasses import asdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.harness import MOD, Harness, check_structure, command_steps, make_agenda, speaker

from modconsole.core import commands as c
from modconsole.core.decide import Rejected
from modconsole.core.events import TIMING_EVENTS
from modconsole.core.fold import replay
from modconsole.core.read_model import session_view

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# What the log's bookkeeping changes but the fold of the remaining events does not: the undo's own entry is
# what a redo takes back.
BOOKKEEPING = {"seq", "voided", "redo"}


def dump(state) -> dict:  # type: ignore[no-untyped-def]
    return {k: v for k, v in asdict(state).items() if k not in BOOKKEEPING}


def run(h: Harness, steps) -> None:  # type: ignore[no-untyped-def]
    for command, actor, wait in steps:
        h.advance(wait)
        h.do(command, actor)


@SETTINGS
@given(steps=st.lists(command_steps(), min_size=10, max_size=40))
def test_undo_equals_replay_without_the_voided_entry(steps) -> None:  # type: ignore[no-untyped-def]
    h = Harness(make_agenda([300, 600, 120, 900]))
    h.ok(c.Start())
    run(h, steps)
    h.advance(7)
    voided_before = list(h.state.voided)
    standing = list(h.state.timing_actions)
    decision = h.do(c.Undo(force=True))
    if isinstance(decision, Rejected):
        assert decision.code == "invalid_state"
        assert standing == []
        return
    event, *reopened = decision
    assert event.type == "undone"
    newest_seq, newest_type, _session = standing[-1]
    assert event.seqs == (newest_seq,) and event.what == newest_type
    # An undone end comes with the session's reopening: the time it stood ended was a pause, which the replay
    # without the end would count as the closing item's running time.
    assert [e.type for e in reopened] == (["session_reopened"] if newest_type == "session_ended" else [])
    undo_seq = h.log[-len(decision)][0]
    without = replay([(seq, ev) for seq, ev in h.log if seq not in (newest_seq, undo_seq)])
    assert dump(h.state) == dump(without)
    assert h.state.voided == [*voided_before, newest_seq]
    assert h.state.timing_actions == standing[:-1]
    assert h.state.seq == h.log[-1][0]
    check_structure(h.state)


@SETTINGS
@given(steps=st.lists(command_steps(), min_size=10, max_size=40))
def test_undo_right_after_a_timing_action_restores_the_state_before_it(steps) -> None:  # type: ignore[no-untyped-def]
    h = Harness(make_agenda([300, 600, 120, 900]))
    for command, actor, wait in steps:
        h.advance(wait)
        before = copy.deepcopy(h.state)
        decision = h.do(command, actor)
        check_structure(h.state)
        if isinstance(decision, Rejected) or command.type == "undo":
            continue
        timing = [ev for ev in decision if ev.type in TIMING_EVENTS]
        assert len(timing) <= 1, "a command yielded more than one timing action"
        if timing:
            assert timing == decision
            h.advance(3)
            h.ok(c.Undo())
            if command.type == "end":
                # The session is back as it was, but the 3 s it stood ended were a pause: the figures are the
                # ones of a session paused for 3 s at the end's moment.
                mine, then = (
                    session_view(h.state, h.session, h.now),
                    session_view(before, before.sessions[0], h.now - 3000),
                )
                assert mine["paused_s"] == then["paused_s"] + 3
                assert [i["actual_duration_s"] for i in mine["items"]] == [
                    i["actual_duration_s"] for i in then["items"]
                ]
                assert mine["status"] == then["status"]
                assert [q["person"] for q in mine["queue"]] == [q["person"] for q in then["queue"]]
            else:
                assert dump(h.state) == dump(before), f"undo of {command.type} did not restore the state"
            check_structure(h.state)
            h.do(command, actor)  # and do it again (or see it refused), to keep walking
            check_structure(h.state)


@SETTINGS
@given(steps=st.lists(command_steps(), min_size=20, max_size=60))
def test_random_commands_with_undo_keep_the_state_well_formed(steps) -> None:  # type: ignore[no-untyped-def]
    h = Harness(make_agenda([300, 600, 120, 900]))
    h.ok(c.Start())
    for command, actor, wait in steps:
        h.advance(wait)
        decision = h.do(command, actor)
        check_structure(h.state)
        if not isinstance(decision, Rejected) and command.type != "undo":
            # Without an undo the replica folds event by event; it must equal a replay of the log.
            assert asdict(h.state) == asdict(h.replayed())


def test_undo_of_a_mistaken_next_resumes_the_previous_item_where_it_was() -> None:
    h = Harness(make_agenda([300, 600, 120]))
    h.ok(c.Start())
    h.advance(100)
    h.ok(c.Next())  # i0 -> i1 after 100 s
    h.advance(200)
    h.ok(c.Next())  # the mistake: i1 ran 200 s
    assert h.current.id == "i2"
    h.advance(15)
    h.ok(c.Undo())
    assert h.current.id == "i1"
    assert h.item("i1").status == "current" and h.item("i2").status == "pending"
    assert h.item("i2").timer.first_start is None and h.item("i1").reopened == 0
    # i1 really ran all along: its timer counts the 15 s spent on the mistake, and keeps running.
    assert h.current.timer.elapsed_ms(h.now) == 215_000
    h.advance(5)
    assert h.current.timer.elapsed_ms(h.now) == 220_000
    assert h.view()["current_remaining_s"] == 380.0


def test_a_hand_raised_after_a_mistaken_next_lands_on_the_item_current_again() -> None:
    h = Harness(make_agenda([300, 600]))
    h.ok(c.Start())
    h.ok(c.Next())
    h.ok(c.Raise(), speaker("ann"))
    assert [x.person for x in h.item("i1").queue] == ["ann"]
    h.ok(c.Undo())  # the hand is not a timing action: undo voids the next
    assert h.current.id == "i0"
    assert [x.person for x in h.item("i0").queue] == ["ann"]
    assert h.item("i1").queue == []


def test_repeated_undo_walks_back_then_is_refused() -> None:
    h = Harness(make_agenda([300, 600, 120]))
    h.ok(c.Start())
    h.advance(10)
    h.ok(c.Next())
    h.advance(10)
    h.ok(c.Extend(delta_s=300))
    h.ok(c.Raise(), speaker("ann"))  # audience events are not undone
    h.advance(10)
    h.ok(c.Pause())
    assert h.ok(c.Undo())[0].what == "session_paused"
    assert h.session.status == "running"
    assert h.ok(c.Undo())[0].what == "session_extended"
    assert h.session.extended_s == 0
    assert h.ok(c.Undo())[0].what == "item_changed"
    assert h.current.id == "i0"
    assert [x.person for x in h.current.queue] == ["ann"]
    assert h.ok(c.Undo())[0].what == "session_started"
    assert h.session.status == "not_started" and h.session.current is None
    assert all(item.status == "pending" for item in h.session.items)
    assert "nothing to undo" in h.rejected(c.Undo(), code="invalid_state").message
    # The raised hand was voided with nothing; the voided seqs are all remembered.
    assert len(h.state.voided) == 4


def test_undo_with_nothing_to_undo_is_refused() -> None:
    h = Harness(make_agenda([300]))
    h.rejected(c.Undo(), code="invalid_state")
    h.rejected(c.Undo(), speaker("ann"), code="forbidden")
    h.ok(c.Start())
    h.ok(c.Undo(), MOD)
    h.rejected(c.Undo(), code="invalid_state")


def test_hand_raised_after_a_mistaken_next_does_not_queue_the_person_holding_the_floor_again() -> None:
    # Found by test_undo_equals_replay_without_the_voided_entry: ann had the floor on i0, "next" closed her
    # turn, she raised her hand on i1; undoing the "next" gave her the floor on i0 and queued her there too.
    h = Harness(make_agenda([300, 600]))
    h.ok(c.Start())
    h.ok(c.Floor(person="ann"))
    h.ok(c.Next())
    h.ok(c.Raise(), speaker("ann"))
    h.ok(c.Raise(), speaker("bob"))
    h.ok(c.Undo())
    assert h.current.id == "i0"
    assert h.current.floor is not None and h.current.floor.person == "ann"
    assert [x.person for x in h.current.queue] == ["bob"]
    check_structure(h.state)


def test_hand_raised_after_a_mistaken_end_turn_does_not_queue_the_person_holding_the_floor_again() -> None:
    h = Harness(make_agenda([300]))
    h.ok(c.Start())
    h.ok(c.Floor(person="ann"))
    h.ok(c.EndTurn())
    h.ok(c.Raise(kind="point_of_order"), speaker("ann"))
    h.ok(c.Undo())
    assert h.current.floor is not None and h.current.floor.person == "ann"
    assert h.current.queue == []
    check_structure(h.state)


def test_every_timing_action_has_words_for_what_an_undo_took_back() -> None:
    from modconsole.core.events import ACTION_WORDS

    assert set(ACTION_WORDS) == set(TIMING_EVENTS)
    assert all(words.startswith("the ") for words in ACTION_WORDS.values())
