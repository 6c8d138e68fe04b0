"""Who may see what: the events a viewer is sent and the state a viewer holds.

This module owns the visibility rules and nothing else: a message to a person reaches only that person and
the moderators, and so does its acknowledgement; viewers other than moderators get neither the roster's
tags nor others' messages; a snapshot carries only the participants the state speaks of. It must never
change the state it is given: ``view_for`` returns a copy where it leaves anything out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from .agenda import Agenda
from .events import Event
from .state import State


def visible_to(state: State, event: Event, role: str, person: str | None) -> bool:
    """Whether a viewer may see an event: a message to a person reaches only
    that person and the moderators, and so does its acknowledgement."""
    if role == "moderator":
        return True
    if event.type == "message_sent":
        return event.to in ("all", person)
    if event.type == "message_acknowledged":
        return event.person == person
    return event.type != "person_tagged"  # the roster's tags are for moderators (and the reports)


def viewer_key(state: State, role: str, person: str | None) -> tuple[object, ...]:
    """Equal keys give equal ``view_for`` states: what sets a view apart is only being a moderator,
    and the messages and acknowledgements that are the viewer's own. Most of an audience shares one."""
    if role == "moderator":
        return ("moderator",)
    own = tuple(
        (m.id, m.acknowledged.get(person) if person else None)
        for m in state.messages
        if (person is not None and m.to == person) or (person is not None and person in m.acknowledged)
    )
    return ("audience", own)


def _spoken_of(state: State) -> Iterator[str]:
    """The people the live state speaks of, with repeats: a hand up, the floor, a turn taken, a message to or
    from them."""
    for session in state.sessions:
        yield from (h.person for h in session.waiting)
        for item in session.items:
            yield from (h.person for h in item.queue)
            yield from (t.person for t in item.turns)
            if item.floor is not None:
                yield item.floor.person
    for message in state.messages:
        yield message.to
        yield from message.acknowledged


def referenced_people(state: State) -> set[str]:
    """Everyone the live state speaks of (what a snapshot keeps of the participants)."""
    return set(_spoken_of(state))


def spoken_of(state: State, person: str) -> bool:
    """Whether the live state speaks of ``person``: stops at the first mention (a raise asks it every time)."""
    return any(mentioned == person for mentioned in _spoken_of(state))


_untagged: tuple[Agenda, Agenda] | None = None  # the last agenda stripped of its tags, and the result


def _without_tags(agenda: Agenda) -> Agenda:
    """The agenda with the roster's tags left out: gender, country and the like are for the reports."""
    global _untagged
    if _untagged is not None and _untagged[0] is agenda:
        return _untagged[1]
    people = tuple(p if not p.tags else p.model_copy(update={"tags": {}}) for p in agenda.people)
    stripped = agenda.model_copy(update={"people": people})
    _untagged = (agenda, stripped)
    return stripped


def view_for(state: State, role: str, person: str | None) -> State:
    """The state as a viewer may see it: others' private messages left out, and only the participants the
    state speaks of (a hand, a turn, a message) rather than all who ever registered: a viewer knows itself
    from its welcome. Viewers other than moderators do not get the roster's tags."""
    people = referenced_people(state)
    participants = state.participants
    if len(people) < len(participants):
        participants = {pid: p for pid, p in participants.items() if pid in people}
    if role == "moderator":
        return state if participants is state.participants else replace(state, participants=participants)
    messages = [m for m in state.messages if m.to in ("all", person)]
    for index, message in enumerate(messages):
        if message.acknowledged and set(message.acknowledged) != {person}:
            messages[index] = replace(
                message, acknowledged={k: v for k, v in message.acknowledged.items() if k == person}
            )
    participants = {pid: p if not p.tags else p.model_copy(update={"tags": {}}) for pid, p in participants.items()}
    agenda = state.agenda if state.agenda is None else _without_tags(state.agenda)
    return replace(state, messages=messages, participants=participants, agenda=agenda)
