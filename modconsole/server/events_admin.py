"""Creating an event: its agenda becomes the first entry of its log, its tokens are minted."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from modconsole.core.agenda import Agenda, slug
from modconsole.core.commands import Actor
from modconsole.core.events import AgendaReplaced, EventCreated
from modconsole.core.fold import replay

from .store import Entry, SqliteStore, Store
from .tokens import new_token, token_hash

SYSTEM = Actor(role="system", client="server")


@dataclass(frozen=True)
class CreatedEvent:
    event_id: str
    moderator: str
    display: str
    participant: str
    people: dict[str, str]

    def as_json(self) -> dict[str, object]:
        return {
            "event_id": self.event_id,
            "tokens": {
                "moderator": self.moderator,
                "display": self.display,
                "participant": self.participant,
                "people": dict(self.people),
            },
        }


def mint_tokens(event_id: str, agenda: Agenda) -> tuple[CreatedEvent, list[tuple[str, str | None, str]]]:
    """Fresh tokens for an event (to show once) and their grants (role, person, hash) to store."""
    created = CreatedEvent(
        event_id=event_id,
        moderator=new_token(),
        display=new_token(),
        participant=new_token(),
        people={person.id: new_token() for person in agenda.people},
    )
    grants: list[tuple[str, str | None, str]] = [
        ("moderator", None, token_hash(created.moderator)),
        ("display", None, token_hash(created.display)),
        ("participant", None, token_hash(created.participant)),
    ]
    grants += [("speaker", person, token_hash(token)) for person, token in created.people.items()]
    return created, grants


def create_event(store: Store, agenda: Agenda, *, now_ms: int | None = None) -> CreatedEvent:
    event_id = f"{slug(agenda.title)[:32]}-{secrets.token_hex(3)}"
    created, grants = mint_tokens(event_id, agenda)
    ts = int(time.time() * 1000) if now_ms is None else now_ms
    first = Entry.make(1, ts, SYSTEM, EventCreated(event_id=event_id, agenda=agenda))
    store.create_event(event_id, agenda.title, grants, [first])
    return created


class PlanRefused(Exception):
    """The plan cannot be replaced from a file; the message says why."""


@dataclass(frozen=True)
class ReplacedPlan:
    event_id: str
    kept: dict[str, str]  # new person id -> old person id, whose token they keep
    people: dict[str, str]  # new person id -> new token (shown once)
    removed: tuple[str, ...]  # old person ids whose tokens stopped working

    def as_json(self) -> dict[str, object]:
        return {
            "event_id": self.event_id,
            "kept": dict(self.kept),
            "tokens": {"people": dict(self.people)},
            "removed": list(self.removed),
        }


def match_people(old: Agenda, new: Agenda) -> dict[str, str]:
    """New person id -> old person id: the same guid (a schedule's), else the same id, else the same email
    (the tags ``guid`` and ``email``); each old person matched at most once."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for key in ("guid", "id", "email"):
        index: dict[str, str] = {}
        for person in old.people:
            value = person.id if key == "id" else person.tags.get(key, "").casefold()
            if value and person.id not in taken:
                index.setdefault(value, person.id)
        for person in new.people:
            if person.id in mapping:
                continue
            value = person.id if key == "id" else person.tags.get(key, "").casefold()
            found = index.get(value) if value else None
            if found is not None and found not in taken:
                mapping[person.id] = found
                taken.add(found)
    return mapping


def replace_plan(store: SqliteStore, event_id: str, agenda: Agenda, *, now_ms: int | None = None) -> ReplacedPlan:
    """Replace an event's plan before any session has started, keeping the tokens of the people it keeps."""
    entries = list(store.read(event_id))
    if not entries:
        raise PlanRefused(f"no event {event_id!r}")
    state = replay([(e.seq, e.event) for e in entries])
    assert state.agenda is not None
    for session in state.sessions:
        if session.status != "not_started" or session.started_at is not None:
            raise PlanRefused(
                f"session {session.id!r} has started ({session.status}): the plan can no longer be replaced from a "
                "file; change it live instead"
            )
    mapping = match_people(state.agenda, agenda)
    holders = store.speaker_tokens(event_id)
    renamed = {old: new for new, old in mapping.items() if old in holders}
    fresh = {
        person.id: new_token()
        for person in agenda.people
        if person.id not in mapping or mapping[person.id] not in holders
    }
    removed = tuple(sorted(holders - set(renamed)))
    ts = int(time.time() * 1000) if now_ms is None else now_ms
    entry = Entry.make(entries[-1].seq + 1, ts, SYSTEM, AgendaReplaced(agenda=agenda))
    grants: list[tuple[str, str | None, str]] = [("speaker", pid, token_hash(token)) for pid, token in fresh.items()]
    store.replace_plan(event_id, agenda.title, entry, renamed, grants, list(removed))
    kept = {new: old for new, old in mapping.items() if old in renamed}
    return ReplacedPlan(event_id, kept, fresh, removed)


def plan_in_force(store: Store, event_id: str) -> Agenda:
    """The plan as the log has it now: the agenda created, as replaced or edited since."""
    state = replay([(e.seq, e.event) for e in store.read(event_id)])
    if state.agenda is None:
        raise PlanRefused(f"no event {event_id!r}")
    return state.agenda
