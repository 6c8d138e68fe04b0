"""A conference schedule (frab / pentabarf / pretalx, or a calendar) made into an agenda.

The readers of each format turn their file into :class:`Slot` values, one per scheduled event with its
start as an aware time; :func:`build_agenda` does the rest the same way for all of them:

- one session per room and conference day, sessions side by side;
- a conference day runs to its ``day_start`` next morning (05:00 where the file gives none): an event at
  01:30 belongs to the day it continues;
- the items of a session in the order of their starts; a gap before an event becomes a fixed start at its
  scheduled time (frab exports drop breaks), or a break item with ``gaps="breaks"``; events that overlap in
  one room are refused;
- people keyed by guid, else the file's id, else the name; their ids readable Latin made from the name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from modconsole.core.agenda import MAX_ITEMS, MAX_PEOPLE, MAX_SESSIONS, Agenda, ItemKind, ItemPlan, Person, SessionPlan

from ._base import Bad, Problems, kind_of, model, readable_id, unique

Gaps = Literal["fixed", "breaks"]
GAPS: tuple[Gaps, ...] = ("fixed", "breaks")
DAY_CHANGE = time(5, 0)  # without a day_start in the file, the conference day turns at five in the morning
MAX_SLOTS = MAX_SESSIONS * MAX_ITEMS


@dataclass(frozen=True)
class Speaker:
    name: str
    guid: str = ""  # the schedule's guid or pretalx code
    ident: str = ""  # the schedule's numeric id
    person: str = ""  # a person of the roster, by id (a modconsole export names its speakers so)

    @property
    def key(self) -> str:
        if self.person:
            return f"person:{self.person}"
        return f"guid:{self.guid}" if self.guid else f"id:{self.ident}" if self.ident else f"name:{self.name}"


@dataclass
class Slot:
    where: str
    start: datetime  # aware
    duration_s: int
    title: str
    room: str = ""
    day: date | None = None  # the conference day it is listed under, if the file says
    kind: ItemKind | None = None  # as the file names it exactly (a modconsole export)
    kind_words: tuple[str, ...] = ()  # type, then track
    tags: dict[str, str] = field(default_factory=dict)
    speakers: list[Speaker] = field(default_factory=list)
    # What a modconsole export writes beside the calendar's own fields, to be read back as it was:
    extra: dict[str, Any] = field(default_factory=dict)


def local(value: datetime, zone: ZoneInfo) -> datetime:
    return value.astimezone(zone).replace(tzinfo=None)


def build_agenda(
    title: str,
    zone_name: str,
    slots: list[Slot],
    *,
    gaps: Gaps = "fixed",
    roster: list[Person] | None = None,
    problems: Problems,
) -> Agenda:
    zone = ZoneInfo(zone_name)
    if not slots and not problems:
        raise Bad("file", None, "no events in the schedule")
    if len(slots) > MAX_SLOTS:
        raise Bad("file", None, f"{len(slots):,} events; at most {MAX_SLOTS:,}")
    people = _People(roster or [])
    groups: dict[tuple[str, ...], list[Slot]] = {}
    for slot in slots:
        groups.setdefault(_group(slot, zone), []).append(slot)
    if len(groups) > MAX_SESSIONS:
        raise Bad("file", None, f"{len(groups):,} sessions (rooms times days); at most {MAX_SESSIONS}")
    days = sorted({key[1] for key in groups if key[0] == "day"})
    session_ids: set[str] = {str(s.extra["session_id"]) for s in slots if s.extra.get("session_id")}
    sessions: list[SessionPlan] = []
    for key, group in sorted(groups.items(), key=_session_order):
        group.sort(key=lambda s: (s.start, int(s.extra.get("order", 0))))
        session = problems.attempt(_session, key, group, days, session_ids, people, zone, gaps)
        if session is not None:
            sessions.append(session)
    problems.check()
    if len(people.people) > MAX_PEOPLE:
        raise Bad("file", None, f"{len(people.people):,} people; at most {MAX_PEOPLE:,}")
    return model(
        Agenda, "schedule", {"title": title, "timezone": zone_name, "people": people.people, "sessions": sessions}
    )


def _session_order(entry: tuple[tuple[str, ...], list[Slot]]) -> tuple[Any, ...]:
    """Sessions by their first start; an export's in the order it wrote them."""
    key, group = entry
    if key[0] == "session" and all("order" in slot.extra for slot in group):
        return (0, min(int(slot.extra["order"]) for slot in group))
    return (1, min(slot.start for slot in group), key)


def _group(slot: Slot, zone: ZoneInfo) -> tuple[str, ...]:
    if slot.extra.get("session_id"):
        return ("session", str(slot.extra["session_id"]))
    if slot.day is not None:
        return ("day", slot.day.isoformat(), slot.room)
    start = local(slot.start, zone)
    day = start.date() - timedelta(days=1 if start.time() < DAY_CHANGE else 0)
    return ("day", day.isoformat(), slot.room)


def _session(
    key: tuple[str, ...],
    group: list[Slot],
    days: list[str],
    session_ids: set[str],
    people: _People,
    zone: ZoneInfo,
    gaps: Gaps,
) -> SessionPlan:
    first = group[0]
    if key[0] == "session":
        session_id = key[1]
        title = str(first.extra.get("session_title") or session_id)
        start_at = first.extra.get("session_start") or local(first.start, zone)
    else:
        day, room = key[1], key[2]
        label = f"Day {days.index(day) + 1} ({day})"
        title = f"{label}: {room}" if room else label
        session_id = unique(readable_id(f"{day}-{room}" if room else day, "session"), session_ids)
        start_at = local(first.start, zone)
    if len(group) > MAX_ITEMS:
        raise Bad(first.where, None, f"{len(group)} events in one room on one day; at most {MAX_ITEMS}")
    items: list[ItemPlan] = []
    item_ids: set[str] = {str(s.extra["item_id"]) for s in group if s.extra.get("item_id")}
    cursor = start_at.replace(tzinfo=zone)
    previous: Slot | None = None
    for slot in group:
        start = slot.start
        fixed = slot.extra.get("fixed_start")
        if previous is not None and start < cursor:
            raise Bad(
                slot.where,
                "start",
                f"overlaps {previous.title!r} before it in the same room, which runs until "
                f"{local(cursor, zone):%Y-%m-%d %H:%M}",
            )
        if start > cursor or fixed:
            if gaps == "breaks" and previous is not None and not fixed:
                gap = int((start - cursor).total_seconds())
                break_id = unique(readable_id("Break"), item_ids)
                items.append(ItemPlan(id=break_id, title="Break", kind=ItemKind.break_, duration_s=gap))
            else:
                fixed = local(start, zone).time()
        data: dict[str, Any] = {
            "id": str(slot.extra.get("item_id") or unique(readable_id(slot.title), item_ids)),
            "title": slot.title,
            "kind": slot.kind or kind_of(*slot.kind_words),
            "duration_s": slot.duration_s,
            "fixed_start": fixed or None,
            "speakers": [people.id_for(speaker, slot.where) for speaker in slot.speakers],
            "tags": slot.tags,
        }
        for name in ("turn_limit_s", "warning_s", "danger_s", "turn_hard_stop_s"):
            if slot.extra.get(name) is not None:
                data[name] = slot.extra[name]
        items.append(model(ItemPlan, slot.where, data))
        cursor = start + timedelta(seconds=slot.duration_s)
        previous = slot
    room = str(first.extra.get("room", first.room))
    data = {"id": session_id, "title": title, "start": start_at, "room": room, "items": items}
    return model(SessionPlan, first.where, data)


class _People:
    """The people the schedule names, one per guid, id or name (in that order), in order of appearance."""

    def __init__(self, roster: list[Person]) -> None:
        self.people: list[Person] = list(roster)
        self._ids = {person.id for person in roster}
        self._by_key: dict[str, str] = {}
        for person in roster:
            self._by_key.setdefault(f"person:{person.id}", person.id)
            if person.tags.get("guid"):
                self._by_key.setdefault(f"guid:{person.tags['guid']}", person.id)

    def id_for(self, speaker: Speaker, where: str) -> str:
        key = speaker.key
        if key in self._by_key:
            return self._by_key[key]
        person_id = unique(readable_id(speaker.name, "person"), self._ids)
        tags = {"guid": speaker.guid} if speaker.guid else {"schedule_id": speaker.ident} if speaker.ident else {}
        self.people.append(model(Person, where, {"id": person_id, "name": speaker.name, "tags": tags}))
        self._by_key[key] = person_id
        return person_id


__all__ = ["DAY_CHANGE", "GAPS", "Gaps", "Slot", "Speaker", "build_agenda", "local"]
