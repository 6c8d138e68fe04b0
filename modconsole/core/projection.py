"""Timing maths over the live state: phases, projections, queue estimates, recovery plans.

Everything here is a pure function of a state and a time ("now", epoch ms on
the event clock), so a client computes the same figures the server would. It
never changes the state, and it leaves the figures as numbers: ``read_model.py``
shapes them into what clients read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from .agenda import ItemKind, ItemPlan, fixed_start_ms, local_to_ms, planned_schedule
from .state import ItemState, SessionState, State, Turn

Phase = Literal["normal", "warning", "danger", "overtime"]

TURN_DANGER_S = 10
DEFAULT_TURN_S = 120  # expected turn length before any turn was observed and with no limit
MIN_PLANNED_ITEM_S = 60  # a recovery plan leaves every trimmed item at least a minute
LATE_START_LIMIT_MS = 2 * 3600 * 1000  # a start further than this from the plan is a rehearsal


def phase(remaining_s: float, warning_s: int, danger_s: int) -> Phase:
    if remaining_s <= 0:
        return "overtime"
    if remaining_s <= danger_s:
        return "danger"
    if remaining_s <= warning_s:
        return "warning"
    return "normal"


def item_phase(plan: ItemPlan, item: ItemState, now: int) -> Phase:
    return phase(item.duration_s - item.timer.elapsed_ms(now) / 1000, plan.warning_s, plan.danger_s)


def turn_phase(turn: Turn, now: int) -> Phase:
    limit = turn.effective_limit_s
    if limit is None:
        return "normal"
    # Turns are short: warn with a fifth of the limit left (at least 15 s), danger at the last 10 s.
    warning = max(15, limit // 5)
    return phase(limit - turn.timer.elapsed_ms(now) / 1000, warning, TURN_DANGER_S)


def _day_shift_anchor(state: State, session: SessionState) -> datetime:
    """The planned start that fixed starts refer to, moved by whole days when the session
    (a rehearsal, a postponed meeting) started on another day than planned."""
    assert state.agenda is not None
    plan = state.plan(session.id)
    if session.started_at is None:
        return plan.start
    planned_ms = local_to_ms(plan.start, state.agenda.zone)
    days = round((session.started_at - planned_ms) / 86_400_000)
    return plan.start + timedelta(days=days)


def upcoming(session: SessionState) -> list[int]:
    """The items still to come after the current one, in the order ``next`` takes them.

    First every item after the current one that is not skipped and not finished: pending ones, and
    done ones the chair left by ``prev`` or ``goto`` (not by ``next``), which ``next`` opens again for
    what is left of their plan. Then the pending items before the current one: those a ``goto``
    jumped over, which have not run and still have to. Before the start, every item not skipped;
    once the session ended, none.
    """
    if session.status == "ended":
        return []
    if session.current is None:
        return [index for index, item in enumerate(session.items) if item.status == "pending"]
    after = [
        index
        for index in range(session.current + 1, len(session.items))
        if session.items[index].status != "skipped" and not session.items[index].finished
    ]
    jumped_over = [index for index in range(session.current) if session.items[index].status == "pending"]
    return after + jumped_over


@dataclass(frozen=True)
class Projection:
    planned_starts: list[int]  # per item, then the planned end
    # Per item: when a pending item starts, and the current item's actual start; None for the rest (done,
    # skipped), even for a done item that ``next`` opens again: it has started already.
    projected_starts: list[int | None]
    projected_end: int
    planned_duration_s: int
    baseline_end: int  # where the session should end: its planned end plus extensions
    # The items to come (``upcoming``) with the time each begins, or for a done item resumes.
    coming: tuple[tuple[int, int], ...] = ()


def project(state: State, session: SessionState, now: int, durations: dict[str, int] | None = None) -> Projection:
    """Projected start of every remaining item and the projected end, fixed starts honoured.

    ``durations`` overrides item durations (used to try a recovery plan).
    """
    assert state.agenda is not None
    zone = state.agenda.zone
    plan = state.plan(session.id)
    planned = planned_schedule(plan, zone)
    planned_duration_s = (planned[-1] - planned[0]) // 1000
    anchor = _day_shift_anchor(state, session)
    planned_start = local_to_ms(anchor, zone)
    start_base = planned_start
    began = session.started_at if session.started_at is not None else now
    if abs(began - planned_start) > LATE_START_LIMIT_MS:
        # Hours away from its planned time: a rehearsal or a rescheduled session, whose plan runs
        # from its actual start (or from now, before it starts). Within the limit, late is behind.
        start_base = max(began, planned_start) if session.started_at is None else began
    baseline_end = start_base + (planned_duration_s + session.extended_s) * 1000

    def duration(item: ItemState) -> int:
        if durations is not None and item.id in durations:
            return durations[item.id]
        return item.duration_s

    projected: list[int | None] = [None] * len(session.items)
    if session.status == "ended":
        assert session.ended_at is not None
        return Projection(planned, projected, session.ended_at, planned_duration_s, baseline_end)

    if session.current is None:
        cursor = max(now, local_to_ms(anchor, zone))
    else:
        current = session.items[session.current]
        projected[session.current] = current.timer.first_start
        remaining = max(0, duration(current) * 1000 - current.timer.elapsed_ms(now))
        cursor = now + remaining
    coming: list[tuple[int, int]] = []
    for index in upcoming(session):
        item = session.items[index]
        if item.status != "pending":
            # Done, and opened again by "next": what is left of its plan (nothing if it used it all).
            # It keeps its actual start; its fixed start, if any, was honoured when it first ran.
            coming.append((index, cursor))
            cursor += max(0, duration(item) * 1000 - item.timer.elapsed_ms(now))
            continue
        fixed = plan.items[index].fixed_start
        if fixed is not None:
            cursor = max(cursor, fixed_start_ms(fixed, anchor, zone))
        projected[index] = cursor
        coming.append((index, cursor))
        cursor += duration(item) * 1000
    return Projection(planned, projected, cursor, planned_duration_s, baseline_end, tuple(coming))


def session_elapsed_ms(session: SessionState, now: int) -> int:
    """Wall time on the event clock since the session started, pauses included."""
    if session.started_at is None:
        return 0
    end = session.ended_at if session.ended_at is not None else now
    return max(0, end - session.started_at)


def expected_turn_s(session: SessionState, item: ItemState) -> int:
    if item.turn_limit_s is not None:
        return item.turn_limit_s
    lengths = [t.timer.accumulated_ms for i in session.items for t in i.turns]
    if not lengths:
        return DEFAULT_TURN_S
    return max(1, round(sum(lengths) / len(lengths) / 1000))


def turn_left_s(session: SessionState, item: ItemState, now: int) -> int:
    """What the queue still waits for the turn in progress, in whole seconds (0 with nobody on the floor).

    A turn with a limit: what is left of it; past it, as long again as it has already run past it (a speaker
    27 minutes over a minute's limit is not about to stop). A turn with no limit (a talk): the time left in
    the item, or once that is used up, an expected turn."""
    turn = item.floor
    if turn is None:
        return 0
    elapsed = turn.timer.elapsed_ms(now) // 1000
    limit = turn.effective_limit_s
    if limit is not None:
        return limit - elapsed if elapsed < limit else elapsed - limit
    item_left = item.duration_s - item.timer.elapsed_ms(now) // 1000
    return item_left if item_left > 0 else expected_turn_s(session, item)


def queue_waits(session: SessionState, now: int) -> list[int]:
    """Estimated seconds until each queued person gets the floor, in queue order: the turn in progress
    (``turn_left_s``), then an expected turn per hand ahead."""
    item = session.current_item
    if item is None:
        return []
    expected = expected_turn_s(session, item)
    wait = turn_left_s(session, item, now)
    waits = []
    for _hand in item.queue:
        waits.append(wait)
        wait += expected
    return waits


def waiting_waits(state: State, session: SessionState, now: int) -> list[int]:
    """Estimated seconds until each waiting hand (``session.waiting``) can have the floor, in its order: until
    the item it waits for begins (the session's start, for the speakers' list before it), then an expected
    turn per hand waiting ahead of it for the same item. A hand for an item that is not to come: 0."""
    if not session.waiting:
        return []
    proj = project(state, session, now)
    begins = {session.items[index].id: at for index, at in proj.coming}
    first = session.items[proj.coming[0][0]].id if proj.coming and session.current is None else None
    ahead: dict[str | None, int] = {}
    waits = []
    for hand in session.waiting:
        target = hand.for_item if hand.for_item is not None else first
        index = session.index(target) if target is not None else None
        item = session.items[index] if index is not None else None
        expected = expected_turn_s(session, item) if item is not None else DEFAULT_TURN_S
        key = first if target == first else target  # before the start, the list and the first item's join
        count = ahead.get(key, 0)
        ahead[key] = count + 1
        start = begins.get(target) if target is not None else None
        waits.append(0 if start is None else max(0, (start - now) // 1000) + count * expected)
    return waits


@dataclass(frozen=True)
class RecoveryPlan:
    target_ms: int
    durations: dict[str, int]  # new durations for the items it changes
    projected_end: int
    feasible: bool
    trimmed_s: int


def _adjustable(state: State, session: SessionState, include_fixed: bool) -> list[int]:
    plan = state.plan(session.id)
    indexes = []
    # The items the projection still counts: the current one and those to come (jumped-over ones too).
    remaining = ([] if session.current is None else [session.current]) + upcoming(session)
    for index in sorted(remaining):
        spec = plan.items[index]
        if not include_fixed and (spec.kind == ItemKind.break_ or spec.fixed_start is not None):
            continue
        indexes.append(index)
    return indexes


def recovery_plan(
    state: State, session: SessionState, now: int, target_ms: int, include_fixed: bool = False
) -> RecoveryPlan:
    """New durations for the remaining items so the session ends by ``target_ms``.

    Items shrink in proportion to their remaining time, none below a minute
    (nor below what the current item has already run); fixed-start items and
    breaks keep theirs unless ``include_fixed``. The factor is found by
    bisection on the same projection the console shows, so fixed starts are
    honoured exactly as there.
    """
    indexes = _adjustable(state, session, include_fixed)
    floors: dict[str, int] = {}
    fulls: dict[str, int] = {}
    for index in indexes:
        item = session.items[index]
        # The current item, or a done one that "next" opens again, keeps at least what it already ran.
        ran = item.timer.elapsed_ms(now) // 1000 if item.status != "pending" else 0
        fulls[item.id] = item.duration_s
        floors[item.id] = min(item.duration_s, max(ran, MIN_PLANNED_ITEM_S))

    def durations_at(factor: float) -> dict[str, int]:
        out = {}
        for item_id, full in fulls.items():
            low = floors[item_id]
            value = low + (full - low) * factor
            # Whole tens of seconds, but never below the floor (what the running item already ran).
            out[item_id] = max(low, int(value // 10 * 10))
        return out

    current_end = project(state, session, now).projected_end
    if current_end <= target_ms or not fulls:
        return RecoveryPlan(target_ms, {}, current_end, current_end <= target_ms, 0)
    low, high = 0.0, 1.0
    if project(state, session, now, durations_at(0.0)).projected_end > target_ms:
        best = durations_at(0.0)
    else:
        for _ in range(40):
            mid = (low + high) / 2
            if project(state, session, now, durations_at(mid)).projected_end <= target_ms:
                low = mid
            else:
                high = mid
        best = durations_at(low)
    changed = {k: v for k, v in best.items() if v != fulls[k]}
    end = project(state, session, now, changed).projected_end
    trimmed = sum(fulls[k] - v for k, v in changed.items())
    return RecoveryPlan(target_ms, changed, end, end <= target_ms, trimmed)


def default_session(state: State) -> SessionState | None:
    """The running session, else the first that has not ended."""
    for session in state.sessions:
        if session.status in ("running", "paused"):
            return session
    for session in state.sessions:
        if session.status != "ended":
            return session
    return state.sessions[0] if state.sessions else None
