"""``decide``: a command, who asks and when, against the state -> events or a rejection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal

from . import commands as c
from . import events as e
from .agenda import MAX_ITEMS, MAX_PEOPLE, MAX_SESSIONS, ItemPlan, Person, SessionPlan, local_to_ms, ms_to_local
from .agenda import unique_id as _unique_id
from .durations import format_duration
from .projection import default_session, project, recovery_plan, upcoming
from .questions import DECIDERS as _QUESTION_DECIDERS
from .questions import Refused as _QuestionRefused
from .queue_order import group_tag
from .state import Hand, ItemState, RedoEntry, SessionState, State, Turn
from .visibility import spoken_of

RejectionCode = Literal["forbidden", "not_found", "invalid_state", "stale", "invalid", "unconfirmed"]


@dataclass(frozen=True)
class Rejected:
    code: RejectionCode
    message: str


Decision = list[e.Event] | Rejected


class _Reject(Exception):
    def __init__(self, code: RejectionCode, message: str) -> None:
        super().__init__(message)
        self.rejection = Rejected(code, message)


def _fail(code: RejectionCode, message: str) -> _Reject:
    return _Reject(code, message)


def decide(state: State, command: c.Command, actor: c.Actor, now: int) -> Decision:
    """Events for ``command`` or a typed rejection; never changes ``state``."""
    try:
        return _decide(state, command, actor, now)
    except _Reject as reject:
        return reject.rejection
    except _QuestionRefused as refused:
        return Rejected(refused.code, refused.message)  # type: ignore[arg-type]  # the codes are RejectionCode's


def _decide(state: State, cmd: c.Command, actor: c.Actor, now: int) -> list[e.Event]:
    if state.agenda is None:
        raise _fail("invalid_state", "the event has no agenda yet")
    if actor.role == "display":
        raise _fail("forbidden", "a display is read-only")
    if actor.role != "moderator" and cmd.type not in c.AUDIENCE_COMMANDS:
        raise _fail(
            "forbidden",
            f"{cmd.type!r} is for moderators; a {actor.role} may raise or lower a hand and acknowledge messages",
        )
    if cmd.type == "ack":
        return _ack(state, cmd, actor, now)
    if cmd.type == "message":
        return _message(state, cmd, actor, now)
    if cmd.type in _DISPLAY_HANDLERS:
        return _DISPLAY_HANDLERS[cmd.type](state, cmd, now)
    session = _session(state, cmd)
    if cmd.expected_seq is not None and cmd.expected_seq != session.rev:
        raise _fail(
            "stale",
            f"session {session.id!r} changed since seq {cmd.expected_seq} "
            f"(now at {session.rev}); look again before repeating the command",
        )
    if cmd.type == "undo":
        return _undo(state, session, now, cmd.force)
    if cmd.type == "redo":
        return _redo(state, session, now)
    handler = _HANDLERS[cmd.type]
    return handler(state, session, cmd, actor, now)


def _session(state: State, cmd: c.Command) -> SessionState:
    if cmd.session is not None:
        session = state.session(cmd.session)
        if session is None:
            known = ", ".join(s.id for s in state.sessions)
            raise _fail("not_found", f"no session {cmd.session!r} (sessions: {known})")
        return session
    session = default_session(state)
    if session is None:
        raise _fail("not_found", "the event has no sessions")
    return session


def _running_item(session: SessionState, what: str) -> ItemState:
    if session.status == "not_started":
        raise _fail("invalid_state", f"session {session.id!r} has not started; cannot {what}")
    if session.status == "ended":
        raise _fail("invalid_state", f"session {session.id!r} has ended; cannot {what}")
    item = session.current_item
    if item is None:
        raise _fail("invalid_state", f"session {session.id!r} has no current item")
    return item


def _start(state: State, s: SessionState, cmd: c.Start, actor: c.Actor, now: int) -> list[e.Event]:
    if s.status != "not_started":
        raise _fail(
            "invalid_state",
            f"session {s.id!r} is {s.status.replace('_', ' ')}; "
            + ("use resume" if s.status == "paused" else "it can start once"),
        )
    if not s.items:
        raise _fail("invalid_state", f"session {s.id!r} has no items yet (add one: item-add TITLE --duration D)")
    if all(item.status == "skipped" for item in s.items):
        raise _fail("invalid_state", f"every item of session {s.id!r} is skipped")
    return [e.SessionStarted(session=s.id, at=now)]


def _pause(state: State, s: SessionState, cmd: c.Pause, actor: c.Actor, now: int) -> list[e.Event]:
    if s.status != "running":
        raise _fail("invalid_state", f"session {s.id!r} is {s.status.replace('_', ' ')}, not running")
    return [e.SessionPaused(session=s.id, at=now)]


def _resume(state: State, s: SessionState, cmd: c.Resume, actor: c.Actor, now: int) -> list[e.Event]:
    if s.status != "paused":
        raise _fail("invalid_state", f"session {s.id!r} is {s.status.replace('_', ' ')}, not paused")
    return [e.SessionResumed(session=s.id, at=now)]


def _next(state: State, s: SessionState, cmd: c.Next, actor: c.Actor, now: int) -> list[e.Event]:
    """The first item to come (``upcoming``): the one after the current one, or once none is left there,
    the first item a goto jumped over; the same item the displays show as next."""
    item = _running_item(s, "move to the next item")
    coming = upcoming(s)
    if not coming:
        raise _fail(
            "invalid_state", f"{item.id!r} is the last item, there is no next item; use end to close the session"
        )
    return [e.ItemChanged(session=s.id, at=now, item=s.items[coming[0]].id, how="next")]


def _prev(state: State, s: SessionState, cmd: c.Prev, actor: c.Actor, now: int) -> list[e.Event]:
    """Back to the nearest earlier item that has run: skipped items and items a goto jumped over have not,
    so after a goto forward, prev returns to where the chair was (goto reaches the jumped-over ones)."""
    item = _running_item(s, "go back")
    assert s.current is not None
    ran = [index for index in range(s.current) if s.items[index].status == "done"]
    if not ran:
        raise _fail("invalid_state", f"{item.id!r} is the first item, there is no previous item")
    return [e.ItemChanged(session=s.id, at=now, item=s.items[ran[-1]].id, how="prev")]


def _item_id(s: SessionState, item_id: str) -> int:
    index = s.index(item_id)
    if index is None:
        known = ", ".join(i.id for i in s.items)
        raise _fail("not_found", f"no item {item_id!r} in session {s.id!r} (items: {known})")
    return index


def _goto(state: State, s: SessionState, cmd: c.Goto, actor: c.Actor, now: int) -> list[e.Event]:
    _running_item(s, "go to an item")
    index = _item_id(s, cmd.item)
    if index == s.current:
        raise _fail("invalid_state", f"{cmd.item!r} is already the current item")
    return [e.ItemChanged(session=s.id, at=now, item=cmd.item, how="goto")]


def _skip(state: State, s: SessionState, cmd: c.Skip, actor: c.Actor, now: int) -> list[e.Event]:
    if s.status == "ended":
        raise _fail("invalid_state", f"session {s.id!r} has ended")
    if cmd.item is not None:
        index = _item_id(s, cmd.item)
    else:
        # The next item to come that has not run, in the order "next" takes them.
        pending = [i for i in upcoming(s) if s.items[i].status == "pending"]
        if not pending:
            raise _fail("invalid_state", "no pending item left to skip")
        index = pending[0]
    item = s.items[index]
    if item.status != "pending":
        raise _fail("invalid_state", f"only an item that has not run can be skipped; {item.id!r} is {item.status}")
    return [e.ItemSkipped(session=s.id, at=now, item=item.id)]


def _add_time(state: State, s: SessionState, cmd: c.AddTime, actor: c.Actor, now: int) -> list[e.Event]:
    item = _running_item(s, "add time")
    if cmd.delta_s == 0:
        raise _fail("invalid", "add or remove a non-zero amount of time")
    if cmd.turn:
        if item.floor is None:
            raise _fail("invalid_state", "nobody has the floor")
        limit = item.floor.effective_limit_s
        if limit is None:
            if cmd.delta_s < 0:
                raise _fail("invalid_state", "this turn has no limit to shorten; set one first (ctl: turn-limit 2m)")
            # "One more minute" for a turn with no limit: the limit becomes what it has run, plus that.
            limit = item.floor.timer.elapsed_ms(now) // 1000
        if limit + cmd.delta_s < 0:
            raise _fail("invalid", f"the turn limit would fall below zero ({limit} s now)")
        return [e.TurnTimeAdded(session=s.id, at=now, delta_s=cmd.delta_s)]
    if item.duration_s + cmd.delta_s < 0:
        raise _fail("invalid", f"the item's duration would fall below zero ({item.duration_s} s now)")
    return [e.ItemTimeAdded(session=s.id, at=now, item=item.id, delta_s=cmd.delta_s)]


def _extend(state: State, s: SessionState, cmd: c.Extend, actor: c.Actor, now: int) -> list[e.Event]:
    if s.status == "ended":
        raise _fail("invalid_state", f"session {s.id!r} has ended")
    if cmd.delta_s == 0:
        raise _fail("invalid", "extend by a non-zero amount of time")
    if s.extended_s + cmd.delta_s < 0:
        raise _fail("invalid", f"cannot take back more than was granted ({s.extended_s} s)")
    return [e.SessionExtended(session=s.id, at=now, delta_s=cmd.delta_s)]


def _end(state: State, s: SessionState, cmd: c.End, actor: c.Actor, now: int) -> list[e.Event]:
    if s.status in ("not_started", "ended"):
        raise _fail("invalid_state", f"session {s.id!r} is {s.status.replace('_', ' ')}")
    return [e.SessionEnded(session=s.id, at=now)]


def _known_person(state: State, person_id: str) -> Person:
    person = state.person(person_id)
    if person is None:
        raise _fail("not_found", f"no person {person_id!r} on the roster or among participants")
    return person


def _hand_of(s: SessionState, person: str) -> Hand | None:
    """The person's hand up in the session: in the current item's queue, or waiting (for a later item, or
    for the start)."""
    item = s.current_item
    for hand in item.queue if item is not None else []:
        if hand.person == person:
            return hand
    return next((h for h in s.waiting if h.person == person), None)


def _check_can_queue(s: SessionState, person: str, who: str, for_item: str | None) -> str | None:
    """Refuse a hand that cannot go up; the item it is for (None: the speakers' list)."""
    if s.status == "ended":
        raise _fail("invalid_state", f"session {s.id!r} has ended; cannot queue")
    item = s.current_item if s.status != "not_started" else None
    if for_item is not None:
        index = _item_id(s, for_item)
        target = s.items[index]
        if index != s.current and index not in upcoming(s):
            what = "is skipped" if target.status == "skipped" else "has run and does not come again"
            raise _fail("invalid_state", f"{for_item!r} {what}: a hand can wait only for an item still to come")
        if not target.queue_open:
            raise _fail("invalid_state", f"the queue for {target.id!r} is closed")
    elif item is not None and not item.queue_open:
        raise _fail("invalid_state", f"the queue for {item.id!r} is closed")
    if _hand_of(s, person) is not None:
        raise _fail("invalid_state", f"{who} already in the queue")
    if item is not None and item.floor is not None and item.floor.person == person:
        raise _fail("invalid_state", f"{who} holding the floor")
    return for_item


def _raise(state: State, s: SessionState, cmd: c.Raise, actor: c.Actor, now: int) -> list[e.Event]:
    if actor.role == "moderator":
        raise _fail("invalid", "a moderator adds people to the queue (ctl: queue-add PERSON)")
    if actor.person is None:
        raise _fail("invalid", f"a {actor.role} with no person cannot raise a hand")
    for_item = _check_can_queue(s, actor.person, "you are", cmd.for_item)
    out: list[e.Event] = []
    again: Person | None = None
    if actor.role == "participant":
        known = state.participants.get(actor.person)
        if known is None:
            name = actor.name or actor.person
            out.append(e.ParticipantRegistered(person=Person(id=actor.person, name=name, participant=True)))
        elif not spoken_of(state, actor.person):
            again = known  # snapshots since have left them out: the hand says who it is
    else:
        _known_person(state, actor.person)
    group = _group(state, s, actor.person, dict(actor.tags))
    out.append(
        e.HandRaised(
            session=s.id, at=now, person=actor.person, kind=cmd.kind, participant=again, for_item=for_item, group=group
        )
    )
    return out


def _group(state: State, s: SessionState, person: str, known: dict[str, str] | None = None) -> str | None:
    """The person's value of the tag a speaking order of the session alternates on (the current item's, else
    the session's or any item's: hands move from item to item), if one does."""
    item = s.current_item
    orders = [s.order_of(item)] if item is not None else []
    orders += [s.queue_order, *(i.queue_order for i in s.items if i.queue_order)]
    tag = next((t for t in map(group_tag, orders) if t is not None), None)
    if tag is None:
        return None
    found = state.person(person)
    if found is not None and tag in found.tags:
        return found.tags[tag]
    return (known or {}).get(tag)


def _set_queue_order(state: State, s: SessionState, cmd: c.SetQueueOrder, actor: c.Actor, now: int) -> list[e.Event]:
    if cmd.item is not None and s.item(cmd.item) is None:
        raise _fail("not_found", f"no item {cmd.item!r} in session {s.id!r}")
    target = s.item(cmd.item) if cmd.item is not None else None
    before = target.queue_order if target is not None else s.queue_order
    if before == cmd.order:
        raise _fail("invalid_state", f"the speaking order is already {cmd.order}")
    groups: dict[str, str] = {}
    item = s.current_item
    if item is not None and (target is None or target is item):
        effective = cmd.order if target is not None or item.queue_order is None else item.queue_order
        tag = group_tag(effective)
        if tag is not None:
            for hand in item.queue:
                person = state.person(hand.person)
                if person is not None and tag in person.tags:
                    groups[hand.person] = person.tags[tag]
    return [e.QueueOrderSet(session=s.id, at=now, item=cmd.item, order=cmd.order, groups=groups)]


def _queued(s: SessionState, person: str, who: str) -> None:
    if s.status == "ended":
        raise _fail("invalid_state", f"session {s.id!r} has ended; cannot change the queue")
    if _hand_of(s, person) is None:
        item = s.current_item
        where = f"for {item.id!r}" if item is not None and s.status != "not_started" else f"of session {s.id!r}"
        raise _fail("not_found", f"{who} not in the queue {where}")


def _lower(state: State, s: SessionState, cmd: c.Lower, actor: c.Actor, now: int) -> list[e.Event]:
    if actor.role == "moderator":
        raise _fail("invalid", "a moderator takes people out of the queue (ctl: queue-remove PERSON)")
    if actor.person is None:
        raise _fail("invalid", f"a {actor.role} with no person has no hand to lower")
    _queued(s, actor.person, "you are")
    return [e.HandLowered(session=s.id, at=now, person=actor.person)]


def _queue_add(state: State, s: SessionState, cmd: c.QueueAdd, actor: c.Actor, now: int) -> list[e.Event]:
    person = _known_person(state, cmd.person)
    for_item = _check_can_queue(s, person.id, f"{person.name} is", cmd.for_item)
    group = _group(state, s, person.id)
    return [e.HandRaised(session=s.id, at=now, person=person.id, kind=cmd.kind, for_item=for_item, group=group)]


def _queue_remove(state: State, s: SessionState, cmd: c.QueueRemove, actor: c.Actor, now: int) -> list[e.Event]:
    _queued(s, cmd.person, f"{cmd.person!r} is")
    return [e.HandLowered(session=s.id, at=now, person=cmd.person, by_moderator=True)]


def _queue_move(state: State, s: SessionState, cmd: c.QueueMove, actor: c.Actor, now: int) -> list[e.Event]:
    item = _running_item(s, "change the queue")
    hand = next((h for h in item.queue if h.person == cmd.person), None)
    if hand is None:
        raise _fail("not_found", f"{cmd.person!r} is not in the queue for {item.id!r}")
    others = [h for h in item.queue if h.person != cmd.person]
    points = sum(1 for h in others if h.kind == "point_of_order")
    if hand.kind == "point_of_order":
        low, high = 1, points + 1
    else:
        low, high = points + 1, len(others) + 1
    if not low <= cmd.position <= high:
        what = "a point of order" if hand.kind == "point_of_order" else "this hand (points of order stay ahead)"
        raise _fail("invalid", f"position {cmd.position} is out of range for {what}: choose {low}..{high}")
    return [e.HandMoved(session=s.id, at=now, person=cmd.person, position=cmd.position)]


def next_listed_speaker(state: State, session: SessionState) -> str | None:
    """The current item's first listed speaker who has not had the floor on it yet, nor has it now."""
    item = session.current_item
    if item is None or session.current is None:
        return None
    heard = {turn.person for turn in item.turns} | ({item.floor.person} if item.floor else set())
    return next((p for p in state.plan(session.id).items[session.current].speakers if p not in heard), None)


def _floor(state: State, s: SessionState, cmd: c.Floor, actor: c.Actor, now: int) -> list[e.Event]:
    """To the person named; else to the head of the queue; else, with nobody queued, to the item's next
    listed speaker who has not spoken on it yet (the talk before the discussion)."""
    item = _running_item(s, "give the floor")
    if cmd.person is None and item.queue:
        hand = item.queue[0]
        person, kind, raised_at = hand.person, hand.kind, hand.raised_at
    elif cmd.person is None:
        listed = next_listed_speaker(state, s)
        if listed is None:
            assert s.current is not None  # _running_item saw to it
            spec = state.plan(s.id).items[s.current]
            what = "and its listed speakers have spoken" if spec.speakers else "and it has no listed speaker"
            raise _fail("invalid_state", f"the queue for “{spec.title}” is empty {what}")
        person, kind, raised_at = listed, "contribution", None
    else:
        found = _known_person(state, cmd.person)
        person = found.id
        queued = _hand_of(s, person)
        kind = queued.kind if queued else "contribution"
        raised_at = queued.raised_at if queued else None
        if item.floor is not None and item.floor.person == person:
            raise _fail("invalid_state", f"{found.name} already has the floor")
    return [
        e.TurnStarted(session=s.id, at=now, person=person, kind=kind, raised_at=raised_at, limit_s=item.turn_limit_s)
    ]


def _with_floor(s: SessionState, what: str) -> Turn:
    item = _running_item(s, what)
    if item.floor is None:
        raise _fail("invalid_state", "nobody has the floor")
    return item.floor


def _end_turn(state: State, s: SessionState, cmd: c.EndTurn, actor: c.Actor, now: int) -> list[e.Event]:
    _with_floor(s, "end a turn")
    return [e.TurnEnded(session=s.id, at=now)]


def _pause_turn(state: State, s: SessionState, cmd: c.PauseTurn, actor: c.Actor, now: int) -> list[e.Event]:
    if _with_floor(s, "pause a turn").paused:
        raise _fail("invalid_state", "the turn is already paused")
    return [e.TurnPaused(session=s.id, at=now)]


def _resume_turn(state: State, s: SessionState, cmd: c.ResumeTurn, actor: c.Actor, now: int) -> list[e.Event]:
    if not _with_floor(s, "resume a turn").paused:
        raise _fail("invalid_state", "the turn is not paused")
    return [e.TurnResumed(session=s.id, at=now)]


def _set_turn_limit(state: State, s: SessionState, cmd: c.SetTurnLimit, actor: c.Actor, now: int) -> list[e.Event]:
    _running_item(s, "set the turn limit")
    return [e.TurnLimitSet(session=s.id, at=now, limit_s=cmd.limit_s)]


def _clear_queue(state: State, s: SessionState, cmd: c.ClearQueue, actor: c.Actor, now: int) -> list[e.Event]:
    if not _running_item(s, "clear the queue").queue:
        raise _fail("invalid_state", "the queue is already empty")
    return [e.QueueCleared(session=s.id, at=now)]


def _close_queue(state: State, s: SessionState, cmd: c.CloseQueue, actor: c.Actor, now: int) -> list[e.Event]:
    if not _running_item(s, "close the queue").queue_open:
        raise _fail("invalid_state", "the queue is already closed")
    return [e.QueueClosed(session=s.id, at=now)]


def _open_queue(state: State, s: SessionState, cmd: c.OpenQueue, actor: c.Actor, now: int) -> list[e.Event]:
    if _running_item(s, "open the queue").queue_open:
        raise _fail("invalid_state", "the queue is already open")
    return [e.QueueOpened(session=s.id, at=now)]


def _message(state: State, cmd: c.SendMessage, actor: c.Actor, now: int) -> list[e.Event]:
    text = cmd.text.strip()
    if not text or any(ord(ch) < 32 and ch not in "\n\t" for ch in text):
        raise _fail("invalid", "a message needs text without control characters")
    session = _session(state, cmd) if cmd.to == "floor" or cmd.session else None
    if cmd.to == "floor":
        assert session is not None
        item = session.current_item
        if item is None or item.floor is None:
            raise _fail("invalid_state", f"nobody has the floor in session {session.id!r}")
        to = item.floor.person
    elif cmd.to == "all":
        to = "all"
    else:
        to = _known_person(state, cmd.to).id
    return [
        e.MessageSent(
            at=now,
            message_id=f"m{state.seq + 1}",
            to=to,
            text=text,
            session=session.id if session else None,
            lang=cmd.lang,
        )
    ]


def _ack(state: State, cmd: c.Ack, actor: c.Actor, now: int) -> list[e.Event]:
    if actor.person is None:
        raise _fail("invalid", "only a speaker or participant acknowledges a message addressed to them")
    mine = [m for m in state.messages if m.to in (actor.person, "all") and actor.person not in m.acknowledged]
    if cmd.message_id is not None:
        mine = [m for m in mine if m.id == cmd.message_id]
        if not mine:
            raise _fail("not_found", f"no unacknowledged message {cmd.message_id!r} for you")
    if not mine:
        raise _fail("not_found", "no unacknowledged message for you")
    return [e.MessageAcknowledged(at=now, message_id=mine[-1].id, person=actor.person)]


def resolve_target(state: State, session: SessionState, hhmm: str | None, now: int) -> int:
    """``HH:MM`` in the event's zone, on the day nearest the session's own target end.

    Raises ValueError for a time that does not parse."""
    baseline = project(state, session, now).baseline_end
    if hhmm is None:
        return baseline
    assert state.agenda is not None
    try:
        hours, minutes = (int(p) for p in hhmm.split(":"))
    except ValueError:
        raise ValueError(f"not a time of day: {hhmm!r} (write HH:MM)") from None
    if not (0 <= hours <= 23 and 0 <= minutes <= 59):
        raise ValueError(f"not a time of day: {hhmm!r} (write HH:MM)")
    zone = state.agenda.zone
    day = ms_to_local(baseline, zone).date()
    candidates = [
        local_to_ms(datetime.combine(day + timedelta(days=d), time(hours, minutes)), zone) for d in (-1, 0, 1)
    ]
    return min(candidates, key=lambda ms: abs(ms - baseline))


def _apply_plan(state: State, s: SessionState, cmd: c.ApplyPlan, actor: c.Actor, now: int) -> list[e.Event]:
    if s.status == "ended":
        raise _fail("invalid_state", f"session {s.id!r} has ended")
    try:
        target = resolve_target(state, s, cmd.target, now)
    except ValueError as exc:
        raise _fail("invalid", str(exc)) from None
    if target <= now:
        raise _fail("invalid", "the target end has already passed")
    plan = recovery_plan(state, s, now, target, include_fixed=cmd.include_fixed)
    if not plan.durations:
        raise _fail("invalid_state", "the session already ends by the target; nothing to trim")
    return [e.PlanApplied(session=s.id, at=now, target_ms=target, durations=plan.durations)]


def undo_target(state: State, session_id: str | None) -> tuple[int, str] | None:
    """What an undo in a session (by default the one commands go to) would void: its newest timing action
    still standing, as (sequence, event type), or None. Sessions side by side undo apart."""
    found = state.session(session_id) if session_id is not None else default_session(state)
    if found is None:
        return None
    mine = [(seq, kind) for seq, kind, session in state.timing_actions if session == found.id]
    return mine[-1] if mine else None


def undo_age_ms(state: State, session_id: str | None, now: int) -> int | None:
    """How long ago (event clock) the action an undo would void happened; None when there is none."""
    found = state.session(session_id) if session_id is not None else default_session(state)
    if found is None:
        return None
    for index in range(len(state.timing_actions) - 1, -1, -1):
        if state.timing_actions[index][2] == found.id:
            return max(0, now - state.timing_at[index]) if index < len(state.timing_at) else None
    return None


def _undo(state: State, s: SessionState, now: int, force: bool) -> list[e.Event]:
    target = undo_target(state, s.id)
    if target is None:
        raise _fail("invalid_state", f"nothing to undo in session {s.id!r}")
    seq, kind = target
    age = undo_age_ms(state, s.id, now)
    if age is not None and age > e.UNDO_CONFIRM_AFTER_MS and not force:
        raise _fail(
            "unconfirmed",
            f"{e.ACTION_WORDS.get(kind, kind)} was {format_duration(age / 1000)} ago (event time), more than "
            f"{format_duration(e.UNDO_CONFIRM_AFTER_MS / 1000)}: confirm the undo (ctl: undo --force)",
        )
    out: list[e.Event] = [e.Undone(at=now, seqs=(seq,), what=kind, session=s.id)]
    if kind == "session_ended":
        assert s.ended_at is not None  # the end stands: it is the newest action
        out.append(e.SessionReopened(session=s.id, at=now, ended_at=s.ended_at))
    return out


def redo_target(state: State, session_id: str | None) -> RedoEntry | None:
    """The undo a redo in the session would take back, or None: the newest since its last timing action."""
    found = state.session(session_id) if session_id is not None else default_session(state)
    if found is None:
        return None
    return next((r for r in reversed(state.redo) if r.session == found.id), None)


def _redo(state: State, s: SessionState, now: int) -> list[e.Event]:
    target = redo_target(state, s.id)
    if target is None:
        raise _fail("invalid_state", f"nothing to redo in session {s.id!r}")
    return [e.Redone(at=now, seqs=tuple(target.seqs), what=target.what, session=s.id)]


# --- the plan edited live ----------------------------------------------------------------------------
#
# Items may be added, edited, moved and removed, sessions added and edited, people added, while the event
# runs. What has run stays as it ran: an item that has run is neither removed (skip it instead), moved nor
# edited, nothing goes before an item that has run, and an ended session takes no edit.


def _clean_text(value: str, what: str) -> str:
    text = " ".join(value.split())
    if not text or any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in value if ch not in " \t"):
        raise _fail("invalid", f"{what} needs text without control characters")
    return text


def _open_session(s: SessionState) -> None:
    if s.status == "ended":
        raise _fail("invalid_state", f"session {s.id!r} has ended; its plan can no longer change")


def _ran(item: ItemState) -> bool:
    return item.status in ("current", "done")


def _not_ran(s: SessionState, item_id: str, what: str) -> int:
    index = _item_id(s, item_id)
    item = s.items[index]
    if _ran(item):
        hint = "; skip it instead" if what == "removed" else ""
        raise _fail("invalid_state", f"item {item_id!r} has already run ({item.status}): it cannot be {what}{hint}")
    return index


def _place(
    state: State, s: SessionState, after: str | None, before: str | None, first: bool, moving: str | None
) -> int:
    """The index a new or moved item takes in the session's items (without the moving one), refused
    when it would go before an item that has run."""
    if sum((after is not None, before is not None, first)) > 1:
        raise _fail("invalid", "place the item after an item, before one, or first: one of them")
    ids = [i.id for i in s.items if i.id != moving]
    for ref in (after, before):
        if ref is not None and (ref == moving or ref not in ids):
            if ref == moving:
                raise _fail("invalid", f"an item cannot be placed next to itself ({ref!r})")
            _item_id(s, ref)  # not_found, naming the items
    if first:
        index = 0
    elif after is not None:
        index = ids.index(after) + 1
    elif before is not None:
        index = ids.index(before)
    else:
        index = len(ids)
    ran = [n for n, i in enumerate(i for i in s.items if i.id != moving) if _ran(i)]
    if ran and index <= ran[-1]:
        titles = {i.id: i.title for i in state.plan(s.id).items}
        last = ids[ran[-1]]
        raise _fail(
            "invalid_state",
            f"cannot place an item before {last!r} (“{titles.get(last, last)}”), which has already run",
        )
    return index


def _fixed(hhmm: str) -> time:
    hours, minutes = (int(p) for p in hhmm.split(":"))
    if not (0 <= hours <= 23 and 0 <= minutes <= 59):
        raise _fail("invalid", f"not a time of day: {hhmm!r} (write HH:MM)")
    return time(hours, minutes)


def _speakers(state: State, speakers: tuple[str, ...]) -> tuple[str, ...]:
    assert state.agenda is not None
    seen: list[str] = []
    for person_id in speakers:
        if state.agenda.person(person_id) is None:
            raise _fail("not_found", f"no person {person_id!r} on the roster (add them first: person-add NAME)")
        if person_id not in seen:
            seen.append(person_id)
    return tuple(seen)


def _item_add(state: State, s: SessionState, cmd: c.ItemAdd, actor: c.Actor, now: int) -> list[e.Event]:
    _open_session(s)
    if len(s.items) >= MAX_ITEMS:
        raise _fail("invalid", f"session {s.id!r} has {MAX_ITEMS} items, as many as a session may")
    title = _clean_text(cmd.title, "an item's title")
    taken = {i.id for i in s.items}
    if cmd.item_id is not None and cmd.item_id in taken:
        raise _fail("invalid", f"duplicate id: session {s.id!r} already has an item {cmd.item_id!r}")
    item_id = cmd.item_id or _unique_id(title, taken)
    index = _place(state, s, cmd.after, cmd.before, cmd.first, None)
    plan = ItemPlan(
        id=item_id,
        title=title,
        kind=cmd.kind,
        duration_s=cmd.duration_s,
        fixed_start=None if cmd.fixed_start is None else _fixed(cmd.fixed_start),
        speakers=_speakers(state, cmd.speakers),
        turn_limit_s=cmd.turn_limit_s,
    )
    return [e.ItemAdded(session=s.id, at=now, item=plan, index=index)]


def _item_edit(state: State, s: SessionState, cmd: c.ItemEdit, actor: c.Actor, now: int) -> list[e.Event]:
    _open_session(s)
    index = _item_id(s, cmd.item)
    item = s.items[index]
    if item.status == "done":
        raise _fail("invalid_state", f"item {cmd.item!r} has already run: its plan stays as it ran")
    before = state.plan(s.id).items[index]
    given = cmd.model_fields_set
    update: dict[str, object] = {}
    if cmd.title is not None:
        update["title"] = _clean_text(cmd.title, "an item's title")
    if cmd.duration_s is not None:
        update["duration_s"] = cmd.duration_s
    if cmd.kind is not None:
        update["kind"] = cmd.kind
    if cmd.speakers is not None:
        update["speakers"] = _speakers(state, cmd.speakers)
    if "turn_limit_s" in given:
        update["turn_limit_s"] = cmd.turn_limit_s
    if "fixed_start" in given:
        if item.status == "current" and cmd.fixed_start is not None:
            raise _fail("invalid_state", f"item {cmd.item!r} has started: a fixed start no longer applies")
        update["fixed_start"] = None if cmd.fixed_start is None else _fixed(cmd.fixed_start)
    changed = tuple(k for k, v in update.items() if getattr(before, k) != v)
    if not changed:
        raise _fail("invalid", f"nothing to change on item {cmd.item!r}: give a new value")
    after = ItemPlan.model_validate({**before.model_dump(), **update})
    return [e.ItemEdited(session=s.id, at=now, item=after, fields=changed)]


def _item_remove(state: State, s: SessionState, cmd: c.ItemRemove, actor: c.Actor, now: int) -> list[e.Event]:
    _open_session(s)
    _not_ran(s, cmd.item, "removed")
    return [e.ItemRemoved(session=s.id, at=now, item=cmd.item)]


def _item_move(state: State, s: SessionState, cmd: c.ItemMove, actor: c.Actor, now: int) -> list[e.Event]:
    _open_session(s)
    old = _not_ran(s, cmd.item, "moved")
    if cmd.after is None and cmd.before is None and not cmd.first:
        raise _fail("invalid", "say where to: after an item, before one, or first")
    index = _place(state, s, cmd.after, cmd.before, cmd.first, cmd.item)
    if index == old:
        raise _fail("invalid", f"item {cmd.item!r} is already there")
    return [e.ItemMoved(session=s.id, at=now, item=cmd.item, index=index)]


def _local_start(value: str) -> datetime:
    try:
        start = datetime.fromisoformat(value)
    except ValueError:
        raise _fail("invalid", f"not a start: {value!r} (write YYYY-MM-DDTHH:MM)") from None
    if not 1970 <= start.year <= 2999:
        raise _fail("invalid", f"not a start: {value!r} (the year must lie between 1970 and 2999)")
    return start


def _session_add(state: State, s: SessionState, cmd: c.SessionAdd, actor: c.Actor, now: int) -> list[e.Event]:
    assert state.agenda is not None
    if state.session(cmd.session_id) is not None:
        raise _fail("invalid", f"duplicate id: there is already a session {cmd.session_id!r}")
    if len(state.sessions) >= MAX_SESSIONS:
        raise _fail("invalid", f"the event has {MAX_SESSIONS} sessions, as many as it may")
    plan = SessionPlan(
        id=cmd.session_id,
        title=_clean_text(cmd.title, "a session's title"),
        start=_local_start(cmd.start),
        room=" ".join(cmd.room.split()),
        items=(),
    )
    return [e.SessionAdded(session=s.id, at=now, plan=plan)]


def _session_edit(state: State, s: SessionState, cmd: c.SessionEdit, actor: c.Actor, now: int) -> list[e.Event]:
    _open_session(s)
    plan = state.plan(s.id)
    title = plan.title if cmd.title is None else _clean_text(cmd.title, "a session's title")
    start = plan.start if cmd.start is None else _local_start(cmd.start)
    room = plan.room if cmd.room is None else " ".join(cmd.room.split())
    if cmd.start is not None and s.status != "not_started" and start != plan.start:
        raise _fail("invalid_state", f"session {s.id!r} has started: its start is what it was")
    if (title, start, room) == (plan.title, plan.start, plan.room):
        raise _fail("invalid", f"nothing to change on session {s.id!r}: give a new value")
    return [e.SessionEdited(session=s.id, at=now, title=title, start=start, room=room)]


def _person_add(state: State, s: SessionState, cmd: c.PersonAdd, actor: c.Actor, now: int) -> list[e.Event]:
    assert state.agenda is not None
    if len(state.agenda.people) >= MAX_PEOPLE:
        raise _fail("invalid", f"the roster has {MAX_PEOPLE:,} people, as many as it may")
    name = _clean_text(cmd.name, "a person's name")
    taken = {p.id for p in state.agenda.people} | set(state.participants)
    if cmd.person_id is not None and cmd.person_id in taken:
        raise _fail("invalid", f"duplicate id: there is already a person {cmd.person_id!r}")
    tags: dict[str, str] = {}
    for key, value in cmd.tags.items():
        if not (0 < len(key) <= 64 and len(value) <= 200):
            raise _fail("invalid", "a tag is KEY=VALUE, the key up to 64 characters, the value up to 200")
        tags[_clean_text(key, "a tag's key")] = _clean_text(value, "a tag's value") if value.strip() else ""
    person = Person(
        id=cmd.person_id or _unique_id(name, taken, fallback="person"),
        name=name,
        affiliation=" ".join(cmd.affiliation.split()),
    )
    out: list[e.Event] = [e.PersonAdded(session=s.id, at=now, person=person)]
    if tags:
        out.append(e.PersonTagged(session=s.id, at=now, person=person.id, tags=tags))
    return out


# --- the stage displays (event-wide: no session) ---------------------------------------------------------


def _blackout(state: State, cmd: c.Blackout, now: int) -> list[e.Event]:
    if state.display.blackout == cmd.on:
        raise _fail("invalid_state", "the displays are already black" if cmd.on else "the displays are not black")
    return [e.DisplayBlackout(at=now, on=cmd.on)]


def _flash(state: State, cmd: c.Flash, now: int) -> list[e.Event]:
    return [e.DisplayFlashed(at=now)]


def _focus(state: State, cmd: c.Focus, now: int) -> list[e.Event]:
    text = " ".join(cmd.text.split()) if cmd.text is not None else ""
    if cmd.text is not None and any(ord(ch) < 32 for ch in cmd.text if ch not in "\n\t"):
        raise _fail("invalid", "a focus text has no control characters")
    if not text:
        if state.display.focus is None:
            raise _fail("invalid_state", "the displays show no focus text")
        return [e.DisplayFocused(at=now, text=None)]
    return [e.DisplayFocused(at=now, text=text)]


_DISPLAY_HANDLERS: dict[str, Callable[..., list[e.Event]]] = {"blackout": _blackout, "flash": _flash, "focus": _focus}


_HANDLERS: dict[str, Callable[..., list[e.Event]]] = {
    "start": _start,
    "pause": _pause,
    "resume": _resume,
    "next": _next,
    "prev": _prev,
    "goto": _goto,
    "skip": _skip,
    "add_time": _add_time,
    "extend": _extend,
    "end": _end,
    "raise": _raise,
    "lower": _lower,
    "set_queue_order": _set_queue_order,
    "queue_add": _queue_add,
    "queue_remove": _queue_remove,
    "queue_move": _queue_move,
    "floor": _floor,
    "end_turn": _end_turn,
    "pause_turn": _pause_turn,
    "resume_turn": _resume_turn,
    "set_turn_limit": _set_turn_limit,
    "clear_queue": _clear_queue,
    "close_queue": _close_queue,
    "open_queue": _open_queue,
    "apply_plan": _apply_plan,
    "item_add": _item_add,
    "item_edit": _item_edit,
    "item_remove": _item_remove,
    "item_move": _item_move,
    "session_add": _session_add,
    "session_edit": _session_edit,
    "person_add": _person_add,
}
_HANDLERS.update(_QUESTION_DECIDERS)
