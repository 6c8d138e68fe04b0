"""The one write path (modconsole/core/log.py): ``record`` decides and numbers, changing nothing; ``settle`` logs
and applies, or replays the log without the voided entries once an undo is among the new entries. The server,
the log simulator (scenarios/logs.py) and the test harnesses all go this way, so an undo rolls back in each.
"""

from __future__ import annotations

from dataclasses import asdict

from support.harness import MOD, Harness, make_agenda, speaker
from support.tui import Meeting

from modconsole.core import commands as c
from modconsole.core.decide import Rejected
from modconsole.core.events import EventCreated
from modconsole.core.fold import replay
from modconsole.core.log import Entry, number, record, settle
from modconsole.core.state import State


def _started() -> tuple[State, list[Entry], int]:
    agenda = make_agenda([300, 600])
    state = State()
    log: list[Entry] = []
    now = 1_700_000_000_000
    state = settle(state, log, number(state, [EventCreated(event_id="ev", agenda=agenda)], MOD, now)).state
    started = record(state, c.Start(), MOD, now, now)
    assert not isinstance(started, Rejected)
    state = settle(state, log, started).state
    return state, log, now


def test_record_numbers_the_entries_after_the_state_and_changes_nothing() -> None:
    state, log, now = _started()
    before = asdict(state)
    recorded = record(state, c.Next(), MOD, now + 60_000, now + 5)
    assert not isinstance(recorded, Rejected)
    assert [entry.seq for entry in recorded] == list(range(state.seq + 1, state.seq + 1 + len(recorded)))
    assert all(entry.ts == now + 5 and entry.actor == MOD for entry in recorded)
    assert [entry.event_json for entry in recorded] == [entry.event.model_dump_json() for entry in recorded]
    assert asdict(state) == before and len(log) == 2


def test_record_passes_a_rejection_on() -> None:
    state, _log, now = _started()
    before = asdict(state)
    rejected = record(state, c.Start(), MOD, now, now)  # already running
    assert isinstance(rejected, Rejected) and rejected.code == "invalid_state"
    assert asdict(state) == before


def test_settle_applies_in_place_without_an_undo() -> None:
    state, log, now = _started()
    recorded = record(state, c.Next(), MOD, now + 60_000, now + 60_000)
    assert not isinstance(recorded, Rejected)
    settled = settle(state, log, recorded)
    assert settled.state is state and not settled.replayed
    assert log[-len(recorded) :] == recorded
    assert state.seq == recorded[-1].seq and state.sessions[0].current == 1


def test_settle_replays_without_the_voided_entries_after_an_undo() -> None:
    state, log, now = _started()
    nexted = record(state, c.Next(), MOD, now + 60_000, now + 60_000)
    assert not isinstance(nexted, Rejected)
    state = settle(state, log, nexted).state
    undone = record(state, c.Undo(), MOD, now + 90_000, now + 90_000)
    assert not isinstance(undone, Rejected)
    settled = settle(state, log, undone)
    assert settled.replayed and settled.state is not state
    assert settled.state.sessions[0].current == 0  # back on the first item
    assert settled.state.seq == undone[-1].seq
    assert asdict(settled.state) == asdict(replay([(e.seq, e.event) for e in log]))


def test_an_undo_in_the_console_harness_rolls_back() -> None:
    # tests/support/tui.py's Meeting builds the states of the TUI snapshots.
    before = Meeting().do(c.Start(), 0)
    meeting = Meeting().do(c.Start(), 0).do(c.Next(), 3.5).do(c.Undo(), 4)
    session = meeting.state.sessions[0]
    assert session.current == 0
    assert [item.status for item in session.items] == [item.status for item in before.state.sessions[0].items]
    assert asdict(meeting.state) == asdict(replay([(e.seq, e.event) for e in meeting.log]))


def test_an_undo_in_the_core_harness_rolls_back() -> None:
    h = Harness(make_agenda([300, 600]))
    h.ok(c.Start())
    h.advance(30)
    h.ok(c.QueueAdd(person="ann"))
    h.ok(c.Raise(kind="question"), speaker("bob"))
    h.ok(c.Next())
    h.ok(c.Undo())
    assert h.session.current == 0
    assert [hand.person for hand in h.current.queue] == ["ann", "bob"]
    assert asdict(h.state) == asdict(h.replayed())
