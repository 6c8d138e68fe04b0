"""Agenda files (TOML and CSV) read into :class:`modconsole.core.agenda.Agenda`.

Every problem in a file becomes an :class:`AgendaError` naming the file, the place in it and the
field, so the organiser can fix the file before the meeting starts. Nothing partial is returned.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import tomllib
import unicodedata
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar, overload
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from modconsole.core.agenda import Agenda, ItemPlan, Person, SessionPlan, slug
from modconsole.core.durations import parse_duration

MAX_FILE_BYTES = 5 * 1024 * 1024
_TOO_BIG = "file larger than 5 MiB"
CSV_COLUMNS = ("session", "date", "start", "duration", "title", "kind", "speakers", "turn_limit")

# Model field -> the key people write in the file, so errors name what they can find.
_FILE_KEY = {
    "duration_s": "duration",
    "turn_limit_s": "turn_limit",
    "warning_s": "warning",
    "danger_s": "danger",
    "turn_hard_stop_s": "turn_hard_stop",
}

_TOP_KEYS = {"event", "people", "sessions"}
_EVENT_KEYS = {"title", "timezone", "warning", "danger", "turn_hard_stop"}
_PERSON_KEYS = {"id", "name", "affiliation", "tags"}
_SESSION_KEYS = {"id", "title", "start", "room", "items", "queue_order"}
_ITEM_KEYS = {
    "id",
    "title",
    "kind",
    "duration",
    "speakers",
    "turn_limit",
    "fixed_start",
    "warning",
    "danger",
    "queue_order",
    "turn_hard_stop",
}

_M = TypeVar("_M", bound=BaseModel)


class AgendaError(ValueError):
    """A problem in an agenda file; ``location`` is e.g. "line 12", "row 4" or "sessions[0].items[2]"."""

    def __init__(self, path: str, location: str, field: str | None, message: str) -> None:
        super().__init__(path, location, field, message)
        self.path = path
        self.location = location
        self.field = field
        self.message = message

    def __str__(self) -> str:
        where = self.location
        if self.field:
            where = f"{where} ({self.field})" if where else self.field
        return f"{self.path}: {where}: {self.message}" if where else f"{self.path}: {self.message}"


class _Bad(Exception):
    """Raised deep in the parsers, which do not know the path; turned into AgendaError at the top."""

    def __init__(self, location: str, field: str | None, message: str) -> None:
        super().__init__(location, field, message)
        self.location, self.field, self.message = location, field, message


# ---------------------------------------------------------------- public API


def load_agenda(path: str | Path) -> Agenda:
    name = str(path)
    suffix = Path(path).suffix.casefold()
    if suffix not in (".toml", ".csv"):
        raise AgendaError(name, "file", None, f"unsupported file type {suffix or '(none)'!r}; use .toml or .csv")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)  # never read more than the limit, however big the file
    except OSError as exc:
        raise AgendaError(name, "file", None, f"cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise AgendaError(name, "file", None, _TOO_BIG)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise AgendaError(name, f"line {line}", None, "not UTF-8 text (save the file as UTF-8)") from None
    if suffix == ".toml":
        return parse_toml_agenda(text, name)
    return parse_csv_agenda(text, name, title=Path(path).stem)


def parse_toml_agenda(text: str, path: str) -> Agenda:
    try:
        return _toml_agenda(_load_toml(_precheck(text)))
    except _Bad as bad:
        raise AgendaError(path, bad.location, bad.field, bad.message) from None


def parse_csv_agenda(text: str, path: str, *, title: str | None = None, timezone: str = "UTC") -> Agenda:
    try:
        return _csv_agenda(_precheck(text), Path(path).stem if title is None else title, timezone)
    except _Bad as bad:
        raise AgendaError(path, bad.location, bad.field, bad.message) from None


# ---------------------------------------------------------------- shared helpers


def _precheck(text: str) -> str:
    if len(text) > MAX_FILE_BYTES:
        raise _Bad("file", None, _TOO_BIG)
    text = text.removeprefix("\ufeff")  # callers may hand in text decoded without utf-8-sig
    if not text.strip():
        raise _Bad("file", None, "the file is empty")
    return text


def _model(cls: type[_M], where: str, data: dict[str, Any], field_map: dict[str, str] | None = None) -> _M:
    """Build one model, turning the first validation error into a _Bad at ``where``."""
    try:
        return cls(**data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err["loc"]
        field = None
        if loc:
            head = (field_map or _FILE_KEY).get(str(loc[0]), str(loc[0]))
            field = head + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[1:])
        message = err["msg"].removeprefix("Value error, ")
        if loc and isinstance(err.get("input"), str | int) and not isinstance(err["input"], bool):
            message += f" (got {_short(err['input'])})"
        raise _Bad(where, field, message) from None


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _duration(value: object, where: str, field: str) -> int:
    try:
        return parse_duration(value)
    except ValueError as exc:  # the message is written for users already
        raise _Bad(where, field, str(exc)) from None


def _zone(value: object, where: str, field: str) -> str:
    # Checked here as well as in Agenda because ZoneInfo raises OSError for keys such as
    # "America" (a directory) or very long names, which the model's validator lets through.
    if not isinstance(value, str):
        raise _Bad(where, field, f"expected a time zone name, got {_short(value)}")
    try:
        ZoneInfo(value)
    except (ValueError, KeyError, OSError):
        raise _Bad(
            where, field, f"unknown time zone {_short(value)} (use an IANA name such as 'Europe/Zurich')"
        ) from None
    return value


def _base_id(text: str, fallback: str = "item") -> str:
    # Strip accents first so "Medellín" becomes "medellin", not "medell-n". Text with no Latin
    # letters or digits at all (a Russian title) gets the fallback, numbered by _unique. slug()
    # cuts at 48 characters, which can leave a trailing "-".
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return slug(plain).rstrip("-") if re.search("[A-Za-z0-9]", plain) else fallback


def _unique(base: str, taken: set[str]) -> str:
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    taken.add(candidate)
    return candidate


# ---------------------------------------------------------------- TOML


def _load_toml(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = re.search(r"\(at line (\d+), column \d+\)$", message)
        location = f"line {found.group(1)}" if found else "end of file"
        raise _Bad(location, None, "TOML syntax: " + re.sub(r"\s*\(at [^)]*\)$", "", message)) from None
    except RecursionError:  # tomllib recurses once per level of nested arrays and tables
        raise _Bad("file", None, "TOML nested too deeply") from None


def _table(value: object, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(where, None, f"expected a table, got {_short(value)}")
    for key in value:
        if key not in allowed:
            hint = difflib.get_close_matches(key, allowed, n=1)
            known = f"did you mean {hint[0]!r}?" if hint else "expected one of " + ", ".join(sorted(allowed))
            raise _Bad(where, key, f"unknown key {key!r}; {known}")
    return value


def _tables(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _Bad(where, None, f"expected an array of tables, got {_short(value)}")
    return value


@overload
def _text(table: dict[str, Any], key: str, where: str, *, required: Literal[True] = True) -> str: ...
@overload
def _text(table: dict[str, Any], key: str, where: str, *, required: bool) -> str | None: ...
def _text(table: dict[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = table.get(key)
    if value is None:
        if required:
            raise _Bad(where, key, f"missing {key!r}")
        return None
    if not isinstance(value, str):
        raise _Bad(where, key, f"expected a string, got {_short(value)}")
    return value


def _toml_agenda(doc: dict[str, Any]) -> Agenda:
    _table(doc, "", _TOP_KEYS)
    if "event" not in doc:
        raise _Bad("event", None, "missing [event] table with title and timezone")
    event = _table(doc["event"], "event", _EVENT_KEYS)
    title = _text(event, "title", "event")
    if "timezone" not in event:
        raise _Bad("event", "timezone", "missing 'timezone' (an IANA name such as 'Asia/Seoul')")
    zone = _zone(event["timezone"], "event", "timezone")
    defaults = {
        f"{key}_s": _duration(event[key], "event", key)
        for key in ("warning", "danger", "turn_hard_stop")
        if key in event
    }

    people: list[Person] = []
    ids: set[str] = set()
    for index, raw in enumerate(_tables(doc.get("people", []), "people")):
        where = f"people[{index}]"
        entry = _table(raw, where, _PERSON_KEYS)
        person_id = _text(entry, "id", where)
        if person_id in ids:
            raise _Bad(where, "id", f"duplicate person id {person_id!r}")
        ids.add(person_id)
        people.append(_model(Person, where, entry))

    raw_sessions = _tables(doc.get("sessions", []), "sessions")
    if not raw_sessions:
        raise _Bad("", "sessions", "no [[sessions]]; an agenda needs at least one session")
    tables = [_table(raw, f"sessions[{i}]", _SESSION_KEYS) for i, raw in enumerate(raw_sessions)]
    session_ids = _assign_ids(tables, "sessions", "session")
    sessions = [_toml_session(table, f"sessions[{i}]", session_ids[i], ids, defaults) for i, table in enumerate(tables)]
    return _model(Agenda, "event", {"title": title, "timezone": zone, "people": people, "sessions": sessions})


def _assign_ids(tables: list[dict[str, Any]], prefix: str, noun: str) -> list[str]:
    """Ids as written, else the slug of the title made unique; written ids are claimed first."""
    taken: set[str] = set()
    for i, table in enumerate(tables):
        given = _text(table, "id", f"{prefix}[{i}]", required=False)
        if given is not None:
            if given in taken:
                raise _Bad(f"{prefix}[{i}]", "id", f"duplicate {noun} id {given!r}")
            taken.add(given)
    ids = []
    for i, table in enumerate(tables):
        given = table.get("id")
        ids.append(given if given is not None else _unique(_base_id(_text(table, "title", f"{prefix}[{i}]")), taken))
    return ids


def _toml_session(
    table: dict[str, Any], where: str, session_id: str, people: set[str], defaults: dict[str, int]
) -> SessionPlan:
    title = _text(table, "title", where)
    if "start" not in table:
        raise _Bad(where, "start", "missing 'start' (e.g. start = 2020-03-27T23:15:00)")
    start = _start(table["start"], where)
    if "items" not in table:
        raise _Bad(where, "items", "a session needs at least one [[sessions.items]]")
    raw_items = _tables(table["items"], f"{where}.items")
    items = [_table(raw, f"{where}.items[{j}]", _ITEM_KEYS) for j, raw in enumerate(raw_items)]
    item_ids = _assign_ids(items, f"{where}.items", "item")
    plans = [_toml_item(item, f"{where}.items[{j}]", item_ids[j], people, defaults) for j, item in enumerate(items)]
    data = {"id": session_id, "title": title, "start": start, "items": plans}
    if "room" in table:
        data["room"] = table["room"]
    if "queue_order" in table:
        data["queue_order"] = table["queue_order"]
    return _model(SessionPlan, where, data)


def _start(value: object, where: str) -> datetime:
    if isinstance(value, str):
        value = _parse(value.strip().replace("T", " ", 1), ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"), where, "start")
    if not isinstance(value, datetime):
        raise _Bad(where, "start", f"expected a local date and time such as 2020-03-27T23:15:00, got {_short(value)}")
    if value.tzinfo is not None:
        raise _Bad(where, "start", "write the start as local time in the event's time zone, without an offset")
    return value


def _toml_item(table: dict[str, Any], where: str, item_id: str, people: set[str], defaults: dict[str, int]) -> ItemPlan:
    if "duration" not in table:
        raise _Bad(where, "duration", "missing 'duration' (e.g. \"5m\")")
    data: dict[str, Any] = {"id": item_id, "title": _text(table, "title", where)}
    data["duration_s"] = _duration(table["duration"], where, "duration")
    for key in ("turn_limit", "warning", "danger", "turn_hard_stop"):
        if key in table:
            data[f"{key}_s"] = _duration(table[key], where, key)
    for key, value in defaults.items():
        data.setdefault(key, value)
    if "kind" in table:
        data["kind"] = table["kind"]
    if "queue_order" in table:
        data["queue_order"] = table["queue_order"]
    if "fixed_start" in table:
        fixed = table["fixed_start"]
        if not isinstance(fixed, time) or fixed.tzinfo is not None:
            raise _Bad(where, "fixed_start", f"expected a local time such as 14:00:00, got {_short(fixed)}")
        data["fixed_start"] = fixed
    speakers = table.get("speakers", [])
    if not isinstance(speakers, list) or not all(isinstance(s, str) for s in speakers):
        raise _Bad(where, "speakers", f"expected a list of person ids, got {_short(speakers)}")
    for speaker in speakers:
        if speaker not in people:
            raise _Bad(where, "speakers", f"unknown person {speaker!r} (not in [[people]])")
    data["speakers"] = speakers
    return _model(ItemPlan, where, data)


# ---------------------------------------------------------------- CSV

_CSV_FIELD = {"duration_s": "duration", "turn_limit_s": "turn_limit", "id": "title"}


def _csv_agenda(text: str, title: str, timezone: str) -> Agenda:
    # strict: an unterminated quote is an error, not a title that swallows the rest of the file.
    rows = csv.reader(io.StringIO(text, newline=""), strict=True)
    number = 0
    try:
        header = [name.strip().casefold() for name in next(rows)]
        number = 1
        missing = [name for name in CSV_COLUMNS if name not in header]
        if missing:
            raise _Bad("row 1", None, "missing column(s): " + ", ".join(missing))
        unknown = [name for name in header if name not in CSV_COLUMNS]
        if unknown:  # a misspelt optional column would otherwise be ignored
            raise _Bad("row 1", None, "unknown column(s): " + ", ".join(unknown))
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:
            raise _Bad("row 1", None, "repeated column(s): " + ", ".join(repeated))
        builder = _CsvSessions()
        for number, record in enumerate(rows, start=2):
            if any(cell.strip() for cell in record):
                builder.add(f"row {number}", _csv_row(header, record, number))
    except csv.Error as exc:
        raise _Bad(f"row {number + 1}", None, f"CSV syntax: {exc}") from None
    if not builder.sessions:
        raise _Bad("row 2", None, "no items after the header")
    zone = _zone(timezone, "event", "timezone")
    return _model(
        Agenda,
        "event",
        {
            "title": title,
            "timezone": zone,
            "people": list(builder.people.values()),
            "sessions": [_model(SessionPlan, where, data) for where, data in builder.sessions.values()],
        },
    )


def _csv_row(header: list[str], record: list[str], number: int) -> dict[str, str]:
    if len(record) > len(header) and any(cell.strip() for cell in record[len(header) :]):
        raise _Bad(f"row {number}", None, f"{len(record)} fields but the header has {len(header)}")
    cells = [cell.strip() for cell in record] + [""] * (len(header) - len(record))
    return dict(zip(header, cells, strict=False))


class _CsvSessions:
    """Groups rows into sessions, keeping each session's running planned time for fixed starts."""

    def __init__(self) -> None:
        self.people: dict[str, Person] = {}  # by name as written
        self.sessions: dict[str, tuple[str, dict[str, Any]]] = {}  # by session value
        self._cursor: dict[str, datetime] = {}
        self._item_ids: dict[str, set[str]] = {}
        self._session_ids: set[str] = set()
        self._person_ids: set[str] = set()

    def add(self, where: str, row: dict[str, str]) -> None:
        name = row["session"]
        if not name:
            raise _Bad(where, "session", "missing session name")
        day = _csv_date(row["date"], where) if row["date"] else None
        start = _csv_time(row["start"], where) if row["start"] else None
        if name not in self.sessions:
            if day is None or start is None:
                raise _Bad(
                    where,
                    "date" if day is None else "start",
                    "the first row of a session needs date and start",
                )
            session_start = datetime.combine(day, start)
            new_session: dict[str, Any] = {
                "id": _unique(_base_id(name, "session"), self._session_ids),
                "title": name,
                "start": session_start,
                "items": [],
            }
            self.sessions[name] = (where, new_session)
            self._cursor[name] = session_start
            self._item_ids[name] = set()
        session = self.sessions[name][1]
        item: dict[str, Any] = {"title": row["title"], "kind": row["kind"] or "other"}
        if day is not None and day != session["start"].date():
            raise _Bad(where, "date", f"a session keeps to one day; this session is on {session['start'].date()}")
        if start is not None and session["items"]:
            planned = datetime.combine(session["start"].date(), start)
            if planned < self._cursor[name]:
                raise _Bad(
                    where,
                    "start",
                    f"starts at {start:%H:%M} but the rows before it run until {self._cursor[name]:%H:%M}",
                )
            if planned > self._cursor[name]:
                item["fixed_start"] = start
                self._cursor[name] = planned
        if not row["duration"]:
            raise _Bad(where, "duration", "missing duration")
        item["duration_s"] = _duration(row["duration"], where, "duration")
        if row["turn_limit"]:
            item["turn_limit_s"] = _duration(row["turn_limit"], where, "turn_limit")
        item["speakers"] = [self._person(speaker, where) for speaker in _split(row["speakers"])]
        item["id"] = _unique(_base_id(row["title"]), self._item_ids[name])
        try:
            self._cursor[name] += timedelta(seconds=item["duration_s"])
        except OverflowError:  # only a session that starts late in the year 9999 gets here
            raise _Bad(where, "duration", "the session runs past the year 9999") from None
        session["items"].append(_model(ItemPlan, where, item, field_map=_CSV_FIELD))

    def _person(self, name: str, where: str) -> str:
        if name not in self.people:
            person_id = _unique(_base_id(name, "person"), self._person_ids)
            data = {"id": person_id, "name": name}
            self.people[name] = _model(Person, where, data, field_map={"name": "speakers", "id": "speakers"})
        return self.people[name].id


def _split(cell: str) -> list[str]:
    """Speaker names from "A; B; A" -> ["A", "B"]: a name listed twice is one person."""
    return list(dict.fromkeys(part.strip() for part in cell.split(";") if part.strip()))


def _csv_date(value: str, where: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _Bad(where, "date", f"not a date: {_short(value)} (write 2020-03-27)") from None


def _csv_time(value: str, where: str) -> time:
    return _parse(value, ("%H:%M", "%H:%M:%S"), where, "start").time()


def _parse(value: str, formats: tuple[str, ...], where: str, field: str) -> datetime:
    for fmt in formats:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            pass
    example = datetime(2020, 3, 27, 23, 15).strftime(formats[0])
    raise _Bad(where, field, f"not a valid {field}: {_short(value)} (write e.g. {example})")


__all__ = ["MAX_FILE_BYTES", "AgendaError", "load_agenda", "parse_csv_agenda", "parse_toml_agenda"]
