"""Speakers, participants and the stage display, driven by keys (Textual's Pilot, 80x24) against a real
server on port 0.

Each test serves an event from a fresh SQLite file, opens the console with a speaker's, the
participants' or the display token, and checks both the server's state (the log's fold: the truth) and
what the screen shows. Timers run on the real clock except where a turn must reach its warning phase
and run over, which uses the 60x rehearsal clock; assertions are on state and words, never on exact
seconds.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from support.tui import UTC, Served, console, screen_text, until
from textual.widgets import Digits, Footer, OptionList

from modconsole import cli
from modconsole.agenda_files import load_agenda
from modconsole.client import MeetingClient
from modconsole.core import commands as c
from modconsole.server import service
from modconsole.server.events_admin import create_event
from modconsole.server.service import MeetingServer
from modconsole.server.store import SqliteStore
from modconsole.tui import LiveLink, create_app
from modconsole.tui.audience import DisplayScreen, ViewerScreen
from modconsole.tui.bigfont import BigDigits, decode
from modconsole.tui.dialogs import SessionPicker
from modconsole.tui.login import check_name
from modconsole.tui.widgets import TimerPanel

CLOCK = re.compile(r"^\+?\d{1,2}:\d{2}$")


def shown(app: Any, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


def footer_keys(app: Any) -> set[str]:
    """The keys the footer offers now (the enabled, shown bindings of the screen)."""
    return {b.binding.key for b in app.active_bindings.values() if b.enabled and b.binding.show}


def record_commands(app: Any) -> list[c.Command]:
    """Every command the console sends from now on (still sent to the server)."""
    sent: list[c.Command] = []
    send = app.link.send

    async def recording(command: c.Command) -> int:
        sent.append(command)
        return await send(command)

    app.link.send = recording
    return sent


async def in_discussion(srv: Served) -> Any:
    """The moderator starts the call and goes to the open discussion (turns of 2 minutes)."""
    desk = await srv.client(srv.tokens.moderator, label="desk")
    await desk.command(c.Start())
    await desk.command(c.Goto(item="discussion"))
    return desk


def queue_of(srv: Served, session: int = 0) -> list[str]:
    item = srv.state.sessions[session].current_item
    return [] if item is None else [h.person for h in item.queue]


# --- a speaker ----------------------------------------------------------------------------------------


async def test_a_speaker_queues_and_sees_the_place_move_up_live(served: Served) -> None:
    desk = await in_discussion(served)
    ahead = ["paris", "london", "tokyo", "sala", "breed", "lima"]
    clients = {person: await served.speaker(person) for person in ahead}
    for person in ahead:
        await clients[person].command(c.Raise())
    async with console(served, served.tokens.people["lopez"], screen=ViewerScreen) as (app, pilot):
        sent = record_commands(app)
        assert app.screen.role == "speaker"
        assert "Claudia López" in screen_text(app)
        assert {"r", "y", "w", "o"} <= footer_keys(app) and "l" not in footer_keys(app)

        await pilot.press("w")
        await until(pilot, lambda: queue_of(served)[-1:] == ["lopez"], "the question in the server's queue")
        assert served.session.current_item.queue[-1].kind == "question"
        assert sent[-1].session == "call"  # raised on the session it watches
        # Six turns of 2 minutes ahead.
        await until(pilot, lambda: "You are #7 of 7 — about 12 min" in screen_text(app), "the place")
        assert app.screen.query_one("#turn-digits", BigDigits).value == "#7"
        assert "l" in footer_keys(app) and "r" not in footer_keys(app)

        # The head of the queue gets the floor, then someone ahead withdraws: the place moves up live.
        await desk.command(c.Floor())
        await until(pilot, lambda: "You are #6 of 6" in screen_text(app), "#6 once Paris has the floor")
        await clients["tokyo"].command(c.Lower())
        await until(pilot, lambda: "You are #5 of 5" in screen_text(app), "#5 once Tokyo withdrew")
        assert "Floor: Mayor of Paris" in screen_text(app)

        await pilot.press("l")
        await until(pilot, lambda: "lopez" not in queue_of(served), "the hand withdrawn")
        await until(pilot, lambda: "Want the floor?" in screen_text(app), "the invitation to raise a hand")
        assert sent[-1].type == "lower" and sent[-1].session == "call"


async def test_each_key_raises_its_kind_of_hand(served: Served) -> None:
    await in_discussion(served)
    async with console(served, served.tokens.people["paris"], screen=ViewerScreen) as (app, pilot):
        for key, kind in [("r", "contribution"), ("y", "reply"), ("w", "question"), ("o", "point_of_order")]:
            await pilot.press(key)
            await until(pilot, lambda: queue_of(served) == ["paris"], f"the hand ({kind})")
            assert served.session.current_item.queue[0].kind == kind
            await until(pilot, lambda: "You are #1 of 1" in screen_text(app), "the place")
            await pilot.press("l")
            await until(pilot, lambda: queue_of(served) == [] and "l" not in footer_keys(app), "the hand down")


async def test_a_speaker_with_the_floor_sees_the_turn_timer_and_hears_one_bell(served_fast: Served) -> None:
    desk = await in_discussion(served_fast)
    async with console(served_fast, served_fast.tokens.people["paris"], screen=ViewerScreen) as (app, pilot):
        bells: list[int] = []
        app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
        await desk.command(c.Floor(person="paris"))
        await until(pilot, lambda: "YOU HAVE THE FLOOR" in screen_text(app), "the floor")
        digits = app.screen.query_one("#turn-digits", BigDigits)
        assert CLOCK.match(digits.value), digits.value
        assert "Floor: you" in screen_text(app)
        # The big digits on screen read as a clock (at 60x it changes with every frame).
        await until(pilot, lambda: CLOCK.match(decode(screen_text(app).splitlines())), "the digits drawn")
        # At 60x the 2-minute turn reaches its warning (24 s left) within about 1.6 s and runs over 0.4 s later;
        # a loaded machine may draw its first frame past the normal phase only once it is over.
        you = app.screen.query_one("#you")
        await until(pilot, lambda: not you.has_class("phase-normal"), "the turn to leave its normal phase")
        assert any(you.has_class(f"phase-{p}") for p in ("warning", "danger", "overtime"))
        assert any(word in shown(app, "#you-hint") for word in ("WARNING", "WRAP UP", "OVERTIME"))
        assert bells == [1]
        await until(pilot, lambda: "OVERTIME" in shown(app, "#you-hint"), "the overtime phase")
        assert digits.value.startswith("+")
        assert app.screen.query_one("#you").has_class("phase-overtime")
        assert bells == [1], "the bell rings once per turn, when it reaches its warning"

        await desk.command(c.EndTurn())
        await until(pilot, lambda: "YOU HAVE THE FLOOR" not in screen_text(app), "the turn to end")
        assert bells == [1]


async def test_a_message_shows_until_acknowledged_with_a(served: Served) -> None:
    desk = await in_discussion(served)
    await desk.command(c.Floor(person="paris"))
    async with console(served, served.tokens.people["paris"], screen=ViewerScreen) as (app, pilot):
        assert "a" not in footer_keys(app)
        await desk.command(c.SendMessage(text="Please wrap up", to="floor"))
        await desk.command(c.SendMessage(text="Coffee after the call", to="all"))
        await until(pilot, lambda: "Please wrap up" in screen_text(app), "the message to the floor")
        box = app.screen.query_one("#message")
        assert box.display and "(1 of 2)" in str(box.border_title)
        assert "a" in footer_keys(app) and "a to acknowledge" in screen_text(app)

        await pilot.press("a")
        await until(pilot, lambda: "paris" in served.state.messages[0].acknowledged, "the first acknowledgement")
        assert "paris" not in served.state.messages[1].acknowledged  # one key, the message shown
        await until(pilot, lambda: "Coffee after the call" in screen_text(app), "the next message")
        await pilot.press("a")
        await until(pilot, lambda: "paris" in served.state.messages[1].acknowledged, "the second acknowledgement")
        await until(pilot, lambda: not app.screen.query_one("#message").display, "the box to go")
        assert "a" not in footer_keys(app)


# --- a participant -----------------------------------------------------------------------------------


async def test_a_participant_joins_with_a_name_and_raises_a_hand(served: Served) -> None:
    await in_discussion(served)
    paris = await served.speaker("paris")
    await paris.command(c.Raise())
    async with console(served, served.tokens.participant, screen=ViewerScreen, name="Amina Diallo") as (app, pilot):
        assert app.screen.role == "participant"
        assert "◇ Amina Diallo" in screen_text(app)
        await pilot.press("r")
        await until(pilot, lambda: len(queue_of(served)) == 2, "the participant's hand")
        person = served.state.person(queue_of(served)[1])
        assert person is not None and person.name == "Amina Diallo" and person.participant
        await until(pilot, lambda: "You are #2 of 2 — about 2 min" in screen_text(app), "the participant's place")
        await paris.command(c.Lower())
        await until(pilot, lambda: "You are #1 of 1" in screen_text(app), "the place to move up")


async def test_a_participant_without_a_name_is_refused(served: Served) -> None:
    link = LiveLink(MeetingClient(served.url, served.tokens.participant, client="tui-test"))
    app = create_app(link, local_zone=UTC, refresh_s=0.1)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.return_code is not None, "the console to end")
            assert not isinstance(app.screen, ViewerScreen)
        # `modconsole join` prints the reason and exits with this status (tests/e2e).
        assert app.return_code == 1
        assert link.status == "refused" and "name is needed" in link.detail
    finally:
        await link.close()


@pytest.mark.parametrize(
    ("name", "taken"),
    [
        ("Amina Diallo", "Amina Diallo"),
        ("  Amina  ", "Amina"),
        ("Ана Іваненко", "Ана Іваненко"),
        ("x" * 80, "x" * 80),
        ("e\u0301" * 40, "\u00e9" * 40),  # composed: 40 characters, not 80
        ("", None),
        ("   ", None),
        ("x" * 81, None),
        ("Bell\x07", None),
        ("Tab\tname", None),
        ("Zero\u200bwidth", None),
        ("Line\u2028break", None),
    ],
)
def test_names_are_checked_by_one_rule_on_both_sides(name: str, taken: str | None) -> None:
    # The client (before connecting) and the server (at hello) call the same check_name.
    assert service.check_name is check_name
    if taken is None:
        with pytest.raises(ValueError):
            check_name(name)
    else:
        assert check_name(name) == taken


def test_join_refuses_a_bad_name_before_connecting(capsys: pytest.CaptureFixture[str]) -> None:
    # Port 9 (discard) has no server: a connection attempt would fail differently and later.
    code = cli.main(["join", "ws://127.0.0.1:9", "--token", "mc_x", "--name", "Amina\x1b[2J"])
    assert code == 2
    assert "--name: a name cannot contain control characters" in capsys.readouterr().err
    code = cli.main(["join", "ws://127.0.0.1:9", "--token", "mc_x", "--name", "y" * 81])
    assert code == 2
    assert "at most 80 characters" in capsys.readouterr().err


# --- the stage display --------------------------------------------------------------------------------


async def test_the_display_shows_the_clock_floor_next_item_and_messages(served: Served) -> None:
    desk = await in_discussion(served)
    await desk.command(c.Floor(person="paris"))
    async with console(served, served.tokens.display, screen=DisplayScreen) as (app, pilot):
        assert app.screen.role == "display"
        assert not app.screen.query(Footer)
        digits = app.screen.query_one(TimerPanel).query_one(Digits)
        assert isinstance(digits, BigDigits)
        await until(pilot, lambda: CLOCK.match(digits.value), "the clock")
        scale = digits.scale
        assert scale is not None and scale[1] >= 2, f"at 80x24 the clock is at least 10 rows high: {scale}"
        await until(pilot, lambda: decode(screen_text(app).splitlines()) == digits.value, "the big digits")
        text = screen_text(app)
        assert "Open discussion" in text and "ON TIME" in text and re.search(r"\d+:\d\d left of 15:00", text)
        assert re.search(r"Floor: Mayor of Paris · ON TIME · \d:\d\d left of 2:00", text)
        assert "Next: Closing" in text

        # A message to everyone shows; a private one does not.
        await desk.command(c.SendMessage(text="Please wrap up", to="floor"))
        await desk.command(c.SendMessage(text="Two minutes to the closing", to="all"))
        await until(pilot, lambda: "Two minutes to the closing" in screen_text(app), "the message to everyone")
        assert "Please wrap up" not in screen_text(app)
        # No key does anything (and none is offered).
        assert footer_keys(app) <= {"ctrl+q"}  # quitting stays possible for whoever set it up


async def test_the_display_before_the_start_shows_the_time_of_day(served: Served) -> None:
    async with console(served, served.tokens.display, screen=DisplayScreen) as (app, pilot):
        await until(pilot, lambda: "planned start 23:15" in screen_text(app), "the planned start")
        assert re.fullmatch(r"\d\d:\d\d", app.screen.query_one(BigDigits).value)
        assert "Time of day in Seoul" in screen_text(app)
        assert app.screen.query_one(TimerPanel).has_class("phase-idle")


# --- sessions side by side --------------------------------------------------------------------------

TWO_ROOMS = """
[event]
title = "Two rooms"
timezone = "Europe/Paris"

[[people]]
id = "ana"
name = "Ana Lima"

[[people]]
id = "ben"
name = "Ben Okafor"

[[sessions]]
id = "plenary"
title = "Plenary"
start = 2030-05-06T09:00:00
room = "Hall A"
[[sessions.items]]
title = "Keynote"
duration = "30m"

[[sessions]]
id = "workshop"
title = "Workshop"
start = 2030-05-06T09:00:00
room = "Room 2"
[[sessions.items]]
title = "Hands-on planning"
duration = "45m"
speakers = ["ben"]
"""


@pytest.fixture
async def two_rooms(tmp_path: Path) -> AsyncIterator[Served]:
    path = tmp_path / "two-rooms.toml"
    path.write_text(TWO_ROOMS, encoding="utf-8")
    store = SqliteStore(tmp_path / "two-rooms.db")
    tokens = create_event(store, load_agenda(path))
    server = MeetingServer(store)
    port = await server.start("127.0.0.1", 0)
    srv = Served(tmp_path / "two-rooms.db", tokens, 1.0, store, server, port)
    desk = await srv.client(tokens.moderator, label="desk")
    await desk.command(c.Start(session="plenary"))
    await desk.command(c.Start(session="workshop"))
    yield srv
    await srv.close()


async def test_with_two_sessions_running_the_viewer_picks_one_with_s(two_rooms: Served) -> None:
    async with console(two_rooms, two_rooms.tokens.people["ana"], screen=ViewerScreen) as (app, pilot):
        sent = record_commands(app)
        assert "Keynote" in screen_text(app)  # the first running session
        assert "s to choose" in screen_text(app) and "s" in footer_keys(app)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SessionPicker), "the session picker")
        options = app.screen.query_one(OptionList)
        assert options.option_count == 2
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, ViewerScreen), "the picker to close")
        assert app.screen.session_id == "workshop"
        await until(pilot, lambda: "Hands-on planning" in screen_text(app), "the workshop's item")
        await pilot.press("r")
        await until(pilot, lambda: queue_of(two_rooms, 1) == ["ana"], "the hand in the workshop")
        assert queue_of(two_rooms, 0) == [] and sent[-1].session == "workshop"


async def test_a_speaker_follows_the_session_they_speak_in(two_rooms: Served) -> None:
    # Ben speaks in the workshop, the second of the two running sessions: his view opens on it.
    async with console(two_rooms, two_rooms.tokens.people["ben"], screen=ViewerScreen) as (app, pilot):
        await until(pilot, lambda: "Hands-on planning" in screen_text(app), "the workshop's item")
        sent = record_commands(app)
        await pilot.press("r")
        await until(pilot, lambda: queue_of(two_rooms, 1) == ["ben"], "the hand in the workshop")
        assert sent[-1].session == "workshop"


async def test_the_display_shows_the_session_given_with_session(two_rooms: Served) -> None:
    link = LiveLink(MeetingClient(two_rooms.url, two_rooms.tokens.display, client="tui-test"))
    app = create_app(link, local_zone=UTC, session="workshop", refresh_s=0.1)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, DisplayScreen) and app.screen.ready, "the display")
            await until(pilot, lambda: "Hands-on planning" in screen_text(app), "the workshop on the display")
            assert "Workshop · Room 2" in screen_text(app) and "Keynote" not in screen_text(app)
    finally:
        await link.close()


async def test_an_unknown_session_falls_back_to_the_running_one_with_a_notice(served: Served) -> None:
    await in_discussion(served)
    link = LiveLink(MeetingClient(served.url, served.tokens.people["paris"], client="tui-test"))
    app = create_app(link, local_zone=UTC, session="nope", refresh_s=0.1)
    notices: list[str] = []
    notify = app.notify

    def noting(message: str, **options: Any) -> None:  # kept here: a notification on screen expires
        notices.append(message)
        notify(message, **options)

    app.notify = noting  # type: ignore[method-assign]
    try:
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await until(pilot, lambda: isinstance(app.screen, ViewerScreen) and app.screen.ready, "the viewer")
            await until(pilot, lambda: "Open discussion" in screen_text(app), "the running session")
            await until(pilot, lambda: notices, "the notice")
            assert app.screen.session_id is None
            assert "No session 'nope'" in notices[0] and len(notices) == 1, notices
    finally:
        await link.close()
