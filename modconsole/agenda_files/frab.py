"""frab / c3voc schedules, as pretalx and frab export them: ``schedule.json`` and pentabarf ``schedule.xml``.

JSON: ``schedule.conference`` with ``title``, ``time_zone_name`` and ``days[]``, each with ``date``,
``day_start`` and ``rooms{ROOM: [event]}``; an event has ``guid``, ``id``, ``date`` (ISO with its offset),
``start``, ``duration`` ("HH:MM"), ``room``, ``title``, ``type``, ``track`` and ``persons``
(``public_name`` or ``name``, with ``guid``, ``code`` or ``id``).

XML: ``<schedule><conference><title/><time_zone_name/></conference><day index date start>`` with
``<room name>`` holding ``<event guid id>`` whose children are the same fields; ``<persons><person id
guid>Name</person></persons>``. A missing ``guid`` falls back to ``id``.

An event's ``date`` with its offset is the truth; ``start`` on the day's date is the fallback (after
midnight when earlier than the day's start)."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from modconsole.core.agenda import Agenda

from ._base import Bad, ManyBad, Problems, as_agenda_error, duration, precheck, short, zone
from .schedule import DAY_CHANGE, Gaps, Slot, Speaker, build_agenda

_HHMM = re.compile(r"^\s*(\d{1,3}):([0-5]\d)(?::([0-5]\d))?\s*$")


def frab_duration(value: object, where: str) -> int:
    """A frab duration: "00:30", "1:30" or "01:30:00"; also "90m" and the like."""
    if isinstance(value, str):
        found = _HHMM.match(value)
        if found:
            hours, minutes, seconds = (int(part or 0) for part in found.groups())
            return duration(f"{hours}h{minutes}m{seconds}s", where, "duration")
        return duration(value, where, "duration")
    raise Bad(where, "duration", f'expected a duration such as "00:30", got {short(value)}')


def _aware(value: object, where: str, field: str) -> datetime | None:
    """An ISO date and time with its offset; None when there is none (or no offset) to go by."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise Bad(where, field, f"expected an ISO date and time, got {short(value)}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Bad(where, field, f"not an ISO date and time: {short(value)}") from None
    return parsed if parsed.tzinfo is not None else None


def _start(
    raw_date: object, raw_start: object, day: date | None, day_start: datetime | None, tz: ZoneInfo, where: str
) -> datetime:
    at = _aware(raw_date, where, "date")
    if at is not None:
        return at
    if day is None or not isinstance(raw_start, str):
        raise Bad(where, "date", "no date with an offset, and no start on a dated day to go by")
    try:
        clock = time.fromisoformat(raw_start.strip())
    except ValueError:
        raise Bad(where, "start", f"not a time of day: {short(raw_start)}") from None
    turn = day_start.astimezone(tz).time() if day_start is not None else DAY_CHANGE
    on = day + timedelta(days=1 if clock < turn else 0)
    return datetime.combine(on, clock, tzinfo=tz)


def _text(value: object, where: str, field: str, *, required: bool = False) -> str:
    if value is None or value == "":
        if required:
            raise Bad(where, field, f"missing {field!r}")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Bad(where, field, f"expected text, got {short(value)}")
    return str(value).strip()


def _date(value: object, where: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise Bad(where, "date", f"not a date: {short(value)}") from None


def _tags(kind_words: tuple[str, ...]) -> dict[str, str]:
    return {name: word for name, word in zip(("type", "track"), kind_words, strict=True) if word}


# ---------------------------------------------------------------- JSON


def parse_schedule_json(
    text: str, path: str, *, gaps: Gaps = "fixed", title: str | None = None, timezone: str | None = None
) -> Agenda:
    try:
        return _json_agenda(precheck(text), gaps, title, timezone)
    except (Bad, ManyBad) as bad:
        raise as_agenda_error(path, bad) from None


def _json_agenda(text: str, gaps: Gaps, title: str | None, timezone: str | None) -> Agenda:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Bad(f"line {exc.lineno}", None, f"JSON syntax: {exc.msg}") from None
    except RecursionError:
        raise Bad("file", None, "JSON nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise Bad("file", None, f"JSON: {exc}") from None
    schedule = doc.get("schedule") if isinstance(doc, dict) else None
    conference = schedule.get("conference") if isinstance(schedule, dict) else None
    if not isinstance(conference, dict):
        raise Bad("schedule", "conference", 'expected {"schedule": {"conference": {...}}} (a frab/pretalx schedule)')
    name = title or _text(conference.get("title"), "schedule.conference", "title", required=True)
    zone_name = zone(timezone or conference.get("time_zone_name") or "UTC", "schedule.conference", "time_zone_name")
    tz = ZoneInfo(zone_name)
    days = conference.get("days")
    if not isinstance(days, list):
        raise Bad("schedule.conference", "days", f"expected a list of days, got {short(days)}")
    problems = Problems()
    slots: list[Slot] = []
    for d, raw_day in enumerate(days):
        where_day = f"days[{d}]"
        with problems.each():
            if not isinstance(raw_day, dict):
                raise Bad(where_day, None, f"expected a day, got {short(raw_day)}")
            day = _date(raw_day.get("date"), where_day)
            day_start = _aware(raw_day.get("day_start"), where_day, "day_start")
            rooms = raw_day.get("rooms", {})
            if not isinstance(rooms, dict):
                raise Bad(where_day, "rooms", f"expected {{ROOM: [events]}}, got {short(rooms)}")
            for room, events in rooms.items():
                if not isinstance(events, list):
                    problems.add(
                        Bad(f"{where_day}.rooms[{room!r}]", None, f"expected a list of events, got {short(events)}")
                    )
                    continue
                for e, event in enumerate(events):
                    where = f"{where_day}.rooms[{short(room)}][{e}]"
                    slot = problems.attempt(_json_slot, event, where, room, day, day_start, tz)
                    if slot is not None:
                        slots.append(slot)
    problems.check()
    return build_agenda(name, zone_name, slots, gaps=gaps, problems=problems)


def _json_slot(
    event: object, where: str, room: str, day: date | None, day_start: datetime | None, tz: ZoneInfo
) -> Slot:
    if not isinstance(event, dict):
        raise Bad(where, None, f"expected an event, got {short(event)}")
    ident = _text(event.get("guid"), where, "guid") or _text(event.get("id"), where, "id")
    where = f"{where} ({ident})" if ident else where
    words = (_text(event.get("type"), where, "type"), _text(event.get("track"), where, "track"))
    persons = event.get("persons") or []
    if not isinstance(persons, list):
        raise Bad(where, "persons", f"expected a list of persons, got {short(persons)}")
    speakers = []
    for p, person in enumerate(persons):
        if not isinstance(person, dict):
            raise Bad(where, f"persons[{p}]", f"expected a person, got {short(person)}")
        name = _text(person.get("public_name") or person.get("name"), where, f"persons[{p}].public_name", required=True)
        guid = _text(person.get("guid"), where, f"persons[{p}].guid") or _text(person.get("code"), where, "code")
        speakers.append(Speaker(name=name, guid=guid, ident=_text(person.get("id"), where, f"persons[{p}].id")))
    return Slot(
        where=where,
        start=_start(event.get("date"), event.get("start"), day, day_start, tz, where),
        duration_s=frab_duration(event.get("duration"), where),
        title=_text(event.get("title"), where, "title", required=True),
        room=_text(event.get("room"), where, "room") or room,
        day=day,
        kind_words=words,
        tags=_tags(words),
        speakers=list(dict.fromkeys(speakers)),
    )


# ---------------------------------------------------------------- XML


def parse_schedule_xml(
    text: str, path: str, *, gaps: Gaps = "fixed", title: str | None = None, timezone: str | None = None
) -> Agenda:
    try:
        return _xml_agenda(precheck(text), gaps, title, timezone)
    except (Bad, ManyBad) as bad:
        raise as_agenda_error(path, bad) from None


def _xml_agenda(text: str, gaps: Gaps, title: str | None, timezone: str | None) -> Agenda:
    try:
        # defusedxml refuses entity declarations (billion laughs, external entities) and DTDs fetching anything.
        root = SafeET.fromstring(text.encode("utf-8"), forbid_dtd=True)
    except DefusedXmlException as exc:
        raise Bad("file", None, f"refused: {type(exc).__name__} (entity and DTD declarations are not read)") from None
    except SafeET.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else 0
        raise Bad(f"line {line}" if line else "file", None, f"XML syntax: {exc}") from None
    except RecursionError:
        raise Bad("file", None, "XML nested too deeply") from None
    if root.tag != "schedule":
        raise Bad("file", None, f"expected a <schedule> root element (frab/pentabarf), got <{short(root.tag)[1:-1]}>")
    conference = root.find("conference")
    if conference is None:
        raise Bad("schedule", "conference", "missing <conference>")
    name = title or _text(conference.findtext("title"), "conference", "title", required=True)
    zone_name = zone(
        timezone or (conference.findtext("time_zone_name") or "").strip() or "UTC", "conference", "time_zone_name"
    )
    tz = ZoneInfo(zone_name)
    problems = Problems()
    slots: list[Slot] = []
    for d, day_el in enumerate(root.findall("day")):
        where_day = f"day[{day_el.get('index') or d + 1}]"
        with problems.each():
            day = _date(day_el.get("date"), where_day)
            day_start = _aware(day_el.get("start"), where_day, "start")
            for room_el in day_el.findall("room"):
                room = (room_el.get("name") or "").strip()
                for e, event in enumerate(room_el.findall("event")):
                    where = f"{where_day}/room[{short(room)}]/event[{e}]"
                    slot = problems.attempt(_xml_slot, event, where, room, day, day_start, tz)
                    if slot is not None:
                        slots.append(slot)
    problems.check()
    return build_agenda(name, zone_name, slots, gaps=gaps, problems=problems)


def _xml_slot(event: Any, where: str, room: str, day: date | None, day_start: datetime | None, tz: ZoneInfo) -> Slot:
    ident = (event.get("guid") or event.get("id") or "").strip()
    where = f"{where} ({ident})" if ident else where

    def child(name: str) -> str:
        return (event.findtext(name) or "").strip()

    words = (child("type"), child("track"))
    speakers = []
    for p, person in enumerate(event.findall("persons/person")):
        name = (person.text or "").strip()
        if not name:
            raise Bad(where, f"persons[{p}]", "a person without a name")
        speakers.append(
            Speaker(name=name, guid=(person.get("guid") or "").strip(), ident=(person.get("id") or "").strip())
        )
    return Slot(
        where=where,
        start=_start(child("date"), child("start"), day, day_start, tz, where),
        duration_s=frab_duration(child("duration"), where),
        title=_text(child("title"), where, "title", required=True),
        room=child("room") or room,
        day=day,
        kind_words=words,
        tags=_tags(words),
        speakers=list(dict.fromkeys(speakers)),
    )


__all__ = ["frab_duration", "parse_schedule_json", "parse_schedule_xml"]
