"""The speaker queue: random command sequences against a reference model, and the queue's invariants."""

from __future__ import annotations

from dataclasses import asdict

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from support.harness import Harness, make_agenda, participant, speaker

from modconsole.core import commands as c
from modconsole.core.agenda import Agenda
from modconsole.core.decide import Rejected
from modconsole.core.events import HAND_KINDS

ROSTER = ("ann", "bob", "cho")
AUDIENCE = ("pat", "quin")
PEOPLE = ROSTER + AUDIENCE
ITEMS = 3

people = st.sampled_from(PEOPLE)
kinds = st.sampled_from(HAND_KINDS)


def actor_for(person: str) -> c.Actor:
    return speaker(person) if person in ROSTER else participant(person)


class QueueMachine(RuleBasedStateMachine):
    """Every command is decided against the model's expectation; the state's queues must match the model."""

    @initialize()
    def start(self) -> None:
        self.h = Harness(make_agenda([600] * ITEMS, people=ROSTER))
        self.h.ok(c.Start())
        self.current = 0
        self.paused = False
        self.queues: list[list[tuple[str, str]]] = [[] for _ in range(ITEMS)]
        self.floor: list[str | None] = [None] * ITEMS
        self.open = [True] * ITEMS
        self.registered: set[str] = set()
        self.withdrawn: list[set[str]] = [set() for _ in range(ITEMS)]
        self.points_moved = [False] * ITEMS
        self.visited = [True] + [False] * (ITEMS - 1)  # items that have been current (none is ever skipped)
        self.finished = [False] * ITEMS  # items left by "next" (not gone back to since)

    # --- helpers -----------------------------------------------------------------------------

    @property
    def queue(self) -> list[tuple[str, str]]:
        return self.queues[self.current]

    def queued(self, person: str) -> bool:
        return any(p == person for p, _ in self.queue)

    def can_queue(self, person: str) -> bool:
        return self.open[self.current] and not self.queued(person) and self.floor[self.current] != person

    def run(self, command: c.Command, expected_ok: bool, actor: c.Actor | None = None):  # type: ignore[no-untyped-def]
        self.h.advance(1)
        before = asdict(self.h.state)
        decision = self.h.do(command, actor) if actor is not None else self.h.do(command)
        if expected_ok:
            assert not isinstance(decision, Rejected), (command, decision)
        else:
            assert isinstance(decision, Rejected), (command, decision)
            assert asdict(self.h.state) == before
        return decision

    def model_raise(self, person: str, kind: str) -> None:
        if kind == "point_of_order":
            points = sum(1 for _, k in self.queue if k == "point_of_order")
            self.queue.insert(points, (person, kind))
        else:
            self.queue.append((person, kind))
        self.withdrawn[self.current].discard(person)

    # --- rules -------------------------------------------------------------------------------

    @rule(seconds=st.integers(0, 300))
    def tick(self, seconds: int) -> None:
        self.h.advance(seconds)

    @rule(person=people, kind=kinds)
    def raise_hand(self, person: str, kind: str) -> None:
        ok = self.can_queue(person)
        decision = self.run(c.Raise(kind=kind), ok, actor_for(person))  # type: ignore[arg-type]
        if ok:
            if person in AUDIENCE:
                self.registered.add(person)
            self.model_raise(person, kind)
        elif not self.open[self.current]:
            assert decision.code == "invalid_state"

    @rule(person=people)
    def lower(self, person: str) -> None:
        ok = self.queued(person)
        decision = self.run(c.Lower(), ok, actor_for(person))
        if ok:
            self.queues[self.current] = [h for h in self.queue if h[0] != person]
            self.withdrawn[self.current].add(person)
        else:
            assert decision.code == "not_found"

    @rule(person=people, kind=kinds)
    def queue_add(self, person: str, kind: str) -> None:
        known = person in ROSTER or person in self.registered
        ok = known and self.can_queue(person)
        decision = self.run(c.QueueAdd(person=person, kind=kind), ok)  # type: ignore[arg-type]
        if ok:
            self.model_raise(person, kind)
        elif not known:
            assert decision.code == "not_found"
        elif not self.open[self.current]:
            assert decision.code == "invalid_state"

    @rule(person=people)
    def queue_remove(self, person: str) -> None:
        ok = self.queued(person)
        self.run(c.QueueRemove(person=person), ok)
        if ok:
            self.queues[self.current] = [h for h in self.queue if h[0] != person]
            self.withdrawn[self.current].add(person)

    @rule(person=people, position=st.integers(1, len(PEOPLE) + 1))
    def queue_move(self, person: str, position: int) -> None:
        hand = next((h for h in self.queue if h[0] == person), None)
        ok = False
        if hand is not None:
            others = [h for h in self.queue if h[0] != person]
            points = sum(1 for _, k in others if k == "point_of_order")
            low, high = (1, points + 1) if hand[1] == "point_of_order" else (points + 1, len(others) + 1)
            ok = low <= position <= high
        decision = self.run(c.QueueMove(person=person, position=position), ok)
        if ok:
            assert hand is not None
            others.insert(position - 1, hand)
            self.queues[self.current] = others
            if hand[1] == "point_of_order":
                self.points_moved[self.current] = True
        elif hand is not None:
            assert decision.code == "invalid"

    @rule()
    def floor_next_in_queue(self) -> None:
        ok = bool(self.queue)
        decision = self.run(c.Floor(), ok)
        if ok:
            person, kind = self.queue.pop(0)
            (event,) = decision
            assert event.type == "turn_started"
            assert (event.person, event.kind) == (person, kind)
            assert person not in self.withdrawn[self.current], "a withdrawn hand got the floor"
            self.floor[self.current] = person
        else:
            assert decision.code == "invalid_state"

    @rule(person=people)
    def floor_to(self, person: str) -> None:
        known = person in ROSTER or person in self.registered
        ok = known and self.floor[self.current] != person
        self.run(c.Floor(person=person), ok)
        if ok:
            self.queues[self.current] = [h for h in self.queue if h[0] != person]
            self.floor[self.current] = person

    @rule()
    def end_turn(self) -> None:
        ok = self.floor[self.current] is not None
        self.run(c.EndTurn(), ok)
        self.floor[self.current] = None

    @rule()
    def close_queue(self) -> None:
        self.run(c.CloseQueue(), self.open[self.current])
        self.open[self.current] = False

    @rule()
    def open_queue(self) -> None:
        self.run(c.OpenQueue(), not self.open[self.current])
        self.open[self.current] = True

    def change_item(self, command: c.Command, target: int | None) -> None:
        ok = target is not None and 0 <= target < ITEMS and target != self.current
        self.run(command, ok)
        if ok:
            assert target is not None
            # Leaving an item closes its turn; the hands up are the session's, and go with it to the item entered.
            self.floor[self.current] = None
            self.queues[target] = self.queues[target] + self.queues[self.current]
            self.queues[self.current] = []
            self.withdrawn[target] |= self.withdrawn[self.current]
            self.points_moved[target] = self.points_moved[target] or self.points_moved[self.current]
            self.finished[self.current] = command.type == "next"
            self.current = target
            self.visited[target] = True
            self.finished[target] = False

    @rule()
    def next_item(self) -> None:
        # The first following item the chair is not through with; after those, the first a goto jumped over.
        after = [i for i in range(self.current + 1, ITEMS) if not self.finished[i]]
        jumped_over = [i for i in range(self.current) if not self.visited[i]]
        target = after[0] if after else (jumped_over[0] if jumped_over else None)
        self.change_item(c.Next(), target)

    @rule()
    def prev_item(self) -> None:
        # Back to the nearest earlier item that has run (not one a goto jumped over).
        ran = [i for i in range(self.current) if self.visited[i]]
        self.change_item(c.Prev(), ran[-1] if ran else None)

    @rule(index=st.integers(0, ITEMS - 1))
    def goto_item(self, index: int) -> None:
        self.change_item(c.Goto(item=f"i{index}"), index)

    @rule()
    def pause_or_resume(self) -> None:
        self.run(c.Resume() if self.paused else c.Pause(), True)
        self.paused = not self.paused

    # --- invariants --------------------------------------------------------------------------

    @invariant()
    def matches_model(self) -> None:
        session = self.h.session
        assert session.current == self.current
        for index, item in enumerate(session.items):
            assert [(h.person, h.kind) for h in item.queue] == self.queues[index]
            assert (item.floor.person if item.floor else None) == self.floor[index]
            assert item.queue_open == self.open[index]

    @invariant()
    def queue_is_well_formed(self) -> None:
        for index, item in enumerate(self.h.session.items):
            persons = [h.person for h in item.queue]
            assert len(persons) == len(set(persons)), "someone is queued twice"
            kinds_in_order = [h.kind == "point_of_order" for h in item.queue]
            assert kinds_in_order == sorted(kinds_in_order, reverse=True), "a point of order is behind another hand"
            if item.floor is not None:
                assert item.floor.person not in persons, "the person with the floor is queued"
            if not self.points_moved[index]:
                raised = [h.raised_at for h in item.queue if h.kind == "point_of_order"]
                assert raised == sorted(raised), "points of order out of the order they were raised in"
            # The view numbers positions 1..n in queue order.
            if index == self.h.session.current:
                view_queue = self.h.view()["queue"]
                assert [q["position"] for q in view_queue] == list(range(1, len(persons) + 1))
                assert [q["person"] for q in view_queue] == persons


QueueMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestQueueMachine = QueueMachine.TestCase


# --- focused examples ------------------------------------------------------------------------------


def test_points_of_order_go_ahead_in_the_order_raised() -> None:
    h = Harness(make_agenda([600], people=ROSTER))
    h.ok(c.Start())
    h.ok(c.Raise(), speaker("ann"))
    h.advance(1)
    h.ok(c.Raise(kind="point_of_order"), speaker("bob"))
    h.advance(1)
    h.ok(c.Raise(kind="question"), participant("pat"))
    h.advance(1)
    h.ok(c.Raise(kind="point_of_order"), speaker("cho"))
    assert [x.person for x in h.current.queue] == ["bob", "cho", "ann", "pat"]
    # A hand cannot be moved ahead of a point of order, nor a point of order behind another hand.
    assert h.rejected(c.QueueMove(person="ann", position=1), code="invalid")
    assert h.rejected(c.QueueMove(person="bob", position=3), code="invalid")
    h.ok(c.QueueMove(person="cho", position=1))
    assert [x.person for x in h.current.queue] == ["cho", "bob", "ann", "pat"]


def test_closed_queue_refuses_raise_and_queue_add() -> None:
    h = Harness(make_agenda([600], people=ROSTER))
    h.ok(c.Start())
    h.ok(c.Raise(), speaker("ann"))
    h.ok(c.CloseQueue())
    assert "closed" in h.rejected(c.Raise(), speaker("bob"), code="invalid_state").message
    h.rejected(c.Raise(), participant("pat"), code="invalid_state")
    h.rejected(c.QueueAdd(person="cho"), code="invalid_state")
    assert "pat" not in h.state.participants  # the refused raise registered nobody
    # Those already queued may still leave and get the floor.
    h.ok(c.Floor())
    assert h.current.floor is not None and h.current.floor.person == "ann"
    h.ok(c.OpenQueue())
    h.ok(c.Raise(), speaker("bob"))


def test_lowered_hand_is_skipped_by_floor_until_raised_again() -> None:
    h = Harness(make_agenda([600], people=ROSTER))
    h.ok(c.Start())
    h.ok(c.Raise(), speaker("ann"))
    h.ok(c.Raise(), speaker("bob"))
    h.ok(c.Lower(), speaker("ann"))
    (turn,) = h.ok(c.Floor())
    assert turn.person == "bob"
    h.rejected(c.Floor(), code="invalid_state")  # the queue is empty now
    h.ok(c.Raise(), speaker("ann"))
    (turn,) = h.ok(c.Floor())
    assert turn.person == "ann"
    assert [t.person for t in h.current.turns] == ["bob"]
    h.rejected(c.Raise(), speaker("ann"), code="invalid_state")  # holds the floor


def test_clearing_the_queue_is_one_action_that_undo_takes_back() -> None:
    h = Harness(make_agenda([600, 600]))
    h.ok(c.Start())
    for person in ("ann", "bob", "cho"):
        h.ok(c.QueueAdd(person=person))
    (event,) = h.ok(c.ClearQueue())
    assert event.type == "queue_cleared"
    assert h.current.queue == []
    h.rejected(c.ClearQueue(), code="invalid_state")
    h.ok(c.Undo())
    assert [hand.person for hand in h.current.queue] == ["ann", "bob", "cho"]


def _with_speakers(agenda: Agenda, *speakers: str) -> Agenda:
    """The agenda with its first item's listed speakers set."""
    session = agenda.sessions[0]
    first = session.items[0].model_copy(update={"speakers": speakers})
    return agenda.model_copy(update={"sessions": (session.model_copy(update={"items": (first, *session.items[1:])}),)})


def test_floor_with_nobody_queued_goes_to_the_items_listed_speakers_in_turn() -> None:
    h = Harness(_with_speakers(make_agenda([600, 600], people=ROSTER), "cho", "bob"))
    h.ok(c.Start())
    (turn,) = h.ok(c.Floor())  # nobody queued: the talk before the discussion
    assert turn.person == "cho" and turn.raised_at is None
    h.ok(c.Raise(), speaker("ann"))
    (turn,) = h.ok(c.Floor())  # a hand up goes first: the chair lets the queue in
    assert turn.person == "ann"
    (turn,) = h.ok(c.Floor())  # the queue is empty again: the next listed speaker not yet heard
    assert turn.person == "bob"
    refused = h.rejected(c.Floor(), code="invalid_state")
    assert refused.message == "the queue for “Item 0” is empty and its listed speakers have spoken"


def test_floor_with_nobody_queued_and_nobody_listed_says_so() -> None:
    h = Harness(make_agenda([600], people=ROSTER))
    h.ok(c.Start())
    refused = h.rejected(c.Floor(), code="invalid_state")
    assert refused.message == "the queue for “Item 0” is empty and it has no listed speaker"
