"""Events: the facts the timing log records, in the past tense.

Every change of live state is one of these. The server decides them from
commands, writes them to the log, and sends them to clients, which apply them
to their own replica with the same ``apply``.

Queue and turn events act on the session's current item: after an undo the
log is replayed without the voided events, and a hand raised after a
mistaken "next" then lands in the queue of the item that is current again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from .agenda import Agenda, ItemPlan, Person, SessionPlan

HandKind = Literal["contribution", "reply", "question", "point_of_order"]
HAND_KINDS: tuple[HandKind, ...] = ("contribution", "reply", "question", "point_of_order")


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # validators built on first use
    # The version of this type's shape, stored with each log entry. Raise it when the shape changes, and
    # register an upcaster from the old version (below), so that logs written before still read.
    VERSION: ClassVar[int] = 1


class _SessionEvent(_Event):
    session: str


class EventCreated(_Event):
    type: Literal["event_created"] = "event_created"
    event_id: str
    agenda: Agenda


class AgendaReplaced(_Event):
    """The whole plan replaced from a file before any session started (``modconsole-server update-event``)."""

    type: Literal["agenda_replaced"] = "agenda_replaced"
    agenda: Agenda


class ClockSet(_Event):
    """The event clock's mapping from wall time: virtual = virtual_ms + (wall - wall_ms) * scale."""

    type: Literal["clock_set"] = "clock_set"
    wall_ms: int
    virtual_ms: int
    scale: float = Field(gt=0)


class SessionStarted(_SessionEvent):
    type: Literal["session_started"] = "session_started"
    at: int


class SessionPaused(_SessionEvent):
    type: Literal["session_paused"] = "session_paused"
    at: int


class SessionResumed(_SessionEvent):
    type: Literal["session_resumed"] = "session_resumed"
    at: int


class SessionEnded(_SessionEvent):
    type: Literal["session_ended"] = "session_ended"
    at: int


class SessionExtended(_SessionEvent):
    type: Literal["session_extended"] = "session_extended"
    at: int
    delta_s: int


class ItemChanged(_SessionEvent):
    """The current item closes and ``item`` becomes current (re-opened if it ran before)."""

    type: Literal["item_changed"] = "item_changed"
    at: int
    item: str
    how: Literal["next", "prev", "goto"]


class ItemSkipped(_SessionEvent):
    type: Literal["item_skipped"] = "item_skipped"
    at: int
    item: str


class ItemTimeAdded(_SessionEvent):
    type: Literal["item_time_added"] = "item_time_added"
    at: int
    item: str
    delta_s: int


class PlanApplied(_SessionEvent):
    """A recovery plan: new durations for the remaining items (the original plan stays in the agenda)."""

    type: Literal["plan_applied"] = "plan_applied"
    at: int
    target_ms: int
    durations: dict[str, int]


class ParticipantRegistered(_Event):
    type: Literal["participant_registered"] = "participant_registered"
    person: Person


class HandRaised(_SessionEvent):
    type: Literal["hand_raised"] = "hand_raised"
    at: int
    person: str
    kind: HandKind
    # Who the hand is, when it is a participant the live state no longer spoke of: snapshots leave such
    # participants out, so a viewer that joined since learns the name here.
    participant: Person | None = None
    # The value of the tag the queue's ``alternate:TAG`` order alternates on, when it has one.
    group: str | None = None
    # The later item the hand waits for: it joins that item's queue when the item starts. None: the
    # session's speakers' list, which moves with the session from item to item.
    for_item: str | None = None


class HandLowered(_SessionEvent):
    type: Literal["hand_lowered"] = "hand_lowered"
    at: int
    person: str
    by_moderator: bool = False


class HandMoved(_SessionEvent):
    type: Literal["hand_moved"] = "hand_moved"
    at: int
    person: str
    position: int  # 1-based


class QueueCleared(_SessionEvent):
    type: Literal["queue_cleared"] = "queue_cleared"
    at: int


class QueueClosed(_SessionEvent):
    type: Literal["queue_closed"] = "queue_closed"
    at: int


class QueueOpened(_SessionEvent):
    type: Literal["queue_opened"] = "queue_opened"
    at: int


class TurnLimitSet(_SessionEvent):
    type: Literal["turn_limit_set"] = "turn_limit_set"
    at: int
    limit_s: int | None


class TurnStarted(_SessionEvent):
    type: Literal["turn_started"] = "turn_started"
    at: int
    person: str
    kind: HandKind
    raised_at: int | None  # when the hand went up; None when given the floor unqueued
    limit_s: int | None


class TurnEnded(_SessionEvent):
    type: Literal["turn_ended"] = "turn_ended"
    at: int


class TurnHardStopped(_SessionEvent):
    """The clock ended a turn at its hard stop: its limit plus the grace the agenda gives (``turn_hard_stop``).
    Logged by the server, never by a moderator; ``started_at`` names the turn, so after an undo it ends no
    other."""

    type: Literal["turn_hard_stopped"] = "turn_hard_stopped"
    at: int
    person: str
    started_at: int
    limit_s: int
    grace_s: int


class TurnPaused(_SessionEvent):
    type: Literal["turn_paused"] = "turn_paused"
    at: int


class TurnResumed(_SessionEvent):
    type: Literal["turn_resumed"] = "turn_resumed"
    at: int


class TurnTimeAdded(_SessionEvent):
    type: Literal["turn_time_added"] = "turn_time_added"
    at: int
    delta_s: int


class MessageSent(_Event):
    type: Literal["message_sent"] = "message_sent"
    at: int
    message_id: str
    to: str  # a person id, or "all"
    text: str
    session: str | None = None
    lang: str | None = None  # the language the text is written in (BCP 47), when the sender said


class MessageAcknowledged(_Event):
    type: Literal["message_acknowledged"] = "message_acknowledged"
    at: int
    message_id: str
    person: str


class QueueOrderSet(_SessionEvent):
    """The speaking order of a session's queues, or of one item's (``item``), changed live."""

    type: Literal["queue_order_set"] = "queue_order_set"
    at: int
    item: str | None = None
    order: str
    # The value of the tag an ``alternate:TAG`` order alternates on, for each person queued now: replicas
    # without the roster's tags compute the same order.
    groups: dict[str, str] = Field(default_factory=dict)


class DisplayBlackout(_Event):
    """The stage displays went black (``on``), or came back."""

    type: Literal["display_blackout"] = "display_blackout"
    at: int
    on: bool


class DisplayFlashed(_Event):
    """The stage displays flashed once."""

    type: Literal["display_flashed"] = "display_flashed"
    at: int


class DisplayFocused(_Event):
    """The stage displays show ``text`` full-screen; None clears it."""

    type: Literal["display_focused"] = "display_focused"
    at: int
    text: str | None


class Undone(_Event):
    """Voids earlier log entries: state is recomputed as though they had not happened."""

    type: Literal["undone"] = "undone"
    at: int
    seqs: tuple[int, ...]
    what: str
    # The session whose action it voids (what "redo" brings back there); None in logs written before redo.
    session: str | None = None


class Redone(_Event):
    """Voids the undo entries in ``seqs`` (and what came with them): the action they took back stands again."""

    type: Literal["redone"] = "redone"
    at: int
    seqs: tuple[int, ...]
    what: str
    session: str


class SessionReopened(_SessionEvent):
    """Logged with the undo of a session's end: the time from the end to the undo counts as a pause, not as
    the closing item's (or the turn's) running time."""

    type: Literal["session_reopened"] = "session_reopened"
    at: int
    ended_at: int


# --- the plan edited live ------------------------------------------------------------------------------
# Each keeps the agenda in the state and the session's items in step: the agenda as it stands is the plan in
# force, and the ``event_created`` entry keeps the plan as it was before the event.


class ItemAdded(_SessionEvent):
    type: Literal["item_added"] = "item_added"
    at: int
    item: ItemPlan
    index: int  # its place in the session's items, from 0


class ItemEdited(_SessionEvent):
    type: Literal["item_edited"] = "item_edited"
    at: int
    item: ItemPlan  # the item's plan after the edit (same id)
    fields: tuple[str, ...]  # what changed: "title", "duration_s", "kind", ...


class ItemRemoved(_SessionEvent):
    type: Literal["item_removed"] = "item_removed"
    at: int
    item: str


class ItemMoved(_SessionEvent):
    type: Literal["item_moved"] = "item_moved"
    at: int
    item: str
    index: int  # its new place in the session's items, from 0


class SessionAdded(_SessionEvent):
    """A session added to the agenda; ``session`` is the one the command was given in (its undo takes it
    back), ``plan`` the new one."""

    type: Literal["session_added"] = "session_added"
    at: int
    plan: SessionPlan


class SessionEdited(_SessionEvent):
    type: Literal["session_edited"] = "session_edited"
    at: int
    title: str
    start: datetime
    room: str


class PersonAdded(_SessionEvent):
    """A person added to the roster (without tags: those follow in ``person_tagged``, for moderators only);
    ``session`` is the one the command was given in."""

    type: Literal["person_added"] = "person_added"
    at: int
    person: Person


class PersonTagged(_SessionEvent):
    type: Literal["person_tagged"] = "person_tagged"
    at: int
    person: str
    tags: dict[str, str]


# --- written questions ------------------------------------------------------------------------------
# ``question`` is the question's id. Who may see each of these is in ``visibility.py``: a pending question
# only moderators and its asker, an anonymous asker only moderators and the asker, a vote only moderators and
# the voter (the audience gets the counts, coalesced, in ``question_votes`` frames).

MAX_QUESTION_TEXT = 2000  # the bound of any question's text; the event's ``max_length`` is at most this


class QuestionAsked(_SessionEvent):
    type: Literal["question_asked"] = "question_asked"
    at: int
    question: str
    text: str = Field(max_length=MAX_QUESTION_TEXT)
    asker: str | None  # None when anonymous: the asker follows in ``question_asker``, for moderators and them
    anonymous: bool = False
    pending: bool = False  # the event moderates questions: it waits for a moderator
    participant: Person | None = None  # the asker, when a participant the live state did not speak of


class QuestionAsker(_SessionEvent):
    """Who asked an anonymous question: for moderators and the asker only."""

    type: Literal["question_asker"] = "question_asker"
    at: int
    question: str
    person: str
    participant: Person | None = None


class QuestionApproved(_SessionEvent):
    """A pending question made visible; it carries the question, which the audience had not seen."""

    type: Literal["question_approved"] = "question_approved"
    at: int
    question: str
    text: str = Field(max_length=MAX_QUESTION_TEXT)
    asked_at: int
    asker: str | None
    anonymous: bool = False
    participant: Person | None = None


class QuestionVoted(_SessionEvent):
    type: Literal["question_voted"] = "question_voted"
    at: int
    question: str
    person: str


class QuestionUnvoted(_SessionEvent):
    type: Literal["question_unvoted"] = "question_unvoted"
    at: int
    question: str
    person: str


class QuestionLive(_SessionEvent):
    """On every screen now; the question live before it in the session (``answered``) counts as answered."""

    type: Literal["question_live"] = "question_live"
    at: int
    question: str
    answered: str | None = None


class QuestionAnswered(_SessionEvent):
    type: Literal["question_answered"] = "question_answered"
    at: int
    question: str


class QuestionDismissed(_SessionEvent):
    """Taken out at any point; the asker is not told. ``by`` names the moderator."""

    type: Literal["question_dismissed"] = "question_dismissed"
    at: int
    question: str
    by: str


class QuestionMerged(_SessionEvent):
    """``question`` merged into ``into``: their voters counted once; ``votes`` is ``into``'s count after."""

    type: Literal["question_merged"] = "question_merged"
    at: int
    question: str
    into: str
    votes: int


class QuestionEdited(_SessionEvent):
    type: Literal["question_edited"] = "question_edited"
    at: int
    question: str
    text: str = Field(max_length=MAX_QUESTION_TEXT)


QUESTION_EVENTS = frozenset(
    {
        "question_asked",
        "question_asker",
        "question_approved",
        "question_voted",
        "question_unvoted",
        "question_live",
        "question_answered",
        "question_dismissed",
        "question_merged",
        "question_edited",
    }
)


Event = Annotated[
    EventCreated
    | ClockSet
    | SessionStarted
    | SessionPaused
    | SessionResumed
    | SessionEnded
    | SessionExtended
    | ItemChanged
    | ItemSkipped
    | ItemTimeAdded
    | PlanApplied
    | ParticipantRegistered
    | HandRaised
    | HandLowered
    | HandMoved
    | QueueCleared
    | QueueClosed
    | QueueOpened
    | TurnLimitSet
    | TurnStarted
    | TurnEnded
    | TurnPaused
    | TurnResumed
    | TurnTimeAdded
    | MessageSent
    | MessageAcknowledged
    | QueueOrderSet
    | Undone
    | ItemAdded
    | ItemEdited
    | ItemRemoved
    | ItemMoved
    | SessionAdded
    | SessionEdited
    | PersonAdded
    | PersonTagged
    | TurnHardStopped
    | Redone
    | SessionReopened
    | AgendaReplaced
    | QuestionAsked
    | QuestionAsker
    | QuestionApproved
    | QuestionVoted
    | QuestionUnvoted
    | QuestionLive
    | QuestionAnswered
    | QuestionDismissed
    | QuestionMerged
    | QuestionEdited
    | DisplayBlackout
    | DisplayFlashed
    | DisplayFocused,
    Field(discriminator="type"),
]

# Built on first use, like the models: a console validates events inside frames, never with this one.
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event, config=ConfigDict(defer_build=True))

# Events that only concern the queue's members or messages: they do not move
# the session's revision, so a participant raising a hand does not make a
# moderator's "next" stale.
AUDIENCE_EVENTS = frozenset(
    {"hand_raised", "hand_lowered", "participant_registered", "message_sent", "message_acknowledged"}
)

# Events that rewrite the past: the state is replayed from the log, and viewers get a fresh snapshot.
REWRITING_EVENTS = frozenset({"undone", "redone"})

# How far back, in event-clock time, an undo goes without being confirmed (``force``).
UNDO_CONFIRM_AFTER_MS = 10 * 60 * 1000

# Moderators' timing actions: each command yields exactly one of these, and
# "undo" voids the newest one still standing.
TIMING_EVENTS = frozenset(
    {
        "session_started",
        "session_paused",
        "session_resumed",
        "session_ended",
        "session_extended",
        "item_changed",
        "item_skipped",
        "item_time_added",
        "plan_applied",
        "hand_moved",
        "queue_cleared",
        "queue_closed",
        "queue_opened",
        "turn_limit_set",
        "turn_started",
        "turn_ended",
        "turn_paused",
        "turn_resumed",
        "turn_time_added",
        "queue_order_set",
    }
)

# The plan edited live: each command yields one of these (a person's tags follow their addition), which
# "undo" voids like a timing action.
PLAN_EDIT_EVENTS = frozenset(
    {"item_added", "item_edited", "item_removed", "item_moved", "session_added", "session_edited", "person_added"}
)
TIMING_EVENTS = TIMING_EVENTS | PLAN_EDIT_EVENTS
# A person's tags reach moderators only (``visibility``): they must not move the revision the others see.
AUDIENCE_EVENTS = AUDIENCE_EVENTS | {"person_tagged"}
# Questions are not the session's flow: a vote must not make a moderator's "next" stale.
AUDIENCE_EVENTS = AUDIENCE_EVENTS | QUESTION_EVENTS

# A timing action in words, for saying what an undo took back.
ACTION_WORDS: dict[str, str] = {
    "session_started": "the start of the session",
    "session_paused": "the pause",
    "session_resumed": "the resumption",
    "session_ended": "the end of the session",
    "session_extended": "the extension",
    "item_changed": "the move to another item",
    "item_skipped": "the skip",
    "item_time_added": "the time added to the item",
    "plan_applied": "the recovery plan",
    "hand_moved": "the move in the queue",
    "queue_cleared": "the clearing of the queue",
    "queue_closed": "the closing of the queue",
    "queue_opened": "the opening of the queue",
    "turn_limit_set": "the turn limit",
    "turn_started": "the floor given",
    "turn_ended": "the end of the turn",
    "turn_paused": "the pause of the turn",
    "turn_resumed": "the resumption of the turn",
    "turn_time_added": "the time added to the turn",
    "queue_order_set": "the change of the speaking order",
    "item_added": "the item added",
    "item_edited": "the edit of the item",
    "item_removed": "the removal of the item",
    "item_moved": "the move of the item",
    "session_added": "the session added",
    "session_edited": "the edit of the session",
    "person_added": "the person added",
}


# --- versions: how old log entries become today's events ------------------------------------------------
#
# Each event type has a version, stored with every log entry (the log's ``v`` column). When a type's
# shape changes, its version goes up by one and an upcaster is registered for the old version: a pure
# function from the old body (a JSON object, as stored) to the body of the next version. Reading the
# log runs the chain, oldest first, then validates the result as today's event. Entries written at the
# current version are validated as they are, with no detour.

EVENT_VERSIONS: dict[str, int] = {cls.model_fields["type"].default: cls.VERSION for cls in get_args(get_args(Event)[0])}

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


class UnknownEvent(ValueError):
    """A stored event this code cannot turn into one of today's: a type or version it does not know."""


def upcaster(kind: str, version: int) -> Callable[[Upcaster], Upcaster]:
    """Register ``fn`` as the step from ``kind`` at ``version`` to ``version + 1``."""

    def register(fn: Upcaster) -> Upcaster:
        UPCASTERS[kind, version] = fn
        return fn

    return register


def upcast(kind: str, version: int, body: dict[str, Any]) -> dict[str, Any]:
    """The body of a stored ``kind`` event at ``version``, made into the current version's."""
    current = EVENT_VERSIONS.get(kind)
    if current is None:
        raise UnknownEvent(f"the event type {kind!r} is not one this modconsole knows (written by a newer one?)")
    if version > current:
        raise UnknownEvent(
            f"{kind!r} is at version {version}; this modconsole reads up to version {current} (written by a newer one?)"
        )
    while version < current:
        step = UPCASTERS.get((kind, version))
        if step is None:
            raise UnknownEvent(f"no way to read {kind!r} at version {version} (no upcaster to version {version + 1})")
        body = step(body)
        version += 1
    return body
