"""Attendance: who is online, as the attendance log records it (one ``Mark`` a join or a leave).

The attendance log is kept beside the timing log, in the same database (server/store.py), not in it: a
join is no timing fact, no viewer's replica folds it, so it takes no sequence number that 1,800 replicas
would have to be told of, and an undo's replay never reads it. The reports read both.

A person may hold several connections (a tab and a phone, or a client reconnecting before the server has
seen the old connection close): they join when their first connection opens and leave when their last one
closes and no other opens within a grace period. So a flaky network makes no churn in the log, and one
person's intervals of presence never overlap (tests/core/test_core_attendance.py checks it with hypothesis).

This module owns that rule (``Tracker``, pure: the times come in as arguments, the caller keeps the timers)
and the reading of intervals back from the log (``intervals``). It must never read a clock or do I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from .agenda import Person

LEAVE_GRACE_MS = 30_000  # a client that reconnects within this has not left


class Mark(NamedTuple):
    """One row of the attendance log: a speaker or participant joined or left, at ``at`` (event clock)."""

    kind: Literal["joined", "left"]
    at: int
    person: str
    role: str = ""  # "speaker" or "participant" on a join
    # Who they are, on a participant's join: name and tags (country, gender…) for the report.
    who: Person | None = None


@dataclass(slots=True)
class Tracker:
    """Connections per person, and the leaves waiting out their grace period."""

    grace_ms: int = LEAVE_GRACE_MS
    connections: dict[str, int] = field(default_factory=dict)
    leaving: dict[str, int] = field(default_factory=dict)  # person -> when their last connection closed
    present: set[str] = field(default_factory=set)  # joined in the log and not yet left there

    def open(self, person: str) -> bool:
        """A connection of ``person`` opened; True when that makes them join (log a ``person_joined``)."""
        self.connections[person] = self.connections.get(person, 0) + 1
        if person in self.leaving:
            del self.leaving[person]  # back within the grace period: they never left
            return False
        if person in self.present:
            return False
        self.present.add(person)
        return True

    def close(self, person: str, at: int) -> None:
        """A connection of ``person`` closed at ``at``; their last one starts the grace period."""
        left = self.connections.get(person, 0) - 1
        if left > 0:
            self.connections[person] = left
            return
        self.connections.pop(person, None)
        if person in self.present:
            self.leaving[person] = at

    def due(self, now: int) -> list[tuple[str, int]]:
        """The leaves whose grace period is over at ``now``: (person, when they left), to log."""
        done = [(person, at) for person, at in self.leaving.items() if at + self.grace_ms <= now]
        for person, _at in done:
            del self.leaving[person]
            self.present.discard(person)
        return done

    def all_leave(self, at: int) -> list[tuple[str, int]]:
        """Everyone present leaves (the server stops): those waiting out their grace when they left, the
        others at ``at``."""
        out = [(person, self.leaving.get(person, at)) for person in sorted(self.present)]
        self.leaving.clear()
        self.present.clear()
        self.connections.clear()
        return out

    @property
    def online(self) -> int:
        """How many people are connected now (a count: the audience is never sent the list)."""
        return len(self.connections)


Interval = tuple[int, int | None]  # (joined, left); left None while still present


def intervals(marks: Iterable[Mark]) -> dict[str, list[Interval]]:
    """Each person's intervals of presence, from the attendance log in order. A join while present or a
    leave while absent (a log cut short by a crash and completed at the next start) is passed over."""
    out: dict[str, list[Interval]] = {}
    for mark in marks:
        if mark.kind == "joined":
            mine = out.setdefault(mark.person, [])
            if not mine or mine[-1][1] is not None:
                mine.append((mark.at, None))
        else:
            mine = out.get(mark.person, [])
            if mine and mine[-1][1] is None:
                mine[-1] = (mine[-1][0], max(mine[-1][0], mark.at))
    return out


def still_present(marks: Iterable[Mark]) -> list[str]:
    """Who the log says is present: joined and not left (after a crash, nobody is)."""
    return sorted(person for person, mine in intervals(marks).items() if mine[-1][1] is None)


def joined(at: int, person: str, role: str, who: Person | None = None) -> Mark:
    return Mark("joined", at, person, role, who)


def left(at: int, person: str) -> Mark:
    return Mark("left", at, person)
