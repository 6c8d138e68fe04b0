"""Written questions: what may be asked, voted, approved, put live, answered, dismissed, merged and edited
(``decide_question``), and how each event changes the state (``FOLDS``, used by ``fold.apply``).

A question is pending while the event moderates questions and no moderator has approved it, then visible,
live (on every screen now) and answered; it can be dismissed at any point (its asker is not told) or merged
into a duplicate (its voters join the other's, each counted once). One vote per person per question,
revocable; never for one's own question. Who sees what is in ``visibility.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import commands as c
from . import events as e
from .agenda import Person
from .state import Question, QuestionState, SessionState, State
from .visibility import spoken_of

OPEN_STATES: frozenset[QuestionState] = frozenset({"pending", "visible", "live", "answered"})
VOTABLE_STATES: frozenset[QuestionState] = frozenset({"visible", "live"})
# The moderator's panel, top to bottom: what needs a decision, what is on, what is waiting by votes, what is done.
_STATE_ORDER: dict[str, int] = {"pending": 0, "live": 1, "visible": 2, "answered": 3, "merged": 4, "dismissed": 5}


class Refused(Exception):
    """A question command refused: ``decide`` turns it into a ``Rejected`` with this code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def ordered(questions: list[Question]) -> list[Question]:
    """Pending first (oldest first), then live, visible by votes (most first, then oldest), answered, the rest."""
    return sorted(
        questions,
        key=lambda q: (_STATE_ORDER[q.state], -q.votes if q.state == "visible" else 0, q.asked_at, _number(q.id)),
    )


def _number(question_id: str) -> int:
    return int(question_id[1:]) if question_id[1:].isdigit() else 0


def most_voted(state: State, session: str) -> Question | None:
    """The session's visible question with the most votes (the oldest among equals); None when none is visible."""
    visible = [q for q in state.questions.values() if q.session == session and q.state == "visible"]
    return ordered(visible)[0] if visible else None


def _text(state: State, raw: str) -> str:
    assert state.agenda is not None
    text = " ".join(raw.split())
    limit = state.agenda.questions.max_length
    if not text:
        raise Refused("invalid", "a question needs some text")
    if any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in text):
        raise Refused("invalid", "a question cannot hold control characters")
    if len(text) > limit:
        raise Refused("invalid", f"a question is at most {limit} characters here; this one has {len(text)}")
    return text


def _person(actor: c.Actor, what: str) -> str:
    if actor.person is None:
        raise Refused("invalid", f"only a speaker or participant {what}")
    return actor.person


def _found(state: State, question_id: str, actor: c.Actor) -> Question:
    """The question, as far as ``actor`` may know of it: a pending question that is not theirs, and a dismissed
    one, do not exist for the audience (the asker of a dismissed question is not told)."""
    question = state.questions.get(question_id)
    hidden = question is not None and actor.role != "moderator" and question.asker != actor.person
    if question is None or (hidden and question.state in ("pending", "dismissed")):
        raise Refused("not_found", f"no question {question_id!r}")
    return question


def _is_open(question: Question) -> None:
    if question.state == "dismissed":
        raise Refused("invalid_state", f"question {question.id} was dismissed")
    if question.state == "merged":
        raise Refused("invalid_state", f"question {question.id} was merged into {question.merged_into}")


def _registered(state: State, actor: c.Actor, person: str) -> tuple[Person | None, bool]:
    """The participant to name with the event (when the viewers may not know them), and whether they are new."""
    if actor.role != "participant":
        return None, False
    known = state.participants.get(person)
    if known is None:
        return Person(id=person, name=actor.name or person, participant=True), True
    return (None if spoken_of(state, person) else known), False


def _ask(state: State, s: SessionState, cmd: c.Ask, actor: c.Actor, now: int) -> list[e.Event]:
    assert state.agenda is not None
    person = _person(actor, "asks a question")
    settings = state.agenda.questions
    text = _text(state, cmd.text)
    if cmd.anonymous and not settings.anonymous:
        raise Refused("invalid", "this event does not take anonymous questions")
    question = f"q{len(state.questions) + 1}"
    participant, new = _registered(state, actor, person)
    pending = settings.moderated and actor.role != "moderator"
    out: list[e.Event] = []
    if cmd.anonymous:
        out.append(
            e.QuestionAsked(
                session=s.id, at=now, question=question, text=text, asker=None, anonymous=True, pending=pending
            )
        )
        out.append(e.QuestionAsker(session=s.id, at=now, question=question, person=person, participant=participant))
        return out
    if new and participant is not None:
        out.append(e.ParticipantRegistered(person=participant))
        participant = None
    out.append(
        e.QuestionAsked(
            session=s.id, at=now, question=question, text=text, asker=person, pending=pending, participant=participant
        )
    )
    return out


def _vote(state: State, s: SessionState, cmd: c.Vote, actor: c.Actor, now: int) -> list[e.Event]:
    person = _person(actor, "votes")
    question = _found(state, cmd.question, actor)
    if question.asker == person:
        raise Refused("invalid", f"question {question.id} is your own: vote for others' questions")
    _is_open(question)
    if question.state not in VOTABLE_STATES:
        raise Refused("invalid_state", f"question {question.id} is {question.state}; votes are for questions to come")
    if person in question.voters:
        raise Refused("invalid_state", f"you have voted for question {question.id} already")
    return [e.QuestionVoted(session=question.session, at=now, question=question.id, person=person)]


def _unvote(state: State, s: SessionState, cmd: c.Unvote, actor: c.Actor, now: int) -> list[e.Event]:
    person = _person(actor, "votes")
    question = _found(state, cmd.question, actor)
    if question.state == "merged" and question.merged_into is not None:
        raise Refused("invalid_state", f"question {question.id} was merged; your vote went to {question.merged_into}")
    if person not in question.voters:
        raise Refused("not_found", f"you have not voted for question {question.id}")
    return [e.QuestionUnvoted(session=question.session, at=now, question=question.id, person=person)]


def _public(question: Question) -> tuple[str | None, bool]:
    return (None if question.anonymous else question.asker), question.anonymous


def _approve(state: State, s: SessionState, cmd: c.QuestionApprove, actor: c.Actor, now: int) -> list[e.Event]:
    question = _found(state, cmd.question, actor)
    _is_open(question)
    if question.state != "pending":
        raise Refused("invalid_state", f"question {question.id} is {question.state}, not pending")
    asker, anonymous = _public(question)
    participant = None
    if asker is not None and not spoken_of(state, asker):
        participant = state.participants.get(asker)
    return [
        e.QuestionApproved(
            session=question.session,
            at=now,
            question=question.id,
            text=question.text,
            asked_at=question.asked_at,
            asker=asker,
            anonymous=anonymous,
            participant=participant,
        )
    ]


def _live(state: State, s: SessionState, cmd: c.QuestionGoLive, actor: c.Actor, now: int) -> list[e.Event]:
    if cmd.question is None:
        picked = most_voted(state, s.id)
        if picked is None:
            raise Refused("not_found", f"no visible question in session {s.id!r} to put live")
        question = picked
    else:
        question = _found(state, cmd.question, actor)
        _is_open(question)
        if question.state != "visible":
            hint = " (approve it first)" if question.state == "pending" else ""
            raise Refused("invalid_state", f"question {question.id} is {question.state}, not visible{hint}")
    before = next((q.id for q in state.questions.values() if q.session == question.session and q.state == "live"), None)
    return [e.QuestionLive(session=question.session, at=now, question=question.id, answered=before)]


def _answered(state: State, s: SessionState, cmd: c.QuestionAnswer, actor: c.Actor, now: int) -> list[e.Event]:
    question = _found(state, cmd.question, actor)
    _is_open(question)
    if question.state not in ("live", "visible"):
        raise Refused("invalid_state", f"question {question.id} is {question.state}; only a live or visible one")
    return [e.QuestionAnswered(session=question.session, at=now, question=question.id)]


def _dismiss(state: State, s: SessionState, cmd: c.QuestionDismiss, actor: c.Actor, now: int) -> list[e.Event]:
    question = _found(state, cmd.question, actor)
    _is_open(question)
    by = actor.person or actor.name or actor.role
    return [e.QuestionDismissed(session=question.session, at=now, question=question.id, by=by)]


def merged_voters(source: Question, into: Question) -> list[str]:
    """The voters of ``into`` after ``source`` is merged into it: each once, and never ``into``'s asker."""
    voters = list(into.voters)
    seen = set(voters)
    for person in source.voters:
        if person not in seen and person != into.asker:
            voters.append(person)
            seen.add(person)
    return voters


def _merge(state: State, s: SessionState, cmd: c.QuestionMerge, actor: c.Actor, now: int) -> list[e.Event]:
    question = _found(state, cmd.question, actor)
    into = _found(state, cmd.into, actor)
    if question.id == into.id:
        raise Refused("invalid", "a question cannot be merged into itself")
    _is_open(question)
    _is_open(into)
    if into.state == "pending":
        raise Refused("invalid_state", f"question {into.id} is pending: approve it before merging into it")
    votes = len(merged_voters(question, into))
    return [e.QuestionMerged(session=question.session, at=now, question=question.id, into=into.id, votes=votes)]


def _edit(state: State, s: SessionState, cmd: c.QuestionEdit, actor: c.Actor, now: int) -> list[e.Event]:
    question = _found(state, cmd.question, actor)
    _is_open(question)
    text = _text(state, cmd.text)
    if text == question.text:
        raise Refused("invalid", f"question {question.id} already reads so")
    return [e.QuestionEdited(session=question.session, at=now, question=question.id, text=text)]


DECIDERS: dict[str, Callable[..., list[e.Event]]] = {
    "ask": _ask,
    "vote": _vote,
    "unvote": _unvote,
    "question_approve": _approve,
    "question_live": _live,
    "question_answered": _answered,
    "question_dismiss": _dismiss,
    "question_merge": _merge,
    "question_edit": _edit,
}


# --- the fold ----------------------------------------------------------------------------------------------
# A viewer's replica may lack a question (a pending one not theirs): the events about it change nothing there.


def _asked(state: State, _s: SessionState, ev: e.QuestionAsked) -> None:
    if ev.participant is not None:
        state.participants[ev.participant.id] = ev.participant
    state.questions[ev.question] = Question(
        id=ev.question,
        session=ev.session,
        text=ev.text,
        asked_at=ev.at,
        asker=ev.asker,
        anonymous=ev.anonymous,
        state="pending" if ev.pending else "visible",
    )


def _asker(state: State, _s: SessionState, ev: e.QuestionAsker) -> None:
    if ev.participant is not None:
        state.participants[ev.participant.id] = ev.participant
    question = state.questions.get(ev.question)
    if question is not None:
        question.asker = ev.person


def _approved(state: State, _s: SessionState, ev: e.QuestionApproved) -> None:
    if ev.participant is not None:
        state.participants[ev.participant.id] = ev.participant
    question = state.questions.get(ev.question)
    if question is None:
        question = Question(
            id=ev.question,
            session=ev.session,
            text=ev.text,
            asked_at=ev.asked_at,
            asker=ev.asker,
            anonymous=ev.anonymous,
        )
        state.questions[ev.question] = question
    question.state = "visible"


def _voted(state: State, _s: SessionState, ev: e.QuestionVoted) -> None:
    question = state.questions.get(ev.question)
    if question is not None and ev.person not in question.voters:
        question.voters.append(ev.person)
        question.votes += 1


def _unvoted(state: State, _s: SessionState, ev: e.QuestionUnvoted) -> None:
    question = state.questions.get(ev.question)
    if question is not None and ev.person in question.voters:
        question.voters.remove(ev.person)
        question.votes = max(0, question.votes - 1)


def _went_live(state: State, _s: SessionState, ev: e.QuestionLive) -> None:
    if ev.answered is not None and ev.answered in state.questions:
        before = state.questions[ev.answered]
        before.state = "answered"
        before.answered_at = ev.at
    question = state.questions.get(ev.question)
    if question is not None:
        question.state = "live"
        question.live_at = ev.at


def _was_answered(state: State, _s: SessionState, ev: e.QuestionAnswered) -> None:
    question = state.questions.get(ev.question)
    if question is not None:
        question.state = "answered"
        question.answered_at = ev.at


def _dismissed(state: State, _s: SessionState, ev: e.QuestionDismissed) -> None:
    question = state.questions.get(ev.question)
    if question is not None:
        question.shown_as = question.state
        question.state = "dismissed"
        question.dismissed_by = ev.by


def _merged(state: State, _s: SessionState, ev: e.QuestionMerged) -> None:
    question = state.questions.get(ev.question)
    into = state.questions.get(ev.into)
    if into is not None and question is not None:
        into.voters = merged_voters(question, into)
    if into is not None:
        into.votes = ev.votes
    if question is not None:
        question.state = "merged"
        question.merged_into = ev.into
        question.voters = []
        question.votes = 0


def _edited(state: State, _s: SessionState, ev: e.QuestionEdited) -> None:
    question = state.questions.get(ev.question)
    if question is not None:
        question.text = ev.text
        question.edited = True


FOLDS: dict[str, Callable[[State, Any, Any], None]] = {
    "question_asked": _asked,
    "question_asker": _asker,
    "question_approved": _approved,
    "question_voted": _voted,
    "question_unvoted": _unvoted,
    "question_live": _went_live,
    "question_answered": _was_answered,
    "question_dismissed": _dismissed,
    "question_merged": _merged,
    "question_edited": _edited,
}


def apply_votes(state: State, votes: dict[str, int], seq: int) -> None:
    """The counts of a ``question_votes`` frame (coalesced by the server) into a viewer's replica, which is then
    as of ``seq``: the frames come in order, so it holds every entry up to there that the viewer may see."""
    state.seq = max(state.seq, seq)
    for question_id, count in votes.items():
        question = state.questions.get(question_id)
        if question is not None:
            question.votes = max(0, count)
