"""The TOML agenda: ``[event]``, ``[[people]]``, ``[[sessions]]`` with ``[[sessions.items]]``.

Each person, session and item is checked on its own, so one reading lists every problem in the file."""

from __future__ import annotations

import difflib
import re
import tomllib
from datetime import datetime, time, timedelta
from typing import Any, Literal, overload

from modconsole.core.agenda import Agenda, ItemPlan, Person, QuestionSettings, SessionPlan

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

_TOP_KEYS = {"event", "people", "sessions", "hooks"}  # [hooks]: read by the server (modconsole-server serve --hooks)
_EVENT_KEYS = {"title", "timezone", "warning", "danger", "turn_hard_stop", "questions"}
_QUESTION_KEYS = {"moderated", "anonymous", "max_length"}
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
    "turn_hard_stop",
    "tags",
    "queue_order",
}

_BROKEN_KEY = "\0broken"  # stands in for a table that is no table, so ids and indexes stay in step
_BROKEN = {_BROKEN_KEY: True, "title": "?"}


def parse_toml_agenda(text: str, path: str) -> Agenda:
    try:
        return _toml_agenda(_load_toml(precheck(text)))
    except (Bad, ManyBad) as bad:
        raise as_agenda_error(path, bad) from None


def _load_toml(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = re.search(r"\(at line (\d+), column \d+\)$", message)
        location = f"line {found.group(1)}" if found else "end of file"
        raise Bad(location, None, "TOML syntax: " + re.sub(r"\s*\(at [^)]*\)$", "", message)) from None
    except RecursionError:  # tomllib recurses once per level of nested arrays and tables
        raise Bad("file", None, "TOML nested too deeply") from None


def _table(value: object, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Bad(where, None, f"expected a table, got {short(value)}")
    for key in value:
        if key not in allowed:
            hint = difflib.get_close_matches(key, allowed, n=1)
            known = f"did you mean {hint[0]!r}?" if hint else "expected one of " + ", ".join(sorted(allowed))
            raise Bad(where, key, f"unknown key {key!r}; {known}")
    return value


def _tables(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise Bad(where, None, f"expected an array of tables, got {short(value)}")
    return value


@overload
def _text(table: dict[str, Any], key: str, where: str, *, required: Literal[True] = True) -> str: ...
@overload
def _text(table: dict[str, Any], key: str, where: str, *, required: bool) -> str | None: ...
def _text(table: dict[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = table.get(key)
    if value is None:
        if required:
            raise Bad(where, key, f"missing {key!r}")
        return None
    if not isinstance(value, str):
        raise Bad(where, key, f"expected a string, got {short(value)}")
    return value


def _toml_agenda(doc: dict[str, Any]) -> Agenda:
    problems = Problems()
    _table(doc, "", _TOP_KEYS)
    title, zone_name, defaults = problems.attempt(_event, doc) or ("", "UTC", {})

    people: list[Person] = []
    ids: set[str] = set()
    for index, raw in enumerate(problems.attempt(_tables, doc.get("people", []), "people") or []):
        where = f"people[{index}]"
        with problems.each():
            entry = _table(raw, where, _PERSON_KEYS)
            person_id = _text(entry, "id", where)
            if person_id in ids:
                raise Bad(where, "id", f"duplicate person id {person_id!r}")
            ids.add(person_id)
            people.append(model(Person, where, entry))

    raw_sessions = problems.attempt(_tables, doc.get("sessions", []), "sessions")
    if raw_sessions == []:
        problems.add(Bad("", "sessions", "no [[sessions]]; an agenda needs at least one session"))
    tables: list[dict[str, Any]] = []
    for i, raw in enumerate(raw_sessions or []):
        table = problems.attempt(_table, raw, f"sessions[{i}]", _SESSION_KEYS)
        tables.append(table if table is not None else dict(_BROKEN))
    session_ids = _assign_ids(tables, "sessions", "session", problems)
    sessions = []
    for i, table in enumerate(tables):
        if _BROKEN_KEY in table:  # its problem is noted already
            continue
        session = _toml_session(table, f"sessions[{i}]", session_ids[i], ids, defaults, problems)
        if session is not None:
            sessions.append(session)
    questions = problems.attempt(_questions, doc)
    problems.check()
    fields: dict[str, Any] = {"title": title, "timezone": zone_name, "people": people, "sessions": sessions}
    if questions is not None:
        fields["questions"] = questions
    return model(Agenda, "event", fields)


def _questions(doc: dict[str, Any]) -> QuestionSettings | None:
    """``[event] questions = { moderated = true, anonymous = true, max_length = 280 }``; None when not given."""
    event = doc.get("event")
    if not isinstance(event, dict) or "questions" not in event:
        return None
    table = _table(event["questions"], "event.questions", _QUESTION_KEYS)
    for key in ("moderated", "anonymous"):
        if key in table and not isinstance(table[key], bool):
            raise Bad("event.questions", key, "write true or false")
    if "max_length" in table and (isinstance(table["max_length"], bool) or not isinstance(table["max_length"], int)):
        raise Bad("event.questions", "max_length", "write a whole number of characters, e.g. 280")
    return model(QuestionSettings, "event.questions", table)


def _event(doc: dict[str, Any]) -> tuple[str, str, dict[str, int]]:
    if "event" not in doc:
        raise Bad("event", None, "missing [event] table with title and timezone")
    event = _table(doc["event"], "event", _EVENT_KEYS)
    title = _text(event, "title", "event")
    if "timezone" not in event:
        raise Bad("event", "timezone", "missing 'timezone' (an IANA name such as 'Asia/Seoul')")
    zone_name = zone(event["timezone"], "event", "timezone")
    defaults = {
        f"{key}_s": duration(event[key], "event", key)
        for key in ("warning", "danger", "turn_hard_stop")
        if key in event
    }
    return title, zone_name, defaults


def _assign_ids(tables: list[dict[str, Any]], prefix: str, noun: str, problems: Problems) -> list[str]:
    """Ids as written, else a readable id made from the title, made unique; written ids are claimed first."""
    taken: set[str] = set()
    for i, table in enumerate(tables):
        given = problems.attempt(_text, table, "id", f"{prefix}[{i}]", required=False)
        if given is not None:
            if given in taken:
                problems.add(Bad(f"{prefix}[{i}]", "id", f"duplicate {noun} id {given!r}"))
            taken.add(given)
    ids = []
    for i, table in enumerate(tables):
        given = table.get("id")
        if isinstance(given, str):
            ids.append(given)
            continue
        title = problems.attempt(_text, table, "title", f"{prefix}[{i}]")
        ids.append(unique(readable_id(title or ""), taken))
    return ids


def _toml_session(
    table: dict[str, Any],
    where: str,
    session_id: str,
    people: set[str],
    defaults: dict[str, int],
    problems: Problems,
) -> SessionPlan | None:
    before = len(problems.found) + problems.more
    start = None
    if "start" not in table:
        problems.add(Bad(where, "start", "missing 'start' (e.g. start = 2020-03-27T23:15:00)"))
    else:
        start = problems.attempt(_start, table["start"], where)
    plans: list[ItemPlan] = []
    if "items" not in table:
        problems.add(Bad(where, "items", "a session needs at least one [[sessions.items]]"))
    else:
        raw_items = problems.attempt(_tables, table["items"], f"{where}.items") or []
        items = []
        for j, raw in enumerate(raw_items):
            item = problems.attempt(_table, raw, f"{where}.items[{j}]", _ITEM_KEYS)
            items.append(item if item is not None else dict(_BROKEN))
        item_ids = _assign_ids(items, f"{where}.items", "item", problems)
        for j, item in enumerate(items):
            if _BROKEN_KEY in item:
                continue
            plan = problems.attempt(_toml_item, item, f"{where}.items[{j}]", item_ids[j], people, defaults)
            if plan is not None:
                plans.append(plan)
        if start is not None and len(plans) == len(items):
            _check_fixed_starts(start, plans, f"{where}.items", problems)
    if len(problems.found) + problems.more > before:
        return None
    data: dict[str, Any] = {"id": session_id, "title": table.get("title"), "start": start, "items": plans}
    if "room" in table:
        data["room"] = table["room"]
    if "queue_order" in table:
        data["queue_order"] = table["queue_order"]
    return problems.attempt(model, SessionPlan, where, data)


def _check_fixed_starts(start: datetime, plans: list[ItemPlan], prefix: str, problems: Problems) -> None:
    cursor = start
    for j, plan in enumerate(plans):
        if plan.fixed_start is not None:
            why = unmet_fixed_start(start, cursor, plan.fixed_start)
            if why is not None:
                problems.add(Bad(f"{prefix}[{j}]", "fixed_start", why))
            else:
                day = start.date() + timedelta(days=1 if plan.fixed_start < start.time() else 0)
                cursor = max(cursor, datetime.combine(day, plan.fixed_start))
        try:
            cursor += timedelta(seconds=plan.duration_s)
        except OverflowError:
            problems.add(Bad(f"{prefix}[{j}]", "duration", "the session runs past the year 9999"))
            return


def _start(value: object, where: str) -> datetime:
    if isinstance(value, str):
        value = parse_local(value.strip().replace("T", " ", 1), ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"), where, "start")
    if not isinstance(value, datetime):
        raise Bad(where, "start", f"expected a local date and time such as 2020-03-27T23:15:00, got {short(value)}")
    if value.tzinfo is not None:
        raise Bad(where, "start", "write the start as local time in the event's time zone, without an offset")
    return value


def _toml_item(table: dict[str, Any], where: str, item_id: str, people: set[str], defaults: dict[str, int]) -> ItemPlan:
    if "duration" not in table:
        raise Bad(where, "duration", "missing 'duration' (e.g. \"5m\")")
    data: dict[str, Any] = {"id": item_id, "title": _text(table, "title", where)}
    data["duration_s"] = duration(table["duration"], where, "duration")
    for key in ("turn_limit", "warning", "danger", "turn_hard_stop"):
        if key in table:
            data[f"{key}_s"] = duration(table[key], where, key)
    for key, value in defaults.items():
        data.setdefault(key, value)
    for key in ("kind", "tags", "queue_order"):
        if key in table:
            data[key] = table[key]
    if "fixed_start" in table:
        fixed = table["fixed_start"]
        if not isinstance(fixed, time) or fixed.tzinfo is not None:
            raise Bad(where, "fixed_start", f"expected a local time such as 14:00:00, got {short(fixed)}")
        data["fixed_start"] = fixed
    speakers = table.get("speakers", [])
    if not isinstance(speakers, list) or not all(isinstance(s, str) for s in speakers):
        raise Bad(where, "speakers", f"expected a list of person ids, got {short(speakers)}")
    for speaker in speakers:
        if speaker not in people:
            raise Bad(where, "speakers", f"unknown person {speaker!r} (not in [[people]])")
    data["speakers"] = speakers
    return model(ItemPlan, where, data)


def parse_local(value: str, formats: tuple[str, ...], where: str, field: str) -> datetime:
    for fmt in formats:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            pass
    example = datetime(2020, 3, 27, 23, 15).strftime(formats[0])
    raise Bad(where, field, f"not a valid {field}: {short(value)} (write e.g. {example})")


__all__ = ["parse_toml_agenda"]
