"""Shared helpers for the core tests (``from support.harness import ...``); tests/core/test_harness.py checks them.

``Harness`` holds a State, the log it was folded from and a fake "now" (epoch ms on the event clock).
``do`` goes the server's own write path (modconsole/core/log.py): ``record`` decides the command and numbers
its entries, ``settle`` logs and applies them, or makes the state the replay of the whole log after an undo.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from modconsole.core import commands as c
from modconsole.core.agenda import Agenda, ItemKind, ItemPlan, Person, SessionPlan, local_to_ms
from modconsole.core.decide import Rejected, decide
from modconsole.core.events import Event, EventCreated
from modconsole.core.fold import replay
from modconsole.core.log import Entry, number, record, settle
from modconsole.core.projection import project
from modconsole.core.read_model import SessionView, session_view
from modconsole.core.state import ItemState, SessionState, State

ROOT = Path(__file__).resolve().parents[2]
SEOUL = "Asia/Seoul"
MAYORS_START = datetime(2020, 3, 27, 23, 15)

MOD = c.Actor(role="moderator", person="chair", client="console")
SYSTEM = c.Actor(role="system", client="server")
DISPLAY = c.Actor(role="display", client="wall")


def speaker(person: str) -> c.Actor:
    return c.Actor(role="speaker", person=person, client=f"tab-{person}")


def participant(person: str, name: str | None = None) -> c.Actor:
    return c.Actor(role="participant", person=person, name=name or person.title(), client=f"web-{person}")


def ms(value: datetime, zone: str = SEOUL) -> int:
    return local_to_ms(value, ZoneInfo(zone))


def make_agenda(
    durations: list[int] | tuple[int, ...],
    *,
    people: tuple[str, ...] = ("ann", "bob", "cho", "dee"),
    start: datetime = MAYORS_START,
    zone: str = SEOUL,
    fixed: dict[int, time] | None = None,
    kinds: dict[int, ItemKind] | None = None,
    turn_limit_s: int | None = None,
) -> Agenda:
    """One session "s" of items "i0", "i1", ... with the given durations (seconds)."""
    fixed = fixed or {}
    kinds = kinds or {}
    items = tuple(
        ItemPlan(
            id=f"i{index}",
            title=f"Item {index}",
            kind=kinds.get(index, ItemKind.talk),
            duration_s=duration,
            fixed_start=fixed.get(index),
            turn_limit_s=turn_limit_s,
        )
        for index, duration in enumerate(durations)
    )
    return Agenda(
        title="Test event",
        timezone=zone,
        people=tuple(Person(id=p, name=p.title()) for p in people),
        sessions=(SessionPlan(id="s", title="Session", start=start, items=items),),
    )


def mayors_agenda() -> Agenda:
    from modconsole.agenda_files import load_agenda

    return load_agenda(ROOT / "examples" / "mayors-call.toml")


class Harness:
    """A State, its log and a fake clock."""

    def __init__(self, agenda: Agenda, now: int | None = None) -> None:
        self.agenda = agenda
        first = agenda.sessions[0]
        self.now = now if now is not None else local_to_ms(first.start, agenda.zone)
        self.state = State()
        self.entries: list[Entry] = []
        self.append([EventCreated(event_id="ev", agenda=agenda)], SYSTEM)

    @property
    def log(self) -> list[tuple[int, Event]]:
        """The log as ``replay`` takes it: (seq, event)."""
        return [(entry.seq, entry.event) for entry in self.entries]

    # --- time --------------------------------------------------------------------------------

    def advance(self, seconds: float) -> int:
        self.now += round(seconds * 1000)
        return self.now

    # --- commands ----------------------------------------------------------------------------

    def decide(self, command: c.Command, actor: c.Actor = MOD) -> list[Event] | Rejected:
        return decide(self.state, command, actor, self.now)

    def append(self, events: list[Event], actor: c.Actor = MOD) -> None:
        self.state = settle(self.state, self.entries, number(self.state, events, actor, self.now)).state

    def do(self, command: c.Command, actor: c.Actor = MOD) -> list[Event] | Rejected:
        recorded = record(self.state, command, actor, self.now, self.now)
        if isinstance(recorded, Rejected):
            return recorded
        self.state = settle(self.state, self.entries, recorded).state
        return [entry.event for entry in recorded]

    def ok(self, command: c.Command, actor: c.Actor = MOD) -> list[Event]:
        decision = self.do(command, actor)
        assert not isinstance(decision, Rejected), f"{command.type} rejected: {decision}"
        return decision

    def rejected(self, command: c.Command, actor: c.Actor = MOD, code: str | None = None) -> Rejected:
        before = asdict(self.state)
        decision = self.do(command, actor)
        assert isinstance(decision, Rejected), f"{command.type} accepted: {decision}"
        if code is not None:
            assert decision.code == code, decision
        assert asdict(self.state) == before
        return decision

    # --- reading -----------------------------------------------------------------------------

    @property
    def session(self) -> SessionState:
        return self.state.sessions[0]

    def item(self, item_id: str) -> ItemState:
        found = self.session.item(item_id)
        assert found is not None
        return found

    @property
    def current(self) -> ItemState:
        item = self.session.current_item
        assert item is not None
        return item

    def projection(self, durations: dict[str, int] | None = None):  # type: ignore[no-untyped-def]
        return project(self.state, self.session, self.now, durations)

    def view(self) -> SessionView:
        return session_view(self.state, self.session, self.now)

    def replayed(self) -> State:
        return replay(self.log)


# --- checks of the helper -----------------------------------------------------------------------


ROSTER = ("ann", "bob", "cho", "dee")
AUDIENCE = ("pat", "quin")


def actor_for(person: str) -> c.Actor:
    return speaker(person) if person in ROSTER else participant(person)


def command_steps(items: int = 4):  # type: ignore[no-untyped-def]
    """(command, actor, seconds to wait first) for any command, valid or not, over ``make_agenda`` people.

    Few people, so that the same person raises, gets the floor and is moved often."""
    from hypothesis import strategies as st

    from modconsole.core.events import HAND_KINDS

    people = st.sampled_from(("ann", "bob", "pat"))
    kinds = st.sampled_from(HAND_KINDS)
    waits = st.integers(0, 240)
    item_ids = st.sampled_from([f"i{i}" for i in range(items)] + ["nope"])
    moderator = st.one_of(
        st.sampled_from(
            [
                c.Start(),
                c.Pause(),
                c.Resume(),
                c.Next(),
                c.Next(),
                c.Prev(),
                c.End(),
                c.EndTurn(),
                c.PauseTurn(),
                c.ResumeTurn(),
                c.CloseQueue(),
                c.OpenQueue(),
                c.Floor(),
                c.Floor(),
                c.Undo(),
                c.Undo(force=True),
                c.Undo(force=True),
                c.Redo(),
                c.ApplyPlan(),
            ]
        ),
        st.builds(c.Goto, item=item_ids),
        st.builds(c.Skip, item=st.none() | item_ids),
        st.builds(c.AddTime, delta_s=st.sampled_from([-120, -30, 30, 60, 300]), turn=st.booleans()),
        st.builds(c.Extend, delta_s=st.sampled_from([-300, 60, 300, 1500])),
        st.builds(c.QueueAdd, person=people, kind=kinds),
        st.builds(c.QueueAdd, person=people, kind=kinds, for_item=item_ids),
        st.builds(c.QueueRemove, person=people),
        st.builds(c.QueueMove, person=people, position=st.integers(1, 4)),
        st.builds(c.Floor, person=st.sampled_from(("ann", "bob"))),
        st.builds(c.SetTurnLimit, limit_s=st.none() | st.sampled_from([30, 60, 120])),
        st.builds(c.SendMessage, text=st.just("Please wrap up"), to=st.sampled_from(["floor", "all", "ann", "pat"])),
    )
    return st.one_of(
        st.tuples(moderator, st.just(MOD), waits),
        st.tuples(moderator, st.just(MOD), waits),
        st.tuples(st.builds(c.Raise, kind=kinds), people.map(actor_for), waits),
        st.tuples(st.builds(c.Raise, kind=kinds, for_item=item_ids), people.map(actor_for), waits),
        st.tuples(st.just(c.Lower()), people.map(actor_for), waits),
        st.tuples(st.just(c.Ack()), people.map(actor_for), waits),
    )


def check_structure(state: State) -> None:
    """Invariants every reachable state keeps, whatever the commands."""
    for session in state.sessions:
        currents = [i for i, item in enumerate(session.items) if item.status == "current"]
        if session.status in ("running", "paused"):
            assert currents == [session.current]
        else:
            assert currents == []
        # A person has at most one hand up in a session: in the current item's queue, or waiting.
        everyone = [h.person for item in session.items for h in item.queue] + [h.person for h in session.waiting]
        assert len(everyone) == len(set(everyone)), f"someone has two hands up in {session.id}: {everyone}"
        if session.status == "ended":
            assert everyone == [], "a hand still up after the end"
        for item in session.items:
            if item is not session.current_item or session.status == "not_started":
                assert item.queue == [], f"a queue on {item.id}, which is not current"
            persons = [h.person for h in item.queue]
            assert len(persons) == len(set(persons)), f"someone queued twice in {item.id}: {persons}"
            points = [h.kind == "point_of_order" for h in item.queue]
            assert points == sorted(points, reverse=True), f"a point of order behind another hand in {item.id}"
            if item.floor is not None:
                assert item.floor.person not in persons, f"{item.floor.person} holds the floor and is queued"
                assert item.status == "current", "a turn outlived its item"
                assert item.floor.timer.running == (session.status == "running" and not item.floor.paused)
            assert item.duration_s >= 0
            assert item.timer.running == (item.status == "current" and session.status == "running")
