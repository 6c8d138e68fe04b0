"""Attendance: connections opening and closing in any order, with reconnects inside the grace period, give
each person intervals of presence that never overlap, and a reconnect within the grace is no leave at all."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from modconsole.core.attendance import Mark, Tracker, intervals, joined, left, still_present

steps = st.lists(st.tuples(st.sampled_from(["open", "close", "tick"]), st.integers(0, 3), st.integers(0, 40_000)))


def _drive(plan: list[tuple[str, int, int]]) -> tuple[Tracker, list[Mark]]:
    tracker = Tracker(grace_ms=10_000)
    events: list[Mark] = []
    now = 0
    open_conns = [0, 0, 0, 0]
    for what, who, gap in plan:
        now += gap
        for person, at in tracker.due(now):
            events.append(left(at, person))
        person = f"p{who}"
        if what == "open":
            open_conns[who] += 1
            if tracker.open(person):
                events.append(joined(now, person, "participant"))
        elif what == "close" and open_conns[who] > 0:
            open_conns[who] -= 1
            tracker.close(person, now)
    return tracker, events


@settings(max_examples=300, deadline=None)
@given(steps)
def test_intervals_never_overlap_for_one_person(plan: list[tuple[str, int, int]]) -> None:
    tracker, events = _drive(plan)
    for person, left_at in tracker.all_leave(10**9):
        events.append(left(left_at, person))
    for mine in intervals(events).values():
        for (start, end), (next_start, _next_end) in itertools.pairwise(mine):
            assert end is not None and start <= end <= next_start
        assert mine[-1][1] is not None
    assert still_present(events) == []


def test_a_reconnect_within_the_grace_is_no_leave() -> None:
    tracker = Tracker(grace_ms=10_000)
    assert tracker.open("ann") is True
    tracker.close("ann", 1_000)
    assert tracker.due(5_000) == []
    assert tracker.open("ann") is False  # back in time: no leave, no second join
    tracker.close("ann", 20_000)
    assert tracker.due(29_999) == []
    assert tracker.due(30_000) == [("ann", 20_000)]
    assert tracker.open("ann") is True
    assert tracker.online == 1


def test_two_connections_are_one_presence() -> None:
    tracker = Tracker(grace_ms=0)
    assert tracker.open("bob") is True
    assert tracker.open("bob") is False
    tracker.close("bob", 5)
    assert tracker.due(100) == []  # the other connection is still open
    tracker.close("bob", 7)
    assert tracker.due(7) == [("bob", 7)]
