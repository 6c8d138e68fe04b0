"""Who holds which token of an event, and changing that: reissue, revoke, a named moderator; and an event
copied to another database to rehearse on (the same agenda, people and token hashes, a log of its own).

Each function takes open stores and returns what to show; the command line (cli.py) prints it. Tokens
are minted here and shown once by the caller; only their hashes reach the store. A running server
learns of a revocation from the store (service.py polls it) and closes those connections with 1008.
"""

from __future__ import annotations

from dataclasses import dataclass

from modconsole.core.agenda import Agenda, slug
from modconsole.core.events import EventCreated
from modconsole.core.fold import replay
from modconsole.core.names import clean_name, fold_name

from .events_admin import SYSTEM
from .store import Entry, StorageError, Store, StoredToken
from .tokens import new_token, token_hash

# The event's own tokens, held by no one in particular: named by their role on the command line.
EVENT_TOKENS = ("moderator", "display", "participant")
MAX_ID = 64


class AdminError(Exception):
    """What was asked cannot be done; the message says why and what would do."""


def pick_event(store: Store, event_id: str | None) -> str:
    """The event asked for, else the only one in the database."""
    events = store.event_ids()
    if event_id is None:
        if len(events) != 1:
            listing = ", ".join(events) or "none"
            raise AdminError(f"--event is needed: the database holds {len(events)} events ({listing})")
        return events[0]
    if event_id not in events:
        raise AdminError(f"no event {event_id!r} (events: {', '.join(events) or 'none'})")
    return event_id


def _agenda(store: Store, event_id: str) -> Agenda:
    entries = list(store.read(event_id))
    agenda = replay([(e.seq, e.event) for e in entries]).agenda
    if agenda is None:
        raise AdminError(f"event {event_id} has no agenda")
    return agenda


@dataclass(frozen=True)
class Holder:
    """One live token as ``tokens list`` shows it (never the token)."""

    role: str
    person: str | None
    name: str | None
    sessions: tuple[str, ...] | None

    def as_json(self) -> dict[str, object]:
        sessions = None if self.sessions is None else list(self.sessions)
        return {"role": self.role, "person": self.person, "name": self.name, "sessions": sessions}


def list_holders(store: Store, event_id: str) -> tuple[list[Holder], int]:
    """The live tokens of the event, in the order issued, with each roster person's name; and how many
    were revoked."""
    agenda = _agenda(store, event_id)
    names = {p.id: p.name for p in agenda.people}
    tokens = store.tokens(event_id)
    live = [
        Holder(t.role, t.person, t.name or (names.get(t.person) if t.person else None), t.sessions)
        for t in tokens
        if not t.revoked
    ]
    return live, sum(1 for t in tokens if t.revoked)


def _whose(store: Store, event_id: str, who: str) -> tuple[str, str | None]:
    """(role, person) of the token ``who`` names: the event's moderator, display or participant token, else a
    person's or a named moderator's by id, else by a name that only one holder has (case and accents aside)."""
    if who in EVENT_TOKENS:
        return who, None
    tokens = store.tokens(event_id)
    holders: set[tuple[str, str | None]] = {(t.role, t.person) for t in tokens if t.person == who}
    if not holders:
        agenda = _agenda(store, event_id)
        roster = {p.id: p.name for p in agenda.people}
        folded = fold_name(who)
        latest: dict[tuple[str, str | None], str | None] = {}
        for t in tokens:
            if t.person is not None:
                latest[t.role, t.person] = t.name or roster.get(t.person)
        holders = {key for key, name in latest.items() if name is not None and fold_name(name) == folded}
    if not holders:
        raise AdminError(
            f"no token held by {who!r} in event {event_id}: name moderator, display, participant, or a person "
            "(their id or name; `tokens list` shows them)"
        )
    if len(holders) > 1:
        listing = ", ".join(f"{person} ({role})" for role, person in sorted(holders, key=str))
        raise AdminError(f"{who!r} is more than one holder: {listing}; name one by id")
    return next(iter(holders))


@dataclass(frozen=True)
class Issued:
    person: str | None
    role: str
    token: str
    name: str | None = None
    sessions: tuple[str, ...] | None = None

    def as_json(self) -> dict[str, object]:
        return {"person": self.person, "role": self.role, "token": self.token}


def reissue(store: Store, event_id: str, who: str) -> Issued:
    """A new token in place of the one ``who`` holds: the old one stops working at once."""
    role, person = _whose(store, event_id, who)
    token = new_token()
    stored = store.replace_token(event_id, role, person, token_hash(token))
    return Issued(person, role, token, stored.name, stored.sessions)


def revoke(store: Store, event_id: str, who: str) -> tuple[str, str | None, int]:
    """Revoke the token ``who`` holds: (role, person, how many tokens stopped working)."""
    role, person = _whose(store, event_id, who)
    count = store.revoke_token(event_id, role, person)
    if count == 0:
        raise AdminError(f"the {role} token" + (f" of {person}" if person else "") + " was revoked already")
    return role, person, count


def add_moderator(
    store: Store, event_id: str, name: str, *, person: str | None = None, sessions: list[str] | None = None
) -> Issued:
    """A moderator token of one's own: the log's actor names this moderator, and with ``sessions`` it acts on
    those sessions only. ``person`` is their id (default: from the name); a roster person's id makes the
    roster person the moderator."""
    try:
        name = clean_name(name)
    except ValueError as exc:
        raise AdminError(f"the moderator's name: {exc}") from None
    agenda = _agenda(store, event_id)
    person_id = person if person is not None else f"mod-{slug(name)}"
    if not person_id or len(person_id) > MAX_ID or any(ch.isspace() or not ch.isprintable() for ch in person_id):
        raise AdminError(f"the moderator's id {person_id!r} must be 1 to {MAX_ID} printable characters, no spaces")
    if person_id in EVENT_TOKENS:
        raise AdminError(f"{person_id!r} names the event's own token; give another --id")
    tokens = store.tokens(event_id)
    if any(t.role == "moderator" and t.person == person_id for t in tokens):
        raise AdminError(f"{person_id!r} is a moderator already (reissue their token: tokens reissue {person_id})")
    if person_id not in {p.id for p in agenda.people} and any(t.person == person_id for t in tokens):
        raise AdminError(f"{person_id!r} holds another token of this event; give another --id")
    limited: tuple[str, ...] | None = None
    if sessions:
        known = [s.id for s in agenda.sessions]
        unknown = [s for s in sessions if s not in known]
        if unknown:
            raise AdminError(f"no session {', '.join(map(repr, unknown))} (sessions: {', '.join(known)})")
        limited = tuple(dict.fromkeys(sessions))
    token = new_token()
    store.add_tokens(event_id, [StoredToken(token_hash(token), "moderator", person_id, name, limited)])
    return Issued(person_id, "moderator", token, name, limited)


@dataclass(frozen=True)
class Copied:
    event_id: str
    title: str
    tokens: int
    people: int
    entries_left: int  # the source log's entries not copied


def copy_event(source: Store, target: Store, event_id: str, *, now_ms: int) -> Copied:
    """The event's agenda (as it stands), its people and its token hashes into ``target`` under the same id,
    with a log of its own holding only its creation: the same tokens work on both, and what is done on the
    copy never reaches the original."""
    entries = list(source.read(event_id))
    state = replay([(e.seq, e.event) for e in entries])
    if state.agenda is None:
        raise AdminError(f"event {event_id} has no agenda")
    if event_id in target.event_ids():
        raise AdminError(f"the target database holds event {event_id} already")
    tokens = source.tokens(event_id)
    first = Entry.make(1, now_ms, SYSTEM, EventCreated(event_id=event_id, agenda=state.agenda))
    try:
        target.create_event(event_id, state.agenda.title, [], [first])
        target.add_tokens(event_id, tokens)
    except StorageError as exc:
        raise AdminError(f"could not copy event {event_id}: {exc}") from None
    return Copied(event_id, state.agenda.title, len(tokens), len(state.agenda.people), len(entries) - 1)
