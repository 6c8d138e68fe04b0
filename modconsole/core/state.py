"""The live state of an event: plain data, one replica on the server and one in every client.

This module owns the shape of the state and nothing else: ``fold.py`` folds events into it,
``visibility.py`` cuts it down to what a viewer may see, ``projection.py`` and ``read_model.py`` compute
figures from it. It must never decide, fold or read a clock: every time is passed in (epoch ms on the
event clock).

The live state is plain data (slotted dataclasses), not pydantic models: the fold
writes a field or builds a small object for every event, and a server starting up
folds its whole log. Pydantic stays at the edges, where data crosses a boundary:
events, commands and the agenda are validated models, and a snapshot sent to a
client is serialised and validated by pydantic, which knows dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import ConfigDict

from .agenda import Agenda, Person, SessionPlan
from .events import HandKind

SessionStatus = Literal["not_started", "running", "paused", "ended"]
ItemStatus = Literal["pending", "current", "done", "skipped"]


_STRICT = ConfigDict(extra="forbid")  # a snapshot from the wire: unknown fields are an error

# Pydantic makes a dataclass's docstring its description in the snapshot's JSON Schema (``modconsole-server
# schema``): the classes below other than Timer say what they are for in a comment, so that the schema stays
# as it is. Pydantic does not read the strings under the fields.


@dataclass(slots=True, kw_only=True)
class Timer:
    """Running time as timestamps, never ticks: it reads right after any restart."""

    __pydantic_config__ = _STRICT

    first_start: int | None = None
    """When it first started; None until it has run."""
    accumulated_ms: int = 0
    """The time run in the stretches that have ended."""
    running_since: int | None = None
    """When the stretch now running began; None while stopped."""
    pauses: int = 0
    """How many times it was paused: an item's by the session pausing, a turn's by the moderator."""

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


# A hand up in an item's queue.
@dataclass(slots=True, kw_only=True)
class Hand:
    __pydantic_config__ = _STRICT

    person: str
    """Who raised it (or was added by a moderator): a person on the roster or a registered participant."""
    kind: HandKind
    """What it is for: a point of order goes ahead of every other kind."""
    raised_at: int
    """When it went up."""
    group: str | None = None
    """The value of the tag an ``alternate:TAG`` speaking order alternates on; None when not known."""
    moved: bool = False
    """Put in its place by a moderator: the speaking order leaves it there."""
    for_item: str | None = None
    """The later item it waits for (it joins that item's queue when the item starts); None for the session's
    speakers' list, which moves from item to item with the session."""


# Why a hand came down without its holder getting the floor or withdrawing it: told on their screen.
@dataclass(slots=True, kw_only=True)
class HandRemoval:
    __pydantic_config__ = _STRICT

    reason: Literal["moderator", "cleared", "session_ended"]
    """Taken out by a moderator, the queue cleared, or the session ended before their turn."""
    at: int
    """When."""


# An undo that "redo" can take back: the undo's log entry and those that came with it.
@dataclass(slots=True, kw_only=True)
class RedoEntry:
    __pydantic_config__ = _STRICT

    seqs: list[int]
    """The undo's log entry, then any logged with it (the reopening after an undone end)."""
    session: str
    """The session it was undone in."""
    what: str
    """The event type of the action it took back."""


# A turn on the floor: the one in progress (``ItemState.floor``) or one taken (``ItemState.turns``).
@dataclass(slots=True, kw_only=True)
class Turn:
    __pydantic_config__ = _STRICT

    person: str
    """Who has, or had, the floor."""
    kind: HandKind
    """The kind of the hand it came from; "contribution" when given the floor unqueued."""
    raised_at: int | None
    """When the hand went up; None when given the floor unqueued."""
    limit_s: int | None
    """The turn limit, without the time added; None for no limit."""
    added_s: int = 0
    """Time added to the limit (negative: taken from it)."""
    timer: Timer = field(default_factory=Timer)
    """The turn's running time: it stops while the session or the turn is paused."""
    paused: bool = False
    """Paused by the moderator (as opposed to the whole session pausing)."""
    ended_at: int | None = None
    """When it ended; None while it is on the floor."""

    @property
    def effective_limit_s(self) -> int | None:
        return None if self.limit_s is None else self.limit_s + self.added_s


# One agenda item as it runs.
@dataclass(slots=True, kw_only=True)
class ItemState:
    __pydantic_config__ = _STRICT

    id: str
    """The agenda item's id."""
    duration_s: int
    """The current plan: the agenda's, changed by added time and applied plans."""
    added_s: int = 0
    """Time the moderator added to it (negative: took from it), in all; applied plans are not counted."""
    status: ItemStatus = "pending"
    """Pending until it first runs, current while it runs, done once left; skipped only while pending."""
    timer: Timer = field(default_factory=Timer)
    """The item's running time: it stops while the session is paused."""
    ended_at: int | None = None
    """When it was last left; None while current or before it has run."""
    reopened: int = 0
    """How many times it was entered again after it had run."""
    finished: bool = False
    """Left by "next": the chair is through with it, and it does not come again unless gone back to. An item
    left by "prev" or "goto" still comes, for what is left of its plan."""
    queue: list[Hand] = field(default_factory=list)
    """The hands up, in speaking order: points of order first."""
    queue_open: bool = True
    """Whether anyone may join the queue; closing it keeps the hands already up."""
    turn_limit_s: int | None = None
    """The limit each new turn gets, from the agenda or as the moderator set it; None for no limit."""
    floor: Turn | None = None
    """The turn in progress; None when nobody has the floor."""
    turns: list[Turn] = field(default_factory=list)
    """The turns taken on it that have ended, oldest first."""
    queue_order: str | None = None
    """The speaking order of its queue (core/queue_order.py); None: the session's."""


# One session of the agenda as it runs.
@dataclass(slots=True, kw_only=True)
class SessionState:
    __pydantic_config__ = _STRICT

    id: str
    """The agenda session's id."""
    status: SessionStatus = "not_started"
    """Not started, running, paused or ended."""
    current: int | None = None
    """Index into ``items`` of the current item; None before the start. Once ended, the item current last."""
    started_at: int | None = None
    """When it started; None before."""
    ended_at: int | None = None
    """When it ended; None before."""
    paused_since: int | None = None
    """When the pause in progress began; None unless paused."""
    paused_ms: int = 0
    """The time spent in the pauses that have ended."""
    extended_s: int = 0
    """How far it was extended on purpose: its planned end moves by as much."""
    plans_applied: int = 0
    """How many recovery plans were applied to it."""
    rev: int = 0
    """Sequence of the last event that changed this session's flow (audience events do not): a command's
    ``expected_seq`` is checked against it."""
    items: list[ItemState]
    """Its items, in the agenda's order."""
    queue_order: str = "fifo"
    """The speaking order of its items' queues, unless an item has its own (core/queue_order.py)."""
    waiting: list[Hand] = field(default_factory=list)
    """Hands not yet in a queue, in the order raised: those for a later item (``for_item``), and before the
    start the session's speakers' list, which becomes the first item's queue."""
    removed: dict[str, HandRemoval] = field(default_factory=dict)
    """Whose hand came down without the floor, and why (by person, the latest); cleared when they raise
    another."""

    def order_of(self, item: ItemState) -> str:
        """The speaking order of ``item``'s queue."""
        return item.queue_order or self.queue_order

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


# A message from a moderator to a person or to all.
@dataclass(slots=True, kw_only=True)
class Message:
    __pydantic_config__ = _STRICT

    id: str
    """Its id, for acknowledging it."""
    to: str
    """A person's id, or "all"."""
    text: str
    """What it says."""
    at: int
    """When it was sent."""
    session: str | None = None
    """The session it was sent in, if any."""
    acknowledged: dict[str, int] = field(default_factory=dict)
    """Who acknowledged it, and when: person -> time."""
    lang: str | None = None
    """The language it is written in (a BCP 47 tag), when the sender said."""


# The event clock's mapping from the wall clock: virtual = virtual_ms + (wall - wall_ms) * scale.
@dataclass(slots=True, kw_only=True)
class Clock:
    __pydantic_config__ = _STRICT

    wall_ms: int = 0
    """The wall-clock time at which the mapping was set."""
    virtual_ms: int = 0
    """The event clock's time at ``wall_ms``."""
    scale: float = 1.0
    """Event-clock time per wall-clock time: above 1 on a rehearsal."""

    def now(self, wall_ms: int) -> int:
        """The event clock's time at a wall-clock time."""
        return self.virtual_ms + int((wall_ms - self.wall_ms) * self.scale)


QuestionState = Literal["pending", "visible", "live", "answered", "dismissed", "merged"]


# A written question from the audience (``core/questions.py`` decides what may happen to it).
@dataclass(slots=True, kw_only=True)
class Question:
    __pydantic_config__ = _STRICT

    id: str
    """Its id: "q1", "q2", ... in the order asked."""
    session: str
    """The session it was asked in."""
    text: str
    """What it asks (as edited by a moderator, if it was)."""
    asked_at: int
    """When it was asked."""
    asker: str | None
    """Who asked it, by id; None when anonymous, except in the moderators' and the asker's own view."""
    anonymous: bool = False
    """Asked without a name: the asker is never shown to the audience or the display."""
    state: QuestionState = "visible"
    """Pending (waiting for a moderator), visible, live (on every screen now), answered, dismissed, or merged
    into another."""
    votes: int = 0
    """How many people voted for it."""
    voters: list[str] = field(default_factory=list)
    """Who voted for it: every voter in the moderators' view; in another viewer's, only the viewer."""
    live_at: int | None = None
    """When it was last put live."""
    answered_at: int | None = None
    """When it was answered."""
    dismissed_by: str | None = None
    """The moderator who dismissed it (moderators' view only)."""
    shown_as: QuestionState | None = None
    """Before a dismissal, the state it had: what its asker goes on seeing (the asker is not told)."""
    merged_into: str | None = None
    """The question it was merged into."""
    edited: bool = False
    """Its text was edited by a moderator."""


# What the stage displays show besides the timer: set by the moderator's display commands.
@dataclass(slots=True, kw_only=True)
class DisplayState:
    __pydantic_config__ = _STRICT

    blackout: bool = False
    """The displays are black."""
    focus: str | None = None
    """A text the displays show full-screen (such as "ON AIR"); None for none."""
    flashed_at: int | None = None
    """When the displays were last told to flash; None if never."""


# The whole live state of one event: what the log's events fold into.
@dataclass(slots=True, kw_only=True)
class State:
    __pydantic_config__ = _STRICT

    seq: int = 0
    """The log sequence of the last event folded in (or passed over as voided)."""
    event_id: str = ""
    """The event's id; empty before ``event_created``."""
    agenda: Agenda | None = None
    """The plan, from ``event_created``; None before it."""
    clock: Clock = field(default_factory=Clock)
    """The event clock, from the last ``clock_set``."""
    rehearsal: bool = False
    """The clock ran faster than the wall clock at some point."""
    sessions: list[SessionState] = field(default_factory=list)
    """Per session of the agenda, in its order."""
    participants: dict[str, Person] = field(default_factory=dict)
    """Self-declared members of the audience who registered, by id; a viewer's copy keeps only those the
    state speaks of."""
    messages: list[Message] = field(default_factory=list)
    """The messages sent, oldest first; a viewer's copy keeps only those to it and to all."""
    voided: list[int] = field(default_factory=list)
    """The sequences of the log entries undo voided."""
    timing_actions: list[tuple[int, str, str]] = field(default_factory=list)
    """What "undo" can void, newest last: (seq, event type, session)."""
    timing_at: list[int] = field(default_factory=list)
    """When each of ``timing_actions`` happened (event clock), in the same order."""
    redo: list[RedoEntry] = field(default_factory=list)
    """The undos "redo" can take back, newest last; a new timing action in a session clears its own."""
    questions: dict[str, Question] = field(default_factory=dict)
    """The written questions, by id, in the order asked; a viewer's copy keeps only those it may see."""
    display: DisplayState = field(default_factory=DisplayState)
    """What the stage displays show besides the timer: blackout, focus text, the last flash."""

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
