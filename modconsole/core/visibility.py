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
from .events import QUESTION_EVENTS, Event
from .state import Question, State


def visible_to(state: State, event: Event, role: str, person: str | None) -> bool:
    """Whether a viewer may see an event: a message to a person reaches only
    that person and the moderators, and so does its acknowledgement."""
    if role == "moderator":
        return True
    if event.type == "message_sent":
        return event.to in ("all", person)
    if event.type == "message_acknowledged":
        return event.person == person
    if event.type in QUESTION_EVENTS:
        return _question_visible(state, event, person)
    return event.type != "person_tagged"  # the roster's tags are for moderators (and the reports)


def _question_visible(state: State, event: Event, person: str | None) -> bool:
    """A written question's event for a viewer other than a moderator (``state`` has the event folded in): a
    pending question reaches only its asker, an anonymous asker only themselves, a vote only the voter; a
    dismissal reaches those who saw the question, but never its asker."""
    if event.type in ("question_voted", "question_unvoted", "question_asker"):
        return event.person == person
    question = state.questions.get(getattr(event, "question", ""))
    if question is None:
        return False
    own = person is not None and question.asker == person
    if event.type == "question_asked":
        return own or not event.pending
    if event.type == "question_dismissed":
        return not own and question.shown_as != "pending"
    if event.type == "question_edited":
        return own or question.state != "pending"
    return True


def _question_for(question: Question, person: str | None) -> Question | None:
    """A question as a viewer other than a moderator sees it, or None when it is not for them."""
    own = person is not None and question.asker == person
    shown = question.state
    if shown == "dismissed":
        if not own or question.shown_as is None:
            return None
        shown = question.shown_as  # the asker is not told
    if shown == "pending" and not own:
        return None
    return replace(
        question,
        state=shown,
        asker=question.asker if own or not question.anonymous else None,
        voters=[person] if person is not None and person in question.voters else [],
        dismissed_by=None,
        shown_as=None,
    )


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
    asked = tuple(q.id for q in state.questions.values() if person is not None and q.asker == person)
    voted = tuple(q.id for q in state.questions.values() if person is not None and person in q.voters)
    return ("audience", own, asked, voted)


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
    for question in state.questions.values():
        if question.asker is not None and not question.anonymous and question.state not in ("pending", "dismissed"):
            yield question.asker


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
    if role == "moderator":
        people |= {q.asker for q in state.questions.values() if q.asker is not None}
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
    questions: dict[str, Question] = {}
    for question_id, question in state.questions.items():
        seen = _question_for(question, person)
        if seen is not None:
            questions[question_id] = seen
    return replace(state, messages=messages, participants=participants, agenda=agenda, questions=questions)
