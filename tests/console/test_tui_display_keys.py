"""The console drives the stage displays: B blacks them out and brings them back, F flashes them, O shows a
focus text (a preset or typed) and clears it; each reaches the server's state and the moderator's replica."""

from __future__ import annotations

from support.tui import Served, console, screen_text, until

from modconsole.tui.dialogs import FocusScreen
from modconsole.tui.moderator import ModeratorScreen


async def test_b_f_and_o_drive_the_stage_displays(served: Served) -> None:
    async with console(served, served.tokens.moderator) as (app, pilot):
        await pilot.press("B")
        await until(pilot, lambda: served.state.display.blackout, "the displays to black out")
        await until(pilot, lambda: app.link.state.display.blackout, "the replica to see it")
        await pilot.press("B")
        await until(pilot, lambda: not served.state.display.blackout, "the displays to come back")

        await pilot.press("F")
        await until(pilot, lambda: served.state.display.flashed_at is not None, "the displays to flash")

        await pilot.press("O")
        await until(pilot, lambda: isinstance(app.screen, FocusScreen), "the focus dialog")
        assert "ON AIR" in screen_text(app)
        await pilot.press("enter")  # the first preset
        await until(pilot, lambda: served.state.display.focus == "ON AIR", "ON AIR on the displays")
        await until(pilot, lambda: isinstance(app.screen, ModeratorScreen), "the dialog to close")
        await until(pilot, lambda: app.link.state.display.focus == "ON AIR", "the replica to see it")

        await pilot.press("O")
        await until(pilot, lambda: isinstance(app.screen, FocusScreen), "the focus dialog again")
        assert "Shown now: ON AIR" in screen_text(app)
        await pilot.press("tab")
        await pilot.press(*"Back in 5")
        await pilot.press("enter")
        await until(pilot, lambda: served.state.display.focus == "Back in 5", "the typed text on the displays")

        await pilot.press("O")
        await until(pilot, lambda: isinstance(app.screen, FocusScreen), "the focus dialog a third time")
        await pilot.press("up")  # from the first preset round to the last option: clear
        await pilot.press("enter")
        await until(pilot, lambda: served.state.display.focus is None, "the focus text cleared")
