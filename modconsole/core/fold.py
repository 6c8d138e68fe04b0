"""The fold: ``apply`` one event to the live state, ``replay`` a whole log into one.

This module owns how each event changes the state (one handler per event type) and nothing else. Events
are facts: a handler never refuses one, never decides, and never reads a clock; the decisions were made
before the events were logged (``decide.py``).

``apply`` mutates the state it is given and returns it: replaying a long log
must be cheap, and the server and every client hold exactly one replica.
Callers that need the state before an event keep a copy (``copy.deepcopy``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .agenda import ItemPlan, SessionPlan
from .events import (
    AUDIENCE_EVENTS,
    REWRITING_EVENTS,
    TIMING_EVENTS,
    AgendaReplaced,
    ClockSet,
    DisplayBlackout,
    DisplayFlashed,
    DisplayFocused,
    Event,
    EventCreated,
    HandLowered,
    HandMoved,
    HandRaised,
    ItemAdded,
    ItemChanged,
    ItemEdited,
    ItemMoved,
    ItemRemoved,
    ItemSkipped,
    ItemTimeAdded,
    MessageAcknowledged,
    MessageSent,
    ParticipantRegistered,
    PersonAdded,
    PersonTagged,
    PlanApplied,
    QueueCleared,
    QueueClosed,
    QueueOpened,
    QueueOrderSet,
    Redone,
    SessionAdded,
    SessionEdited,
    SessionEnded,
    SessionExtended,
    SessionPaused,
    SessionReopened,
    SessionResumed,
    SessionStarted,
    TurnEnded,
    TurnHardStopped,
    TurnLimitSet,
    TurnPaused,
    TurnResumed,
    TurnStarted,
    TurnTimeAdded,
    Undone,
)
from .questions import FOLDS as _QUESTION_FOLDS
from .queue_order import ordered, session_turns
from .state import Clock, Hand, HandRemoval, ItemState, Message, RedoEntry, SessionState, State, Turn


def apply(state: State, event: Event, seq: int | None = None) -> State:
    """Apply one event to ``state`` (in place) and return it.

    ``seq`` is the event's log sequence; events are facts, so apply never
    refuses one: the decisions were made before they were logged.
    """
    if seq is not None:
        state.seq = seq
    kind = event.type
    session: SessionState | None = None
    name = getattr(event, "session", None)
    if name is not None and kind not in ("message_sent",):
        session = state.session(name)
        if session is None:
            return state
        if kind not in AUDIENCE_EVENTS and kind not in REWRITING_EVENTS and seq is not None:
            session.rev = seq
    if kind in TIMING_EVENTS and seq is not None and name is not None:
        state.timing_actions.append((seq, kind, name))
        state.timing_at.append(event.at)  # type: ignore[union-attr]  # every timing event has its time
        if state.redo:
            # A new action in the session: what was undone there can no longer be brought back.
            state.redo = [r for r in state.redo if r.session != name]
    handler = _HANDLERS[kind]
    handler(state, session, event)
    return state


def voided_in(entries: Iterable[tuple[int, Event]]) -> dict[int, int]:
    """The log entries voided, each with the sequence of the entry that voids it: what an undo names, unless a
    redo voided that undo itself (then what the redo names: the undo and what came with it)."""
    voided: dict[int, int] = {}
    undos: list[tuple[int, Undone]] = []
    for seq, event in entries:
        if event.type == "redone":
            for target in event.seqs:
                voided[target] = seq
        elif event.type == "undone":
            undos.append((seq, event))
    for seq, undo in undos:
        if seq not in voided:
            for target in undo.seqs:
                voided[target] = seq
    return voided


def replay(entries: list[tuple[int, Event]]) -> State:
    """Fold a log (sequence, event) into a state, leaving out voided entries."""
    voided = voided_in(entries)
    state = State()
    for seq, event in entries:
        if seq in voided:
            state.seq = seq
            continue
        apply(state, event, seq)
    return state


# --- moving between items and turns -------------------------------------------------------------------


def _close_turn(item: ItemState, at: int) -> None:
    turn = item.floor
    if turn is not None:
        turn.timer.stop(at)
        turn.ended_at = at
        item.turns.append(turn)
        item.floor = None


def _leave_item(session: SessionState, at: int) -> None:
    item = session.current_item
    if item is None:
        return
    _close_turn(item, at)
    item.timer.stop(at)
    item.ended_at = at
    item.status = "done"


def _enter_item(session: SessionState, index: int, at: int) -> None:
    item = session.items[index]
    if item.timer.first_start is not None:
        item.reopened += 1
    item.status = "current"
    item.ended_at = None
    item.finished = False
    session.current = index
    if session.status == "running":
        item.timer.start(at)


def _first_open_item(session: SessionState) -> int | None:
    for index, item in enumerate(session.items):
        if item.status != "skipped":
            return index
    return None


# --- the handlers: one per event type ------------------------------------------------------------------
#
# A handler of a session's event gets that session (``apply`` passes over an event for a session it does
# not know); the others get None, which they do not read.


def _event_created(state: State, _s: SessionState | None, e: EventCreated) -> None:
    agenda = e.agenda
    state.event_id = e.event_id
    state.agenda = agenda
    state.sessions = [
        SessionState(
            id=plan.id,
            items=[
                ItemState(id=item.id, duration_s=item.duration_s, turn_limit_s=item.turn_limit_s) for item in plan.items
            ],
        )
        for plan in agenda.sessions
    ]
    for plan, session in zip(agenda.sessions, state.sessions, strict=True):
        if plan.queue_order is not None:
            session.queue_order = plan.queue_order
        for item_plan, item in zip(plan.items, session.items, strict=True):
            item.queue_order = item_plan.queue_order


def _agenda_replaced(state: State, _s: SessionState | None, e: AgendaReplaced) -> None:
    # Only ever logged before any session started: the sessions are laid out anew from the new plan.
    _event_created(state, None, EventCreated(event_id=state.event_id, agenda=e.agenda))


def _clock_set(state: State, _s: SessionState | None, e: ClockSet) -> None:
    state.clock = Clock(wall_ms=e.wall_ms, virtual_ms=e.virtual_ms, scale=e.scale)
    if e.scale != 1:
        state.rehearsal = True


def _session_started(state: State, s: SessionState, e: SessionStarted) -> None:
    s.status = "running"
    s.started_at = e.at
    index = _first_open_item(s)
    if index is not None:
        _enter_item(s, index, e.at)
        # The hands raised before the start: the session's list, and those for the first item.
        first = s.items[index].id
        _join(s.items[index], _take_waiting(s, lambda h: h.for_item is None or h.for_item == first))
        _reorder(s, s.items[index])


def _session_paused(state: State, s: SessionState, e: SessionPaused) -> None:
    s.status = "paused"
    s.paused_since = e.at
    item = s.current_item
    if item is not None:
        item.timer.stop(e.at)
        item.timer.pauses += 1
        if item.floor is not None:
            item.floor.timer.stop(e.at)


def _session_resumed(state: State, s: SessionState, e: SessionResumed) -> None:
    s.status = "running"
    if s.paused_since is not None:
        s.paused_ms += max(0, e.at - s.paused_since)
    s.paused_since = None
    item = s.current_item
    if item is not None:
        item.timer.start(e.at)
        if item.floor is not None and not item.floor.paused:
            item.floor.timer.start(e.at)


def _session_ended(state: State, s: SessionState, e: SessionEnded) -> None:
    if s.paused_since is not None:
        s.paused_ms += max(0, e.at - s.paused_since)
        s.paused_since = None
    # Every hand still up comes down: the speakers' list ends with its session, and its holders are told.
    item = s.current_item
    left = (item.queue if item is not None else []) + s.waiting
    for hand in left:
        s.removed[hand.person] = HandRemoval(reason="session_ended", at=e.at)
    if item is not None:
        item.queue = []
    s.waiting = []
    _leave_item(s, e.at)
    s.status = "ended"
    s.ended_at = e.at


def _session_reopened(state: State, s: SessionState, e: SessionReopened) -> None:
    # Replayed without its end, the session ran on from the end to now: that span was a pause, not time
    # the closing item or the turn on the floor ran.
    if s.status == "running":
        item = s.current_item
        if item is not None:
            for timer in (item.timer, item.floor.timer if item.floor is not None else None):
                if timer is not None and timer.running:
                    timer.stop(e.ended_at)
                    timer.start(e.at)
        s.paused_ms += max(0, e.at - e.ended_at)
    if state.redo and state.redo[-1].session == s.id:
        state.redo[-1].seqs.append(state.seq)  # a redo of the undo voids this entry with it


def _session_extended(state: State, s: SessionState, e: SessionExtended) -> None:
    s.extended_s += e.delta_s


def _item_changed(state: State, s: SessionState, e: ItemChanged) -> None:
    index = s.index(e.item)
    if index is None:
        return
    left = s.current_item
    # The speakers' list moves with the session: the hands up go to the item entered, and those raised for
    # that item join them.
    carried: list[Hand] = []
    if left is not None:
        carried, left.queue = left.queue, []
    _leave_item(s, e.at)
    if left is not None and e.how == "next":
        left.finished = True
    _enter_item(s, index, e.at)
    entered = s.items[index]
    _join(entered, carried + _take_waiting(s, lambda h: h.for_item == entered.id))
    _reorder(s, entered)  # the item entered may have a speaking order of its own


def _item_skipped(state: State, s: SessionState, e: ItemSkipped) -> None:
    item = s.item(e.item)
    if item is not None and item.status == "pending":
        item.status = "skipped"


def _item_time_added(state: State, s: SessionState, e: ItemTimeAdded) -> None:
    item = s.item(e.item)
    if item is not None:
        item.duration_s = max(0, item.duration_s + e.delta_s)
        item.added_s += e.delta_s


def _plan_applied(state: State, s: SessionState, e: PlanApplied) -> None:
    for item_id, duration in e.durations.items():
        item = s.item(item_id)
        if item is not None:
            item.duration_s = duration
    s.plans_applied += 1


def _participant_registered(state: State, _s: SessionState | None, e: ParticipantRegistered) -> None:
    state.participants[e.person.id] = e.person


def _insert_hand(queue: list[Hand], hand: Hand) -> None:
    if hand.kind == "point_of_order":
        # A point of order goes ahead of everything but earlier points of order.
        position = sum(1 for h in queue if h.kind == "point_of_order")
        queue.insert(position, hand)
    else:
        queue.append(hand)


def _join(item: ItemState, hands: list[Hand]) -> None:
    """``hands`` join the item's queue in their order, points of order ahead of the other kinds; nobody twice,
    and never whoever holds the floor."""
    if not hands:
        return
    present = {h.person for h in item.queue}
    if item.floor is not None:
        present.add(item.floor.person)
    for hand in hands:
        if hand.person not in present:
            present.add(hand.person)
            _insert_hand(item.queue, hand)


def _take_waiting(s: SessionState, wanted: Callable[[Hand], bool]) -> list[Hand]:
    """The waiting hands ``wanted`` picks, taken out of ``waiting``, in the order raised."""
    if not s.waiting:
        return []
    taken = [h for h in s.waiting if wanted(h)]
    if taken:
        s.waiting = [h for h in s.waiting if not wanted(h)]
    return taken


def _hand_raised(state: State, s: SessionState, e: HandRaised) -> None:
    if e.participant is not None:
        state.participants[e.participant.id] = e.participant
    item = s.current_item
    person = e.person
    if s.removed:
        s.removed.pop(person, None)
    if item is not None:
        for queued in item.queue:  # a plain loop: the queue is scanned for every hand raised
            if queued.person == person:
                return
        if item.floor is not None and item.floor.person == e.person:
            # Only after an undo (of a "next" or an "end_turn"): the hand was raised elsewhere,
            # and whoever holds the floor is never queued as well.
            return
    for waiting in s.waiting:
        if waiting.person == person:
            return
    hand = Hand(person=e.person, kind=e.kind, raised_at=e.at, for_item=e.for_item, group=e.group)
    if item is None or s.status == "not_started" or (e.for_item is not None and e.for_item != item.id):
        s.waiting.append(hand)  # before the start, or for a later item
    else:
        _insert_hand(item.queue, hand)
        _reorder(s, item)


def _reorder(s: SessionState, item: ItemState) -> None:
    """Put the item's queue in its speaking order (core/queue_order.py); first come, first served as it is."""
    order = s.order_of(item)
    if order != "fifo" and len(item.queue) > 2:
        item.queue = ordered(item.queue, order, session_turns(s))


def _hand_lowered(state: State, s: SessionState, e: HandLowered) -> None:
    item = s.current_item
    person = e.person
    # In place, and done at the first: a person has at most one hand up in a session (_hand_raised).
    for queue in (item.queue if item is not None else [], s.waiting):
        for index, hand in enumerate(queue):
            if hand.person == person:
                del queue[index]
                if e.by_moderator:
                    s.removed[person] = HandRemoval(reason="moderator", at=e.at)
                if item is not None and queue is item.queue:
                    _reorder(s, item)
                return


def _hand_moved(state: State, s: SessionState, e: HandMoved) -> None:
    item = s.current_item
    if item is None:
        return
    hands = [h for h in item.queue if h.person == e.person]
    if not hands:
        return
    rest = [h for h in item.queue if h.person != e.person]
    hands[0].moved = True  # the speaking order leaves it where the moderator put it
    rest.insert(max(0, min(len(rest), e.position - 1)), hands[0])
    item.queue = rest


def _queue_cleared(state: State, s: SessionState, e: QueueCleared) -> None:
    if s.current_item is not None:
        for hand in s.current_item.queue:
            s.removed[hand.person] = HandRemoval(reason="cleared", at=e.at)
        s.current_item.queue.clear()


def _queue_closed(state: State, s: SessionState, e: QueueClosed) -> None:
    if s.current_item is not None:
        s.current_item.queue_open = False


def _queue_opened(state: State, s: SessionState, e: QueueOpened) -> None:
    if s.current_item is not None:
        s.current_item.queue_open = True


def _turn_limit_set(state: State, s: SessionState, e: TurnLimitSet) -> None:
    item = s.current_item
    if item is not None:
        item.turn_limit_s = e.limit_s
        # The limit reaches the turn in progress too: that is usually why it was set.
        if item.floor is not None:
            item.floor.limit_s = e.limit_s


def _turn_started(state: State, s: SessionState, e: TurnStarted) -> None:
    item = s.current_item
    if item is None:
        return
    _close_turn(item, e.at)
    item.queue = [h for h in item.queue if h.person != e.person]
    if s.waiting:
        s.waiting = [h for h in s.waiting if h.person != e.person]  # the floor came before the item waited for
    if s.removed:
        s.removed.pop(e.person, None)
    turn = Turn(person=e.person, kind=e.kind, raised_at=e.raised_at, limit_s=e.limit_s)
    if s.status == "running":
        turn.timer.start(e.at)
    else:
        turn.timer.first_start = e.at
    item.floor = turn
    _reorder(s, item)  # one more turn taken: the orders that count turns may change


def _turn_ended(state: State, s: SessionState, e: TurnEnded) -> None:
    if s.current_item is not None:
        _close_turn(s.current_item, e.at)


def _turn_hard_stopped(state: State, s: SessionState, e: TurnHardStopped) -> None:
    item = s.current_item
    if item is not None and item.floor is not None:
        turn = item.floor
        if turn.person == e.person and turn.timer.first_start == e.started_at:
            _close_turn(item, e.at)


def _turn_paused(state: State, s: SessionState, e: TurnPaused) -> None:
    item = s.current_item
    if item is not None and item.floor is not None:
        item.floor.paused = True
        item.floor.timer.stop(e.at)
        item.floor.timer.pauses += 1


def _turn_resumed(state: State, s: SessionState, e: TurnResumed) -> None:
    item = s.current_item
    if item is not None and item.floor is not None:
        item.floor.paused = False
        if s.status == "running":
            item.floor.timer.start(e.at)


def _turn_time_added(state: State, s: SessionState, e: TurnTimeAdded) -> None:
    item = s.current_item
    if item is not None and item.floor is not None:
        turn = item.floor
        if turn.limit_s is None:
            # A turn with no limit gets one: what it has run so far, to which the time is added.
            turn.limit_s = turn.timer.elapsed_ms(e.at) // 1000
        turn.added_s += e.delta_s


def _message_sent(state: State, _s: SessionState | None, e: MessageSent) -> None:
    state.messages.append(Message(id=e.message_id, to=e.to, text=e.text, at=e.at, session=e.session, lang=e.lang))


def _message_acknowledged(state: State, _s: SessionState | None, e: MessageAcknowledged) -> None:
    for message in state.messages:
        if message.id == e.message_id:
            message.acknowledged.setdefault(e.person, e.at)


def _queue_order_set(state: State, s: SessionState, e: QueueOrderSet) -> None:
    if e.item is None:
        s.queue_order = e.order
    else:
        target = s.item(e.item)
        if target is None:
            return
        target.queue_order = e.order
    item = s.current_item
    if item is not None:
        for hand in item.queue:
            if hand.person in e.groups:
                hand.group = e.groups[hand.person]
        _reorder(s, item)


def _display_blackout(state: State, _s: SessionState | None, e: DisplayBlackout) -> None:
    state.display.blackout = e.on


def _display_flashed(state: State, _s: SessionState | None, e: DisplayFlashed) -> None:
    state.display.flashed_at = e.at


def _display_focused(state: State, _s: SessionState | None, e: DisplayFocused) -> None:
    state.display.focus = e.text


def _undone(state: State, s: SessionState | None, e: Undone) -> None:
    # The fold itself is recomputed by ``replay``; here we only remember what was voided, and that a redo
    # may bring it back.
    state.voided.extend(e.seqs)
    if s is not None:
        state.redo.append(RedoEntry(seqs=[state.seq], session=s.id, what=e.what))


def _redone(state: State, _s: SessionState, e: Redone) -> None:
    # Replayed without the undo it voids: the action stands again, and there is nothing else to do.
    return


# --- the plan edited live: the agenda (the plan in force) and the session's items kept in step ----------


def _set_session_plan(state: State, plan: SessionPlan) -> None:
    assert state.agenda is not None
    sessions = tuple(plan if s.id == plan.id else s for s in state.agenda.sessions)
    state.agenda = state.agenda.model_copy(update={"sessions": sessions})


def _set_items(state: State, s: SessionState, items: list[ItemPlan]) -> None:
    """The session's plan with ``items``, in the order of ``s.items`` (which the caller has set)."""
    plan = state.plan(s.id)
    _set_session_plan(state, plan.model_copy(update={"items": tuple(items)}))
    current = None if s.current is None else s.items[s.current].id
    if current is not None:
        s.current = s.index(current)


def _item_added(state: State, s: SessionState, e: ItemAdded) -> None:
    plan = state.plan(s.id)
    if plan.item_index(e.item.id) is not None:
        return
    index = max(0, min(e.index, len(s.items)))
    current = None if s.current is None else s.items[s.current].id
    items = list(plan.items)
    items.insert(index, e.item)
    s.items.insert(index, ItemState(id=e.item.id, duration_s=e.item.duration_s, turn_limit_s=e.item.turn_limit_s))
    if current is not None:
        s.current = s.index(current)
    _set_items(state, s, items)


def _item_edited(state: State, s: SessionState, e: ItemEdited) -> None:
    plan = state.plan(s.id)
    index = plan.item_index(e.item.id)
    if index is None:
        return
    before = plan.items[index]
    item = s.items[index]
    if e.item.duration_s != before.duration_s:
        item.duration_s = e.item.duration_s  # the plan in force is the one just set
    if e.item.turn_limit_s != before.turn_limit_s:
        item.turn_limit_s = e.item.turn_limit_s  # for the turns to come; the one on the floor keeps its own
    items = list(plan.items)
    items[index] = e.item
    _set_items(state, s, items)


def _item_removed(state: State, s: SessionState, e: ItemRemoved) -> None:
    plan = state.plan(s.id)
    index = plan.item_index(e.item)
    if index is None:
        return
    current = None if s.current is None else s.items[s.current].id
    del s.items[index]
    if current is not None:
        s.current = s.index(current)
    _set_items(state, s, [i for i in plan.items if i.id != e.item])


def _item_moved(state: State, s: SessionState, e: ItemMoved) -> None:
    plan = state.plan(s.id)
    index = plan.item_index(e.item)
    if index is None:
        return
    current = None if s.current is None else s.items[s.current].id
    items = list(plan.items)
    spec = items.pop(index)
    live = s.items.pop(index)
    target = max(0, min(e.index, len(items)))
    items.insert(target, spec)
    s.items.insert(target, live)
    if current is not None:
        s.current = s.index(current)
    _set_items(state, s, items)


def _session_added(state: State, _s: SessionState, e: SessionAdded) -> None:
    assert state.agenda is not None
    if state.agenda.session(e.plan.id) is not None:
        return
    state.agenda = state.agenda.model_copy(update={"sessions": (*state.agenda.sessions, e.plan)})
    state.sessions.append(
        SessionState(
            id=e.plan.id,
            items=[ItemState(id=i.id, duration_s=i.duration_s, turn_limit_s=i.turn_limit_s) for i in e.plan.items],
        )
    )


def _session_edited(state: State, s: SessionState, e: SessionEdited) -> None:
    plan = state.plan(s.id)
    _set_session_plan(state, plan.model_copy(update={"title": e.title, "start": e.start, "room": e.room}))


def _person_added(state: State, _s: SessionState, e: PersonAdded) -> None:
    assert state.agenda is not None
    if state.agenda.person(e.person.id) is None:
        state.agenda = state.agenda.model_copy(update={"people": (*state.agenda.people, e.person)})


def _person_tagged(state: State, _s: SessionState, e: PersonTagged) -> None:
    assert state.agenda is not None
    people = tuple(p.model_copy(update={"tags": dict(e.tags)}) if p.id == e.person else p for p in state.agenda.people)
    state.agenda = state.agenda.model_copy(update={"people": people})


# Keyed by event type, for one dictionary lookup per event. Each handler is typed by its event class; the
# table cannot say which class goes with which key, so it holds them as taking any session and event, and
# tests/core/test_core_fold.py checks that every event type has its handler, typed by that type's class.
_HANDLERS: dict[str, Callable[[State, Any, Any], None]] = {
    "event_created": _event_created,
    "clock_set": _clock_set,
    "session_started": _session_started,
    "session_paused": _session_paused,
    "session_resumed": _session_resumed,
    "session_ended": _session_ended,
    "session_extended": _session_extended,
    "item_changed": _item_changed,
    "item_skipped": _item_skipped,
    "item_time_added": _item_time_added,
    "plan_applied": _plan_applied,
    "participant_registered": _participant_registered,
    "hand_raised": _hand_raised,
    "hand_lowered": _hand_lowered,
    "hand_moved": _hand_moved,
    "queue_cleared": _queue_cleared,
    "queue_closed": _queue_closed,
    "queue_opened": _queue_opened,
    "turn_limit_set": _turn_limit_set,
    "turn_started": _turn_started,
    "turn_ended": _turn_ended,
    "turn_paused": _turn_paused,
    "turn_resumed": _turn_resumed,
    "turn_time_added": _turn_time_added,
    "message_sent": _message_sent,
    "message_acknowledged": _message_acknowledged,
    "queue_order_set": _queue_order_set,
    "undone": _undone,
    "item_added": _item_added,
    "item_edited": _item_edited,
    "item_removed": _item_removed,
    "item_moved": _item_moved,
    "session_added": _session_added,
    "session_edited": _session_edited,
    "person_added": _person_added,
    "person_tagged": _person_tagged,
    "turn_hard_stopped": _turn_hard_stopped,
    "redone": _redone,
    "session_reopened": _session_reopened,
    "agenda_replaced": _agenda_replaced,
    "display_blackout": _display_blackout,
    "display_flashed": _display_flashed,
    "display_focused": _display_focused,
}
_HANDLERS.update(_QUESTION_FOLDS)
