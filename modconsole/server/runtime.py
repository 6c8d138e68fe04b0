"""One served event at run time: its state and its log in memory, the clients watching it, its clock floor,
the roster a participant's name is checked against, and the roll of participants issued so far.

This module owns what the server holds per event between commands. It must never write the log, decide a
command or talk to a socket beyond handing a client its frames: the service (modconsole/server/service.py)
runs the write path (modconsole/core/log.py) under the runtime's lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from modconsole.core.attendance import Mark, Tracker
from modconsole.core.commands import Actor, Command
from modconsole.core.events import REWRITING_EVENTS, ClockSet
from modconsole.core.fold import replay
from modconsole.core.log import Entry
from modconsole.core.state import State
from modconsole.core.visibility import view_for, visible_to
from modconsole.longlived import gc_paused
from modconsole.protocol import Presence, QuestionVotes

from .connection import Client, Sender
from .registrations import Roll, roster_folds
from .store import Store
from .view_feed import ViewFeed

RESUME_WINDOW = 20_000  # a client further behind than this gets a fresh snapshot
PRESENCE_DELAY_S = 0.5  # connects and disconnects within this window make one presence frame
VOTES_EVERY_S = 1.0  # at most one question_votes frame per event in this time
VOTE_EVENTS = frozenset({"question_voted", "question_unvoted"})


@dataclass(slots=True, eq=False)
class Work:
    """A client's command waiting for the next group commit, answered once it is durable."""

    command: Command
    client: Sender
    done: asyncio.Future[None]


def last_logged_time(entries: list[Entry]) -> int:
    """The latest event-clock time the log holds: the last moment anyone was told about. Wall times (``ts``)
    are not event-clock times: at a pace below 1 the event clock runs behind the wall clock."""
    latest = 0
    for entry in entries:
        event = entry.event
        at = event.virtual_ms if isinstance(event, ClockSet) else getattr(event, "at", None)
        if at is not None and at > latest:
            latest = at
    return latest


class EventRuntime:
    """One event's live state, its log in memory, and the clients watching it."""

    def __init__(self, event_id: str, entries: list[Entry]) -> None:
        self.event_id = event_id
        self.entries = entries
        self.state = replay([(e.seq, e.event) for e in entries])
        self.lock = asyncio.Lock()
        self.clients: set[Client] = set()
        self.moderators: set[Client] = set()  # among the clients: a frame for moderators only skips the rest
        self.feed = ViewFeed()  # the browser pages: sent derived views, not events (view_feed.py)
        self._presence: asyncio.TimerHandle | None = None
        # Group commit: what arrives while a commit is under way waits here and goes in the next one.
        self.pending: list[Work] = []
        self.marks: list[Mark] = []  # attendance, written with the next group commit (nobody waits for it)
        self.flusher: asyncio.Task[None] | None = None
        self.attendance = Tracker()
        # The event clock never goes back, whatever the wall clock does: not behind what the log holds,
        # nor behind what ``now`` returned before.
        self.clock_floor = last_logged_time(entries)
        self.roll: Roll | None = None  # the participants issued so far: read from the store at the first join
        self._roster: tuple[object, set[str]] | None = None  # (agenda, its names folded)
        self.hard_stop: asyncio.TimerHandle | None = None  # when the server looks next for a turn to end
        self._votes: asyncio.TimerHandle | None = None  # the next question_votes frame, when one is due
        self._votes_dirty: set[str] = set()  # the questions whose count changed since the last frame
        self._votes_sent = -VOTES_EVERY_S  # the loop's time of the last frame

    def roster(self) -> set[str]:
        """The listed people's names, folded: a participant may not take one."""
        agenda = self.state.agenda
        if self._roster is None or self._roster[0] is not agenda:
            self._roster = (agenda, roster_folds(self.state))
        return self._roster[1]

    @classmethod
    def load(cls, store: Store, event_id: str, *, at_start: bool = True) -> EventRuntime:
        """Read an event's log and fold it into its state. Both live as long as the server: at start they
        are frozen out of the cyclic collector's sight, which would otherwise traverse them all at every
        full collection (about 0.1 s for 100,000 entries, on the event loop). An event loaded while the
        server runs is not: freezing then would also keep for good whatever cyclic garbage the live
        connections had left for the collector."""
        if not at_start:
            return cls(event_id, list(store.read(event_id)))
        with gc_paused(freeze=True):
            return cls(event_id, list(store.read(event_id)))

    def online(self) -> list[str]:
        watching = (*self.clients, *self.feed.pages)
        return sorted({c.actor.person for c in watching if c.actor.person is not None})

    def presence_changed(self) -> None:
        """Tell the moderators who is connected, once per burst of connects and disconnects."""
        if self._presence is None:
            self._presence = asyncio.get_running_loop().call_later(PRESENCE_DELAY_S, self._send_presence)

    def _send_presence(self) -> None:
        self._presence = None
        frame = Presence(people=self.online()).model_dump_json()
        for client in self.clients:
            if client.actor.role == "moderator":
                client.send(frame)

    def votes_changed(self, entries: Iterable[Entry]) -> None:
        """Votes settled: the audience and the displays get the new counts in one ``question_votes`` frame, at
        most one a second (the first at once after a quiet second), however many votes come in between."""
        changed = [e.event.question for e in entries if e.event.type in VOTE_EVENTS]  # type: ignore[union-attr]
        if not changed:
            return
        self._votes_dirty.update(changed)
        if self._votes is None:
            loop = asyncio.get_running_loop()
            delay = max(0.0, self._votes_sent + VOTES_EVERY_S - loop.time())
            self._votes = loop.call_later(delay, self._send_votes)

    def _send_votes(self) -> None:
        self._votes = None
        self._votes_sent = asyncio.get_running_loop().time()
        questions = self.state.questions
        counts = {q: questions[q].votes for q in sorted(self._votes_dirty) if q in questions}
        self._votes_dirty.clear()
        if counts:
            frame = QuestionVotes(seq=self.state.seq, votes=counts).model_dump_json()
            for client in self.clients:
                if client.actor.role != "moderator":
                    client.send(frame)

    def all_votes(self) -> str | None:
        """Every question's count, for a viewer that resumed (it missed the frames while away)."""
        if not self.state.questions:
            return None
        counts = {q.id: q.votes for q in self.state.questions.values()}
        return QuestionVotes(seq=self.state.seq, votes=counts).model_dump_json()

    def now(self, wall: int) -> int:
        """The event clock at wall time ``wall``; never less than it returned before (a wall clock stepped
        back holds it where it was until the wall clock catches up)."""
        now = self.state.clock.now(wall)
        if now < self.clock_floor:
            return self.clock_floor
        self.clock_floor = now
        return now

    def snapshot_for(self, actor: Actor) -> State:
        return view_for(self.state, actor.role, actor.person)

    def missed(self, last_seq: int, actor: Actor) -> list[Entry] | None:
        """Entries after ``last_seq`` this viewer may see, or None when a snapshot is needed."""
        if last_seq > self.state.seq:
            return None
        first = self.entries[0].seq if self.entries else 1
        if last_seq < first - 1 or self.state.seq - last_seq > RESUME_WINDOW:
            return None
        start = last_seq - first + 1
        tail = self.entries[start:]
        if any(e.event.type in REWRITING_EVENTS for e in tail):
            return None  # an undo rewrites the past: only a fresh snapshot is right
        return [e for e in tail if visible_to(self.state, e.event, actor.role, actor.person)]
