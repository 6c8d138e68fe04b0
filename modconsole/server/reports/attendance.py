"""Attendance in the report: who was present live, per session and for the programme, from the log's
``person_joined`` and ``person_left`` (core/attendance.py reads them back as intervals), and each group's
share of the speaking time beside its share of the attendance.

This module owns those figures. It must never read a clock or write anything: the times come from the log,
and a session still running counts up to the report's ``as_of``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from statistics import median
from zoneinfo import ZoneInfo

from modconsole.core.agenda import Person, ms_to_local
from modconsole.core.attendance import Interval
from modconsole.core.state import State

from .model import Attendance, TagBreakdown, TagShare, TurnReport

SEC = 1000
PRIVATE_TAGS = frozenset({"email"})  # never in a report's figures


def _clip(mine: list[Interval], start: int, end: int, as_of: int) -> list[tuple[int, int]]:
    out = []
    for joined, left in mine:
        a, b = max(joined, start), min(left if left is not None else as_of, end)
        if b > a:
            out.append((a, b))
    return out


def windows(state: State, session_ids: Iterable[str], as_of: int) -> dict[str, tuple[int, int]]:
    """Each session's time live: from its start to its end (or ``as_of`` while it runs); none before it starts."""
    out = {}
    for session_id in session_ids:
        live = state.session(session_id)
        if live is None or live.started_at is None:
            continue
        out[session_id] = (live.started_at, live.ended_at if live.ended_at is not None else max(as_of, live.started_at))
    return out


def attendance(
    state: State,
    who: dict[str, Person],
    presence: dict[str, list[Interval]],
    roles: dict[str, str],
    spans: Sequence[tuple[int, int]],
    turns: list[TurnReport],
    registered: int,
    as_of: int,
    zone: ZoneInfo,
) -> Attendance:
    """The figures over the time ``spans`` (one session's, or every session's in scope)."""
    present: dict[str, float] = {}
    people: dict[str, Person | None]
    edges: list[tuple[int, int]] = []
    for person, mine in presence.items():
        total = 0
        for start, end in spans:
            for a, b in _clip(mine, start, end, as_of):
                total += b - a
                edges.append((a, 1))
                edges.append((b, -1))
        if total > 0:
            present[person] = total / SEC
    # The peak: leaves before joins at the same instant (a person's own intervals never overlap).
    edges.sort()
    peak, peak_at, now = 0, None, 0
    for at, step in edges:
        now += step
        if now > peak:
            peak, peak_at = now, at
    people = {pid: who.get(pid) or state.person(pid) for pid in present}
    by_country: dict[str, int] = defaultdict(int)
    for known in people.values():
        country = known.tags.get("country") if known is not None else None
        if country:
            by_country[country] += 1
    return Attendance(
        registered=registered,
        attended=len(present),
        speakers=sum(1 for pid in present if roles.get(pid) == "speaker"),
        participants=sum(1 for pid in present if roles.get(pid) != "speaker"),
        peak=peak,
        peak_at=ms_to_local(peak_at, zone).isoformat(timespec="seconds") if peak_at is not None else None,
        median_present_s=round(median(present.values()), 1) if present else 0.0,
        countries=len(by_country),
        by_country=dict(sorted(by_country.items())),
        by_tag=_by_tag(state, who, people, turns),
    )


def _by_tag(
    state: State, who: dict[str, Person], people: dict[str, Person | None], turns: list[TurnReport]
) -> dict[str, TagBreakdown]:
    speaking: dict[str, float] = defaultdict(float)
    for turn in turns:
        speaking[turn.person] += turn.speaking_s
    speakers = {pid: who.get(pid) or state.person(pid) for pid in speaking}
    everyone = {**speakers, **people}
    keys = sorted({k for p in everyone.values() if p is not None for k in p.tags} - PRIVATE_TAGS | {"gender"})
    out = {}
    for key in keys:
        attended: dict[str, int] = defaultdict(int)
        spoken: dict[str, float] = defaultdict(float)
        not_given = 0
        not_given_speaking = 0.0
        for person in people.values():
            value = person.tags.get(key) if person is not None else None
            if value:
                attended[value] += 1
            else:
                not_given += 1
        for pid, seconds in speaking.items():
            person = speakers[pid]
            value = person.tags.get(key) if person is not None else None
            if value:
                spoken[value] += seconds
            else:
                not_given_speaking += seconds
        given = sum(attended.values())
        talk = sum(spoken.values())
        values = [
            TagShare(
                value=value,
                attended=attended.get(value, 0),
                attended_pct=round(100 * attended.get(value, 0) / given, 1) if given else 0.0,
                speaking_s=round(spoken.get(value, 0.0), 1),
                speaking_pct=round(100 * spoken.get(value, 0.0) / talk, 1) if talk else 0.0,
            )
            for value in set(attended) | set(spoken)
        ]
        values.sort(key=lambda s: (-s.attended, -s.speaking_s, s.value))
        out[key] = TagBreakdown(
            given=given, not_given=not_given, not_given_speaking_s=round(not_given_speaking, 1), values=values
        )
    return out
