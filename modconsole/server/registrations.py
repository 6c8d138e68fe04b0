"""Who may become a participant: the first join with the event-wide token and a name issues a personal
credential, once the name is found to be the person's own and the event and the address have room.

A participant is a credential, not a name: two people who give the same name are two participants, the
second shown as "Name (2)"; a name that reads like a listed person's, or like a role, is refused. Each
event holds at most ``max_participants`` self-registered participants, and each address may register
``per_minute`` a minute (a burst of as many), so one stranger with the event-wide token cannot fill the
roster, while a venue behind one NAT address can be let in by raising it.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field

from modconsole.core.agenda import Person
from modconsole.core.names import fold_name, numbered, reserved
from modconsole.core.state import State
from modconsole.protocol import ErrorCode

DEFAULT_MAX_PARTICIPANTS = 5_000  # above the ~3,000 live participants of the largest event served
DEFAULT_REGISTRATIONS_PER_MINUTE = 120  # per address; a venue behind one NAT address raises it
MAX_TRACKED_ADDRESSES = 10_000


class Refused(Exception):
    """A registration refused; ``code`` is the protocol's error code."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class AddressRate:
    """A token bucket per address: ``per_minute`` registrations a minute, in bursts of as many."""

    per_minute: float
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # address -> (tokens, when)

    def allow(self, address: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        tokens, when = self.buckets.get(address, (self.per_minute, now))
        tokens = min(self.per_minute, tokens + (now - when) * self.per_minute / 60)
        if tokens < 1:
            self.buckets[address] = (tokens, now)
            return False
        self.buckets[address] = (tokens - 1, now)
        if len(self.buckets) > MAX_TRACKED_ADDRESSES:
            self._forget_full(now)
        return True

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have filled up again: they hold nothing a fresh one would not."""
        rate = self.per_minute / 60
        for address, (tokens, when) in list(self.buckets.items()):
            if tokens + (now - when) * rate >= self.per_minute:
                del self.buckets[address]


@dataclass
class Roll:
    """The participants issued for one event so far: how many, and the names (folded) they were given."""

    taken: set[str]
    count: int
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def of(cls, issued: list[str], state: State) -> Roll:
        # Participants from logs written before credentials existed are known only by their registration.
        names = [*issued, *(p.name for p in state.participants.values())]
        return cls(taken={fold_name(n) for n in names}, count=len(issued))


def roster_folds(state: State) -> set[str]:
    return {fold_name(p.name) for p in state.agenda.people} if state.agenda is not None else set()


def check_own_name(name: str, roster: set[str]) -> None:
    """Refuse a name that reads like a listed person's (case, spacing, confusable letters) or a role's."""
    if fold_name(name) in roster:
        raise Refused(
            "invalid", "that name reads like the name of someone listed for this event; join with your own name"
        )
    if reserved(name):
        raise Refused("invalid", "that name reads like a role (moderator, chair, host…); join with your own name")


def new_participant(name: str, roll: Roll) -> Person:
    """A person for a new credential: a random id, and the name numbered if another participant has it."""
    shown = numbered(name, roll.taken)
    return Person(id=f"p-{secrets.token_hex(8)}", name=shown, participant=True)
