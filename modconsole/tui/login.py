"""The sign-in screen of the browser view: the token is typed into the page, never put in a URL."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label


class LoginScreen(Screen[tuple[str, str | None]]):
    """Asks for the access token (hidden as it is typed) and, for participants, a name."""

    def __init__(self, server_url: str, error: str = "") -> None:
        super().__init__()
        self.server_url = server_url
        self.error = error

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(classes="dialog", id="login"):
            yield Label(f"Join the meeting at {self.server_url}", classes="question")
            yield Label("Access token (from the organiser)")
            yield Input(password=True, placeholder="mc_…", id="token", max_length=200)
            yield Label("Your name (participants only)")
            yield Input(placeholder="e.g. Amina Diallo", id="name", max_length=80)
            yield Label(self.error, id="login-error")
            yield Button("Join", variant="primary", id="join")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#token", Input).focus()

    @on(Input.Submitted, "#token")
    def _next_field(self) -> None:
        self.query_one("#name", Input).focus()

    @on(Input.Submitted, "#name")
    @on(Button.Pressed, "#join")
    def _join(self) -> None:
        token = self.query_one("#token", Input).value.strip()
        name = self.query_one("#name", Input).value.strip() or None
        if not token:
            self.query_one("#login-error", Label).update("A token is needed.")
            self.query_one("#token", Input).focus()
            return
        self.dismiss((token, name))
