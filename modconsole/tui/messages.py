"""What a screen or a dialog asks of the console's App, as Textual messages.

A screen never calls the App: it posts one of these (it bubbles from the screen to the App), and
``ConsoleApp`` handles it, since the App owns the link, its workers and the notifications. This module
defines the messages only: it must never import the App, a screen or the link, nor do anything itself.
"""

from __future__ import annotations

from textual.message import Message

from ..core.commands import Command


class SendCommand(Message):
    """Send ``command`` to the server. ``done``, if given, is said once the server has taken it; a refusal,
    a failure to send and a silence are said by the App in its own words."""

    def __init__(self, command: Command, done: str | None = None) -> None:
        super().__init__()
        self.command = command
        self.done = done
