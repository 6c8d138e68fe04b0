"""``modconsole join --ask`` (what each browser tab runs): the sign-in screen against a real server on
port 0, with Textual's Pilot; and the ``web`` command's page and command line."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from support.tui import UTC, Served, screen_text, until
from textual.widgets import Input

from modconsole import cli, web
from modconsole.client import MeetingClient
from modconsole.core import commands as c
from modconsole.tui import LiveLink, create_app
from modconsole.tui.audience import DisplayScreen, ViewerScreen
from modconsole.tui.login import Login, LoginScreen


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    srv = await Served.start(tmp_path / "login.db")
    desk = await srv.client(srv.tokens.moderator, label="desk")
    await desk.command(c.Start())
    yield srv
    await srv.close()


class Connections:
    """The ``connect`` of a Login: records what it was given and makes real links."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.made: list[tuple[str, str | None]] = []
        self.links: list[LiveLink] = []

    def __call__(self, token: str, name: str | None) -> LiveLink:
        self.made.append((token, name))
        link = LiveLink(MeetingClient(self.url, token, name=name, client="web-test"))
        self.links.append(link)
        return link

    async def close(self) -> None:
        for link in self.links:
            await link.close()


async def sign_in(pilot: Any, token: str, name: str = "") -> None:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, LoginScreen), "the sign-in screen")
    app.screen.query_one("#token", Input).value = token
    app.screen.query_one("#name", Input).value = name
    app.screen.query_one("#token", Input).focus()
    await pilot.press("enter")  # joins from either field


async def test_ask_signs_in_a_participant_and_a_refused_token_comes_back_with_the_reason(served: Served) -> None:
    connections = Connections(served.url)
    app = create_app(None, local_zone=UTC, refresh_s=0.1, login=Login(served.url, connections))
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, LoginScreen), "the sign-in screen")
            assert app.screen.query_one("#token", Input).password
            assert f"Join the meeting at {served.url}" in screen_text(app)

            await sign_in(pilot, "mc_wrong")
            await until(
                pilot,
                lambda: isinstance(app.screen, LoginScreen) and "not accepted" in screen_text(app),
                "the refusal, back on the sign-in screen",
            )

            # The participants' token without a name: the server says a name is needed; the token stays
            # typed in and the name field has the focus.
            await sign_in(pilot, served.tokens.participant)
            await until(pilot, lambda: "type your name too" in screen_text(app), "the name asked for")
            assert app.screen.query_one("#token", Input).value == served.tokens.participant
            assert app.focused is app.screen.query_one("#name", Input)
            # After a wrong token, nothing is kept.
            await sign_in(pilot, "mc_wrong_again")
            await until(pilot, lambda: "not accepted" in screen_text(app), "the refusal")
            assert app.screen.query_one("#token", Input).value == ""

            # A bad name is refused on screen, before connecting.
            tried = len(connections.made)
            await sign_in(pilot, served.tokens.participant, "Amina\x07")
            await until(pilot, lambda: "control characters" in screen_text(app), "the name's error")
            assert len(connections.made) == tried

            await sign_in(pilot, served.tokens.participant, "  Amina Diallo ")
            await until(pilot, lambda: isinstance(app.screen, ViewerScreen) and app.screen.ready, "the viewer")
            assert connections.made[-1] == (served.tokens.participant, "Amina Diallo")
            assert app.screen.role == "participant" and "◇ Amina Diallo" in screen_text(app)
            await pilot.press("r")
            await until(pilot, lambda: len(served.session.items[0].queue) == 1, "the participant's hand")
    finally:
        await connections.close()


async def test_ask_with_a_display_token_opens_the_display(served: Served) -> None:
    connections = Connections(served.url)
    app = create_app(None, local_zone=UTC, refresh_s=0.1, login=Login(served.url, connections))
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, served.tokens.display)
            await until(pilot, lambda: isinstance(app.screen, DisplayScreen) and app.screen.ready, "the display")
            await until(pilot, lambda: "Opening by the chair" in screen_text(app), "the current item")
    finally:
        await connections.close()


def test_the_web_page_loads_no_third_party_font() -> None:
    import textual_serve

    original = (Path(textual_serve.__file__).parent / "templates" / "app_index.html").read_text()
    page = web.page_template(original)
    assert "fonts.googleapis.com" in original and "fonts.googleapis.com" not in page
    assert page.count("<link") == original.count("<link") - 1  # xterm's own stylesheet stays


def test_each_tab_runs_join_ask_with_no_token_in_the_command() -> None:
    command = web.command("ws://127.0.0.1:8765")
    assert command.endswith("-m modconsole join ws://127.0.0.1:8765 --ask")
    args = cli.parser().parse_args(["web"])
    assert (args.host, args.port, args.server) == ("127.0.0.1", 8080, "ws://127.0.0.1:8765")
    args = cli.parser().parse_args(["join", "ws://h:1", "--ask", "--session", "call", "--view", "display"])
    assert args.ask and args.session == "call" and args.token is None
