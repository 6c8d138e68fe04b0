"""A plan written out as TOML, CSV (an agenda file and a people file) or iCalendar; each reads back as the
same plan (``load_agenda`` of an export gives the agenda exported)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Literal

import icalendar
import tomli_w

from modconsole.core.agenda import (
    DEFAULT_DANGER_S,
    DEFAULT_WARNING_S,
    Agenda,
    ItemPlan,
    QuestionSettings,
    ms_to_local,
    planned_schedule,
)

from .csv_agenda import CSV_COLUMNS, PEOPLE_COLUMNS, guard_cell
from .ical import X

ExportFormat = Literal["toml", "csv", "ics"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("ics", "csv", "toml")


def duration_text(seconds: int) -> str:
    """5400 -> "1h30m", 90 -> "1m30s", 0 -> "0s": what every reader takes back exactly."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return text or "0s"


def _clock(value: time) -> str:
    return value.isoformat(timespec="seconds")


# ---------------------------------------------------------------- TOML


def to_toml(agenda: Agenda) -> str:
    doc: dict[str, Any] = {"event": {"title": agenda.title, "timezone": agenda.timezone}}
    if agenda.questions != QuestionSettings():
        doc["event"]["questions"] = agenda.questions.model_dump()
    if agenda.people:
        doc["people"] = [_person(person) for person in agenda.people]
    doc["sessions"] = [
        {
            "id": session.id,
            "title": session.title,
            "start": session.start,
            **({"room": session.room} if session.room else {}),
            **({"queue_order": session.queue_order} if session.queue_order else {}),
            "items": [_toml_item(item) for item in session.items],
        }
        for session in agenda.sessions
    ]
    return tomli_w.dumps(doc)


def _person(person: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"id": person.id, "name": person.name}
    if person.affiliation:
        data["affiliation"] = person.affiliation
    if person.tags:
        data["tags"] = dict(person.tags)
    return data


def _toml_item(item: ItemPlan) -> dict[str, Any]:
    data: dict[str, Any] = {"id": item.id, "title": item.title, "kind": item.kind.value}
    data["duration"] = duration_text(item.duration_s)
    if item.fixed_start is not None:
        data["fixed_start"] = item.fixed_start
    if item.speakers:
        data["speakers"] = list(item.speakers)
    if item.turn_limit_s is not None:
        data["turn_limit"] = duration_text(item.turn_limit_s)
    if item.warning_s != DEFAULT_WARNING_S:
        data["warning"] = duration_text(item.warning_s)
    if item.danger_s != DEFAULT_DANGER_S:
        data["danger"] = duration_text(item.danger_s)
    if item.turn_hard_stop_s is not None:
        data["turn_hard_stop"] = duration_text(item.turn_hard_stop_s)
    if item.queue_order is not None:
        data["queue_order"] = item.queue_order
    if item.tags:
        data["tags"] = dict(item.tags)
    return data


# ---------------------------------------------------------------- CSV


@dataclass(frozen=True)
class CsvExport:
    agenda: str  # the agenda file, speakers by person id
    people: str  # the people file: name, id, affiliation, one column per tag


def to_csv(agenda: Agenda) -> CsvExport:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["#title", guard_cell(agenda.title)])
    writer.writerow(["#timezone", agenda.timezone])
    extra = ["room", "fixed_start", "id", "session_id", "warning", "danger", "turn_hard_stop", "tags"]
    writer.writerow([*CSV_COLUMNS, *extra])
    zone = agenda.zone
    for session in agenda.sessions:
        starts = planned_schedule(session, zone)
        for n, item in enumerate(session.items):
            start = session.start if n == 0 else ms_to_local(starts[n], zone).replace(tzinfo=None)
            cells = {
                "session": session.title,
                "date": session.start.date().isoformat(),
                "start": _clock(start.time()),
                "duration": duration_text(item.duration_s),
                "title": item.title,
                "kind": item.kind.value,
                "speakers": "; ".join(item.speakers),
                "turn_limit": duration_text(item.turn_limit_s) if item.turn_limit_s is not None else "",
                "room": session.room,
                "fixed_start": _clock(item.fixed_start) if item.fixed_start is not None else "",
                "id": item.id,
                "session_id": session.id,
                "warning": duration_text(item.warning_s),
                "danger": duration_text(item.danger_s),
                "turn_hard_stop": duration_text(item.turn_hard_stop_s) if item.turn_hard_stop_s is not None else "",
                "tags": "; ".join(f"{key}={value}" for key, value in item.tags.items()),
            }
            writer.writerow([guard_cell(cells[name]) for name in (*CSV_COLUMNS, *extra)])
    people = io.StringIO()
    keys = list(dict.fromkeys(key for person in agenda.people for key in person.tags if key not in PEOPLE_COLUMNS))
    roster = csv.writer(people, lineterminator="\n")
    roster.writerow([*PEOPLE_COLUMNS, *keys])
    for person in agenda.people:
        row = [person.name, person.id, person.affiliation, *(person.tags.get(key, "") for key in keys)]
        roster.writerow([guard_cell(cell) for cell in row])
    return CsvExport(out.getvalue(), people.getvalue())


# ---------------------------------------------------------------- iCalendar


def to_ics(agenda: Agenda, *, uid_domain: str = "modconsole") -> str:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//modconsole//agenda export//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", agenda.title)
    calendar.add("x-wr-timezone", agenda.timezone)
    for person in agenda.people:
        calendar.add(X + "PERSON", json.dumps(person.model_dump(exclude_defaults=True), ensure_ascii=False))
    zone = agenda.zone
    people = {person.id: person.name for person in agenda.people}
    order = 0
    for session in agenda.sessions:
        starts = planned_schedule(session, zone)
        for n, item in enumerate(session.items):
            order += 1
            event = icalendar.Event()
            event.add("uid", f"{session.id}/{item.id}@{uid_domain}")
            event.add("summary", item.title)
            event.add("dtstart", ms_to_local(starts[n], zone))
            event.add("duration", timedelta(seconds=item.duration_s))
            if session.room:
                event.add("location", session.room)
            event.add("categories", [item.kind.value])
            if item.speakers:
                event.add("description", "Speakers: " + ", ".join(people.get(s, s) for s in item.speakers))
            event.add(X + "SESSION", session.id)
            event.add(X + "SESSION-TITLE", session.title)
            event.add(X + "SESSION-START", session.start.isoformat(timespec="seconds"))
            event.add(X + "ITEM", item.id)
            event.add(X + "ORDER", str(order))  # across the plan: sessions and items in the plan's order
            event.add(X + "KIND", item.kind.value)
            if item.fixed_start is not None:
                event.add(X + "FIXED-START", _clock(item.fixed_start))
            if item.turn_limit_s is not None:
                event.add(X + "TURN-LIMIT", str(item.turn_limit_s))
            event.add(X + "WARNING", str(item.warning_s))
            event.add(X + "DANGER", str(item.danger_s))
            if item.turn_hard_stop_s is not None:
                event.add(X + "TURN-HARD-STOP", str(item.turn_hard_stop_s))
            event.add(X + "SPEAKERS", ",".join(item.speakers))
            event.add(X + "TAGS", json.dumps(dict(item.tags), ensure_ascii=False))
            event.add("dtstamp", datetime(2000, 1, 1, tzinfo=zone))
            calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical().decode("utf-8")


__all__ = ["EXPORT_FORMATS", "CsvExport", "ExportFormat", "duration_text", "to_csv", "to_ics", "to_toml"]
