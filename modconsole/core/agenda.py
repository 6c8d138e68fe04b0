"""The planned programme: event, people, sessions and items.

An agenda is data only. Reading it from TOML or CSV files lives outside the
core (modconsole.agenda_files); this module defines the shape and the checks
that hold whatever the source.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Letters and digits of any script, then also "_", ".", ":" and "-": an id written in an agenda file may be
# "доклад-1"; ids the loaders make from names and titles are Latin (transliterated).
ID_PATTERN = r"^[^\W_][\w.:-]{0,63}$"
# The speaking orders a queue may have (core/queue_order.py says what each means).
QUEUE_ORDER_PATTERN = r"^(fifo|first_time_first|tiers(:([1-9]|1[0-9]|20))?|alternate:[A-Za-z0-9_.-]{1,32})$"
_ID = re.compile(ID_PATTERN)

# Phase thresholds used when an item sets none: the timer turns to
# "warning" with two minutes left and to "danger" with thirty seconds left.
DEFAULT_WARNING_S = 120
DEFAULT_DANGER_S = 30

MAX_PEOPLE = 20_000
MIN_YEAR, MAX_YEAR = 1970, 2999  # beyond these, a typo; and times must stay within the epoch's range
MAX_SESSIONS = 500
MAX_ITEMS = 500


class ItemKind(StrEnum):
    opening = "opening"
    talk = "talk"
    panel = "panel"
    discussion = "discussion"
    qa = "qa"
    break_ = "break"
    closing = "closing"
    other = "other"


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # validator built on first use

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    affiliation: str = Field(default="", max_length=200)
    tags: dict[str, str] = Field(default_factory=dict)
    participant: bool = False  # self-declared member of the audience, not on the roster


class ItemPlan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # validator built on first use

    id: str = Field(pattern=ID_PATTERN)
    title: str = Field(min_length=1, max_length=300)
    kind: ItemKind = ItemKind.other
    duration_s: int = Field(ge=0, le=14 * 24 * 3600)
    fixed_start: time | None = None
    speakers: tuple[str, ...] = ()
    turn_limit_s: int | None = Field(default=None, gt=0)
    # The grace after the turn limit at which the clock ends a turn (``turn_hard_stop``); None: it never does.
    turn_hard_stop_s: int | None = Field(default=None, ge=0, le=24 * 3600)
    warning_s: int = Field(default=DEFAULT_WARNING_S, ge=0)
    danger_s: int = Field(default=DEFAULT_DANGER_S, ge=0)
    tags: dict[str, str] = Field(default_factory=dict)  # e.g. a schedule's track and type, kept as written
    # The speaking order of the item's queue (core/queue_order.py); None: the session's.
    queue_order: str | None = Field(default=None, pattern=QUEUE_ORDER_PATTERN)


class SessionPlan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # validator built on first use

    id: str = Field(pattern=ID_PATTERN)
    title: str = Field(min_length=1, max_length=300)
    start: datetime  # local time in the event's zone, naive
    room: str = Field(default="", max_length=200)
    # No default: a file must list a session's items. A session added live starts with none.
    items: tuple[ItemPlan, ...] = Field(max_length=MAX_ITEMS)
    # The speaking order of its items' queues (core/queue_order.py); None: first come, first served.
    queue_order: str | None = Field(default=None, pattern=QUEUE_ORDER_PATTERN)

    @field_validator("start")
    @classmethod
    def _naive(cls, value: datetime) -> datetime:
        if value.tzinfo is not None:
            raise ValueError("write the start as local time in the event's time zone, without an offset")
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            raise ValueError(f"the start's year must lie between {MIN_YEAR} and {MAX_YEAR}")
        return value

    @model_validator(mode="after")
    def _unique_items(self) -> SessionPlan:
        seen: set[str] = set()
        for item in self.items:
            if item.id in seen:
                raise ValueError(f"duplicate item id {item.id!r} in session {self.id!r}")
            seen.add(item.id)
        return self

    def item_index(self, item_id: str) -> int | None:
        for index, item in enumerate(self.items):
            if item.id == item_id:
                return index
        return None


class QuestionSettings(BaseModel):
    """``[event] questions = { moderated = true, anonymous = true, max_length = 280 }``."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    moderated: bool = False  # a question waits (pending) until a moderator approves it
    anonymous: bool = False  # a question may be asked without a name
    max_length: int = Field(default=280, ge=1, le=2000)


class Agenda(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # validator built on first use

    title: str = Field(min_length=1, max_length=300)
    timezone: str
    people: tuple[Person, ...] = Field(default=(), max_length=MAX_PEOPLE)
    sessions: tuple[SessionPlan, ...] = Field(min_length=1, max_length=MAX_SESSIONS)
    questions: QuestionSettings = Field(default_factory=QuestionSettings)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as 'Europe/Zurich')") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Agenda:
        people = set()
        for person in self.people:
            if person.id in people:
                raise ValueError(f"duplicate person id {person.id!r}")
            people.add(person.id)
        sessions = set()
        for session in self.sessions:
            if session.id in sessions:
                raise ValueError(f"duplicate session id {session.id!r}")
            sessions.add(session.id)
            for item in session.items:
                for speaker in item.speakers:
                    if speaker not in people:
                        raise ValueError(f"item {item.id!r} in session {session.id!r} names unknown person {speaker!r}")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def session(self, session_id: str) -> SessionPlan | None:
        for session in self.sessions:
            if session.id == session_id:
                return session
        return None

    def person(self, person_id: str) -> Person | None:
        for person in self.people:
            if person.id == person_id:
                return person
        return None


def local_to_ms(value: datetime, zone: ZoneInfo) -> int:
    """A naive local time in ``zone`` as epoch milliseconds."""
    return int(value.replace(tzinfo=zone).timestamp() * 1000)


def ms_to_local(ms: int, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=zone)


def fixed_start_ms(fixed: time, session_start: datetime, zone: ZoneInfo) -> int:
    """A fixed start time of day as epoch ms: its first occurrence at or after the session's
    start, so a session that runs past midnight can hold a fixed start after midnight."""
    day = session_start.date()
    if fixed < session_start.time():
        day += timedelta(days=1)
    return local_to_ms(datetime.combine(day, fixed), zone)


def planned_schedule(session: SessionPlan, zone: ZoneInfo) -> list[int]:
    """Planned start of every item (epoch ms), fixed starts honoured, then the planned end."""
    cursor = local_to_ms(session.start, zone)
    starts: list[int] = []
    for item in session.items:
        if item.fixed_start is not None:
            cursor = max(cursor, fixed_start_ms(item.fixed_start, session.start, zone))
        starts.append(cursor)
        cursor += item.duration_s * 1000
    starts.append(cursor)
    return starts


def is_valid_id(value: str) -> bool:
    return bool(_ID.match(value))


def slug(text: str) -> str:
    """An id made from free text ("Q&A with the audience" -> "q-a-with-the-audience")."""
    out = re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")
    return (out or "item")[:48]


def unique_id(text: str, taken: set[str] | frozenset[str], fallback: str = "item") -> str:
    """A readable id made from free text that none of ``taken`` has: its slug, else the slug with "-2",
    "-3"... added ("Any other business" -> "any-other-business", then "any-other-business-2")."""
    base = re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")[:48].strip("-") or fallback
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


__all__ = [
    "Agenda",
    "ItemKind",
    "ItemPlan",
    "Person",
    "SessionPlan",
    "fixed_start_ms",
    "local_to_ms",
    "ms_to_local",
    "planned_schedule",
    "slug",
    "unique_id",
]
