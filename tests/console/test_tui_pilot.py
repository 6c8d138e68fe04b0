"""The console driven by keys (Textual's Pilot, 80x24) against a real server on port 0.

Each test serves the mayors' call from a fresh SQLite file, opens the console on a LiveLink with
the moderator's token, presses keys, and checks both the server's state (the truth: the log's fold)
and what the screen shows. The server runs on the real clock (scale 1, so the 3-minute opening stays
"ON TIME" for a whole minute) except where a session must run late, which uses the 60x rehearsal
clock; assertions are on state and words, never on exact seconds.
"""

from __future__ import annotations

import re
from dataclasses import asdict

import pytest
from support.tui import Served, console, marks, notifications, screen_text, until
from textual.command import CommandPalette
from textual.widgets import DataTable, Digits, Footer, Input, Label, OptionList

from modconsole.client import CommandRefused, MeetingClient
from modconsole.core import commands as c
from modconsole.core.commands import PRESET_MESSAGES
from modconsole.tui.actions import MODERATOR_ACTIONS
from modconsole.tui.audience import AUDIENCE_BINDINGS, ViewerScreen
from modconsole.tui.dialogs import (
    ConfirmScreen,
    KeysScreen,
    MessageScreen,
    PlanScreen,
    ReportScreen,
    SessionPicker,
)
from modconsole.tui.figures import clock_text
from modconsole.tui.moderator import ModeratorScreen
from modconsole.tui.widgets import ConnectionBar, QueuePanel, Rundown, SummaryPanel, TimerPanel

CLOCK_DIGITS = re.compile(r"^\+?\d{1,2}:\d{2}(:\d{2})?$")
ITEMS = ["opening", "seoul-briefing", "cities-share", "discussion", "closing"]


def text_of(widget: Label) -> str:
    return str(widget.content)


def phase_text(app) -> str:
    return text_of(app.screen.query_one("#timer-phase", Label))


def floor_text(app) -> str:
    return text_of(app.screen.query_one("#floor", Label))


def summary_text(app) -> str:
    return str(app.screen.query_one(SummaryPanel).content)


def rundown_marks(app) -> list[str]:
    return marks(app.screen.query_one(Rundown))


def current_index(srv: Served) -> int | None:
    return srv.session.current


async def round_trip(app, pilot) -> None:
    """Let the console act on what it was given, then ping the server over the same connection:
    any command it sent is decided before the pong comes back (a barrier, not a guess of time)."""
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await app.link.client.ping()


async def start(app, pilot, srv: Served) -> None:
    await pilot.press("space")
    await until(pilot, lambda: srv.session.status == "running", "the session to start")
    await until(pilot, lambda: app.link.state.sessions[0].status == "running", "the replica to see it")


async def go_to_item(app, pilot, srv: Served, index: int) -> None:
    while current_index(srv) != index:
        before = current_index(srv)
        await pilot.press("n")
        await until(pilot, lambda before=before: current_index(srv) != before, "the next item")
    await until(pilot, lambda: rundown_marks(app)[index] == "▶", f"the rundown marker on row {index + 1}")


# --- flow: start, pause, next, prev --------------------------------------------------------------


async def test_space_starts_pauses_and_resumes(served: Served) -> None:
    async with console(served, served.tokens.moderator) as (app, pilot):
        assert "Press Space to start" in screen_text(app)
        assert app.screen.query_one("#timer-digits", Digits).value == "--:--"

        await start(app, pilot, served)
        assert served.session.current == 0
        await until(pilot, lambda: "ON TIME" in phase_text(app), "ON TIME under the timer")
        digits = app.screen.query_one("#timer-digits", Digits).value
        assert CLOCK_DIGITS.match(digits), digits
        assert re.fullmatch(r"3:00|2:[0-5]\d", digits), digits  # the 3-minute opening, in its first minute
        shown = screen_text(app)
        assert "Opening by the chair" in shown and "ON TIME · 3:00 planned" in shown
        assert "RUNNING" in shown
        assert rundown_marks(app)[0] == "▶"

        await pilot.press("space")
        await until(pilot, lambda: served.session.status == "paused", "the session to pause")
        await until(pilot, lambda: "PAUSED" in phase_text(app), "PAUSED under the timer")
        assert "PAUSED · ON TIME" in screen_text(app)
        # A paused timer stands still: the display shows what the server's stopped timer holds.
        opening = served.session.items[0]
        assert opening.timer.running_since is None
        frozen = clock_text(round(opening.duration_s - opening.timer.accumulated_ms / 1000, 1))
        await until(
            pilot,
            lambda: app.screen.query_one("#timer-digits", Digits).value == frozen,
            f"the stopped timer at {frozen}",
        )
        await round_trip(app, pilot)
        assert app.screen.query_one("#timer-digits", Digits).value == frozen

        await pilot.press("space")
        await until(pilot, lambda: served.session.status == "running", "the session to resume")
        await until(pilot, lambda: "PAUSED" not in phase_text(app), "PAUSED to go")


async def test_n_and_p_move_between_items(served: Served) -> None:
    async with console(served, served.tokens.moderator) as (app, pilot):
        await start(app, pilot, served)
        await until(pilot, lambda: rundown_marks(app)[0] == "▶", "the marker on the first row")

        await pilot.press("n")
        await until(pilot, lambda: served.session.current == 1, "the second item to be current")
        await until(pilot, lambda: rundown_marks(app)[1] == "▶", "the marker on the second row")
        assert rundown_marks(app)[:2] == ["✓", "▶"]
        row = next(line for line in screen_text(app).splitlines() if line.startswith("│▶"))
        assert "Seoul's response" in row, row
        assert "Seoul's response" in text_of(app.screen.query_one("#timer-title", Label))
        assert served.session.items[0].status == "done"

        await pilot.press("p")
        await until(pilot, lambda: served.session.current == 0, "the first item again")
        await until(pilot, lambda: rundown_marks(app)[0] == "▶", "the marker back on the first row")
        assert served.session.items[0].reopened == 1
        assert "Opening by the chair" in text_of(app.screen.query_one("#timer-title", Label))


async def test_a_refused_command_shows_a_notification(served: Served) -> None:
    async with console(served, served.tokens.moderator) as (app, pilot):
        await start(app, pilot, served)
        await go_to_item(app, pilot, served, len(ITEMS) - 1)
        seq = served.state.seq

        await pilot.press("n")  # there is no item after the closing
        await until(pilot, lambda: any("Refused" in n for n in notifications(app)), "a refusal notification")
        note = next(n for n in notifications(app) if "Refused" in n)
        assert "invalid_state" in note and "last item" in note, note
        await until(pilot, lambda: "last item" in screen_text(app), "the notification on screen")
        assert served.state.seq == seq
        assert served.session.current == len(ITEMS) - 1


async def test_g_goes_to_and_k_skips_the_item_selected_in_the_rundown(served: Served) -> None:
    async with console(served, served.tokens.moderator) as (app, pilot):
        await start(app, pilot, served)
        rundown = app.screen.query_one(Rundown)
        assert rundown.has_focus
        await pilot.press("down", "down")  # the rundown's cursor on "Cities share"
        assert rundown.selected_item == "cities-share"
        await pilot.press("g")
        await until(pilot, lambda: served.session.current == 2, "the selected item to be current")
        await until(pilot, lambda: rundown_marks(app)[2] == "▶", "the marker on the third row")
        assert served.session.items[1].status == "pending"  # jumped over, not run

        await pilot.press("down", "down")  # on "Closing"
        assert rundown.selected_item == "closing"
        await pilot.press("k")
        await until(pilot, lambda: served.session.items[4].status == "skipped", "the closing to be skipped")
        await until(pilot, lambda: rundown_marks(app)[4] == "–", "the skipped mark in the rundown")


# --- time: the item's duration, the turn limit, the session's end -------------------------------


async def test_plus_and_minus_change_the_items_duration_and_u_undoes(served: Served) -> None:
    async with console(served, served.tokens.moderator) as (app, pilot):
        await start(app, pilot, served)
        opening = lambda: served.session.items[0]  # noqa: E731

        await pilot.press("plus")
        await until(pilot, lambda: opening().duration_s == 240, "the opening to last 4 minutes")
        await until(pilot, lambda: "4:00 planned" in phase_text(app), "4:00 planned under the timer")
        await until(pilot, lambda: "4:00*" in screen_text(app), "the changed plan marked in the rundown")

        await pilot.press("minus")
        await until(pilot, lambda: opening().duration_s == 180, "the opening back to 3 minutes")
        await pilot.press("minus")
        await until(pilot, lambda: opening().duration_s == 120, "the opening down to 2 minutes")
        await until(pilot, lambda: "2:00 planned" in phase_text(app), "2:00 planned under the timer")

        # Undo voids the last timing action only: back to 3 minutes, the first +1 and -1 stand.
        await pilot.press("u")
        await until(pilot, lambda: opening().duration_s == 180, "the undo to restore 3 minutes")
        assert [e.event.type for e in served.log()][-1] == "undone"
        await until(pilot, lambda: "3:00 planned" in phase_text(app), "3:00 planned again")
        await until(pilot, lambda: "Undone: the time added to the item." in screen_text(app), "what undo took back")
        await until(pilot, lambda: asdict(app.link.state) == asdict(served.state), "the replica to take the reset")


async def test_x_extends_the_session_by_five_minutes(served: Served) -> None:
    async with console(served, served.tokens.moderator) as (app, pilot):
        await start(app, pilot, served)
        await pilot.press("x")
        await until(pilot, lambda: served.session.extended_s == 300, "a 5-minute extension")
        await until(pilot, lambda: "ext" in summary_text(app), "the extension in the summary")
        # On one line of the 80-column console's summary, not wrapped: the words give way to the figures.
        assert "RUNNING  0:00 of 50:00 (+5:00 ext.)" in screen_text(app)


async def test_f_with_nobody_queued_gives_the_floor_to_the_items_listed_speaker(served: Served) -> None:
    async with console(served, served.tokens.moderator) as (app, pilot):
        await start(app, pilot, served)  # the opening, by the chair: Eric Garcetti is its listed speaker
        await pilot.press("f")
        await until(pilot, lambda: "Eric Garcetti" in floor_text(app), "the listed speaker to have the floor")
        turn = next(e for e in served.log() if e.event.type == "turn_started")
        assert turn.event.person == "garcetti"  # type: ignore[union-attr]
        await pilot.press("e")
        await until(pilot, lambda: "Floor: nobody" in floor_text(app), "the turn to end")
        await pilot.press("f")  # nobody queued, and the listed speaker has spoken
        await until(
            pilot, lambda: any("listed speakers have spoken" in n for n in notifications(app)), "the refusal, in words"
        )


async def test_floor_turn_limit_and_end_turn(served: Served) -> None:
    async with console(served, served.tokens.moderator) as (app, pilot):
        await start(app, pilot, served)
        await go_to_item(app, pilot, served, 2)  # cities share: turns of 2 minutes
        sala, breed = await served.speaker("sala"), await served.speaker("breed")
        await sala.command(c.Raise())
        await breed.command(c.Raise(kind="question"))
        await until(
            pilot,
            lambda: app.screen.query_one(QueuePanel).border_title == "Queue · 2 waiting",
            "two people in the queue",
        )
        table = app.screen.query_one("#queue-table", DataTable)
        assert table.row_count == 2
        assert "Giuseppe Sala" in str(table.get_row_at(0)[1])
        assert "Floor: nobody" in floor_text(app)

        await pilot.press("f")  # the head of the queue
        await until(pilot, lambda: served.session.items[2].floor is not None, "someone to have the floor")
        assert served.session.items[2].floor.person == "sala"
        assert [h.person for h in served.session.items[2].queue] == ["breed"]
        await until(pilot, lambda: "Giuseppe Sala" in floor_text(app), "the floor label to name Sala")
        assert "/2:00" in floor_text(app)
        await until(pilot, lambda: table.row_count == 1, "Sala to leave the queue table")

        await pilot.press("right_square_bracket")
        await until(pilot, lambda: served.session.items[2].floor.effective_limit_s == 180, "the turn at 3 minutes")
        await until(pilot, lambda: "/3:00" in floor_text(app), "the turn limit 3:00 on the floor label")
        await pilot.press("left_square_bracket")
        await until(pilot, lambda: served.session.items[2].floor.effective_limit_s == 120, "the turn at 2 minutes")
        await until(pilot, lambda: "/2:00" in floor_text(app), "the turn limit 2:00 again")

        await pilot.press("e")
        await until(pilot, lambda: served.session.items[2].floor is None, "the turn to end")
        assert [t.person for t in served.session.items[2].turns] == ["sala"]
        await until(pilot, lambda: "Floor: nobody" in floor_text(app), "nobody on the floor label")


async def test_c_closes_and_reopens_the_queue(served: Served) -> None:
    async with console(served, served.tokens.moderator) as (app, pilot):
        await start(app, pilot, served)
        panel = app.screen.query_one(QueuePanel)
        await pilot.press("c")
        await until(pilot, lambda: not served.session.items[0].queue_open, "the queue to close")
        await until(pilot, lambda: panel.border_title == "Queue · closed", "the queue title to say closed")
        assert "Queue · closed" in screen_text(app)
        # A speaker's raised hand is refused while it is closed.
        speaker = await served.speaker("lopez")
        with pytest.raises(CommandRefused):
            await speaker.command(c.Raise())

        await pilot.press("c")
        await until(pilot, lambda: served.session.items[0].queue_open, "the queue to reopen")
        await until(pilot, lambda: panel.border_title == "Queue · 0 waiting", "the queue title to say open")
        await speaker.command(c.Raise())
        await until(pilot, lambda: panel.border_title == "Queue · 1 waiting", "the hand in the queue")


# --- messages, the recovery plan, ending, clearing ------------------------------------------------


async def test_m_sends_a_preset_to_the_speaker_with_the_floor(served: Served) -> None:
    garcetti = await served.speaker("garcetti")
    async with console(served, served.tokens.moderator) as (app, pilot):
        await start(app, pilot, served)
        await garcetti.command(c.Raise())
        await until(
            pilot,
            lambda: app.screen.query_one(QueuePanel).border_title == "Queue · 1 waiting",
            "the chair in the queue",
        )
        await pilot.press("f")
        await until(pilot, lambda: "Eric Garcetti" in floor_text(app), "the chair to have the floor")

        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, MessageScreen), "the message dialog")
        shown = screen_text(app)
        assert "1. Please wrap up" in shown and "whoever has the floor" in shown
        await pilot.press("1")
        await until(pilot, lambda: isinstance(app.screen, ModeratorScreen), "the dialog to close")

        state = await garcetti.wait_for(lambda s: any(m.text == PRESET_MESSAGES[0] for m in s.messages))
        message = next(m for m in state.messages if m.text == "Please wrap up")
        assert message.to == "garcetti"
        assert served.state.messages[-1].to == "garcetti"
        await until(pilot, lambda: "Please wrap up" in summary_text(app), "the message in the summary")
        assert "to Eric Garcetti · not yet acknowledged" in summary_text(app)

        await garcetti.command(c.Ack())
        await until(pilot, lambda: "· acknowledged" in summary_text(app), "the acknowledgement in the summary")


async def test_m_sends_a_typed_message_to_everyone(served: Served) -> None:
    paris = await served.speaker("paris")
    async with console(served, served.tokens.moderator) as (app, pilot):
        await start(app, pilot, served)
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, MessageScreen), "the message dialog")
        # The recipients have the focus: "everyone", Enter on to the presets, Tab on to the text box (where
        # digits are typed, not taken as presets).
        await pilot.press("down", "enter", "tab")
        assert app.screen.focused is app.screen.query_one("#text")
        await pilot.press(*"Back in 10 minutes", "enter")
        await until(pilot, lambda: isinstance(app.screen, ModeratorScreen), "the dialog to close")
        state = await paris.wait_for(lambda s: any(m.text == "Back in 10 minutes" for m in s.messages))
        assert state.messages[-1].to == "all"
        assert [m.text for m in served.state.messages] == ["Back in 10 minutes"]


async def test_m_escape_sends_nothing(served: Served) -> None:
    async with console(served, served.tokens.moderator) as (app, pilot):
        await start(app, pilot, served)
        seq = served.state.seq
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, MessageScreen), "the message dialog")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ModeratorScreen), "the dialog to close")
        await round_trip(app, pilot)
        assert served.state.seq == seq and served.state.messages == []


async def test_t_shows_the_recovery_plan_and_a_applies_it_when_late(served_fast: Served) -> None:
    srv = served_fast
    async with console(srv, srv.tokens.moderator) as (app, pilot):
        await start(app, pilot, srv)
        # At 60x the 3-minute opening overruns within seconds and the call runs late.
        await until(pilot, lambda: "behind" in summary_text(app), "the summary to say the call runs behind", timeout=15)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen), "the plan dialog")
        shown = screen_text(app)
        assert "Recovery plan" in shown and "Apply (a)" in shown
        summary = str(app.screen.query_one("#plan-summary").content)
        assert "trims" in summary and summary.endswith("ends on time."), summary
        table = app.screen.query_one("#plan-table", DataTable)
        assert table.row_count >= 2  # the remaining items are trimmed
        # Every column fits at 80 columns: the proposed durations are on screen, not scrolled away.
        assert "Proposed" in shown and "Trim" in shown, shown
        proposed = str(table.get_row_at(0)[2])
        assert proposed in shown
        target = app.screen.query_one("#target", Input).value
        assert re.fullmatch(r"\d\d:\d\d", target) and f"▊  {target}" in shown, shown  # the whole HH:MM shows
        before = {i.id: i.duration_s for i in srv.session.items}

        await pilot.press("a")
        await until(pilot, lambda: srv.session.plans_applied == 1, "the plan to be applied")
        await until(pilot, lambda: isinstance(app.screen, ModeratorScreen), "the dialog to close")
        after = {i.id: i.duration_s for i in srv.session.items}
        trimmed = [k for k in after if after[k] < before[k]]
        assert trimmed and all(after[k] <= before[k] for k in after)
        applied = [e.event for e in srv.log() if e.event.type == "plan_applied"]
        assert len(applied) == 1 and set(applied[0].durations) == set(trimmed)
        # The rundown marks the changed durations.
        await until(pilot, lambda: "*" in screen_text(app), "changed durations marked with *")


async def test_capital_e_ends_the_session_after_confirmation(served: Served) -> None:
    lopez = await served.speaker("lopez")
    cohost = await served.client(served.tokens.moderator, label="cohost")
    async with console(served, served.tokens.moderator) as (app, pilot):
        await start(app, pilot, served)
        await lopez.command(c.Raise())
        await cohost.command(c.SendMessage(text="Two minutes left", to="lopez"))
        await until(pilot, lambda: "Queue · 1 waiting" in screen_text(app), "the hand in the queue")
        await until(pilot, lambda: "✉ “Two minutes left”" in summary_text(app), "the message in the summary")
        seq = served.state.seq

        await pilot.press("E")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        assert "End session “call” now?" in screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ModeratorScreen), "the confirmation to close")
        await round_trip(app, pilot)
        assert served.session.status == "running" and served.state.seq == seq

        await pilot.press("E")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation again")
        await pilot.press("y")
        await until(pilot, lambda: served.session.status == "ended", "the session to end")
        await until(pilot, lambda: "ENDED" in summary_text(app), "ENDED in the summary")
        await until(pilot, lambda: "Session ended" in screen_text(app), "the timer panel to say so")
        # The end takes the hand still up down (its holder is told why); the messages are history.
        await until(pilot, lambda: "Queue · ended" in screen_text(app), "the queue's end")
        assert served.session.removed["lopez"].reason == "session_ended"
        assert "Claudia López" not in screen_text(app) and "✉" not in summary_text(app)


async def test_capital_k_clears_the_queue_after_confirmation(served: Served) -> None:
    async with console(served, served.tokens.moderator) as (app, pilot):
        await start(app, pilot, served)
        for person in ("paris", "tokyo", "lagos"):
            await (await served.speaker(person)).command(c.Raise())
        panel = app.screen.query_one(QueuePanel)
        await until(pilot, lambda: panel.border_title == "Queue · 3 waiting", "three in the queue")

        await pilot.press("K")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        assert "Remove all 3 people from the queue?" in screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ModeratorScreen), "the confirmation to close")
        await round_trip(app, pilot)
        assert len(served.session.items[0].queue) == 3

        await pilot.press("K")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation again")
        await pilot.press("y")
        await until(pilot, lambda: served.session.items[0].queue == [], "the queue to empty")
        await until(pilot, lambda: panel.border_title == "Queue · 0 waiting", "an empty queue on screen")
        # One action, not one per hand: a long queue is cleared without tripping the rate limit,
        # and u brings it back.
        cleared = [e for e in served.log() if e.event.type == "queue_cleared"]
        assert len(cleared) == 1 and not any(e.event.type == "hand_lowered" for e in served.log())
        await pilot.press("u")
        await until(pilot, lambda: len(served.session.items[0].queue) == 3, "the queue back after undo")


async def test_r_shows_the_servers_report(served: Served) -> None:
    async with console(served, served.tokens.moderator) as (app, pilot):
        await start(app, pilot, served)
        await pilot.press("n")
        await until(pilot, lambda: served.session.current == 1, "the second item")
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ReportScreen), "the report")
        await until(pilot, lambda: "Report of session call from its timing log" in screen_text(app), "the report")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ModeratorScreen), "the report to close")


# --- help, sessions, the command palette -----------------------------------------------------------


async def test_question_mark_shows_every_key(served: Served) -> None:
    async with console(served, served.tokens.moderator) as (app, pilot):
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, KeysScreen), "the keys screen")
        table = app.screen.query_one("#keys-table", DataTable)
        descriptions = [str(table.get_row_at(r)[1]) for r in range(table.row_count)]
        assert [a.description for a in MODERATOR_ACTIONS] == descriptions[: len(MODERATOR_ACTIONS)]
        assert "Keys (every action is also in the command palette" in screen_text(app)
        # At 80x24 the list is longer than the screen: End shows its last rows, Home its first again.
        assert "Ctrl+Q" not in screen_text(app)
        await pilot.press("end")
        await until(pilot, lambda: "Ctrl+Q  Quit" in screen_text(app), "the end of the list")
        await pilot.press("home")
        await until(pilot, lambda: "Start the session" in screen_text(app), "the top of the list")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ModeratorScreen), "the keys screen to close")


async def test_s_shows_the_session_picker(served: Served) -> None:
    async with console(served, served.tokens.moderator) as (app, pilot):
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SessionPicker), "the session picker")
        options = app.screen.query_one(OptionList)
        assert options.option_count == 1
        assert "Mayors' video conference · video  [not started]" in str(options.get_option_at_index(0).prompt)
        assert "Fri 27 Mar 23:15" in screen_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ModeratorScreen), "the picker to close")
        assert app.screen.session_id == "call"


async def test_the_command_palette_lists_the_console_actions(served: Served) -> None:
    async with console(served, served.tokens.moderator) as (app, pilot):
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the command palette")
        palette = app.screen
        options = palette.query_one(OptionList)
        expected = {a.description for a in MODERATOR_ACTIONS}

        def listed() -> set[str]:
            prompts = {str(options.get_option_at_index(i).prompt) for i in range(options.option_count)}
            return {d for d in expected if any(d in p for p in prompts)}

        await until(pilot, lambda: listed() == expected, "every console action in the palette")
        # Choosing one runs it: "Extend" from the palette extends the session by five minutes.
        await pilot.press(*"extend")
        await until(
            pilot,
            lambda: options.option_count >= 1 and "Extend the session" in str(options.get_option_at_index(0).prompt),
            "the extend command to be found",
        )
        await pilot.press("enter")
        await until(pilot, lambda: served.session.extended_s == 300, "the extension from the palette")


# --- the connection: a server restart ---------------------------------------------------------------


async def test_reconnects_after_the_server_restarts(served: Served) -> None:
    async with console(served, served.tokens.moderator) as (app, pilot):
        await start(app, pilot, served)
        bar = app.screen.query_one(ConnectionBar)
        await until(pilot, lambda: "● connected" in str(bar.content), "connected in the bar")

        await served.stop_server()
        await until(pilot, lambda: app.link.status == "reconnecting", "the link to notice")
        await until(pilot, lambda: "reconnecting" in str(bar.content), "reconnecting in the bar")
        assert "reconnecting" in screen_text(app)
        assert isinstance(app.screen, ModeratorScreen)  # the last known state stays on screen

        # A key pressed while disconnected is refused at once, visibly, and never sent later.
        await pilot.press("n")
        await until(pilot, lambda: any("Not sent" in n for n in notifications(app)), "a 'not sent' notification")
        assert any("not connected" in n for n in notifications(app))
        await until(pilot, lambda: "Not sent" in screen_text(app), "the notification on screen")

        seq_before_restart = served.state.seq
        await served.restart()
        await until(pilot, lambda: app.link.status == "connected", "the console to reconnect by itself")
        await until(pilot, lambda: "● connected" in str(bar.content), "connected in the bar again")
        await until(
            pilot, lambda: asdict(app.link.state) == asdict(served.state), "the replica to equal the server's state"
        )

        # Still working after the restart: the next key goes through.
        await pilot.press("x")
        await until(pilot, lambda: served.session.extended_s == 300, "a command after the reconnect")
        types = [e.event.type for e in served.log() if e.seq > seq_before_restart]
        assert "item_changed" not in types, types  # the key pressed offline was not queued
        assert served.session.current == 0
        await until(pilot, lambda: asdict(app.link.state) == asdict(served.state), "the replica to follow")


# --- audience views ----------------------------------------------------------------------------------


async def test_a_speaker_raises_a_hand_from_the_viewer(served: Served) -> None:
    desk = await served.client(served.tokens.moderator, label="desk")
    await desk.command(c.Start())
    async with console(served, served.tokens.people["tokyo"], screen=ViewerScreen) as (app, pilot):
        assert app.screen.role == "speaker"
        assert "0 in the queue" in screen_text(app)
        await pilot.press("r")
        await until(pilot, lambda: [h.person for h in served.session.items[0].queue] == ["tokyo"], "the hand up")
        await until(pilot, lambda: "You are #1 of 1" in screen_text(app), "the viewer's place in the queue")

        await pilot.press("l")
        await until(pilot, lambda: served.session.items[0].queue == [], "the hand down")
        await until(pilot, lambda: "You are #" not in screen_text(app), "the place to go")

        # A message to everyone shows, and `a` acknowledges it.
        await desk.command(c.SendMessage(text="Two minutes to the break", to="all"))
        await until(pilot, lambda: "Two minutes to the break" in screen_text(app), "the message on screen")
        await pilot.press("a")
        await until(pilot, lambda: "tokyo" in served.state.messages[-1].acknowledged, "the acknowledgement")
        await until(pilot, lambda: "Two minutes to the break" not in screen_text(app), "the message to go")


async def test_a_display_shows_the_timer_and_takes_no_keys(served: Served) -> None:
    desk = await served.client(served.tokens.moderator, label="desk")
    await desk.command(c.Start())
    # A speaker's token shown as a display: were its keys live, `r` would raise this speaker's hand.
    async with console(served, served.tokens.people["paris"], view="display", screen=ViewerScreen) as (app, pilot):
        assert app.screen.role == "display"
        timer = app.screen.query_one(TimerPanel)
        await until(pilot, lambda: CLOCK_DIGITS.match(timer.query_one(Digits).value), "the timer's digits")
        assert "Opening by the chair" in screen_text(app)
        assert not app.screen.query(Footer)
        audience = {b.action for b in AUDIENCE_BINDINGS}
        live = [b.binding.key for b in app.active_bindings.values() if b.enabled and b.binding.action in audience]
        assert live == []
        seq = served.state.seq
        for key in ("r", "o", "w", "l", "a"):
            await pilot.press(key)
        await round_trip(app, pilot)
        assert served.state.seq == seq
        assert served.session.items[0].queue == []


async def test_the_replica_follows_the_server_through_several_keys(served: Served) -> None:
    """The link's replica equals what the server would show this viewer, after a few changes."""
    async with console(served, served.tokens.moderator) as (app, pilot):
        await start(app, pilot, served)
        for key in ("n", "plus", "x", "c"):
            await pilot.press(key)
        await until(
            pilot,
            lambda: served.session.extended_s == 300 and not served.session.items[1].queue_open,
            "the four commands",
        )
        client: MeetingClient = app.link.client
        await until(pilot, lambda: asdict(client.state) == served.expected_view(client), "the replica")
