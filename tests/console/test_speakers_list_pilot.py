"""The speakers' list in the consoles, driven by keys (Textual's Pilot) against a real server on port 0: a hand
raised before the start and one for a later item, the reason shown when a hand is taken down, and the
moderator's redo and the question an undo asks past ten minutes."""

from __future__ import annotations

from typing import Any

from support.tui import Served, console, screen_text, until
from textual.widgets import OptionList

from modconsole.core import commands as c
from modconsole.core.decide import undo_target
from modconsole.tui.audience import ViewerScreen
from modconsole.tui.dialogs import ConfirmScreen, ItemPicker
from modconsole.tui.moderator import ModeratorScreen


def footer_keys(app: Any) -> set[str]:
    return {b.binding.key for b in app.active_bindings.values() if b.enabled and b.binding.show}


async def test_a_mayor_raises_before_the_start_and_for_the_discussion(served: Served) -> None:
    async with console(served, served.tokens.people["paris"], screen=ViewerScreen) as (app, pilot):
        assert "r" in footer_keys(app)  # before the start: hands may go up
        await pilot.press("r")
        await until(pilot, lambda: [h.person for h in served.session.waiting] == ["paris"], "the hand waiting")
        await until(pilot, lambda: "You join the queue when the session starts" in screen_text(app), "the words")
        await pilot.press("l")
        await until(pilot, lambda: served.session.waiting == [], "the hand withdrawn")
        await until(pilot, lambda: "n" in footer_keys(app), "the key for a later item")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ItemPicker), "the item picker")
        options = app.screen.query_one(OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert ids[:2] == ["opening", "seoul-briefing"] and "discussion" in ids
        options.highlighted = ids.index("discussion")
        await pilot.press("enter")
        await until(
            pilot,
            lambda: [(h.person, h.for_item) for h in served.session.waiting] == [("paris", "discussion")],
            "the hand for the discussion",
        )
        await until(pilot, lambda: "For Open discussion" in screen_text(app), "what it waits for")
        desk = await served.client(served.tokens.moderator, label="desk")
        await desk.command(c.Start())
        await desk.command(c.Goto(item="discussion"))
        await until(pilot, lambda: "You are #1 of 1" in screen_text(app), "the hand in the discussion's queue")


async def test_a_hand_taken_down_says_why(served: Served) -> None:
    desk = await served.client(served.tokens.moderator, label="desk")
    await desk.command(c.Start())
    async with console(served, served.tokens.people["london"], screen=ViewerScreen) as (app, pilot):
        await pilot.press("r")
        await until(pilot, lambda: "You are #1 of 1" in screen_text(app), "the place")
        await desk.command(c.Next())  # a new item: the hand stays
        await until(pilot, lambda: served.session.current == 1, "the next item")
        assert "You are #1 of 1" in screen_text(app)
        await desk.command(c.QueueRemove(person="london"))
        await until(pilot, lambda: "The moderator took your hand down." in screen_text(app), "the reason")
        await pilot.press("r")
        await until(pilot, lambda: "You are #1 of 1" in screen_text(app), "raised again")
        await desk.command(c.End())
        await until(pilot, lambda: "The session ended before your turn" in screen_text(app), "the end's reason")


async def test_the_moderator_redoes_and_is_asked_before_an_old_undo(served: Served) -> None:
    async with console(served, served.tokens.moderator, screen=ModeratorScreen) as (app, pilot):
        await pilot.press("space")
        await until(pilot, lambda: served.session.status == "running", "the start")
        await pilot.press("n")
        await until(pilot, lambda: served.session.current == 1, "the next item")
        await pilot.press("u")
        await until(pilot, lambda: served.session.current == 0, "the undo")
        await pilot.press("U")
        await until(pilot, lambda: served.session.current == 1, "the redo")
        # Eleven minutes later (the console's clock moves ahead of the server's: the server's own check is
        # covered with a fake clock), an undo asks first; Esc leaves it.
        later = app.link.now() + 11 * 60 * 1000
        app.link.now = lambda: later  # type: ignore[method-assign]
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        assert "Undo the move to another item, 11:0" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert served.session.current == 1
        assert undo_target(served.state, None) is not None
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question again")
        await pilot.press("y")
        await until(pilot, lambda: served.session.current == 0, "the confirmed undo (with force)")


async def test_redo_is_in_the_palette(served: Served) -> None:
    async with console(served, served.tokens.moderator, screen=ModeratorScreen) as (app, pilot):
        # Settled first: leaving the moment the screen is up races the header's first title update.
        await pilot.pause(0.3)
        commands = {command.title: command.help for command in app.get_system_commands(app.screen)}
        assert commands["Bring back what the last undo took back"] == "key: U"
        assert "asks first" in next(title for title in commands if title.startswith("Undo the last timing action"))
