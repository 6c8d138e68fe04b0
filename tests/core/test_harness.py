"""The core tests' harness (support/harness.py) is itself right: it logs as the server does and its state is
the replay of its log."""

from __future__ import annotations

from dataclasses import asdict

from support.harness import MAYORS_START, Harness, make_agenda, mayors_agenda, participant

from modconsole.core import commands as c


def test_harness_logs_with_increasing_seqs_and_matches_replay() -> None:
    h = Harness(make_agenda([300, 600]))
    h.ok(c.Start())
    h.advance(10)
    h.ok(c.QueueAdd(person="ann"))
    h.ok(c.Raise(kind="question"), participant("zoe"))  # registers the participant, then raises
    h.advance(5)
    h.ok(c.Next())
    seqs = [seq for seq, _ in h.log]
    assert seqs == list(range(1, len(h.log) + 1))
    assert h.state.seq == seqs[-1]
    assert [e.type for _, e in h.log][-3:] == ["participant_registered", "hand_raised", "item_changed"]
    assert asdict(h.replayed()) == asdict(h.state)


def test_mayors_agenda_loads() -> None:
    agenda = mayors_agenda()
    assert len(agenda.people) == 45
    plan = agenda.sessions[0]
    assert plan.start == MAYORS_START
    assert sum(item.duration_s for item in plan.items) == 45 * 60
