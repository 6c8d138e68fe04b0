"""The speaking order of a queue: a pure function from the hands up to the order they speak in.

The orders an agenda or a moderator may choose:

- ``fifo``: as the hands went up (today's order, and the default);
- ``first_time_first``: anyone who has not yet had the floor in this session goes ahead of those who have;
- ``tiers:N`` (``tiers`` alone is ``tiers:3``): fewer turns so far in this session goes first, over N tiers
  (the last tier holds everyone with N-1 turns or more);
- ``alternate:TAG``: alternate between the values of a tag (e.g. ``alternate:gender``) when the queue allows,
  each value's hands as they went up.

Whatever the order, three things hold (tests/core/test_core_queue_order.py checks them with hypothesis):
the result is a permutation of the hands given; points of order stay first, in the order they went up;
the next person up (the first hand that is not a point of order) is never bumped by the order, and a hand a
moderator moved (``Hand.moved``) keeps the place it was moved to. Only the other hands are ordered.

This module owns the order and nothing else. It must never change the hands it is given, nor read a clock;
the fold (``fold.py``) calls it after each change of a queue under an order other than ``fifo``.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .agenda import QUEUE_ORDER_PATTERN
from .state import Hand, SessionState

DEFAULT_TIERS = 3
MAX_TIERS = 20
_ORDER = re.compile(QUEUE_ORDER_PATTERN)


@dataclass(frozen=True, slots=True)
class QueueOrder:
    kind: str  # fifo, first_time_first, tiers, alternate
    tiers: int = DEFAULT_TIERS
    tag: str | None = None


def parse_order(text: str) -> QueueOrder:
    """A queue order from its text, or ValueError saying which are known."""
    if not isinstance(text, str) or not _ORDER.match(text):
        raise ValueError(
            f"unknown queue order {text!r}: use fifo, first_time_first, tiers, tiers:N (N from 1 to {MAX_TIERS}) "
            "or alternate:TAG"
        )
    if text.startswith("tiers"):
        return QueueOrder("tiers", int(text.split(":", 1)[1]) if ":" in text else DEFAULT_TIERS)
    if text.startswith("alternate:"):
        return QueueOrder("alternate", tag=text.split(":", 1)[1])
    return QueueOrder(text)


def is_valid_order(text: str) -> bool:
    return bool(_ORDER.match(text))


NOT_GIVEN = ""  # the group of a hand whose tag value is not known: a group of its own


def ordered(
    queue: Sequence[Hand],
    order: str,
    turns: Mapping[str, int],
    last_group: str | None = None,
) -> list[Hand]:
    """The hands of ``queue`` in speaking order under ``order``.

    ``turns`` is how many turns each person has had in this session so far (absent: none); ``last_group``,
    for ``alternate:TAG``, the group of whoever spoke last (the floor, or the last turn), so that the next
    group differs from it when the queue allows."""
    spec = parse_order(order)
    hands = list(queue)
    if spec.kind == "fifo" or len(hands) < 2:
        return hands
    # The fixed places: points of order, the next person up, and hands a moderator moved.
    fixed: dict[int, Hand] = {}
    head_seen = False
    for index, hand in enumerate(hands):
        if hand.kind == "point_of_order":
            fixed[index] = hand
        elif not head_seen:
            head_seen = True
            fixed[index] = hand
        elif hand.moved:
            fixed[index] = hand
    free = [h for i, h in enumerate(hands) if i not in fixed]
    if not free:
        return hands
    picks = iter(_arrange(free, spec, turns, hands, fixed, last_group))
    return [fixed[i] if i in fixed else next(picks) for i in range(len(hands))]


def _arrange(
    free: list[Hand],
    spec: QueueOrder,
    turns: Mapping[str, int],
    hands: list[Hand],
    fixed: dict[int, Hand],
    last_group: str | None,
) -> list[Hand]:
    """The free hands in the order they take the free places, first to last."""
    by_arrival = sorted(range(len(free)), key=lambda i: (free[i].raised_at, i))
    if spec.kind == "first_time_first":
        return [free[i] for i in sorted(by_arrival, key=lambda i: min(turns.get(free[i].person, 0), 1))]
    if spec.kind == "tiers":
        top = spec.tiers - 1
        return [free[i] for i in sorted(by_arrival, key=lambda i: min(turns.get(free[i].person, 0), top))]
    # alternate: each group's hands as they went up; at each free place, the earliest hand of a group other
    # than the one before it, when there is one.
    groups: dict[str, deque[tuple[int, Hand]]] = {}
    for rank, i in enumerate(by_arrival):
        groups.setdefault(free[i].group or NOT_GIVEN, deque()).append((rank, free[i]))
    out: list[Hand] = []
    previous = last_group
    for index in range(len(hands)):
        if index in fixed:
            previous = fixed[index].group or NOT_GIVEN
            continue
        best: deque[tuple[int, Hand]] | None = None
        fallback: deque[tuple[int, Hand]] | None = None
        for name, waiting in groups.items():
            if not waiting:
                continue
            if fallback is None or waiting[0][0] < fallback[0][0]:
                fallback = waiting
            if name != previous and (best is None or waiting[0][0] < best[0][0]):
                best = waiting
        chosen = best if best is not None else fallback
        assert chosen is not None
        hand = chosen.popleft()[1]
        out.append(hand)
        previous = hand.group or NOT_GIVEN
    return out


def session_turns(session: SessionState) -> dict[str, int]:
    """How many turns each person has had in ``session`` so far, the one on the floor included."""
    counts: dict[str, int] = {}
    for item in session.items:
        for turn in item.turns:
            counts[turn.person] = counts.get(turn.person, 0) + 1
        if item.floor is not None:
            counts[item.floor.person] = counts.get(item.floor.person, 0) + 1
    return counts


def group_tag(order: str) -> str | None:
    """The tag an ``alternate:TAG`` order alternates on; None for the other orders."""
    return order.split(":", 1)[1] if order.startswith("alternate:") else None
