"""The questions in the console (Pilot, against a real server): the moderator's panel and keys, the display's
live question; a question's text is shown as written, never as markup."""

from __future__ import annotations

from support.tui import Served, console, screen_text, until

from modconsole.core import commands as c
from modconsole.tui.audience import DisplayScreen
from modconsole.tui.questions import QuestionsPanel


async def test_the_moderator_puts_the_most_voted_live_and_the_display_shows_it(served: Served) -> None:
    sala, breed = await served.speaker("sala"), await served.speaker("breed")
    async with console(served, served.tokens.moderator) as (app, pilot):
        panel = app.screen.query_one(QuestionsPanel)
        assert not panel.has_class("has-questions")  # no questions: no panel
        await sala.command(c.Ask(text="Who pays [red]for[/] the masks?"))
        await breed.command(c.Ask(text="When do schools open?"))
        await sala.command(c.Vote(question="q2"))
        await until(
            pilot,
            lambda: (
                "When do schools open?" in screen_text(app) and "Who pays [red]for[/] the masks?" in screen_text(app)
            ),
            "the questions in the panel, as written",
        )
        assert panel.has_class("has-questions")
        await pilot.press("q")
        await until(pilot, lambda: served.state.questions["q2"].state == "live", "the most-voted to go live")
        async with console(served, served.tokens.display, screen=DisplayScreen) as (wall, wall_pilot):
            await until(wall_pilot, lambda: "When do schools open?" in screen_text(wall), "the display to show it")
            await pilot.press("a")
            await until(pilot, lambda: served.state.questions["q2"].state == "answered", "the answer")
            await until(
                wall_pilot, lambda: "When do schools open?" not in screen_text(wall), "the display to let it go"
            )
        await pilot.press("q")
        await until(pilot, lambda: served.state.questions["q1"].state == "live", "the next one live")
