"""Live state and ``apply``: the fold of events into the state of an event.

``apply`` mutates the state it is given and returns it: replaying a long log
must be cheap, and the server and every client hold exactly one replica.
Callers that need the state before an event keep a copy (``copy.deepcopy``).

The live state is plain data (slotted dataclasses), not pydantic models: the fold
writes a field or builds a small object for every event, and a server starting up
folds its whole log. Pydantic stays at the edges, where data crosses a boundary:
events, commands and the agenda are validated models, and a snapshot sent to a
client is serialised and validated by pydantic, which knows dataclasses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import ConfigDict

from .agenda import Agenda, Person, SessionPlan
from .events import AUDIENCE_EVENTS, TIMING_EVENTS, ClockSet, Event, HandKind

SessionStatus = Literal["not_started", "running", "paused", "ended"]
ItemStatus = Literal["pending", "current", "done", "skipped"]


_STRICT = ConfigDict(extra="forbid")  # a snapshot from the wire: unknown fields are an error


@dataclass(slots=True, kw_only=True)
class Timer:
    """Running time as timestamps, never ticks: it reads right after any restart."""

    __pydantic_config__ = _STRICT

    first_start: int | None = None
    accumulated_ms: int = 0
    running_since: int | None = None
    pauses: int = 0

    @property
    def running(self) -> bool:
        return self.running_since is not None

    def start(self, at: int) -> None:
        if self.running_since is None:
            self.running_since = at
            if self.first_start is None:
                self.first_start = at

    def stop(self, at: int) -> None:
        if self.running_since is not None:
            self.accumulated_ms += max(0, at - self.running_since)
            self.running_since = None

    def elapsed_ms(self, now: int) -> int:
        if self.running_since is None:
            return self.accumulated_ms
        return self.accumulated_ms + max(0, now - self.running_since)


@dataclass(slots=True, kw_only=True)
class Hand:
    __pydantic_config__ = _STRICT

    person: str
    kind: HandKind
    raised_at: int


@dataclass(slots=True, kw_only=True)
class Turn:
    __pydantic_config__ = _STRICT

    person: str
    kind: HandKind
    raised_at: int | None
    limit_s: int | None
    added_s: int = 0
    timer: Timer = field(default_factory=Timer)
    paused: bool = False  # paused by the moderator (as opposed to the whole session pausing)
    ended_at: int | None = None

    @property
    def effective_limit_s(self) -> int | None:
        return None if self.limit_s is None else self.limit_s + self.added_s


@dataclass(slots=True, kw_only=True)
class ItemState:
    __pydantic_config__ = _STRICT

    id: str
    duration_s: int  # the current plan: the agenda's, changed by added time and applied plans
    added_s: int = 0
    status: ItemStatus = "pending"
    timer: Timer = field(default_factory=Timer)
    ended_at: int | None = None
    reopened: int = 0
    # Left by "next": the chair is through with it, and it does not come again unless gone back to. An item
    # left by "prev" or "goto" still comes, for what is left of its plan.
    finished: bool = False
    queue: list[Hand] = field(default_factory=list)
    queue_open: bool = True
    turn_limit_s: int | None = None
    floor: Turn | None = None
    turns: list[Turn] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class SessionState:
    __pydantic_config__ = _STRICT

    id: str
    status: SessionStatus = "not_started"
    current: int | None = None  # index into items
    started_at: int | None = None
    ended_at: int | None = None
    paused_since: int | None = None
    paused_ms: int = 0
    extended_s: int = 0
    plans_applied: int = 0
    rev: int = 0  # sequence of the last event that changed this session's flow
    items: list[ItemState]

    @property
    def current_item(self) -> ItemState | None:
        return None if self.current is None else self.items[self.current]

    def item(self, item_id: str) -> ItemState | None:
        for item in self.items:
            if item.id == item_id:
                return item
        return None

    def index(self, item_id: str) -> int | None:
        for index, item in enumerate(self.items):
            if item.id == item_id:
                return index
        return None


@dataclass(slots=True, kw_only=True)
class Message:
    __pydantic_config__ = _STRICT

    id: str
    to: str
    text: str
    at: int
    session: str | None = None
    acknowledged: dict[str, int] = field(default_factory=dict)  # person -> when


@dataclass(slots=True, kw_only=True)
class Clock:
    __pydantic_config__ = _STRICT

    wall_ms: int = 0
    virtual_ms: int = 0
    scale: float = 1.0

    def now(self, wall_ms: int) -> int:
        """The event clock's time at a wall-clock time."""
        return self.virtual_ms + int((wall_ms - self.wall_ms) * self.scale)


@dataclass(slots=True, kw_only=True)
class State:
    __pydantic_config__ = _STRICT

    seq: int = 0
    event_id: str = ""
    agenda: Agenda | None = None
    clock: Clock = field(default_factory=Clock)
    rehearsal: bool = False  # the clock ran faster than the wall clock at some point
    sessions: list[SessionState] = field(default_factory=list)
    participants: dict[str, Person] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    voided: list[int] = field(default_factory=list)
    # What "undo" can void, newest last: (seq, event type, session).
    timing_actions: list[tuple[int, str, str]] = field(default_factory=list)

    def session(self, session_id: str) -> SessionState | None:
        for session in self.sessions:
            if session.id == session_id:
                return session
        return None

    def plan(self, session_id: str) -> SessionPlan:
        assert self.agenda is not None
        plan = self.agenda.session(session_id)
        assert plan is not None
        return plan

    def person(self, person_id: str) -> Person | None:
        if self.agenda is not None:
            found = self.agenda.person(person_id)
            if found is not None:
                return found
        return self.participants.get(person_id)


def _close_turn(item: ItemState, at: int) -> None:
    turn = item.floor
    if turn is not None:
        turn.timer.stop(at)
        turn.ended_at = at
        item.turns.append(turn)
        item.floor = None


def _leave_item(session: SessionState, at: int) -> None:
    item = session.current_item
    if item is None:
        return
    _close_turn(item, at)
    item.timer.stop(at)
    item.ended_at = at
    item.status = "done"


def _enter_item(session: SessionState, index: int, at: int) -> None:
    item = session.items[index]
    if item.timer.first_start is not None:
        item.reopened += 1
    item.status = "current"
    item.ended_at = None
    item.finished = False
    session.current = index
    if session.status == "running":
        item.timer.start(at)


def _first_open_item(session: SessionState) -> int | None:
    for index, item in enumerate(session.items):
        if item.status != "skipped":
            return index
    return None


def apply(state: State, event: Event, seq: int | None = None) -> State:
    """Apply one event to ``state`` (in place) and return it.

    ``seq`` is the event's log sequence; events are facts, so apply never
    refuses one: the decisions were made before they were logged.
    """
    if seq is not None:
        state.seq = seq
    kind = event.type
    session: SessionState | None = None
    name = getattr(event, "session", None)
    if name is not None and kind not in ("message_sent",):
        session = state.session(name)
        if session is None:
            return state
        if kind not in AUDIENCE_EVENTS and seq is not None:
            session.rev = seq
    if kind in TIMING_EVENTS and seq is not None and name is not None:
        state.timing_actions.append((seq, kind, name))
    handler = _HANDLERS[kind]
    handler(state, session, event)
    return state


def _event_created(state: State, _s: SessionState | None, e) -> None:  # type: ignore[no-untyped-def]
    agenda: Agenda = e.agenda
    state.event_id = e.event_id
    state.agenda = agenda
    state.sessions = [
        SessionState(
            id=plan.id,
            items=[
                ItemState(id=item.id, duration_s=item.duration_s, turn_limit_s=item.turn_limit_s) for item in plan.items
            ],
        )
        for plan in agenda.sessions
    ]


def _clock_set(state: State, _s: SessionState | None, e: ClockSet) -> None:
    state.clock = Clock(wall_ms=e.wall_ms, virtual_ms=e.virtual_ms, scale=e.scale)
    if e.scale != 1:
        state.rehearsal = True


def _session_started(state: State, s: SessionState, e) -> None:  # type: ignore[no-untyped-def]
    s.status = "running"
    s.started_at = e.at
    index = _first_open_item(s)
    if index is not None:
        _enter_item(s, index, e.at)


def _session_paused(state: State, s: SessionState, e) -> None:  # type: ignore[no-untyped-def]
    s.status = "paused"
    s.paused_since = e.at
    item = s.current_item
    if item is not None:
        item.timer.stop(e.at)
        item.timer.pauses += 1
        if item.floor is not None:
            item.floor.timer.stop(e.at)


def _session_resumed(state: State, s: SessionState, e) -> None:  # type: ignore[no-untyped-def]
    s.status = "running"
    if s.paused_since is not None:
        s.paused_ms += max(0, e.at - s.paused_since)
    s.paused_since = None
    item = s.current_item
    if item is not None:
        item.timer.start(e.at)
        if item.floor is not None and not item.floor.paused:
            item.floor.timer.start(e.at)


def _session_ended(state: State, s: SessionState, e) -> None:  # type: ignore[no-untyped-def]
    if s.paused_since is not None:
        s.paused_ms += max(0, e.at - s.paused_since)
        s.paused_since = None
    _leave_item(s, e.at)
    s.status = "ended"
    s.ended_at = e.at


def _session_extended(state: State, s: SessionState, e) -> None:  # type: ignore[no-untyped-def]
    s.extended_s += e.delta_s


def _item_changed(state: State, s: SessionState, e) -> None:  # type: ignore[no-untyped-def]
    index = s.index(e.item)
    if index is None:
        return
    left = s.current_item
    _leave_item(s, e.at)
    if left is not None and e.how == "next":
        left.finished = True
    _enter_item(s, index, e.at)


def _item_skipped(state: State, s: SessionState, e) -> None:  # type: ignore[no-untyped-def]
    item = s.item(e.item)
    if item is not None and item.status == "pending":
        item.status = "skipped"


def _item_time_added(state: State, s: SessionState, e) -> None:  # type: ignore[no-untyped-def]
    item = s.item(e.item)
    if item is not None:
        item.duration_s = max(0, item.duration_s + e.delta_s)
        item.added_s += e.delta_s


def _plan_applied(state: State, s: SessionState, e) -> None:  # type: ignore[no-untyped-def]
    for item_id, duration in e.durations.items():
        item = s.item(item_id)
        if item is not None:
            item.duration_s = duration
    s.plans_applied += 1


def _participant_registered(state: State, _s: SessionState | None, e) -> None:  # type: ignore[no-untyped-def]
    state.participants[e.person.id] = e.person


def _hand_raised(state: State, s: SessionState, e) -> None:  # type: ignore[no-untyped-def]
    if e.participant is not None:
        state.participants[e.participant.id] = e.participant
    item = s.current_item
    if item is None:
        return
    person = e.person
    for queued in item.queue:  # a plain loop: the queue is scanned for every hand raised
        if queued.person == person:
            return
    if item.floor is not None and item.floor.person == e.person:
        # Only after an undo (of a "next" or an "end_turn"): the hand was raised elsewhere,
        # and whoever holds the floor is never queued as well.
        return
    hand = Hand(person=e.person, kind=e.kind, raised_at=e.at)
    if e.kind == "point_of_order":
        # A point of order goes ahead of everything but earlier points of order.
        position = sum(1 for h in item.queue if h.kind == "point_of_order")
        item.queue.insert(position, hand)
    else:
        item.queue.append(hand)


def _hand_lowered(state: State, s: SessionState, e) -> None:  # type: ignore[no-untyped-def]
    item = s.current_item
    if item is not None:
        # In place, and done at the first: a person has at most one hand in a queue (_hand_raised).
        person = e.person
        for index, hand in enumerate(item.queue):
            if hand.person == person:
                del item.queue[index]
                return


def _hand_moved(state: State, s: SessionState, e) -> None:  # type: ignore[no-untyped-def]
    item = s.current_item
    if item is None:
        return
    hands = [h for h in item.queue if h.person == e.person]
    if not hands:
        return
    rest = [h for h in item.queue if h.person != e.person]
    rest.insert(max(0, min(len(rest), e.position - 1)), hands[0])
    item.queue = rest


def _queue_cleared(state: State, s: SessionState, e) -> None:  # type: ignore[no-untyped-def]
    if s.current_item is not None:
        s.current_item.queue.clear()


def _queue_closed(state: State, s: SessionState, e) -> None:  # type: ignore[no-untyped-def]
    if s.current_item is not None:
        s.current_item.queue_open = False


def _queue_opened(state: State, s: SessionState, e) -> None:  # type: ignore[no-untyped-def]
    if s.current_item is not None:
        s.current_item.queue_open = True


def _turn_limit_set(state: State, s: SessionState, e) -> None:  # type: ignore[no-untyped-def]
    item = s.current_item
    if item is not None:
        item.turn_limit_s = e.limit_s
        # The limit reaches the turn in progress too: that is usually why it was set.
        if item.floor is not None:
            item.floor.limit_s = e.limit_s


def _turn_started(state: State, s: SessionState, e) -> None:  # type: ignore[no-untyped-def]
    item = s.current_item
    if item is None:
        return
    _close_turn(item, e.at)
    item.queue = [h for h in item.queue if h.person != e.person]
    turn = Turn(person=e.person, kind=e.kind, raised_at=e.raised_at, limit_s=e.limit_s)
    if s.status == "running":
        turn.timer.start(e.at)
    else:
        turn.timer.first_start = e.at
    item.floor = turn


def _turn_ended(state: State, s: SessionState, e) -> None:  # type: ignore[no-untyped-def]
    if s.current_item is not None:
        _close_turn(s.current_item, e.at)


def _turn_paused(state: State, s: SessionState, e) -> None:  # type: ignore[no-untyped-def]
    item = s.current_item
    if item is not None and item.floor is not None:
        item.floor.paused = True
        item.floor.timer.stop(e.at)
        item.floor.timer.pauses += 1


def _turn_resumed(state: State, s: SessionState, e) -> None:  # type: ignore[no-untyped-def]
    item = s.current_item
    if item is not None and item.floor is not None:
        item.floor.paused = False
        if s.status == "running":
            item.floor.timer.start(e.at)


def _turn_time_added(state: State, s: SessionState, e) -> None:  # type: ignore[no-untyped-def]
    item = s.current_item
    if item is not None and item.floor is not None:
        turn = item.floor
        if turn.limit_s is None:
            # A turn with no limit gets one: what it has run so far, to which the time is added.
            turn.limit_s = turn.timer.elapsed_ms(e.at) // 1000
        turn.added_s += e.delta_s


def _message_sent(state: State, _s: SessionState | None, e) -> None:  # type: ignore[no-untyped-def]
    state.messages.append(Message(id=e.message_id, to=e.to, text=e.text, at=e.at, session=e.session))


def visible_to(state: State, event: Event, role: str, person: str | None) -> bool:
    """Whether a viewer may see an event: a message to a person reaches only
    that person and the moderators, and so does its acknowledgement."""
    if role == "moderator" or event.type not in ("message_sent", "message_acknowledged"):
        return True
    if event.type == "message_sent":
        return event.to in ("all", person)  # type: ignore[union-attr]
    return event.person == person  # type: ignore[union-attr]


def viewer_key(state: State, role: str, person: str | None) -> tuple[object, ...]:
    """Equal keys give equal ``view_for`` states: what sets a view apart is only being a moderator,
    and the messages and acknowledgements that are the viewer's own. Most of an audience shares one."""
    if role == "moderator":
        return ("moderator",)
    own = tuple(
        (m.id, m.acknowledged.get(person) if person else None)
        for m in state.messages
        if (person is not None and m.to == person) or (person is not None and person in m.acknowledged)
    )
    return ("audience", own)


def referenced_people(state: State) -> set[str]:
    """Everyone the live state speaks of: a hand up, the floor, a turn taken, a message to or from them."""
    people: set[str] = set()
    for session in state.sessions:
        for item in session.items:
            people.update(h.person for h in item.queue)
            people.update(t.person for t in item.turns)
            if item.floor is not None:
                people.add(item.floor.person)
    for message in state.messages:
        people.add(message.to)
        people.update(message.acknowledged)
    return people


_untagged: tuple[Agenda, Agenda] | None = None  # the last agenda stripped of its tags, and the result


def _without_tags(agenda: Agenda) -> Agenda:
    """The agenda with the roster's tags left out: gender, country and the like are for the reports."""
    global _untagged
    if _untagged is not None and _untagged[0] is agenda:
        return _untagged[1]
    people = tuple(p if not p.tags else p.model_copy(update={"tags": {}}) for p in agenda.people)
    stripped = agenda.model_copy(update={"people": people})
    _untagged = (agenda, stripped)
    return stripped


def view_for(state: State, role: str, person: str | None) -> State:
    """The state as a viewer may see it: others' private messages left out, and only the participants the
    state speaks of (a hand, a turn, a message) rather than all who ever registered: a viewer knows itself
    from its welcome. Viewers other than moderators do not get the roster's tags."""
    people = referenced_people(state)
    participants = state.participants
    if len(people) < len(participants):
        participants = {pid: p for pid, p in participants.items() if pid in people}
    if role == "moderator":
        return state if participants is state.participants else replace(state, participants=participants)
    messages = [m for m in state.messages if m.to in ("all", person)]
    for index, message in enumerate(messages):
        if message.acknowledged and set(message.acknowledged) != {person}:
            messages[index] = replace(
                message, acknowledged={k: v for k, v in message.acknowledged.items() if k == person}
            )
    participants = {pid: p if not p.tags else p.model_copy(update={"tags": {}}) for pid, p in participants.items()}
    agenda = state.agenda if state.agenda is None else _without_tags(state.agenda)
    return replace(state, messages=messages, participants=participants, agenda=agenda)


def _message_acknowledged(state: State, _s: SessionState | None, e) -> None:  # type: ignore[no-untyped-def]
    for message in state.messages:
        if message.id == e.message_id:
            message.acknowledged.setdefault(e.person, e.at)


def _undone(state: State, _s: SessionState | None, e) -> None:  # type: ignore[no-untyped-def]
    # The fold itself is recomputed by ``replay``; here we only remember what was voided.
    state.voided.extend(e.seqs)


_HANDLERS: dict[str, Callable[[State, Any, Any], None]] = {
    "event_created": _event_created,
    "clock_set": _clock_set,
    "session_started": _session_started,
    "session_paused": _session_paused,
    "session_resumed": _session_resumed,
    "session_ended": _session_ended,
    "session_extended": _session_extended,
    "item_changed": _item_changed,
    "item_skipped": _item_skipped,
    "item_time_added": _item_time_added,
    "plan_applied": _plan_applied,
    "participant_registered": _participant_registered,
    "hand_raised": _hand_raised,
    "hand_lowered": _hand_lowered,
    "hand_moved": _hand_moved,
    "queue_cleared": _queue_cleared,
    "queue_closed": _queue_closed,
    "queue_opened": _queue_opened,
    "turn_limit_set": _turn_limit_set,
    "turn_started": _turn_started,
    "turn_ended": _turn_ended,
    "turn_paused": _turn_paused,
    "turn_resumed": _turn_resumed,
    "turn_time_added": _turn_time_added,
    "message_sent": _message_sent,
    "message_acknowledged": _message_acknowledged,
    "undone": _undone,
}


def replay(entries: list[tuple[int, Event]]) -> State:
    """Fold a log (sequence, event) into a state, leaving out voided entries."""
    voided: set[int] = set()
    for _seq, event in entries:
        if event.type == "undone":
            voided.update(event.seqs)  # type: ignore[union-attr]
    state = State()
    for seq, event in entries:
        if seq in voided:
            state.seq = seq
            continue
        apply(state, event, seq)
    return state
