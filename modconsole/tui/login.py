"""The sign-in screen (``modconsole join --ask``, which the browser view runs): the token is typed
into the page, hidden as it is typed, and never put in a URL.

The screen checks what is typed and dismisses with the token and the name; the App connects with them
(``Login.connect``). It must never connect, keep the token, or import the App.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label

from ..protocol import MAX_NAME, NAME_NEEDED, check_name
from .labels import plain
from .link import Link


def explain(reason: str) -> str:
    """The server's reason for a refusal, said for someone at the sign-in screen."""
    if "token was not accepted" in reason:
        return "The token was not accepted. Check it with the organiser and try again."
    if NAME_NEEDED in reason:
        return "This is the participants' token: type your name too."
    return reason[:1].upper() + reason[1:] if reason else ""


@dataclass
class Login:
    """How ``--ask`` connects: the server, and a link made from the token and name typed in."""

    server_url: str
    connect: Callable[[str, str | None], Link]
    name: str | None = None  # the last name typed, offered again after a refusal
    token: str | None = None  # the last token, offered again only when the server asked for a name


class LoginScreen(Screen[tuple[str, str | None]]):
    """Asks for the access token (hidden as it is typed) and, for participants, a name. Enter in
    either field joins (Tab moves between them): a second Enter typed quickly must not be lost."""

    def __init__(self, server_url: str, error: str = "", name: str | None = None, token: str | None = None) -> None:
        super().__init__()
        self.server_url = server_url
        self.error = explain(error)
        self.name_value = name or ""
        self.token_value = token or ""

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(classes="dialog", id="login"):
            yield Label(plain(f"Join the meeting at {self.server_url}"), classes="question")
            yield Label("Access token (from the organiser)")
            yield Input(self.token_value, password=True, placeholder="mc_…", id="token", max_length=200)
            yield Label("Your name (with the participants' token)")
            yield Input(self.name_value, placeholder="e.g. Amina Diallo", id="name", max_length=MAX_NAME)
            yield Label(plain(self.error), id="login-error")
            yield Button("Join", variant="primary", id="join")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.sub_title = "sign in"
        self.query_one("#login-error", Label).display = bool(self.error)
        self.query_one("#name" if self.token_value else "#token", Input).focus()

    def _fail(self, text: str, field: str) -> None:
        error = self.query_one("#login-error", Label)
        error.update(plain(text))
        error.display = True
        self.query_one(f"#{field}", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#join")
    def _join(self) -> None:
        token = self.query_one("#token", Input).value.strip()
        raw_name = self.query_one("#name", Input).value
        if not token:
            self._fail("A token is needed.", "token")
            return
        if any(ch.isspace() or not ch.isprintable() for ch in token):
            self._fail("A token has no spaces or control characters: paste it again.", "token")
            return
        name = None
        if raw_name.strip():
            try:
                name = check_name(raw_name)
            except ValueError as exc:
                self._fail(f"Name: {exc}.", "name")
                return
        self.dismiss((token, name))
