"""What every agenda reader shares: the error type that lists a file's problems, the collector that finds
them all in one pass, durations, time zones, kinds, and readable ids made from text in any script."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, TypeVar

import iuliia
from anyascii import anyascii
from pydantic import BaseModel, ValidationError

from modconsole.core.agenda import ItemKind, slug
from modconsole.core.durations import parse_duration

MAX_FILE_BYTES = 5 * 1024 * 1024
TOO_BIG = "file larger than 5 MiB"
MAX_PROBLEMS = 50  # listed in one AgendaError; the rest are counted
MAX_GAP = timedelta(hours=12)  # the longest wait before a fixed start in TOML and CSV
MAX_DURATION_S = 14 * 24 * 3600  # as ItemPlan allows: a longer item is a mistake in the file

# Model field -> the key people write in the file, so errors name what they can find.
FILE_KEY = {
    "duration_s": "duration",
    "turn_limit_s": "turn_limit",
    "warning_s": "warning",
    "danger_s": "danger",
    "turn_hard_stop_s": "turn_hard_stop",
}

_M = TypeVar("_M", bound=BaseModel)
_T = TypeVar("_T")


@dataclass(frozen=True)
class Problem:
    location: str
    field: str | None
    message: str

    def describe(self) -> str:
        where = self.location
        if self.field:
            where = f"{where} ({self.field})" if where else self.field
        return f"{where}: {self.message}" if where else self.message


class AgendaError(ValueError):
    """The problems in an agenda file, every one found in one reading (up to MAX_PROBLEMS listed).

    ``location`` (e.g. "line 12", "row 4", "sessions[0].items[2]"), ``field`` and ``message`` are the first
    problem's; ``problems`` holds them all and ``more`` counts those left off the list."""

    def __init__(
        self,
        path: str,
        location: str,
        field: str | None,
        message: str,
        *,
        problems: tuple[Problem, ...] = (),
        more: int = 0,
    ) -> None:
        super().__init__(path, location, field, message)
        self.path = path
        self.location = location
        self.field = field
        self.message = message
        self.problems = problems or (Problem(location, field, message),)
        self.more = more

    def __str__(self) -> str:
        lines = [f"{self.path}: {problem.describe()}" for problem in self.problems]
        if self.more:
            lines.append(f"{self.path}: ... and {self.more} more problem(s)")
        return "\n".join(lines)


class Bad(Exception):
    """One problem, raised deep in the readers, which do not know the path; made an AgendaError at the top."""

    def __init__(self, location: str, field: str | None, message: str) -> None:
        super().__init__(location, field, message)
        self.location, self.field, self.message = location, field, message


class ManyBad(Exception):
    def __init__(self, problems: list[Problem], more: int) -> None:
        super().__init__(problems, more)
        self.problems, self.more = problems, more


class Problems:
    """Collects problems so a reader goes on to the next row, event or item after one is found."""

    def __init__(self, limit: int = MAX_PROBLEMS) -> None:
        self.found: list[Problem] = []
        self.more = 0
        self._limit = limit

    def add(self, bad: Bad) -> None:
        if len(self.found) < self._limit:
            self.found.append(Problem(bad.location, bad.field, bad.message))
        else:
            self.more += 1

    def attempt(self, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T | None:
        try:
            return fn(*args, **kwargs)
        except Bad as bad:
            self.add(bad)
            return None

    @contextmanager
    def each(self) -> Iterator[None]:
        """``with problems.each():`` around one unit of the file: a Bad in it is noted, and the reading goes on."""
        try:
            yield
        except Bad as bad:
            self.add(bad)

    def __bool__(self) -> bool:
        return bool(self.found)

    def check(self) -> None:
        if self.found:
            raise ManyBad(self.found, self.more)


def as_agenda_error(path: str, exc: Bad | ManyBad) -> AgendaError:
    if isinstance(exc, Bad):
        return AgendaError(path, exc.location, exc.field, exc.message)
    first = exc.problems[0]
    return AgendaError(path, first.location, first.field, first.message, problems=tuple(exc.problems), more=exc.more)


def precheck(text: str) -> str:
    if len(text) > MAX_FILE_BYTES:
        raise Bad("file", None, TOO_BIG)
    text = text.removeprefix("\ufeff")  # callers may hand in text decoded without utf-8-sig
    if not text.strip():
        raise Bad("file", None, "the file is empty")
    return text


def short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def model(cls: type[_M], where: str, data: dict[str, Any], field_map: dict[str, str] | None = None) -> _M:
    """Build one model, turning the first validation error into a Bad at ``where``."""
    try:
        return cls(**data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err["loc"]
        field = None
        if loc:
            head = (field_map or FILE_KEY).get(str(loc[0]), str(loc[0]))
            field = head + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[1:])
        message = err["msg"].removeprefix("Value error, ")
        if loc and isinstance(err.get("input"), str | int) and not isinstance(err["input"], bool):
            message += f" (got {short(err['input'])})"
        raise Bad(where, field, message) from None


def duration(value: object, where: str, field: str) -> int:
    try:
        seconds = parse_duration(value)
    except ValueError as exc:  # the message is written for users already
        raise Bad(where, field, str(exc)) from None
    if seconds > MAX_DURATION_S:
        raise Bad(where, field, f"{short(value)} is longer than two weeks")
    return seconds


def zone(value: object, where: str, field: str) -> str:
    # Checked here as well as in Agenda because ZoneInfo raises OSError for keys such as
    # "America" (a directory) or very long names, which the model's validator lets through.
    from zoneinfo import ZoneInfo

    if not isinstance(value, str):
        raise Bad(where, field, f"expected a time zone name, got {short(value)}")
    try:
        ZoneInfo(value)
    except (ValueError, KeyError, OSError):
        raise Bad(
            where, field, f"unknown time zone {short(value)} (use an IANA name such as 'Europe/Zurich')"
        ) from None
    return value


# ---------------------------------------------------------------- ids from text in any script

_CYRILLIC = re.compile("[\u0400-\u04ff\u0500-\u052f]")
_APOSTROPHES = re.compile("['’ʼʹʺ`\"]")


def latin(text: str) -> str:
    """Text in Latin letters: Cyrillic by the Russian passport's rules (ICAO Doc 9303, "Ольга" -> "Olga",
    "первый" -> "pervyi"), every other script by anyascii ("서울" -> "SeoUl", "Medellín" -> "Medellin")."""
    text = unicodedata.normalize("NFC", text)
    if _CYRILLIC.search(text):
        text = iuliia.ICAO_DOC_9303.translate(text)
    return _APOSTROPHES.sub("", anyascii(text))


def readable_id(text: str, fallback: str = "item") -> str:
    """A readable Latin id from a name or title in any script; the fallback when nothing is left of it.
    slug() cuts at 48 characters, which can leave a trailing "-"."""
    plain = latin(text)
    return slug(plain).rstrip("-") if re.search("[A-Za-z0-9]", plain) else fallback


def unmet_fixed_start(session_start: datetime, cursor: datetime, fixed: time) -> str | None:
    """Why a fixed start cannot be met, or None: it is taken at its first time at or after the session's start
    (as the core plans it), and the items before it must end by then. TOML and CSV refuse alike."""
    day = session_start.date()
    if fixed < session_start.time():
        day += timedelta(days=1)
    at = datetime.combine(day, fixed)
    if at < cursor:
        return f"starts at {fixed:%H:%M} but the items before it run until {cursor:%H:%M}"
    if at - cursor > MAX_GAP:  # an hour before the session's start read as the next morning: a slip
        return (
            f"starts at {fixed:%H:%M}, {(at - cursor) // timedelta(hours=1)} hours after the items before it end "
            f"({cursor:%H:%M}); a time after midnight continues an evening session only"
        )
    return None


def unique(base: str, taken: set[str]) -> str:
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    taken.add(candidate)
    return candidate


# ---------------------------------------------------------------- kinds from a schedule's type and track

# Words in a type or track (any case) that say which kind an item is; the first kind found wins.
_KIND_WORDS: tuple[tuple[ItemKind, tuple[str, ...]], ...] = (
    (ItemKind.break_, ("break", "pause", "lunch", "coffee", "dinner", "перерыв", "обед", "кофе")),
    (ItemKind.opening, ("opening", "welcome", "eröffnung", "открытие", "приветств")),
    (ItemKind.closing, ("closing", "abschluss", "закрытие")),
    (ItemKind.panel, ("panel", "podium", "панель")),
    (ItemKind.qa, ("q&a", "q & a", "questions", "вопрос")),
    (ItemKind.discussion, ("discussion", "debate", "diskussion", "round table", "roundtable", "дискусс")),
    (ItemKind.talk, ("talk", "lecture", "keynote", "vortrag", "presentation", "доклад", "лекци")),
)


def kind_of(*words: str) -> ItemKind:
    """The kind a schedule's type, then track, names ("Lightning Talk" -> talk); "other" if none does."""
    for word in words:
        lowered = word.casefold().strip()
        if not lowered:
            continue
        if lowered in ItemKind._value2member_map_:
            return ItemKind(lowered)
        for kind, keys in _KIND_WORDS:
            if any(key in lowered.replace("breakout", "") for key in keys):  # a breakout session is no break
                return kind
    return ItemKind.other


__all__ = [
    "MAX_FILE_BYTES",
    "MAX_PROBLEMS",
    "AgendaError",
    "Bad",
    "ManyBad",
    "Problem",
    "Problems",
    "as_agenda_error",
    "duration",
    "kind_of",
    "latin",
    "model",
    "precheck",
    "readable_id",
    "short",
    "unique",
    "unmet_fixed_start",
    "zone",
]
