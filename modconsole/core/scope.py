"""A moderator limited to some sessions (two halls side by side, a moderator each): which session a command
of theirs acts on, and the refusal when it is another's.

This module owns that rule and nothing else; it must never change the state or the command it is given
(it returns a copy with the session filled in).
"""

from __future__ import annotations

from collections.abc import Collection

from .commands import Command
from .decide import Rejected
from .state import State

# Commands that do not act on a session: a message goes to a person or to everyone, an ack is one's own.
UNSCOPED = frozenset({"message", "ack"})


def scoped(state: State, command: Command, sessions: Collection[str] | None) -> Command | Rejected:
    """The command as a moderator limited to ``sessions`` (None: every session) may send it. Without a session
    it goes to the running one of theirs, else the first of theirs not ended; a session that is not theirs is
    refused ("forbidden"), naming theirs."""
    if sessions is None or command.type in UNSCOPED:
        return command
    theirs = [s for s in state.sessions if s.id in sessions]
    listing = ", ".join(repr(s) for s in sorted(sessions)) or "none"
    if command.session is not None:
        if command.session in sessions:
            return command
        return Rejected("forbidden", f"session {command.session!r} is not yours to moderate (your sessions: {listing})")
    chosen = next((s for s in theirs if s.status in ("running", "paused")), None)
    chosen = chosen or next((s for s in theirs if s.status != "ended"), None) or (theirs[0] if theirs else None)
    if chosen is None:
        return Rejected("forbidden", f"none of your sessions is in this event (your sessions: {listing})")
    return command.model_copy(update={"session": chosen.id})
