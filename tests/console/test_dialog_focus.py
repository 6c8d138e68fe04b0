"""Where the focus is in the console's dialogs (Textual's Pilot, 80x24, a real server on port 0): the message
dialog starts at the top and sends what the screen shows; the recovery plan's target takes typing at once."""

from __future__ import annotations

from support.tui import Served, console, until
from textual.widgets import Input, OptionList

from modconsole.core import commands as c
from modconsole.core.commands import PRESET_MESSAGES
from modconsole.tui.dialogs import MessageScreen, PlanScreen
from modconsole.tui.moderator import ModeratorScreen


async def _open_messages(app, pilot, srv: Served) -> MessageScreen:  # type: ignore[no-untyped-def]
    await pilot.press("space")
    await until(pilot, lambda: srv.session.status == "running", "the session to start")
    await pilot.press("m")
    await until(pilot, lambda: isinstance(app.screen, MessageScreen), "the message dialog")
    screen = app.screen
    assert isinstance(screen, MessageScreen)
    return screen


async def test_the_message_dialog_starts_on_the_recipients_and_tab_follows_the_layout(served: Served) -> None:
    async with console(served, served.tokens.moderator) as (app, pilot):
        screen = await _open_messages(app, pilot, served)
        assert screen.focused is screen.query_one("#to", OptionList)
        await pilot.press("tab")
        assert screen.focused is screen.query_one("#presets", OptionList)
        await pilot.press("tab")
        assert screen.focused is screen.query_one("#text", Input)
        await pilot.press("tab")
        assert screen.focused is screen.query_one("#to", OptionList)


async def test_text_typed_as_the_dialog_opens_is_what_enter_sends(served: Served) -> None:
    """A new user typed at once: the letters landed in a list, and Enter sent the preset "One minute"."""
    paris = await served.speaker("paris")
    async with console(served, served.tokens.moderator) as (app, pilot):
        screen = await _open_messages(app, pilot, served)
        await pilot.press("down")  # everyone
        await pilot.press(*"Mics off please")
        assert screen.query_one("#text", Input).value == "Mics off please"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ModeratorScreen), "the dialog to close")
        state = await paris.wait_for(lambda s: any(m.text == "Mics off please" for m in s.messages))
        assert state.messages[-1].to == "all"
        assert [m.text for m in served.state.messages] == ["Mics off please"]
        assert not set(PRESET_MESSAGES) & {m.text for m in served.state.messages}


async def test_enter_on_the_recipients_with_text_typed_sends_the_text(served: Served) -> None:
    paris = await served.speaker("paris")
    async with console(served, served.tokens.moderator) as (app, pilot):
        screen = await _open_messages(app, pilot, served)
        await pilot.press("tab", "tab", *"Five minutes to the vote", "shift+tab", "shift+tab")
        assert screen.focused is screen.query_one("#to", OptionList)
        await pilot.press("down", "enter")  # everyone, and the text the screen shows
        await until(pilot, lambda: isinstance(app.screen, ModeratorScreen), "the dialog to close")
        await paris.wait_for(lambda s: any(m.text == "Five minutes to the vote" for m in s.messages))
        assert [(m.text, m.to) for m in served.state.messages] == [("Five minutes to the vote", "all")]


async def test_the_recovery_plans_target_takes_typing_at_once(served: Served) -> None:
    garcetti = await served.speaker("garcetti")
    async with console(served, served.tokens.moderator) as (app, pilot):
        await pilot.press("space")
        await until(pilot, lambda: served.session.status == "running", "the session to start")
        await garcetti.command(c.Raise())
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen), "the plan dialog")
        target = app.screen.query_one("#target", Input)
        assert app.screen.focused is target
        await pilot.press(*["backspace"] * 5, *"23:59")
        assert target.value == "23:59"
