"""The speakers' list survives the item: hands move with the session, wait for a later item, go up before the
start, and come down only with the floor, a withdrawal, a moderator, or the end of the session (who is told why).
Queue estimates count the turn in progress; the clock's hard stop; redo, and undo that asks past ten minutes."""

from __future__ import annotations

import copy
from dataclasses import asdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.harness import Harness, check_structure, command_steps, make_agenda, speaker

from modconsole.core import commands as c
from modconsole.core.agenda import Agenda, ItemPlan
from modconsole.core.decide import Rejected, redo_target
from modconsole.core.fold import replay
from modconsole.core.hard_stop import hard_stop_at, hard_stops

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ITEMS = 5


def hands_up(h: Harness) -> dict[str, str | None]:
    """Everyone with a hand up in the session, and the item it waits for."""
    session = h.session
    queue = session.current_item.queue if session.current_item is not None else []
    return {hand.person: hand.for_item for hand in [*queue, *session.waiting]}


# --- the property: a hand survives next, prev and goto ---------------------------------------------------

moves = st.one_of(
    st.just(c.Next()),
    st.just(c.Prev()),
    st.builds(c.Goto, item=st.sampled_from([f"i{i}" for i in range(ITEMS)])),
)


@SETTINGS
@given(
    fors=st.lists(st.none() | st.sampled_from([f"i{i}" for i in range(1, ITEMS)]), min_size=4, max_size=4),
    steps=st.lists(st.tuples(moves, st.integers(0, 120)), max_size=30),
)
def test_a_hand_survives_any_sequence_of_next_prev_and_goto(fors: list[str | None], steps: list) -> None:  # type: ignore[type-arg]
    h = Harness(make_agenda([600] * ITEMS))
    people = ["ann", "bob", "cho", "dee"]
    # Two hands before the start, two once it runs; some for a later item.
    for person, for_item in zip(people[:2], fors[:2], strict=True):
        h.ok(c.Raise(for_item=for_item), speaker(person))
    h.ok(c.Start())
    for person, for_item in zip(people[2:], fors[2:], strict=True):
        h.ok(c.Raise(for_item=for_item), speaker(person))
    raised = dict(zip(people, fors, strict=True))
    entered = {"i0"}
    for command, wait in steps:
        h.advance(wait)
        h.do(command)
        entered.add(h.current.id)
        check_structure(h.state)
        assert hands_up(h) == raised  # nobody's hand went down
        in_queue = {hand.person for hand in h.current.queue}
        for person, for_item in raised.items():
            # A hand for an item waits until that item has been current; the others are in the queue.
            assert (person in in_queue) == (for_item is None or for_item in entered), (person, for_item)
    assert asdict(h.state) == asdict(replay(h.log))


@SETTINGS
@given(steps=st.lists(command_steps(ITEMS), min_size=10, max_size=50))
def test_hands_come_down_only_with_the_floor_a_withdrawal_a_moderator_or_the_end(steps: list) -> None:  # type: ignore[type-arg]
    h = Harness(make_agenda([600] * ITEMS))
    for command, actor, wait in steps:
        h.advance(wait)
        before = hands_up(h)
        decision = h.do(command, actor)
        check_structure(h.state)
        if isinstance(decision, Rejected) or command.type in ("undo", "redo"):
            continue
        gone = set(before) - set(hands_up(h))
        if not gone:
            continue
        kinds = {event.type for event in decision}
        assert kinds & {"turn_started", "hand_lowered", "queue_cleared", "session_ended"}, (command, gone)
        for person in gone:
            removal = h.session.removed.get(person)
            if "session_ended" in kinds:
                assert removal is not None and removal.reason == "session_ended"
            elif "queue_cleared" in kinds:
                assert removal is not None and removal.reason == "cleared"
            elif command.type == "queue_remove":
                assert removal is not None and removal.reason == "moderator"


# --- examples --------------------------------------------------------------------------------------------


def test_hands_raised_before_the_start_and_for_a_later_item() -> None:
    h = Harness(make_agenda([300, 600, 900]))
    h.ok(c.Raise(), speaker("ann"))  # a mayor joins early
    h.ok(c.Raise(for_item="i2"), speaker("bob"))  # a question for the Q&A
    h.ok(c.Raise(kind="point_of_order"), speaker("cho"))
    view = h.view()
    assert view["queue"] == []
    assert [(w["person"], w["for"]) for w in view["waiting"]] == [("ann", None), ("bob", "i2"), ("cho", None)]
    h.ok(c.Start())
    # The session's list is the first item's queue (the point of order ahead); the question still waits.
    assert [(q["person"], q["for"]) for q in h.view()["queue"]] == [("cho", None), ("ann", None)]
    assert [(w["person"], w["for"]) for w in h.view()["waiting"]] == [("bob", "i2")]
    assert h.view()["waiting"][0]["estimated_wait_s"] == 300 + 600  # until the Q&A begins
    h.advance(60)
    h.ok(c.Next())
    assert [q["person"] for q in h.view()["queue"]] == ["cho", "ann"]
    h.ok(c.Next())
    assert [(q["person"], q["for"]) for q in h.view()["queue"]] == [("cho", None), ("ann", None), ("bob", "i2")]
    assert h.view()["waiting"] == []


def test_a_hand_cannot_wait_for_an_item_that_will_not_come() -> None:
    h = Harness(make_agenda([300, 600, 900]))
    h.ok(c.Skip(item="i2"))
    assert "skipped" in h.rejected(c.Raise(for_item="i2"), speaker("ann"), code="invalid_state").message
    h.rejected(c.Raise(for_item="nope"), speaker("ann"), code="not_found")
    h.ok(c.Start())
    h.ok(c.Next())
    assert "has run" in h.rejected(c.Raise(for_item="i0"), speaker("ann"), code="invalid_state").message
    h.ok(c.Raise(for_item="i1"), speaker("ann"))  # the current item: straight into its queue
    assert [q["person"] for q in h.view()["queue"]] == ["ann"]
    h.rejected(c.Raise(), speaker("ann"), code="invalid_state")  # one hand a person
    h.ok(c.End())
    h.rejected(c.Raise(), speaker("bob"), code="invalid_state")


def test_a_removed_hand_says_why_until_its_holder_raises_again() -> None:
    h = Harness(make_agenda([300, 600]))
    h.ok(c.Start())
    for person in ("ann", "bob", "cho"):
        h.ok(c.Raise(), speaker(person))
    h.ok(c.Raise(for_item="i1"), speaker("dee"))
    h.ok(c.QueueRemove(person="ann"))
    assert h.session.removed["ann"].reason == "moderator"
    h.ok(c.Lower(), speaker("bob"))  # withdrawn by its holder: nothing to tell
    assert "bob" not in h.session.removed
    h.ok(c.Raise(), speaker("ann"))
    assert "ann" not in h.session.removed
    h.ok(c.ClearQueue())
    assert {p: r.reason for p, r in h.session.removed.items()} == {"ann": "cleared", "cho": "cleared"}
    assert hands_up(h) == {"dee": "i1"}  # the clearing is of the current item's queue
    h.advance(30)
    h.ok(c.End())
    assert h.session.removed["dee"].reason == "session_ended"
    assert h.session.removed["dee"].at == h.now


def test_the_estimate_counts_the_turn_in_progress_past_its_limit() -> None:
    # "#2 of 2 — about 1 min" while the speaker on the floor is 27 minutes over a 1-minute limit.
    h = Harness(make_agenda([3600], turn_limit_s=60))
    h.ok(c.Start())
    h.ok(c.Floor(person="ann"))
    h.advance(28 * 60)
    h.ok(c.Raise(), speaker("bob"))
    h.ok(c.Raise(), speaker("cho"))
    waits = [q["estimated_wait_s"] for q in h.view()["queue"]]
    assert waits == [27 * 60, 27 * 60 + 60]
    h.ok(c.EndTurn())
    h.ok(c.Floor())
    h.advance(20)
    assert [q["estimated_wait_s"] for q in h.view()["queue"]] == [40]  # within its limit: what is left


def test_the_estimate_for_a_turn_with_no_limit_is_the_time_left_in_the_item() -> None:
    h = Harness(make_agenda([900]))
    h.ok(c.Start())
    h.ok(c.Floor(person="ann"))  # a talk: no turn limit
    h.advance(300)
    h.ok(c.Raise(), speaker("bob"))
    assert h.view()["queue"][0]["estimated_wait_s"] == 600


# --- the hard stop ---------------------------------------------------------------------------------------


def hard_stop_agenda(grace_s: int | None) -> Agenda:
    agenda = make_agenda([1800, 600], turn_limit_s=60)
    session = agenda.sessions[0]
    items = tuple(ItemPlan(**{**item.model_dump(), "turn_hard_stop_s": grace_s}) for item in session.items)
    return agenda.model_copy(update={"sessions": (session.model_copy(update={"items": items}),)})


def test_the_clock_ends_a_turn_at_its_limit_plus_the_grace() -> None:
    h = Harness(hard_stop_agenda(15))
    h.ok(c.Start())
    h.ok(c.Floor(person="ann"))
    started = h.now
    assert hard_stop_at(h.state, h.now) == started + 75_000
    h.advance(74)
    assert hard_stops(h.state, h.now) == []
    h.advance(1)
    (event,) = hard_stops(h.state, h.now)
    assert event.type == "turn_hard_stopped" and event.person == "ann" and event.started_at == started
    h.append([event], c.Actor(role="system", client="server"))
    assert h.current.floor is None and h.current.turns[-1].ended_at == started + 75_000
    assert hard_stop_at(h.state, h.now) is None


def test_a_paused_turn_and_added_time_move_the_hard_stop() -> None:
    h = Harness(hard_stop_agenda(15))
    h.ok(c.Start())
    h.ok(c.Floor(person="ann"))
    started = h.now
    h.advance(30)
    h.ok(c.PauseTurn())
    assert hard_stop_at(h.state, h.now) is None  # paused: its time does not move
    h.advance(100)
    h.ok(c.ResumeTurn())
    h.ok(c.AddTime(delta_s=60, turn=True))
    assert hard_stop_at(h.state, h.now) == started + 100_000 + 135_000
    assert hard_stops(h.state, h.now + 104_000) == []


def test_no_hard_stop_without_a_grace_or_a_limit() -> None:
    h = Harness(hard_stop_agenda(None))
    h.ok(c.Start())
    h.ok(c.Floor(person="ann"))
    h.advance(3600)
    assert hard_stop_at(h.state, h.now) is None and hard_stops(h.state, h.now) == []


def test_a_hard_stop_logged_for_one_turn_ends_no_other() -> None:
    h = Harness(hard_stop_agenda(15))
    h.ok(c.Start())
    h.ok(c.Floor(person="ann"))
    h.advance(80)
    events = hard_stops(h.state, h.now)
    h.ok(c.Floor(person="bob"))  # the floor changed in between (as after an undo)
    h.append(events, c.Actor(role="system", client="server"))
    assert h.current.floor is not None and h.current.floor.person == "bob"


# --- redo, and undo past ten minutes ---------------------------------------------------------------------

BOOKKEEPING = {"seq", "voided", "redo"}


def dump(h: Harness) -> dict:  # type: ignore[type-arg]
    return {k: v for k, v in asdict(h.state).items() if k not in BOOKKEEPING}


@SETTINGS
@given(steps=st.lists(command_steps(ITEMS), min_size=5, max_size=30))
def test_redo_brings_back_the_state_the_undo_took_back(steps: list) -> None:  # type: ignore[type-arg]
    h = Harness(make_agenda([300, 600, 120, 900, 300]))
    h.ok(c.Start())
    for command, actor, wait in steps:
        h.advance(wait)
        h.do(command, actor)
    before = copy.deepcopy(h.state)
    if isinstance(h.do(c.Undo(force=True)), Rejected):
        return
    h.advance(5)
    h.ok(c.Redo())
    assert {k: v for k, v in asdict(h.state).items() if k not in BOOKKEEPING} == {
        k: v for k, v in asdict(before).items() if k not in BOOKKEEPING
    }
    check_structure(h.state)
    assert asdict(h.state) == asdict(replay(h.log))


def test_undo_undo_redo_redo_and_a_new_action_ends_the_redo() -> None:
    h = Harness(make_agenda([300, 600, 900]))
    h.ok(c.Start())
    h.advance(60)
    h.ok(c.Next())
    h.advance(60)
    h.ok(c.Next())
    h.rejected(c.Redo(), code="invalid_state")
    h.ok(c.Undo())
    h.ok(c.Undo())
    assert h.current.id == "i0"
    h.ok(c.Redo())
    assert h.current.id == "i1"
    h.ok(c.Redo())
    assert h.current.id == "i2"
    h.rejected(c.Redo(), code="invalid_state")
    h.ok(c.Undo())
    assert h.current.id == "i1" and redo_target(h.state, None) is not None
    h.ok(c.Pause())  # a new action: what was undone stays undone
    assert redo_target(h.state, None) is None
    h.rejected(c.Redo(), code="invalid_state")


def test_an_undo_of_an_action_older_than_ten_minutes_needs_force() -> None:
    h = Harness(make_agenda([3600, 600]))
    h.ok(c.Start())
    h.advance(60)
    h.ok(c.Next())
    h.advance(10 * 60)
    h.ok(c.Undo())  # ten minutes exactly: still without asking
    h.ok(c.Redo())
    h.advance(1)
    refused = h.rejected(c.Undo(), code="unconfirmed")
    assert "10:01 ago" in refused.message and "--force" in refused.message
    h.ok(c.Undo(force=True))
    assert h.current.id == "i0"


def test_an_undo_of_the_end_hours_later_counts_the_gap_as_a_pause() -> None:
    # The case: an undo of "end" 4.5 hours later counted the gap into the closing item.
    h = Harness(make_agenda([300, 600]))
    h.ok(c.Start())
    h.advance(60)
    h.ok(c.Next())
    h.ok(c.Floor(person="ann"))
    h.advance(200)
    h.ok(c.End())
    ended = h.view()
    h.advance(4.5 * 3600)
    h.rejected(c.Undo(), code="unconfirmed")
    h.ok(c.Undo(force=True))
    view = h.view()
    assert view["status"] == "running" and view["current_item"] == "i1"
    closing = view["items"][1]
    assert closing["actual_duration_s"] == ended["items"][1]["actual_duration_s"] == 200
    assert view["floor"] is not None and view["floor"]["elapsed_s"] == 200
    assert view["paused_s"] == 4.5 * 3600
    h.advance(30)
    assert h.view()["items"][1]["actual_duration_s"] == 230  # and it runs on from now
    # Redo puts the end back as it was, and the state is still the log's replay.
    h.ok(c.Redo())
    assert h.view()["status"] == "ended" and h.view()["items"][1]["actual_duration_s"] == 200
    assert h.view()["actual_end"] == ended["actual_end"]
    assert asdict(h.state) == asdict(replay(h.log))
    h.ok(c.Undo(force=True))
    assert h.view()["paused_s"] == 4.5 * 3600 + 30  # the whole time since the end, once more
