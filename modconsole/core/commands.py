"""Commands: what a person asks for. ``decide`` turns them into events or a rejection."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from .agenda import ID_PATTERN, QUEUE_ORDER_PATTERN, ItemKind
from .events import HandKind

Role = Literal["moderator", "speaker", "participant", "display"]

# Short texts a moderator sends most often; clients offer them as presets.
PRESET_MESSAGES = ("Please wrap up", "One minute", "Time is up")

MAX_TEXT = 500


class Actor(BaseModel):
    """Who acts: a role (or the server itself), the person behind it, and the client."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # validators built on first use

    role: Role | Literal["system"]
    person: str | None = None
    name: str | None = None  # a participant's self-declared name
    client: str = ""
    # A participant's tags as the server knows them (a registrant's country, gender…), for the value a speaking
    # order alternates on; never serialised: not in the log, not in any frame.
    tags: tuple[tuple[str, str], ...] = Field(default=(), exclude=True)


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # validators built on first use

    id: str = Field(default="", max_length=64, description="client id, echoed in the ack or error")
    session: str | None = Field(
        default=None, max_length=64, description="defaults to the running session, else the first not ended"
    )
    expected_seq: int | None = Field(
        default=None,
        ge=0,
        description="refuse unless this is still the session's revision (the seq of its last flow change)",
    )


class Start(_Command):
    type: Literal["start"] = "start"


class Pause(_Command):
    type: Literal["pause"] = "pause"


class Resume(_Command):
    type: Literal["resume"] = "resume"


class Next(_Command):
    type: Literal["next"] = "next"


class Prev(_Command):
    type: Literal["prev"] = "prev"


class Goto(_Command):
    type: Literal["goto"] = "goto"
    item: str = Field(max_length=64)


class Skip(_Command):
    type: Literal["skip"] = "skip"
    item: str | None = Field(default=None, max_length=64, description="defaults to the next pending item")


class AddTime(_Command):
    type: Literal["add_time"] = "add_time"
    delta_s: int = Field(ge=-24 * 3600, le=24 * 3600)
    turn: bool = False


class Extend(_Command):
    type: Literal["extend"] = "extend"
    delta_s: int = Field(ge=-24 * 3600, le=24 * 3600)


class End(_Command):
    type: Literal["end"] = "end"


class Raise(_Command):
    type: Literal["raise"] = "raise"
    kind: HandKind = "contribution"
    for_item: str | None = Field(
        default=None,
        max_length=64,
        description="a later item the hand is for: it joins that item's queue when the item starts "
        "(default: the session's speakers' list, kept from item to item)",
    )


class Lower(_Command):
    type: Literal["lower"] = "lower"


class QueueAdd(_Command):
    type: Literal["queue_add"] = "queue_add"
    person: str = Field(max_length=64)
    kind: HandKind = "contribution"
    for_item: str | None = Field(default=None, max_length=64, description="a later item the hand is for")


class QueueRemove(_Command):
    type: Literal["queue_remove"] = "queue_remove"
    person: str = Field(max_length=64)


class QueueMove(_Command):
    type: Literal["queue_move"] = "queue_move"
    person: str = Field(max_length=64)
    position: int = Field(ge=1, le=100_000)


class Floor(_Command):
    type: Literal["floor"] = "floor"
    person: str | None = Field(default=None, max_length=64, description="defaults to the head of the queue")


class EndTurn(_Command):
    type: Literal["end_turn"] = "end_turn"


class PauseTurn(_Command):
    type: Literal["pause_turn"] = "pause_turn"


class ResumeTurn(_Command):
    type: Literal["resume_turn"] = "resume_turn"


class SetTurnLimit(_Command):
    type: Literal["set_turn_limit"] = "set_turn_limit"
    limit_s: int | None = Field(default=None, gt=0, le=24 * 3600)


class ClearQueue(_Command):
    """Remove every hand from the current item's queue at once (one undoable action)."""

    type: Literal["clear_queue"] = "clear_queue"


class CloseQueue(_Command):
    type: Literal["close_queue"] = "close_queue"


class OpenQueue(_Command):
    type: Literal["open_queue"] = "open_queue"


class SendMessage(_Command):
    type: Literal["message"] = "message"
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    to: str = Field(default="floor", max_length=64, description='a person id, "floor" or "all"')
    lang: str | None = Field(
        default=None,
        max_length=35,
        pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$",
        description="the language the text is written in, a BCP 47 tag such as fr or es-419; viewers show it",
    )


class Ack(_Command):
    type: Literal["ack"] = "ack"
    message_id: str | None = Field(
        default=None, max_length=64, description="defaults to the latest unacknowledged message to you"
    )


class ApplyPlan(_Command):
    type: Literal["apply_plan"] = "apply_plan"
    target: str | None = Field(
        default=None,
        pattern=r"^\d{1,2}:\d{2}$",
        description="HH:MM in the event's time zone; defaults to the planned end",
    )
    include_fixed: bool = False


class SetQueueOrder(_Command):
    """Change the speaking order of the session's queues, or of one item's, live."""

    type: Literal["set_queue_order"] = "set_queue_order"
    order: str = Field(
        pattern=QUEUE_ORDER_PATTERN, description="fifo, first_time_first, tiers, tiers:N or alternate:TAG"
    )
    item: str | None = Field(default=None, max_length=64, description="one item only; default: the whole session")


class Undo(_Command):
    type: Literal["undo"] = "undo"
    force: bool = Field(
        default=False, description="undo an action older than ten minutes of event time (refused without it)"
    )


class Redo(_Command):
    """Bring back what the last undo in the session took back (until a new timing action there)."""

    type: Literal["redo"] = "redo"


# --- the plan edited live: items, sessions, people --------------------------------------------------
#
# An item goes after or before another item, or first (at most one of the three); with none, last. An
# edit changes only the fields it sends: a field sent as null (``turn_limit_s``, ``fixed_start``) clears it.

MAX_SPEAKERS = 200
MAX_TAGS = 20
_HHMM = r"^\d{1,2}:\d{2}$"
_ITEM_REF = Field(default=None, max_length=64)


class ItemAdd(_Command):
    type: Literal["item_add"] = "item_add"
    title: str = Field(min_length=1, max_length=300)
    duration_s: int = Field(ge=0, le=24 * 3600)
    kind: ItemKind = ItemKind.other
    speakers: tuple[str, ...] = Field(default=(), max_length=MAX_SPEAKERS, description="people on the roster, by id")
    turn_limit_s: int | None = Field(default=None, gt=0, le=24 * 3600)
    fixed_start: str | None = Field(default=None, pattern=_HHMM, description="HH:MM in the event's time zone")
    item_id: str | None = Field(
        default=None, pattern=ID_PATTERN, description="the new item's id; default: made from the title"
    )
    after: str | None = _ITEM_REF
    before: str | None = _ITEM_REF
    first: bool = False


class ItemEdit(_Command):
    type: Literal["item_edit"] = "item_edit"
    item: str = Field(max_length=64)
    title: str | None = Field(default=None, min_length=1, max_length=300)
    duration_s: int | None = Field(default=None, ge=0, le=24 * 3600)
    kind: ItemKind | None = None
    speakers: tuple[str, ...] | None = Field(default=None, max_length=MAX_SPEAKERS)
    turn_limit_s: int | None = Field(default=None, gt=0, le=24 * 3600, description="sent as null: no limit")
    fixed_start: str | None = Field(default=None, pattern=_HHMM, description="HH:MM; sent as null: none")


class ItemRemove(_Command):
    type: Literal["item_remove"] = "item_remove"
    item: str = Field(max_length=64)


class ItemMove(_Command):
    type: Literal["item_move"] = "item_move"
    item: str = Field(max_length=64)
    after: str | None = _ITEM_REF
    before: str | None = _ITEM_REF
    first: bool = False


class SessionAdd(_Command):
    type: Literal["session_add"] = "session_add"
    session_id: str = Field(pattern=ID_PATTERN, description="the new session's id")
    title: str = Field(min_length=1, max_length=300)
    start: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$", description="YYYY-MM-DDTHH:MM, local time")
    room: str = Field(default="", max_length=200)


class SessionEdit(_Command):
    """Edits the session the command names (``session``)."""

    type: Literal["session_edit"] = "session_edit"
    title: str | None = Field(default=None, min_length=1, max_length=300)
    start: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$")
    room: str | None = Field(default=None, max_length=200)


class PersonAdd(_Command):
    """A person on the roster; they get a speaker token, shown once in the ack to the moderator."""

    type: Literal["person_add"] = "person_add"
    name: str = Field(min_length=1, max_length=200)
    person_id: str | None = Field(default=None, pattern=ID_PATTERN, description="default: made from the name")
    affiliation: str = Field(default="", max_length=200)
    tags: dict[str, str] = Field(default_factory=dict, max_length=MAX_TAGS)


# --- written questions (``core/questions.py``) --------------------------------------------------------

_QUESTION = Field(max_length=64, description="the question's id (q1, q2, ...)")
_QUESTION_TEXT_BOUND = 2000  # the bound on the wire; the event's own max_length is checked in decide


class Ask(_Command):
    type: Literal["ask"] = "ask"
    text: str = Field(max_length=_QUESTION_TEXT_BOUND, description="up to the event's max_length")
    anonymous: bool = Field(default=False, description="asked without a name, when the event allows it")


class Vote(_Command):
    type: Literal["vote"] = "vote"
    question: str = _QUESTION


class Unvote(_Command):
    type: Literal["unvote"] = "unvote"
    question: str = _QUESTION


class QuestionApprove(_Command):
    type: Literal["question_approve"] = "question_approve"
    question: str = _QUESTION


class QuestionDismiss(_Command):
    type: Literal["question_dismiss"] = "question_dismiss"
    question: str = _QUESTION


class QuestionGoLive(_Command):
    type: Literal["question_live"] = "question_live"
    question: str | None = Field(
        default=None, max_length=64, description="default: the most-voted visible question of the session"
    )


class QuestionAnswer(_Command):
    type: Literal["question_answered"] = "question_answered"
    question: str = _QUESTION


class QuestionMerge(_Command):
    type: Literal["question_merge"] = "question_merge"
    question: str = _QUESTION
    into: str = Field(max_length=64, description="the question it duplicates")


class QuestionEdit(_Command):
    type: Literal["question_edit"] = "question_edit"
    question: str = _QUESTION
    text: str = Field(max_length=_QUESTION_TEXT_BOUND)


QUESTION_COMMANDS = frozenset(
    {
        "ask",
        "vote",
        "unvote",
        "question_approve",
        "question_dismiss",
        "question_live",
        "question_answered",
        "question_merge",
        "question_edit",
    }
)
# --- the stage displays: event-wide, for every display page and screen at once ---------------------------

MAX_FOCUS_TEXT = 80


class Blackout(_Command):
    """Black out the stage displays (``on``), or bring them back."""

    type: Literal["blackout"] = "blackout"
    on: bool = True


class Flash(_Command):
    """Flash the stage displays once, to catch a speaker's eye."""

    type: Literal["flash"] = "flash"


class Focus(_Command):
    """Show one text full-screen on the stage displays (such as "ON AIR" or "Wrap up"); none clears it."""

    type: Literal["focus"] = "focus"
    text: str | None = Field(default=None, max_length=MAX_FOCUS_TEXT)


Command = Annotated[
    Start
    | Pause
    | Resume
    | Next
    | Prev
    | Goto
    | Skip
    | AddTime
    | Extend
    | End
    | Raise
    | Lower
    | QueueAdd
    | QueueRemove
    | QueueMove
    | Floor
    | EndTurn
    | PauseTurn
    | ResumeTurn
    | SetTurnLimit
    | ClearQueue
    | CloseQueue
    | OpenQueue
    | SendMessage
    | Ack
    | ApplyPlan
    | SetQueueOrder
    | Undo
    | ItemAdd
    | ItemEdit
    | ItemRemove
    | ItemMove
    | SessionAdd
    | SessionEdit
    | PersonAdd
    | Redo
    | Ask
    | Vote
    | Unvote
    | QuestionApprove
    | QuestionDismiss
    | QuestionGoLive
    | QuestionAnswer
    | QuestionMerge
    | QuestionEdit
    | Blackout
    | Flash
    | Focus,
    Field(discriminator="type"),
]

# What each role may ask for beyond the moderator, who may ask for anything.
AUDIENCE_COMMANDS = frozenset({"raise", "lower", "ack"})
# A participant or speaker asks questions and votes for others'.
AUDIENCE_COMMANDS = AUDIENCE_COMMANDS | {"ask", "vote", "unvote"}
