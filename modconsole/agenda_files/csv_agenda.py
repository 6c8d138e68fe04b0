"""The spreadsheet agenda: one row per item, sessions by name, people by name (or from a people file).

Before the header, rows whose first cell starts with ``#`` are directives: ``#title`` and ``#timezone``
with the value in the next cell (or after a colon in the same cell). The separator is found from the
header: ``,``, ``;`` (as Russian or French Excel writes it) or a tab. Every row is checked, and one
reading lists every problem in the file."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from modconsole.core.agenda import Agenda, ItemPlan, Person, SessionPlan

from ._base import (
    Bad,
    ManyBad,
    Problems,
    as_agenda_error,
    duration,
    model,
    precheck,
    readable_id,
    short,
    unique,
    unmet_fixed_start,
    zone,
)
from .toml_agenda import parse_local

CSV_COLUMNS = ("session", "date", "start", "duration", "title", "kind", "speakers", "turn_limit")
OPTIONAL_COLUMNS = (
    "room",
    "fixed_start",
    "speaker_affiliations",
    "id",
    "session_id",
    "warning",
    "danger",
    "turn_hard_stop",
    "tags",
)
PEOPLE_COLUMNS = ("name", "id", "affiliation")  # any other column of a people file is a tag
DIRECTIVES = ("title", "timezone")
SEPARATORS = (",", ";", "\t")

_CSV_FIELD = {
    "duration_s": "duration",
    "turn_limit_s": "turn_limit",
    "warning_s": "warning",
    "danger_s": "danger",
    "turn_hard_stop_s": "turn_hard_stop",
}
_CLOCK = re.compile(r"^\s*(\d{1,3}):([0-5]\d)(?::([0-5]\d))?\s*$")


def clock_duration(value: str, where: str, field: str) -> int:
    """A duration as "1:30" (h:mm) or "1:30:00" (h:mm:ss), else as "90s", "5m", "1h30m" or minutes."""
    found = _CLOCK.match(value)
    if found:
        hours, minutes, seconds = (int(part or 0) for part in found.groups())
        return duration(f"{hours}h{minutes}m{seconds}s", where, field)
    return duration(value, where, field)


def parse_csv_agenda(
    text: str,
    path: str,
    *,
    title: str | None = None,
    timezone: str | None = None,
    people: str | None = None,
    people_path: str = "people.csv",
) -> Agenda:
    """``title`` and ``timezone`` (from the command line) win over the file's directives; without either the
    title is the file's name and the zone UTC. ``people`` is the text of a people file, if one is given."""
    roster: list[Person] = []
    if people is not None:
        try:
            roster = _people(precheck(people))
        except (Bad, ManyBad) as bad:
            raise as_agenda_error(people_path, bad) from None
    try:
        default_title = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        return _csv_agenda(precheck(text), title, timezone, default_title, roster)
    except (Bad, ManyBad) as bad:
        raise as_agenda_error(path, bad) from None


def separator(text: str) -> str:
    """The separator of the first row that is not a directive: the one of , ; or tab it holds most of."""
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            counts = {sep: _outside_quotes(line).count(sep) for sep in SEPARATORS}
            best = max(SEPARATORS, key=lambda sep: counts[sep])
            return best if counts[best] else ","
    return ","


def _outside_quotes(line: str) -> str:
    return re.sub(r'"[^"]*"', "", line)


def _rows(text: str) -> list[tuple[int, list[str]]]:
    # strict: an unterminated quote is an error, not a title that swallows the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator(text), strict=True)
    rows: list[tuple[int, list[str]]] = []
    try:
        for record in reader:
            rows.append((reader.line_num, record))
    except csv.Error as exc:
        raise Bad(f"row {len(rows) + 1}", None, f"CSV syntax: {exc}") from None
    return rows


def _header(record: list[str], where: str, required: tuple[str, ...], optional: tuple[str, ...] | None) -> list[str]:
    header = [name.strip().casefold() for name in record]
    missing = [name for name in required if name not in header]
    if missing:
        raise Bad(where, None, "missing column(s): " + ", ".join(missing))
    if optional is not None:
        unknown = [name for name in header if name not in required and name not in optional]
        if unknown:  # a misspelt optional column would otherwise be ignored
            raise Bad(where, None, "unknown column(s): " + ", ".join(unknown))
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise Bad(where, None, "repeated column(s): " + ", ".join(repeated))
    return header


# What a spreadsheet takes as the start of a formula (OWASP, "CSV injection"): the export writes such a cell
# behind a single quote, and the reader takes one quote off again (also off a quote the export doubled).
FORMULA_START = ("=", "+", "-", "@")


def guard_cell(value: str) -> str:
    """A cell as the export writes it: never run as a formula when the file is opened in a spreadsheet."""
    return "'" + value if value.lstrip("'").startswith(FORMULA_START) else value


def unguard_cell(value: str) -> str:
    """A cell as ``guard_cell`` wrote it, read back."""
    return value[1:] if value.startswith("'") and value.lstrip("'").startswith(FORMULA_START) else value


def _cells(header: list[str], record: list[str], where: str) -> dict[str, str]:
    if len(record) > len(header) and any(cell.strip() for cell in record[len(header) :]):
        raise Bad(where, None, f"{len(record)} fields but the header has {len(header)}")
    cells = [unguard_cell(cell.strip()) for cell in record] + [""] * (len(header) - len(record))
    return dict(zip(header, cells, strict=False))


def _directive(record: list[str], where: str) -> tuple[str, str]:
    head = record[0].strip().removeprefix("#").strip()
    key, _, rest = head.partition(":") if ":" in head else head.partition("=")
    key = key.strip().casefold()
    value = unguard_cell(rest.strip() or next((cell.strip() for cell in record[1:] if cell.strip()), ""))
    if key not in DIRECTIVES:
        raise Bad(where, None, f"unknown directive {short(key)}; expected #title or #timezone")
    if not value:
        raise Bad(where, key, f"#{key} needs a value in the next cell")
    return key, value


def _csv_agenda(text: str, title: str | None, timezone: str | None, default_title: str, roster: list[Person]) -> Agenda:
    rows = _rows(text)
    directives: dict[str, str] = {}
    index = 0
    while index < len(rows) and (not any(c.strip() for c in rows[index][1]) or rows[index][1][0].lstrip()[:1] == "#"):
        number, record = rows[index]
        if any(c.strip() for c in record):
            key, value = _directive(record, f"row {number}")
            directives[key] = value
        index += 1
    if index == len(rows):
        raise Bad("row 1", None, "no header row")
    number, record = rows[index]
    header = _header(record, f"row {number}", CSV_COLUMNS, OPTIONAL_COLUMNS)
    zone_name = zone(timezone or directives.get("timezone", "UTC"), "event", "timezone")
    problems = Problems()
    builder = _CsvSessions(roster)
    for number, record in rows[index + 1 :]:
        if any(cell.strip() for cell in record):
            where = f"row {number}"
            with problems.each():
                builder.add(where, _cells(header, record, where))
    problems.check()
    if not builder.sessions:
        raise Bad(f"row {number + 1}", None, "no items after the header")
    return model(
        Agenda,
        "event",
        {
            "title": title or directives.get("title") or default_title,
            "timezone": zone_name,
            "people": builder.people,
            "sessions": [model(SessionPlan, session.where, session.data()) for session in builder.sessions.values()],
        },
    )


@dataclass
class _Session:
    where: str
    id: str
    title: str
    start: datetime
    room: str
    cursor: datetime
    items: list[ItemPlan] = field(default_factory=list)
    item_ids: set[str] = field(default_factory=set)

    def data(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "start": self.start, "room": self.room, "items": self.items}


class _CsvSessions:
    """Groups rows into sessions, keeping each session's running planned time for fixed starts."""

    def __init__(self, roster: list[Person]) -> None:
        self.people: list[Person] = list(roster)
        self._by_name: dict[str, int] = {}
        self._by_id: dict[str, int] = {}
        for index, person in enumerate(self.people):
            self._by_name.setdefault(person.name.casefold(), index)
            self._by_id[person.id] = index
        self._person_ids: set[str] = set(self._by_id)
        self.sessions: dict[str, _Session] = {}  # by session value
        self._session_ids: set[str] = set()

    def add(self, where: str, row: dict[str, str]) -> None:
        name = row["session"]
        if not name:
            raise Bad(where, "session", "missing session name")
        day = _csv_date(row["date"], where) if row["date"] else None
        start = _csv_time(row["start"], where, "start") if row["start"] else None
        fixed = _csv_time(row["fixed_start"], where, "fixed_start") if row.get("fixed_start") else None
        key = row.get("session_id") or name  # rows with a session_id go by it: two sessions may share a title
        session = self.sessions.get(key)
        if session is None:
            session = self._new_session(key, name, day, start or fixed, row, where)
        elif day is not None and day != session.start.date():
            raise Bad(where, "date", f"a session keeps to one day; this session is on {session.start.date()}")
        elif name != session.title:
            raise Bad(where, "session", f"session {session.id!r} is {session.title!r} in an earlier row")
        item: dict[str, Any] = {"title": row["title"], "kind": row["kind"] or "other"}
        if fixed is not None and start is not None and fixed != start and session.items:
            # (on a session's first row, start is the session's and fixed_start may be later)
            raise Bad(where, "fixed_start", f"differs from the start {start:%H:%M}; give one, or both alike")
        planned = fixed or start
        if planned is not None and (session.items or fixed is not None):
            why = unmet_fixed_start(session.start, session.cursor, planned)
            if why is not None:
                raise Bad(where, "fixed_start" if fixed is not None else "start", why)
            at = _next(session.start, planned)
            if at > session.cursor or fixed is not None:
                item["fixed_start"] = planned
                session.cursor = at
        if not row["duration"]:
            raise Bad(where, "duration", "missing duration")
        item["duration_s"] = clock_duration(row["duration"], where, "duration")
        for key in ("turn_limit", "warning", "danger", "turn_hard_stop"):
            if row.get(key):
                item[f"{key}_s"] = clock_duration(row[key], where, key)
        if row.get("tags"):
            item["tags"] = _tags(row["tags"], where)
        names = _split(row["speakers"])
        affiliations = _split(row.get("speaker_affiliations", ""), dedupe=False)
        if affiliations and len(affiliations) != len(names):
            raise Bad(
                where,
                "speaker_affiliations",
                f"{len(affiliations)} affiliation(s) for {len(names)} speaker(s); separate both with ';'",
            )
        item["speakers"] = [
            self._person(speaker, affiliations[n] if affiliations else "", where) for n, speaker in enumerate(names)
        ]
        if row.get("id"):
            if row["id"] in session.item_ids:
                raise Bad(where, "id", f"duplicate item id {row['id']!r} in session {name!r}")
            item["id"] = row["id"]
            session.item_ids.add(row["id"])
        else:
            item["id"] = unique(readable_id(row["title"]), session.item_ids)
        try:
            session.cursor += timedelta(seconds=item["duration_s"])
        except OverflowError:  # only a session that starts late in the year 9999 gets here
            raise Bad(where, "duration", "the session runs past the year 9999") from None
        session.items.append(
            model(ItemPlan, where, item, field_map=_CSV_FIELD | {"id": "id" if row.get("id") else "title"})
        )

    def _new_session(
        self, key: str, name: str, day: date | None, start: time | None, row: dict[str, str], where: str
    ) -> _Session:
        if day is None or start is None:
            raise Bad(where, "date" if day is None else "start", "the first row of a session needs date and start")
        session_start = datetime.combine(day, start)
        given = row.get("session_id", "")
        if given:
            if given in self._session_ids:
                raise Bad(where, "session_id", f"duplicate session id {given!r}")
            self._session_ids.add(given)
        session = _Session(
            where=where,
            id=given or unique(readable_id(name, "session"), self._session_ids),
            title=name,
            start=session_start,
            room=row.get("room", ""),
            cursor=session_start,
        )
        self.sessions[key] = session
        return session

    def _person(self, name: str, affiliation: str, where: str) -> str:
        index = self._by_id.get(name)
        if index is None:
            index = self._by_name.get(name.casefold())
        if index is None:
            person_id = unique(readable_id(name, "person"), self._person_ids)
            data = {"id": person_id, "name": name, "affiliation": affiliation}
            field_map = {"name": "speakers", "id": "speakers", "affiliation": "speaker_affiliations"}
            self.people.append(model(Person, where, data, field_map=field_map))
            index = len(self.people) - 1
            self._by_name[name.casefold()] = self._by_id[person_id] = index
        person = self.people[index]
        if affiliation and affiliation != person.affiliation:
            if person.affiliation:
                raise Bad(
                    where,
                    "speaker_affiliations",
                    f"{person.name} is of {person.affiliation!r} elsewhere, here of {affiliation!r}",
                )
            self.people[index] = person.model_copy(update={"affiliation": affiliation})
        return person.id


def _next(session_start: datetime, at: time) -> datetime:
    day = session_start.date() + timedelta(days=1 if at < session_start.time() else 0)
    return datetime.combine(day, at)


def _people(text: str) -> list[Person]:
    rows = _rows(text)
    rows = [(number, record) for number, record in rows if any(cell.strip() for cell in record)]
    if not rows:
        raise Bad("row 1", None, "no header row")
    number, record = rows[0]
    header = _header(record, f"row {number}", ("name",), None)
    problems = Problems()
    people: list[Person] = []
    ids: set[str] = set()
    for number, record in rows[1:]:
        where = f"row {number}"
        with problems.each():
            cells = _cells(header, record, where)
            if not cells["name"]:
                raise Bad(where, "name", "missing name")
            person_id = cells.get("id") or unique(readable_id(cells["name"], "person"), ids)
            if cells.get("id"):
                if person_id in ids:
                    raise Bad(where, "id", f"duplicate person id {person_id!r}")
                ids.add(person_id)
            tags = {key: value for key, value in cells.items() if key not in PEOPLE_COLUMNS and value}
            data = {"id": person_id, "name": cells["name"], "affiliation": cells.get("affiliation", ""), "tags": tags}
            people.append(model(Person, where, data))
    problems.check()
    return people


def _tags(cell: str, where: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for part in _split(cell, dedupe=False):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise Bad(where, "tags", f"expected key=value pairs separated by ';', got {short(part)}")
        tags[key.strip()] = value.strip()
    return tags


def _split(cell: str, *, dedupe: bool = True) -> list[str]:
    """Names from "A; B; A" -> ["A", "B"]: a name listed twice is one person."""
    parts = [part.strip() for part in cell.split(";") if part.strip()]
    return list(dict.fromkeys(parts)) if dedupe else parts


def _csv_date(value: str, where: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:  # 27.03.2020, as Russian and German spreadsheets write a date
        return datetime.strptime(value, "%d.%m.%Y").date()
    except ValueError:
        raise Bad(where, "date", f"not a date: {short(value)} (write 2020-03-27)") from None


def _csv_time(value: str, where: str, field: str) -> time:
    return parse_local(value, ("%H:%M", "%H:%M:%S"), where, field).time()


__all__ = ["CSV_COLUMNS", "OPTIONAL_COLUMNS", "clock_duration", "parse_csv_agenda", "separator"]
