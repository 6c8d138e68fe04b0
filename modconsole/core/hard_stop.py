"""The hard stop: the clock ends a turn once it has run its limit plus the grace the agenda gives it.

``turn_hard_stop`` in the agenda (per item, or for the whole event) is that grace. The server asks
:func:`hard_stop_at` when to look again and :func:`hard_stops` what to log then; both are pure functions of
the state and the time passed in, so the decision is the core's and a test drives it with any clock.
"""

from __future__ import annotations

from . import events as e
from .state import SessionState, State, Turn


def _grace_s(state: State, session: SessionState) -> int | None:
    if state.agenda is None or session.current is None:
        return None
    return state.plan(session.id).items[session.current].turn_hard_stop_s


def turn_hard_stop(state: State, session: SessionState) -> tuple[Turn, int, int] | None:
    """The turn on the floor with a hard stop: (turn, its limit, the grace), in seconds; None without one."""
    if session.status not in ("running", "paused"):
        return None
    item = session.current_item
    grace = _grace_s(state, session)
    if item is None or item.floor is None or grace is None:
        return None
    limit = item.floor.effective_limit_s
    if limit is None:
        return None
    return item.floor, limit, grace


def hard_stop_at(state: State, now: int) -> int | None:
    """The earliest event-clock time at which a turn now running reaches its hard stop (now or before, when
    one is due); None when no turn running has one. A paused turn's time does not move."""
    earliest: int | None = None
    for session in state.sessions:
        found = turn_hard_stop(state, session)
        if found is None:
            continue
        turn, limit, grace = found
        if turn.timer.running_since is None:
            continue
        due = turn.timer.running_since + (limit + grace) * 1000 - turn.timer.accumulated_ms
        earliest = due if earliest is None else min(earliest, due)
    return earliest


def hard_stops(state: State, now: int) -> list[e.Event]:
    """The turns the clock ends at ``now``: every turn on the floor that has run its limit plus the grace."""
    out: list[e.Event] = []
    for session in state.sessions:
        found = turn_hard_stop(state, session)
        if found is None:
            continue
        turn, limit, grace = found
        if turn.timer.elapsed_ms(now) >= (limit + grace) * 1000 and turn.timer.first_start is not None:
            out.append(
                e.TurnHardStopped(
                    session=session.id,
                    at=now,
                    person=turn.person,
                    started_at=turn.timer.first_start,
                    limit_s=limit,
                    grace_s=grace,
                )
            )
    return out
