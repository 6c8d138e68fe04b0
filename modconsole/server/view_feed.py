"""The view feed: the pages that asked for views in their hello, and the frames they are sent.

Each page gets the derived view for its viewer (``core.page_view``), serialised once per distinct
``visibility.viewer_key`` and log sequence, not once per page: with 1,800 participants most share one. The
service calls ``send_all`` after every change and, while a session runs, every ``REFRESH_S`` (projected
times move while an item runs over). This module owns the frames and who gets them; it must never change the
state.
"""

from __future__ import annotations

import json

from modconsole.core.page_view import page_view
from modconsole.core.state import State
from modconsole.core.visibility import viewer_key

from .connection import Client

REFRESH_S = 15.0  # while a session runs: the projected starts of what is to come move as an item runs over


def view_frame(state: State, role: str, person: str | None, now: int) -> str:
    """One ``view`` frame (modconsole.protocol.View), assembled around the view's JSON."""
    body = json.dumps(page_view(state, role, person, now), ensure_ascii=False, separators=(",", ":"))
    return f'{{"type":"view","seq":{state.seq},"view":{body}}}'


class ViewFeed:
    """One event's pages, and the frames made for them at the current sequence."""

    def __init__(self) -> None:
        self.pages: set[Client] = set()
        self._made_at: tuple[int, int] | None = None  # (seq, now) the cached frames were made at
        self._frames: dict[tuple[object, ...], str] = {}

    def frame_for(self, state: State, client: Client, now: int) -> str:
        """The client's frame at the state's sequence: made at ``now`` unless one is made already."""
        if self._made_at is None or self._made_at[0] != state.seq:
            self._made_at = (state.seq, now)
            self._frames = {}
        role, person = client.actor.role, client.actor.person
        key = viewer_key(state, role, person)
        frame = self._frames.get(key)
        if frame is None:
            frame = self._frames[key] = view_frame(state, role, person, self._made_at[1])
        return frame

    def send_all(self, state: State, now: int, *, fresh: bool = False, skip: Client | None = None) -> None:
        """Every page (but ``skip``, sent its own already) its view; ``fresh`` makes them anew at ``now`` even
        when the sequence has not moved."""
        if not self.pages:
            return
        if fresh:
            self._made_at = None
        for client in self.pages:
            if client is not skip:
                client.send(self.frame_for(state, client, now))
