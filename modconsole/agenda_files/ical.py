"""iCalendar (.ics): every VEVENT is an item, recurring events expanded, each start in its own zone.

The calendar's zone is ``--timezone``, else ``X-WR-TIMEZONE``, else the zone most of the events' starts
are written in (UTC if none). Events are grouped into sessions by room (``LOCATION``) and conference day,
as schedules are (see schedule.py); ``CATEGORIES`` name the kind ("talk", "break"...) and are kept as the
tag ``categories``. A calendar modconsole exported carries its plan's own fields in ``X-MODCONSOLE-*``
properties, so that importing it gives the same plan back."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, time, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from modconsole.core.agenda import Agenda, ItemKind, Person

from ._base import MAX_DURATION_S, Bad, ManyBad, Problems, as_agenda_error, model, precheck, short, zone
from .schedule import Gaps, Slot, Speaker, build_agenda

X = "X-MODCONSOLE-"
MAX_OCCURRENCES = 5_000  # events and their repeats in one calendar: a conference has hundreds
_LAST = date(9999, 12, 30)  # the end of the last window the occurrences are looked for in


def parse_ics(
    text: str, path: str, *, gaps: Gaps = "fixed", title: str | None = None, timezone: str | None = None
) -> Agenda:
    try:
        return _ics_agenda(precheck(text), gaps, title, timezone, path)
    except (Bad, ManyBad) as bad:
        raise as_agenda_error(path, bad) from None


def _calendar(text: str) -> icalendar.Calendar:
    try:
        calendars = icalendar.Calendar.from_ical(text, multiple=True)
    except RecursionError:
        raise Bad("file", None, "iCalendar components nested too deeply") from None
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise Bad("file", None, f"iCalendar syntax: {short(str(exc))}") from None
    if len(calendars) != 1 or calendars[0].name != "VCALENDAR":
        raise Bad("file", None, "expected one VCALENDAR")
    return calendars[0]


def _ics_agenda(text: str, gaps: Gaps, title: str | None, timezone: str | None, path: str) -> Agenda:
    calendar = _calendar(text)
    try:
        events = list(calendar.walk("VEVENT"))
    except RecursionError:
        raise Bad("file", None, "iCalendar components nested too deeply") from None
    if not events:
        raise Bad("file", None, "no VEVENT in the calendar")
    zone_name = zone(timezone or _calendar_zone(calendar, events), "VCALENDAR", "X-WR-TIMEZONE")
    tz = ZoneInfo(zone_name)
    name = title or str(calendar.get("X-WR-CALNAME") or "").strip() or path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    problems = Problems()
    roster = _roster(calendar, problems)
    for n, event in enumerate(events):
        uid = str(event.get("UID") or "")
        problems.attempt(_before_expanding, event, f"VEVENT {short(uid)}" if uid else f"VEVENT {n + 1}")
    problems.check()
    try:
        query = recurring_ical_events.of(calendar)
        occurrences = _expand(query, _earliest(events))
    except RecursionError:
        raise Bad("file", None, "iCalendar components nested too deeply") from None
    except Exception as exc:  # the expander raises its own types for broken rules and dates
        raise Bad("file", None, f"cannot expand the events: {short(str(exc))}") from None
    if len(occurrences) > MAX_OCCURRENCES:
        raise Bad(
            "file",
            None,
            f"more than {MAX_OCCURRENCES:,} occurrences: give each repeating event an end (COUNT or UNTIL)",
        )
    slots = []
    for n, event in enumerate(occurrences):
        uid = str(event.get("UID") or "")
        where = f"VEVENT {short(uid)}" if uid else f"VEVENT {n + 1}"
        start = event.get("DTSTART")
        if start is not None and isinstance(start.dt, datetime):
            where += f" at {start.dt:%Y-%m-%d %H:%M}"
        slot = problems.attempt(_slot, event, where, tz, roster)
        if slot is not None:
            slots.append(slot)
    problems.check()
    slots.sort(key=lambda s: (s.start, int(s.extra.get("order", 0))))
    return build_agenda(name, zone_name, slots, gaps=gaps, roster=roster, problems=problems)


def _before_expanding(event: Any, where: str) -> None:
    """What would keep the expander busy for minutes, refused before it runs: a rule repeating every second,
    and an event so long that every window of the expansion overlaps it (``_slot`` checks each occurrence)."""
    rules = event.get("RRULE")
    for rule in rules if isinstance(rules, list) else [rules]:
        if rule is not None and str((rule.get("FREQ") or [""])[0]).upper() == "SECONDLY":
            raise Bad(where, "RRULE", "repeats every second; an item repeats hourly at most")
    start, end, length = event.get("DTSTART"), event.get("DTEND"), event.get("DURATION")
    seconds = 0.0
    if start is not None and end is not None and type(start.dt) is type(end.dt):
        try:
            seconds = (end.dt - start.dt).total_seconds()
        except TypeError:  # one with a zone, one floating: _slot reads them in the calendar's zone
            seconds = 0.0
    elif length is not None and isinstance(length.dt, timedelta):
        seconds = length.dt.total_seconds()
    if seconds > MAX_DURATION_S:
        raise Bad(where, "DTEND", f"lasts {seconds / 86400:.0f} days; at most two weeks")


def _expand(query: Any, first: date | None) -> list[Any]:
    """The occurrences, or more than MAX_OCCURRENCES of them: from the first start, in windows doubling until
    the limit is passed or the window reaches the year 9999. Each window is one expansion: the expander's own
    walk (``all()``) starts at year 1 and reaches a rule without an end in a window of centuries, or steps
    through a long rule a quarter of an hour at a time, re-expanding it from its start at every step."""
    if first is None:
        return list(islice(query.all(), MAX_OCCURRENCES + 1))
    days = 1
    while True:
        end = _LAST if (_LAST - first).days <= days else first + timedelta(days=days)
        found = list(query.between(first, end))
        if len(found) > MAX_OCCURRENCES or end == _LAST:
            return found
        days *= 2


def _earliest(events: list[Any]) -> date | None:
    """The day before the earliest start or extra date (RDATE) of the events: nothing occurs before it."""
    days: list[date] = []
    for event in events:
        values = [event.get("DTSTART")]
        extra = event.get("RDATE")
        for group in extra if isinstance(extra, list) else [extra]:
            values.extend(getattr(group, "dts", None) or [])
        for value in values:
            moment = getattr(value, "dt", None)
            if isinstance(moment, datetime):
                days.append(moment.date())
            elif isinstance(moment, date):
                days.append(moment)
    try:
        return min(days) - timedelta(days=1) if days else None
    except OverflowError:
        return None


def _calendar_zone(calendar: icalendar.Calendar, events: list[Any]) -> str:
    named = str(calendar.get("X-WR-TIMEZONE") or "").strip()
    if named:
        return named
    zones: Counter[str] = Counter()
    for event in events:
        start = event.get("DTSTART")
        tzinfo = getattr(getattr(start, "dt", None), "tzinfo", None)
        key = getattr(tzinfo, "key", None)
        if key:
            zones[key] += 1
    return zones.most_common(1)[0][0] if zones else "UTC"


def _roster(calendar: icalendar.Calendar, problems: Problems) -> list[Person]:
    people: list[Person] = []
    raw = calendar.get(X + "PERSON", [])
    for n, value in enumerate(raw if isinstance(raw, list) else [raw]):
        where = f"VCALENDAR {X}PERSON[{n}]"
        with problems.each():
            try:
                data = json.loads(str(value))
            except (ValueError, RecursionError):
                raise Bad(where, None, "not a JSON object") from None
            if not isinstance(data, dict):
                raise Bad(where, None, "not a JSON object")
            people.append(model(Person, where, data))
    return people


def _slot(event: Any, where: str, tz: ZoneInfo, roster: list[Person]) -> Slot:
    start_prop, end_prop = event.get("DTSTART"), event.get("DTEND")
    if start_prop is None:
        raise Bad(where, "DTSTART", "an event needs a start")
    start = start_prop.dt
    if not isinstance(start, datetime):
        raise Bad(where, "DTSTART", "an all-day event has no time of day to plan by; give it a start time")
    start = start if start.tzinfo is not None else start.replace(tzinfo=tz)  # floating: the calendar's zone
    end = end_prop.dt if end_prop is not None else None
    if isinstance(end, datetime):
        end = end if end.tzinfo is not None else end.replace(tzinfo=tz)
        length = (end - start).total_seconds()
    elif event.get("DURATION") is not None and isinstance(event.get("DURATION").dt, timedelta):
        length = event.get("DURATION").dt.total_seconds()
    else:
        length = 0.0
    if length < 0:
        raise Bad(where, "DTEND", "ends before it starts")
    if length > MAX_DURATION_S:
        raise Bad(where, "DTEND", f"lasts {length / 86400:.0f} days; at most two weeks")
    summary = str(event.get("SUMMARY") or "").strip()
    if not summary:
        raise Bad(where, "SUMMARY", "an event needs a title (SUMMARY)")
    categories = _categories(event)
    extra = _extra(event, where, roster)
    tags = extra.pop("tags", None)
    if tags is None:
        tags = {"categories": ", ".join(categories)} if categories else {}
    kind = extra.pop("kind", None)
    return Slot(
        where=where,
        start=start,
        duration_s=int(length),
        title=summary,
        room=str(event.get("LOCATION") or "").strip(),
        kind=kind,
        kind_words=tuple(categories),
        tags=tags,
        speakers=[Speaker(name=person, person=person) for person in extra.pop("speakers", [])],
        extra=extra,
    )


def _categories(event: Any) -> list[str]:
    raw = event.get("CATEGORIES")
    found: list[str] = []
    for value in raw if isinstance(raw, list) else [raw] if raw is not None else []:
        found += [str(cat).strip() for cat in getattr(value, "cats", [value])]
    return [cat for cat in found if cat]


def _extra(event: Any, where: str, roster: list[Person]) -> dict[str, Any]:
    """The X-MODCONSOLE-* properties of an exported plan, checked."""
    extra: dict[str, Any] = {}

    def text(name: str) -> str | None:
        value = event.get(X + name)
        return None if value is None else str(value)

    def seconds(name: str) -> int | None:
        value = text(name)
        if value is None:
            return None
        if not value.isdecimal() or int(value) > MAX_DURATION_S:
            raise Bad(where, X + name, f"expected whole seconds, got {short(value)}")
        return int(value)

    for key, name in (("session_id", "SESSION"), ("session_title", "SESSION-TITLE"), ("item_id", "ITEM")):
        if text(name) is not None:
            extra[key] = text(name)
    if text("ROOM") is not None:
        extra["room"] = text("ROOM")
    if text("SESSION-START") is not None:
        try:
            extra["session_start"] = datetime.fromisoformat(str(text("SESSION-START")))
        except ValueError:
            raise Bad(
                where, X + "SESSION-START", f"not a local date and time: {short(text('SESSION-START'))}"
            ) from None
        if extra["session_start"].tzinfo is not None:
            raise Bad(where, X + "SESSION-START", "expected a local time without an offset")
    if text("FIXED-START") is not None:
        try:
            extra["fixed_start"] = time.fromisoformat(str(text("FIXED-START")))
        except ValueError:
            raise Bad(where, X + "FIXED-START", f"not a time of day: {short(text('FIXED-START'))}") from None
    kind = text("KIND")
    if kind is not None:
        if kind not in ItemKind._value2member_map_:
            raise Bad(where, X + "KIND", f"unknown kind {short(kind)}")
        extra["kind"] = ItemKind(kind)
    for key, name in (
        ("turn_limit_s", "TURN-LIMIT"),
        ("warning_s", "WARNING"),
        ("danger_s", "DANGER"),
        ("turn_hard_stop_s", "TURN-HARD-STOP"),
    ):
        value = seconds(name)
        if value is not None:
            extra[key] = value
    order = seconds("ORDER")
    if order is not None:
        extra["order"] = order
    if text("SPEAKERS") is not None:
        ids = {person.id for person in roster}
        speakers = [part for part in str(text("SPEAKERS")).split(",") if part]
        unknown = [speaker for speaker in speakers if speaker not in ids]
        if unknown:
            raise Bad(where, X + "SPEAKERS", f"unknown person(s) {', '.join(map(short, unknown))} (no {X}PERSON)")
        extra["speakers"] = speakers
    if text("TAGS") is not None:
        try:
            tags = json.loads(str(text("TAGS")))
        except (ValueError, RecursionError):
            tags = None
        if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
            raise Bad(where, X + "TAGS", "expected a JSON object of strings")
        extra["tags"] = tags
    return extra


__all__ = ["parse_ics"]
