"""The timing log's entry and the one write path: decide, number, append, then apply (or replay).

Everything that moves an event's state goes this way: the server (modconsole/server/service.py), the log
simulator (scenarios/logs.py) and the test harnesses. :func:`record` decides a command and numbers the entries it
makes, changing nothing; the caller makes them durable if it must; :func:`settle` appends them to the log in
memory and folds them into the state: applied one by one, or, when an undo is among them, the whole log
replayed without the entries it voids (an undo rewrites the past, so applying it on top would roll nothing
back).

This module owns the entry and that rule. It must never do I/O, read a clock or know about connections: the
times come in as arguments, and durability, locking and broadcasting are the caller's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from .commands import Actor, Command
from .decide import Rejected, decide
from .events import REWRITING_EVENTS, Event
from .fold import apply, replay
from .state import State


class Entry(NamedTuple):
    """One row of the timing log. A named tuple: immutable, and cheap to make for every row of a long log
    (a frozen dataclass costs four times as much to construct)."""

    seq: int
    ts: int  # server UTC time, ms
    actor: Actor
    event: Event
    event_json: str  # the event as stored and sent, serialised once

    @classmethod
    def make(cls, seq: int, ts: int, actor: Actor, event: Event) -> Entry:
        return cls(seq, ts, actor, event, event.model_dump_json())


class Settled(NamedTuple):
    """The state to keep after :func:`settle`, and whether it was rebuilt from the log (the entries rewrote
    the past: viewers need a fresh snapshot, not the entries)."""

    state: State
    replayed: bool


def number(state: State, events: Iterable[Event], actor: Actor, wall: int) -> list[Entry]:
    """``events`` by ``actor`` at wall time ``wall`` as the log's next entries, numbered after ``state``."""
    base = state.seq
    return [Entry.make(base + i, wall, actor, event) for i, event in enumerate(events, 1)]


def record(state: State, command: Command, actor: Actor, now: int, wall: int) -> Rejected | list[Entry]:
    """Decide ``command`` by ``actor`` at event-clock time ``now``: the rejection, or the entries to log,
    stamped with wall time ``wall``. Nothing is applied and ``state`` is not changed."""
    decision = decide(state, command, actor, now)
    if isinstance(decision, Rejected):
        return decision
    return number(state, decision, actor, wall)


def settle(state: State, log: list[Entry], new: list[Entry]) -> Settled:
    """Append ``new`` (the entries :func:`record` or :func:`number` made on ``state``) to ``log``, and fold
    them into the state: applied to ``state`` in place, or, when an undo is among them, the whole log
    replayed without the entries voided. The returned state is the one to keep."""
    log.extend(new)
    if any(entry.event.type in REWRITING_EVENTS for entry in new):
        return Settled(replay([(entry.seq, entry.event) for entry in log]), True)
    for entry in new:
        apply(state, entry.event, entry.seq)
    return Settled(state, False)
