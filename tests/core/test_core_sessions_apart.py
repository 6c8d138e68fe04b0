"""Sessions side by side: undo acts on its own session; a new turn limit reaches the turn in progress."""

from __future__ import annotations

from dataclasses import asdict

from support.harness import MAYORS_START, Harness, make_agenda

from modconsole.core import commands as c
from modconsole.core.agenda import Agenda, SessionPlan


def two_rooms() -> Agenda:
    one = make_agenda([600, 600])
    (plan,) = one.sessions
    other = SessionPlan(id="hall-b", title="Hall B", start=MAYORS_START, room="B", items=plan.items)
    return one.model_copy(update={"sessions": (plan.model_copy(update={"room": "A"}), other)})


def test_undo_voids_the_newest_action_of_its_own_session() -> None:
    h = Harness(two_rooms())
    h.ok(c.Start(session="s"))
    h.ok(c.Start(session="hall-b"))
    h.advance(60)
    h.ok(c.Next(session="s"))
    h.advance(5)
    h.ok(c.Extend(session="hall-b", delta_s=300))
    # The newest action overall is hall B's extension; undo in room A takes back room A's "next".
    (undone,) = h.ok(c.Undo(session="s"))
    assert undone.type == "undone" and undone.what == "item_changed"
    state = h.state
    assert state.session("s").current == 0
    assert state.session("hall-b").extended_s == 300
    (undone,) = h.ok(c.Undo(session="hall-b"))
    assert undone.what == "session_extended"
    assert h.state.session("hall-b").extended_s == 0


def test_undo_in_a_session_with_nothing_to_undo_is_refused() -> None:
    h = Harness(two_rooms())
    h.ok(c.Start(session="s"))
    refused = h.rejected(c.Undo(session="hall-b"), code="invalid_state")
    assert "hall-b" in refused.message


def test_a_new_turn_limit_reaches_the_turn_in_progress() -> None:
    h = Harness(make_agenda([600, 600]))
    h.ok(c.Start())
    h.ok(c.Floor(person="ann"))
    h.advance(30)
    assert h.current.floor is not None and h.current.floor.effective_limit_s is None
    h.rejected(c.AddTime(delta_s=-60, turn=True), code="invalid_state")
    h.ok(c.SetTurnLimit(limit_s=90))
    assert h.current.floor.effective_limit_s == 90
    h.ok(c.AddTime(delta_s=60, turn=True))
    assert h.current.floor.effective_limit_s == 150
    assert h.view()["floor"]["limit_s"] == 150


def test_one_more_minute_for_a_turn_without_a_limit_limits_it_to_what_it_ran_plus_a_minute() -> None:
    h = Harness(make_agenda([600, 600]))
    h.ok(c.Start())
    h.ok(c.Floor(person="ann"))
    h.advance(75.4)
    h.ok(c.AddTime(delta_s=60, turn=True))
    assert h.current.floor is not None and h.current.floor.effective_limit_s == 135
    assert asdict(h.replayed()) == asdict(h.state)  # the same after a replay of the log
