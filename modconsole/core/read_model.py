"""The read model: the figures a client reads for a session, typed, and the functions that compute them.

``session_view`` and ``state_view`` are what the consoles show and what ``modconsole ctl state --json``
prints: plain dicts, ready for JSON, declared here as ``TypedDict`` classes so that every field read by
name is checked by its type. The order of the fields below is the order of the keys in the JSON (a test
pins its bytes). docs/read-model.md is generated from these declarations by ``python -m
modconsole.server.read_model_doc``, with the string under each field as its description.

Times are ISO 8601 strings in the event's time zone, to the second; durations are in seconds. This module
only shapes figures: the timing maths is in ``projection.py``, and nothing here changes the state.
"""

from __future__ import annotations

from typing import TypedDict, overload

from .agenda import ms_to_local
from .events import HandKind
from .projection import Phase, item_phase, project, queue_waits, session_elapsed_ms, turn_phase, waiting_waits
from .questions import ordered
from .state import Hand, ItemStatus, QuestionState, SessionState, SessionStatus, State


class ItemView(TypedDict):
    """One item of a session, with its plan and how it ran."""

    id: str
    """The agenda item's id."""
    title: str
    """Its title in the agenda."""
    kind: str
    """Its kind in the agenda: "opening", "talk", "panel", "discussion", "qa", "break", "closing" or "other"."""
    status: ItemStatus
    """Pending until it first runs, current while it runs, done once left; skipped only while pending."""
    planned_start: str
    """When the agenda has it start (the agenda as it stands: items added, moved or edited live count)."""
    planned_duration_s: int
    """Its duration in the agenda as it stands (an edit made live changes it)."""
    duration_s: int
    """Its current plan: the agenda's, changed by added time and applied plans."""
    added_s: int
    """The time the moderator added to it (negative: took from it), in all."""
    actual_start: str | None
    """When it first started; None before it has run."""
    actual_duration_s: float | None
    """How long it has run, to a tenth of a second; None before it has run."""
    projected_start: str | None
    """When a pending item is expected to start, and the current item's actual start; None for the rest
    (done, skipped), even for a done item that "next" opens again: it has started already."""
    over_under_s: float | None
    """Run beyond its plan (negative: short of it); None before it has run. The current item, and a done
    one that "next" opens again, are only over once they pass their plan: until then 0."""
    phase: Phase | None
    """The current item's phase (how close it is to its end); None for the others."""
    fixed_start: str | None
    """The time of day it must start at, if the agenda fixes one (HH:MM:SS)."""
    speakers: list[str]
    """The people the agenda lists to speak on it, by id."""


class ComingView(TypedDict):
    """An item still to come."""

    item: str
    """The item's id."""
    start: str
    """When it is expected to begin, or for a done item opened again, to resume."""


class _Hand(TypedDict):
    """The fields of a hand a class body can declare (``HandView`` is the view)."""

    position: int
    """Its place in the queue, from 1."""
    person: str
    """Who it is, by id."""
    name: str
    """Their name (their id when they are not known)."""
    participant: bool
    """A self-declared member of the audience rather than a person on the roster: shown behind the
    participant mark."""
    kind: HandKind
    """What the hand is for: a point of order goes ahead of every other kind."""
    raised_at: str
    """When it went up."""
    waited_s: int
    """How long it has been up, in whole seconds."""
    estimated_wait_s: int
    """The expected wait for the floor, in whole seconds. In the queue: the turn in progress (what is left of
    its limit; past it, as long again as it has run past it; with no limit, what is left of the item), then an
    expected turn per hand ahead (the item's turn limit, else the session's average turn so far, else two
    minutes). Waiting: until the item it is for begins (the session's start, before it), then an expected turn
    per hand waiting ahead of it for the same item."""


# "for" is a Python keyword: the one key of HandView a class body cannot declare comes from this base.
_HandFor = TypedDict("_HandFor", {"for": str | None})
"""The later item the hand was raised for, by id: it joins that item's queue when the item starts (in
``waiting`` until then; in ``queue`` once it has). None for the session's speakers' list, which moves from
item to item with the session."""


class HandView(_Hand, _HandFor):
    """A hand up: in the current item's queue (``queue``), or waiting (``waiting``)."""


class FloorView(TypedDict):
    """The turn in progress."""

    person: str
    """Who has the floor, by id."""
    name: str
    """Their name (their id when they are not known)."""
    participant: bool
    """A self-declared member of the audience rather than a person on the roster."""
    kind: HandKind
    """The kind of the hand it came from; "contribution" when given the floor unqueued."""
    elapsed_s: float
    """How long the turn has run, to a tenth of a second: it stops while the session or the turn is paused."""
    limit_s: int | None
    """The turn's limit, time added included; None for no limit."""
    paused: bool
    """Paused by the moderator (as opposed to the whole session pausing)."""
    phase: Phase
    """How close the turn is to its limit: "normal" when it has none."""


class SessionView(TypedDict):
    """One session: where it stands, its projection, its items, the queue and the floor."""

    id: str
    """The agenda session's id."""
    title: str
    """Its title in the agenda."""
    room: str
    """Its room in the agenda; empty when none is given."""
    status: SessionStatus
    """Not started, running, paused or ended."""
    current_item: str | None
    """The current item's id; None before the start. Once ended, the item current last."""
    current_remaining_s: float | None
    """What is left of the current item's plan, to a tenth of a second (negative: over it); None when
    ``current_item`` is."""
    next_item: str | None
    """What "next" moves to (a jumped-over item once none is left after the current one); None when
    nothing is left to come."""
    next_start: str | None
    """When the next item begins or, for a done item opened again, resumes; None when nothing is left."""
    coming: list[ComingView]
    """Every item to come, in the order "next" takes them, with the time each begins or resumes."""
    planned_start: str
    """When the agenda has the session start."""
    planned_end: str
    """When the agenda has it end (without extensions)."""
    actual_start: str | None
    """When it started; None before."""
    actual_end: str | None
    """When it ended; None before."""
    planned_duration_s: int
    """Its length in the agenda."""
    extended_s: int
    """How far it was extended on purpose: its target end moves by as much."""
    elapsed_s: float
    """Time since it started, pauses included, to a tenth of a second; up to its end once ended."""
    paused_s: float
    """Time spent paused, the pause in progress included, to a tenth of a second."""
    over_under_s: float
    """How far the projected end is past the target end (negative: before it), to a tenth of a second."""
    projected_end: str
    """When it is expected to end, fixed starts honoured; its actual end once ended."""
    target_end: str
    """Where it should end: its planned end plus extensions. For a session started more than two hours
    away from its plan (a rehearsal, a rescheduled meeting), its planned length from its actual start."""
    queue_open: bool
    """Whether anyone may join the current item's queue (True when no item is current)."""
    turn_limit_s: int | None
    """The limit each new turn on the current item gets; None for no limit, or when no item is current."""
    items: list[ItemView]
    """Every item, in the agenda's order."""
    queue: list[HandView]
    """The list the next "floor" takes from: the current item's queue, in speaking order (the session's
    speakers' list, which moves from item to item, and the hands raised for this item); empty when no item is
    current."""
    waiting: list[HandView]
    """The hands not in the queue yet, in the order raised, positions counted from 1 apart from the queue's:
    those raised for a later item (``for`` names it), and before the start every hand up, which joins the first
    item's queue when the session starts."""
    floor: FloorView | None
    """The turn in progress; None when nobody has the floor."""


class StateView(TypedDict):
    """The whole event, as ``modconsole ctl state --json`` prints it."""

    event_id: str
    """The event's id."""
    title: str
    """The event's title in the agenda."""
    timezone: str
    """The event's time zone (IANA name): every time in the views is given in it."""
    seq: int
    """The log sequence of the last event in the state."""
    now: str
    """The time the figures were computed at, on the event clock."""
    time_scale: float
    """Event-clock time per wall-clock time: above 1 on a rehearsal."""
    rehearsal: bool
    """The clock ran faster than the wall clock at some point."""
    sessions: list[SessionView]
    """Every session, in the agenda's order."""


@overload
def _iso(ms: int, state: State) -> str: ...


@overload
def _iso(ms: int | None, state: State) -> str | None: ...


def _iso(ms: int | None, state: State) -> str | None:
    if ms is None:
        return None
    assert state.agenda is not None
    return ms_to_local(ms, state.agenda.zone).isoformat(timespec="seconds")


def _name(state: State, person_id: str) -> str:
    person = state.person(person_id)
    return person.name if person is not None else person_id


def _is_participant(state: State, person_id: str) -> bool:
    """A self-declared member of the audience, not a listed person: shown behind the participant mark."""
    person = state.person(person_id)
    return person is None or person.participant


def session_view(state: State, session: SessionState, now: int) -> SessionView:
    """The figures the consoles and ``ctl`` read for one session."""
    plan = state.plan(session.id)
    proj = project(state, session, now)
    # Done items that "next" opens again, like the current one, are only over once they pass their plan.
    unfinished = {index for index, _at in proj.coming} | {session.current}
    items: list[ItemView] = []
    for index, (spec, item) in enumerate(zip(plan.items, session.items, strict=True)):
        actual_duration = item.timer.elapsed_ms(now) / 1000 if item.timer.first_start is not None else None
        items.append(
            {
                "id": item.id,
                "title": spec.title,
                "kind": spec.kind.value,
                "status": item.status,
                "planned_start": _iso(proj.planned_starts[index], state),
                "planned_duration_s": spec.duration_s,
                "duration_s": item.duration_s,
                "added_s": item.added_s,
                "actual_start": _iso(item.timer.first_start, state),
                "actual_duration_s": None if actual_duration is None else round(actual_duration, 1),
                "projected_start": _iso(proj.projected_starts[index], state),
                # A running item is only "over" once it passes its duration; until then it is on time.
                "over_under_s": None
                if actual_duration is None
                else round(
                    max(0.0, actual_duration - item.duration_s)
                    if index in unfinished
                    else actual_duration - item.duration_s,
                    1,
                ),
                "phase": item_phase(spec, item, now) if index == session.current else None,
                "fixed_start": spec.fixed_start.isoformat() if spec.fixed_start else None,
                "speakers": list(spec.speakers),
            }
        )
    current = session.current_item
    queue: list[HandView] = []
    floor: FloorView | None = None
    if current is not None:
        queue = _hands(state, current.queue, queue_waits(session, now), now)
        if current.floor is not None:
            turn = current.floor
            floor = {
                "person": turn.person,
                "name": _name(state, turn.person),
                "participant": _is_participant(state, turn.person),
                "kind": turn.kind,
                "elapsed_s": round(turn.timer.elapsed_ms(now) / 1000, 1),
                "limit_s": turn.effective_limit_s,
                "paused": turn.paused,
                "phase": turn_phase(turn, now),
            }
    elapsed_s = session_elapsed_ms(session, now) / 1000
    remaining_s = None
    if current is not None:
        remaining_s = round(current.duration_s - current.timer.elapsed_ms(now) / 1000, 1)
    return {
        "id": session.id,
        "title": plan.title,
        "room": plan.room,
        "status": session.status,
        "current_item": current.id if current is not None else None,
        "current_remaining_s": remaining_s,
        # What "next" moves to (a jumped-over item once none is left after the current one), and when
        # it begins or, for a done item opened again, resumes; None when nothing is left to come.
        "next_item": session.items[proj.coming[0][0]].id if proj.coming else None,
        "next_start": _iso(proj.coming[0][1], state) if proj.coming else None,
        # Every item to come, in the order "next" takes them, with the time each begins or resumes.
        "coming": [{"item": session.items[index].id, "start": _iso(at, state)} for index, at in proj.coming],
        "planned_start": _iso(proj.planned_starts[0], state),
        "planned_end": _iso(proj.planned_starts[-1], state),
        "actual_start": _iso(session.started_at, state),
        "actual_end": _iso(session.ended_at, state),
        "planned_duration_s": proj.planned_duration_s,
        "extended_s": session.extended_s,
        "elapsed_s": round(elapsed_s, 1),
        "paused_s": round((session.paused_ms + (now - session.paused_since if session.paused_since else 0)) / 1000, 1),
        "over_under_s": round((proj.projected_end - proj.baseline_end) / 1000, 1),
        "projected_end": _iso(proj.projected_end, state),
        "target_end": _iso(proj.baseline_end, state),
        "queue_open": current.queue_open if current is not None else True,
        "turn_limit_s": current.turn_limit_s if current is not None else None,
        "items": items,
        "queue": queue,
        "waiting": _hands(state, session.waiting, waiting_waits(state, session, now), now),
        "floor": floor,
    }


def _hands(state: State, hands: list[Hand], waits: list[int], now: int) -> list[HandView]:
    return [
        {
            "position": position,
            "person": hand.person,
            "name": _name(state, hand.person),
            "participant": _is_participant(state, hand.person),
            "kind": hand.kind,
            "raised_at": _iso(hand.raised_at, state),
            "waited_s": max(0, (now - hand.raised_at) // 1000),
            "estimated_wait_s": wait,
            "for": hand.for_item,
        }
        for position, (hand, wait) in enumerate(zip(hands, waits, strict=True), start=1)
    ]


def state_view(state: State, now: int) -> StateView:
    """The figures of every session, with the event's."""
    assert state.agenda is not None
    return {
        "event_id": state.event_id,
        "title": state.agenda.title,
        "timezone": state.agenda.timezone,
        "seq": state.seq,
        "now": _iso(now, state),
        "time_scale": state.clock.scale,
        "rehearsal": state.rehearsal,
        "sessions": [session_view(state, s, now) for s in state.sessions],
    }


def state_view_of(state: State, now: int, session_id: str | None = None) -> StateView:
    """What ``modconsole ctl state --json`` prints and ``GET /api/state`` answers: every session's figures, or
    only those of the session named."""
    view = state_view(state, now)
    if session_id is not None:
        view["sessions"] = [s for s in view["sessions"] if s["id"] == session_id]
    return view


class QuestionView(TypedDict):
    """A written question, as ``modconsole ctl questions --json`` prints it and the consoles list it."""

    id: str
    """Its id ("q1", "q2", ...): what ``vote``, ``question-live`` and the rest name."""
    session: str
    """The session it was asked in."""
    text: str
    """What it asks, as a moderator may have edited it."""
    state: QuestionState
    """"pending", "visible", "live", "answered", "dismissed" or "merged" (the last two for moderators; the
    asker of a dismissed question goes on seeing the state it had)."""
    votes: int
    """How many people voted for it (for the audience, updated at most once a second)."""
    asked_at: str
    """When it was asked."""
    asker: str | None
    """Who asked it, by id; None when anonymous (whoever looks)."""
    name: str | None
    """The asker's name; None when anonymous."""
    anonymous: bool
    """Asked without a name."""
    mine: bool
    """Asked by the viewer."""
    voted: bool
    """The viewer voted for it."""
    live_at: str | None
    """When it was last put live; None before."""
    answered_at: str | None
    """When it was answered; None before."""
    merged_into: str | None
    """The question it was merged into; None unless merged."""
    edited: bool
    """Its text was edited by a moderator."""


def question_views(
    state: State, viewer: str | None, *, session: str | None = None, states: frozenset[str] | None = None
) -> list[QuestionView]:
    """The questions of ``state`` (a viewer's replica, or the server's) for ``viewer`` (a person id, or None),
    in the panel's order: pending, live, visible by votes, answered, then merged and dismissed."""
    chosen = [
        q
        for q in state.questions.values()
        if (session is None or q.session == session) and (states is None or q.state in states)
    ]
    out: list[QuestionView] = []
    for q in ordered(chosen):
        asker = None if q.anonymous else q.asker
        out.append(
            {
                "id": q.id,
                "session": q.session,
                "text": q.text,
                "state": q.state,
                "votes": q.votes,
                "asked_at": _iso(q.asked_at, state),
                "asker": asker,
                "name": None if asker is None else _name(state, asker),
                "anonymous": q.anonymous,
                "mine": viewer is not None and q.asker == viewer,
                "voted": viewer is not None and viewer in q.voters,
                "live_at": _iso(q.live_at, state),
                "answered_at": _iso(q.answered_at, state),
                "merged_into": q.merged_into,
                "edited": q.edited,
            }
        )
    return out
