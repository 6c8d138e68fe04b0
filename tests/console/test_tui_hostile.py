"""Text from an agenda file, the server or another person is shown as written, never read as markup.

A real server on port 0 serves an agenda whose event, session and item titles, rooms and speakers' names
are Textual/Rich markup (``[/]``, ``[@click=app.quit]x``, ``[b red]bold[/]``, ``[link=…]y[/link]``); people
join with the participants' token under such names and raise hands; messages carry such text. Each test
drives one role's console (``App.run_test()``) through its screens and dialogs and checks that

- the literal text is what the widgets hold and what the screen shows (``screen_text``: the rendered frame);
- nothing runs: the console is still running, no action was called (quit, screenshot, open a link), no file
  was written (the working directory is an empty one of the test's own).

On the code before this module, ``m`` with ``Mallory [/] close`` queued, the session picker, a refusal naming
a person, a reason from the network and the report each crashed the console or showed something other than
what was written. The last test checks that a crash makes ``modconsole join`` exit 1 and say why.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from support.tui import Served, console, screen_text, until
from textual.command import CommandPalette
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Input, Label, Markdown, OptionList, Static
from textual.widgets._toast import Toast

from modconsole import cli
from modconsole.agenda_files import load_agenda
from modconsole.client import MeetingClient
from modconsole.core import commands as c
from modconsole.core.names import PARTICIPANT_MARK
from modconsole.server.events_admin import create_event
from modconsole.server.service import MeetingServer
from modconsole.server.store import SqliteStore
from modconsole.tui import ConsoleApp, LiveLink, create_app
from modconsole.tui.app import ConnectingScreen
from modconsole.tui.audience import DisplayScreen, ViewerScreen
from modconsole.tui.dialogs import MessageScreen, PlanScreen, ReportScreen, SessionPicker
from modconsole.tui.labels import person_label
from modconsole.tui.moderator import ModeratorScreen
from modconsole.tui.widgets import QueuePanel, Rundown, SummaryPanel, TimerPanel

BIG = (160, 50)  # room for every name in full, the dialogs' included
TALL = (160, 70)  # and for the end of the report

EVENT = "Town hall [@click=app.quit]x"
PLENARY = "Plenary [/] [running]"  # "[running]" is also how the picker writes a session's status
WORKSHOP = "[b red]bold[/] workshop"
ROOM = "[link=https://evil.example]y[/link]"
OPENING = "[@click=app.quit]x"
EMPTY = "[/]"  # an item with no listed speaker: f with nobody queued is refused, naming it
CLOSING = "[b red]bold[/] end"
HANDS_ON = "Hands-on [/] planning"
BOLD = "[b red]bold[/]"  # speakers on the roster
CLICKER = "[@click=app.quit]Click me[/]"
SLASH = "[/]"
MALLORY = "Mallory [/] close"  # participants, named as they typed
SHOT = "[@click=app.screenshot('pwned.svg')]x[/]"
MD_LINK = "[y](https://evil.example)"
HOSTILE_TEXT = "[@click=app.quit]hi[/] [b]there"


def _toml(value: str) -> str:
    return json.dumps(value)  # a TOML basic string, for text without control characters


AGENDA = f"""
[event]
title = {_toml(EVENT)}
timezone = "UTC"

[[people]]
id = "bold"
name = {_toml(BOLD)}
affiliation = {_toml(ROOM)}

[[people]]
id = "clicker"
name = {_toml(CLICKER)}

[[people]]
id = "slash"
name = {_toml(SLASH)}

[[sessions]]
id = "plenary"
title = {_toml(PLENARY)}
start = 2030-05-06T09:00:00
room = {_toml(ROOM)}
[[sessions.items]]
id = "opening"
title = {_toml(OPENING)}
duration = "10m"
speakers = ["bold"]
[[sessions.items]]
id = "empty"
title = {_toml(EMPTY)}
duration = "10m"
[[sessions.items]]
id = "closing"
title = {_toml(CLOSING)}
duration = "10m"

[[sessions]]
id = "workshop"
title = {_toml(WORKSHOP)}
start = 2030-05-06T09:00:00
room = "Room [/]"
[[sessions.items]]
id = "hands-on"
title = {_toml(HANDS_ON)}
duration = "45m"
speakers = ["slash"]
"""


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory: where a screenshot action would write its file."""
    here = tmp_path / "cwd"
    here.mkdir()
    monkeypatch.chdir(here)
    return here


@pytest.fixture
async def hostile(tmp_path: Path, cwd: Path) -> AsyncIterator[Served]:
    """The hostile agenda served from a fresh SQLite file, both sessions running."""
    path = tmp_path / "hostile.toml"
    path.write_text(AGENDA, encoding="utf-8")
    db = tmp_path / "hostile.db"
    store = SqliteStore(db)
    tokens = create_event(store, load_agenda(path))
    server = MeetingServer(store)
    port = await server.start("127.0.0.1", 0)
    srv = Served(db, tokens, 1.0, store, server, port)
    desk = await srv.client(tokens.moderator, label="desk")
    await desk.command(c.Start(session="plenary"))
    await desk.command(c.Start(session="workshop"))
    yield srv
    await srv.close()


async def raise_hands(srv: Served) -> dict[str, MeetingClient]:
    """Three participants and a speaker with hostile names raise their hands in the plenary."""
    people = {
        name: await srv.client(srv.tokens.participant, name=name, label="participant")
        for name in (MALLORY, SHOT, MD_LINK)
    }
    people[CLICKER] = await srv.speaker("clicker")
    for client in people.values():
        await client.command(c.Raise(session="plenary"))
    return people


class Calls:
    """Records the actions a click on hostile text could reach, in place of the real ones."""

    def __init__(self, app: ConsoleApp) -> None:
        self.made: list[str] = []
        for name in ("action_quit", "action_screenshot", "action_help_quit", "open_url", "bell"):
            setattr(app, name, self._recorder(name))

    def _recorder(self, name: str) -> Callable[..., None]:
        def record(*args: Any, **kwargs: Any) -> None:
            if name != "bell":  # a bell is what the console rings on its own (a turn's warning)
                self.made.append(name)

        return record


def assert_nothing_ran(app: ConsoleApp, calls: Calls, cwd: Path) -> None:
    assert app.is_running and app.return_code is None, "the console stopped"
    assert calls.made == [], f"actions ran: {calls.made}"
    assert list(cwd.iterdir()) == [], f"files were written: {list(cwd.iterdir())}"


def where(app: ConsoleApp, text: str, region: Any = None) -> tuple[int, int]:
    """The screen cell where ``text`` begins (within ``region``, when given): where a click on it lands."""
    for y, line in enumerate(screen_text(app).splitlines()):
        start = 0
        while (x := line.find(text, start)) >= 0:
            if region is None or region.contains(x, y):
                return x, y
            start = x + 1
    raise AssertionError(f"{text!r} is not on the screen:\n{screen_text(app)}")


def prompts(options: OptionList) -> list[str]:
    found = []
    for index in range(options.option_count):
        prompt = options.get_option_at_index(index).prompt
        assert isinstance(prompt, Text), f"a prompt given as {type(prompt).__name__}: it would be parsed as markup"
        found.append(prompt.plain)
    return found


def queue_names(app: ConsoleApp) -> list[str]:
    """The names in the moderator's queue panel, without the kind's mark and the participant's."""
    table = app.screen.query_one(QueuePanel).query_one("#queue-table", DataTable)
    mark = f"{PARTICIPANT_MARK} "
    return [str(table.get_row_at(row)[1]).strip().removeprefix(mark) for row in range(table.row_count)]


def toasts(app: ConsoleApp) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query(Toast)]


def content(widget: Label | Static) -> str:
    return str(widget.render())


# --- the moderator ---------------------------------------------------------------------------------


async def test_m_lists_hostile_names_as_written_and_a_click_on_one_runs_nothing(hostile: Served, cwd: Path) -> None:
    await raise_hands(hostile)
    async with console(hostile, hostile.tokens.moderator, size=BIG) as (app, pilot):
        calls = Calls(app)
        await until(pilot, lambda: len(hostile.state.sessions[0].current_item.queue) == 4, "four hands")
        await until(pilot, lambda: queue_names(app) == [MALLORY, SHOT, MD_LINK, CLICKER], "the queue panel")
        # The panel is too narrow for more than the first in full; a participant's mark comes first.
        assert f"1 {PARTICIPANT_MARK} {MALLORY}" in screen_text(app)

        await pilot.press("m")  # it crashed here, and at every m after, while Mallory's hand was up
        await until(pilot, lambda: isinstance(app.screen, MessageScreen), "the message dialog")
        to = app.screen.query_one("#to", OptionList)
        marked = [f"{PARTICIPANT_MARK} {name}" for name in (MALLORY, SHOT, MD_LINK)]
        assert prompts(to) == ["whoever has the floor", "everyone", *marked, CLICKER]
        region = to.content_region
        for name in (MALLORY, SHOT, MD_LINK, CLICKER):
            where(app, name, region)  # shown in full, brackets and all

        # A click on "Click me" picks that person; it used to quit the console (and the screenshot one wrote a
        # file of the participant's choosing).
        for name, index in ((CLICKER, 5), (SHOT, 3)):
            x, y = where(app, name, region)
            await pilot.click(offset=(x + name.index("]") + 2, y))
            await pilot.pause()
            assert_nothing_ran(app, calls, cwd)
            assert isinstance(app.screen, MessageScreen) and to.highlighted == index

        # A typed message with markup in it goes to Mallory as typed, and the summary shows it as typed.
        to.highlighted = 2
        app.screen.query_one("#text", Input).focus()
        await pilot.press(*HOSTILE_TEXT)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ModeratorScreen), "the dialog to close")
        await until(pilot, lambda: any(m.text == HOSTILE_TEXT for m in hostile.state.messages), "the message")
        sent = next(m for m in hostile.state.messages if m.text == HOSTILE_TEXT)
        assert person_label(hostile.state, sent.to) == f"{PARTICIPANT_MARK} {MALLORY}"
        said_in = f" [{sent.lang}]" if sent.lang else ""  # the language it was typed in, shown to the moderator
        line = f"“{HOSTILE_TEXT}”{said_in} to {PARTICIPANT_MARK} {MALLORY}"
        await until(pilot, lambda: line in content(app.screen.query_one(SummaryPanel)), "the message in the summary")
        assert line in screen_text(app)
        assert_nothing_ran(app, calls, cwd)


async def test_the_moderators_panels_palette_and_refusals_show_hostile_text_as_written(
    hostile: Served, cwd: Path
) -> None:
    async with console(hostile, hostile.tokens.moderator, size=BIG) as (app, pilot):
        calls = Calls(app)
        shown = screen_text(app)
        assert f"{EVENT} — {PLENARY} · UTC" in shown  # the header: title and sub-title
        assert OPENING in content(app.screen.query_one("#timer-title", Label))
        assert f"{PLENARY} · {ROOM}" in content(app.screen.query_one(SummaryPanel))
        rundown = app.screen.query_one(Rundown)
        titles = [str(rundown.get_row_at(row)[1]) for row in range(rundown.row_count)]
        assert titles == [OPENING, EMPTY, CLOSING]
        for text in (OPENING, EMPTY, CLOSING, PLENARY, ROOM):
            assert text in shown, text

        # f with nobody queued: the floor goes to the listed speaker, whose name the floor line shows.
        await pilot.press("f")
        await until(
            pilot,
            lambda: (floor := hostile.session.current_item.floor) is not None and floor.person == "bold",
            "the floor to go to the listed speaker",
        )
        floor = app.screen.query_one(QueuePanel).query_one("#floor", Label)
        await until(pilot, lambda: f"· {BOLD}" in content(floor), "the floor line")
        assert f"· {BOLD}" in screen_text(app)

        # A refusal that names the person: "[b red]bold[/] already has the floor", as written.
        app.send_command(c.Floor(person="bold", session="plenary"))
        await until(pilot, lambda: any(f"{BOLD} already has the floor" in t for t in toasts(app)), "the refusal")
        await until(pilot, lambda: f"{BOLD} already has the floor" in screen_text(app), "the refusal drawn")

        # An item titled "[/]" with nobody to give the floor to: the refusal quotes the title (it crashed).
        await pilot.press("n")
        await until(pilot, lambda: hostile.session.current == 1, "the second item")
        await pilot.press("f")
        refusal = f"the queue for “{EMPTY}” is empty and it has no listed speaker"
        await until(pilot, lambda: any(refusal in t for t in toasts(app)), "the refusal naming the item")

        # The recovery plan lists the titles as written.
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen), "the recovery plan")
        # A target a quarter of an hour away: the items to come must be trimmed, and are listed.
        soon = datetime.fromtimestamp(app.link.now() / 1000 + 15 * 60, UTC).strftime("%H:%M")
        app.screen.query_one("#target", Input).value = soon
        app.screen.query_one("#target", Input).focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen) and app.screen.rows, "the plan with trims")
        plan_titles = [str(row[0]) for row in app.screen.rows]
        assert plan_titles and set(plan_titles) <= {OPENING, EMPTY, CLOSING}
        for title in plan_titles:
            assert title in screen_text(app)
        await pilot.press("escape")

        # The command palette, over a screen full of hostile text: it lists the console's actions.
        await until(pilot, lambda: isinstance(app.screen, ModeratorScreen), "the plan to close")
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the command palette")
        options = app.screen.query_one(OptionList)
        await until(pilot, lambda: options.option_count > 0, "the palette's commands")
        listed = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert any("Message the speaker" in line for line in listed), listed
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ModeratorScreen), "the palette to close")
        assert_nothing_ran(app, calls, cwd)


async def test_the_session_picker_shows_titles_and_statuses_as_written(hostile: Served, cwd: Path) -> None:
    async with console(hostile, hostile.tokens.moderator, size=BIG) as (app, pilot):
        calls = Calls(app)
        await pilot.press("s")  # it crashed on the plenary's "[/]"
        await until(pilot, lambda: isinstance(app.screen, SessionPicker), "the session picker")
        listed = prompts(app.screen.query_one(OptionList))
        assert listed == [
            f"Mon 06 May 09:00  {PLENARY} · {ROOM}  [running]",
            "Mon 06 May 09:00  [b red]bold[/] workshop · Room [/]  [running]",
        ]
        shown = screen_text(app)
        assert PLENARY in shown and WORKSHOP in shown and "[running]" in shown
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, ModeratorScreen), "the picker to close")
        await until(
            pilot,
            lambda: HANDS_ON in content(app.screen.query_one(TimerPanel).query_one("#timer-title")),
            "the workshop's item",
        )
        assert f"{EVENT} — {WORKSHOP} · UTC" in screen_text(app)
        assert_nothing_ran(app, calls, cwd)


async def test_the_report_is_data_a_link_in_a_name_is_text_and_a_click_opens_nothing(
    hostile: Served, cwd: Path
) -> None:
    await raise_hands(hostile)
    async with console(hostile, hostile.tokens.moderator, size=TALL) as (app, pilot):
        calls = Calls(app)
        await until(pilot, lambda: len(hostile.state.sessions[0].current_item.queue) == 4, "four hands")
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ReportScreen), "the report")
        markdown = app.screen.query_one(Markdown)
        await until(pilot, lambda: PLENARY in screen_text(app), "the report drawn")
        app.screen.query_one(VerticalScroll).scroll_end(animate=False)  # the people who raised a hand come last
        await until(pilot, lambda: "never had the floor" in screen_text(app), "the end of the report")
        shown = screen_text(app)
        assert MD_LINK in shown, shown  # it showed an underlined "y" that opened the address when clicked
        for text in (MALLORY, SHOT, CLICKER, PLENARY, OPENING):
            assert text in shown, text
        x, y = where(app, MD_LINK, markdown.region)
        await pilot.click(offset=(x + 1, y))
        await pilot.pause()
        await pilot.click(offset=(x + MD_LINK.index("(") + 3, y))
        await pilot.pause()
        assert isinstance(app.screen, ReportScreen)
        assert_nothing_ran(app, calls, cwd)


# --- speakers, participants, the display ------------------------------------------------------------


async def pick_the_workshop(app: ConsoleApp, pilot: Any) -> None:
    """s, then the second session: the picker lists both titles as written (it crashed on the plenary's)."""
    viewer = app.screen
    await pilot.press("s")
    await until(pilot, lambda: isinstance(app.screen, SessionPicker), "the session picker")
    listed = prompts(app.screen.query_one(OptionList))
    assert listed[0].endswith(f"{PLENARY} · {ROOM}  [running]")
    assert listed[1].endswith(f"{WORKSHOP} · Room [/]  [running]")
    assert PLENARY in screen_text(app) and WORKSHOP in screen_text(app)
    await pilot.press("down", "enter")
    await until(pilot, lambda: app.screen is viewer, "the picker to close")


async def test_a_participant_sees_names_and_titles_as_written_and_picks_a_session(hostile: Served, cwd: Path) -> None:
    others = await raise_hands(hostile)
    await others[MALLORY].close()  # her console, with her credential, takes her place in the queue
    async with console(hostile, others[MALLORY].token, screen=ViewerScreen, size=BIG) as (app, pilot):
        calls = Calls(app)
        await until(pilot, lambda: f"{PARTICIPANT_MARK} {MALLORY} — {EVENT}" in screen_text(app), "the header")
        await until(pilot, lambda: "You are #1 of 4" in screen_text(app), "her place in the queue")
        assert OPENING in screen_text(app)  # the plenary, where her hand is up
        await until(pilot, lambda: "several sessions run" in screen_text(app), "the hint to choose")

        await pick_the_workshop(app, pilot)
        await until(pilot, lambda: HANDS_ON in content(app.screen.query_one("#now-title", Label)), "the workshop")
        assert HANDS_ON in screen_text(app)
        assert_nothing_ran(app, calls, cwd)


async def test_a_speaker_sees_the_queue_and_a_message_as_written(hostile: Served, cwd: Path) -> None:
    others = await raise_hands(hostile)
    await others[CLICKER].close()
    desk = await hostile.client(hostile.tokens.moderator, label="desk-2")
    async with console(hostile, hostile.tokens.people["clicker"], screen=ViewerScreen, size=BIG) as (app, pilot):
        calls = Calls(app)
        await until(pilot, lambda: CLICKER in screen_text(app), "the speaker's name in the header")
        x, y = where(app, CLICKER)
        await pilot.click(offset=(x + CLICKER.index("]") + 2, y))  # "Click me", in the header
        await desk.command(c.SendMessage(session="plenary", to="clicker", text=HOSTILE_TEXT))
        box = app.screen.query_one("#message", Static)
        await until(pilot, lambda: HOSTILE_TEXT in content(box), "the message")
        await until(pilot, lambda: f"✉ {HOSTILE_TEXT}" in screen_text(app), "the message drawn")
        await pilot.press("a")
        await until(pilot, lambda: all(m.acknowledged for m in hostile.state.messages), "the acknowledgement")
        # With the queue shown to someone not in it: Mallory's hand and the others', as written.
        await desk.command(c.Floor(session="plenary", person="clicker"))
        await desk.command(c.EndTurn(session="plenary"))
        await until(pilot, lambda: f". {PARTICIPANT_MARK} {MALLORY}" in screen_text(app), "the queue list")
        for name in (SHOT, MD_LINK):
            assert name in screen_text(app), name
        await pick_the_workshop(app, pilot)
        await until(pilot, lambda: HANDS_ON in content(app.screen.query_one("#now-title", Label)), "the workshop")
        assert_nothing_ran(app, calls, cwd)


async def test_the_stage_display_shows_titles_names_and_messages_as_written(hostile: Served, cwd: Path) -> None:
    desk = await hostile.client(hostile.tokens.moderator, label="desk-2")
    await desk.command(c.Floor(session="plenary", person="bold"))
    await desk.command(c.SendMessage(session="plenary", to="all", text=HOSTILE_TEXT))
    async with console(hostile, hostile.tokens.display, screen=DisplayScreen, size=BIG) as (app, pilot):
        calls = Calls(app)
        await until(
            pilot,
            lambda: HOSTILE_TEXT in content(app.screen.query_one("#stage-message", Static)),
            "the message on the stage",
        )
        shown = screen_text(app)
        for text in (f"{PLENARY} · {ROOM}", OPENING, f"Floor: {BOLD}", f"Next: {EMPTY}", f"✉ {HOSTILE_TEXT}"):
            assert text in shown, text
        await pick_the_workshop(app, pilot)  # with two sessions running, s chooses even on the display
        await until(pilot, lambda: HANDS_ON in content(app.screen.query_one("#stage-item", Label)), "the workshop")
        await until(pilot, lambda: f"{WORKSHOP} · Room [/]" in screen_text(app), "the workshop's title")
        assert_nothing_ran(app, calls, cwd)


async def test_an_unknown_session_is_named_as_written_in_the_notice(hostile: Served, cwd: Path) -> None:
    link = LiveLink(MeetingClient(hostile.url, hostile.tokens.display, client="tui-test"))
    app = create_app(link, session="nope[/]", refresh_s=0.1)
    try:
        async with app.run_test(size=BIG, notifications=True) as pilot:
            await until(pilot, lambda: any("No session 'nope[/]'" in t for t in toasts(app)), "the notice")
            assert app.is_running
    finally:
        await link.close()


# --- what the network says -----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def answering(reply: bytes) -> AsyncIterator[int]:
    """A TCP server that answers every request with ``reply``: a websocket handshake gone wrong."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(reply)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_a_reason_from_the_network_is_shown_as_written(cwd: Path) -> None:
    reply = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: [/] [@click=app.quit]x\r\nConnection: Upgrade\r\n\r\n"
    async with answering(reply) as port:
        link = LiveLink(MeetingClient(f"ws://127.0.0.1:{port}", "mc_token", client="tui-test"))
        app = create_app(link, refresh_s=0.1)
        try:
            async with app.run_test(size=BIG) as pilot:
                await until(pilot, lambda: "[/] [@click=app.quit]x" in link.detail, "the handshake's failure")
                label = app.screen.query_one("#connecting", Label)
                await until(pilot, lambda: "[/] [@click=app.quit]x" in content(label), "the reason on screen")
                assert isinstance(app.screen, ConnectingScreen) and app.is_running
                assert "[/] [@click=app.quit]x" in screen_text(app)
        finally:
            await link.close()


# --- a crash ends `modconsole join` with status 1 and the reason ----------------------------------------


def test_a_crash_of_the_console_makes_join_exit_1_with_the_reason(
    cli_server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`modconsole join` (cli.main) on a live server, with a console that fails once its screen is up."""
    import modconsole.tui as tui

    class Failing(ConsoleApp):
        def _tick(self) -> None:
            super()._tick()
            if self.role_screen is not None and getattr(self.screen, "ready", False):
                raise RuntimeError("no one planned for this [/]")

        def run(self, *args: Any, **kwargs: Any) -> Any:
            return super().run(headless=True, size=(80, 24))

    def failing_app(link: Any, **kwargs: Any) -> ConsoleApp:
        return Failing(link, **kwargs)

    monkeypatch.setattr(tui, "create_app", failing_app)
    code = cli.main(["join", cli_server.url, "--token", cli_server.tokens["tokens"]["moderator"]])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "modconsole join: the console stopped on an error: RuntimeError: no one planned for this [/]" in err
