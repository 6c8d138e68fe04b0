"""Creating an event: its agenda becomes the first entry of its log, its tokens are minted."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from modconsole.core.agenda import Agenda, slug
from modconsole.core.commands import Actor
from modconsole.core.events import EventCreated

from .store import Entry, Store
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
