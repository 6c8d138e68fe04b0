"""The rundown editor, driven by keys (Textual's Pilot, 80x24) against a real server on port 0: Insert adds
an item after the selected one in a dialog that says what is wrong as it is typed, F2 edits the selected item,
< and > move it, Delete removes it (asking first); the command palette lists them; text from outside reaches
the screen as text."""

from __future__ import annotations

from support.tui import Served, console, notifications, screen_text, until
from textual.command import CommandPalette
from textual.widgets import Button, Input, OptionList, Static

from modconsole.core import commands as c
from modconsole.tui.dialogs import ConfirmScreen, ItemDialog, check_item_fields
from modconsole.tui.moderator import ModeratorScreen
from modconsole.tui.widgets import Rundown

ITEMS = ["opening", "seoul-briefing", "cities-share", "discussion", "closing"]


def server_ids(srv: Served) -> list[str]:
    return [i.id for i in srv.session.items]


def problem(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#item-problem", Static).render())


async def select_row(app, pilot, row: int) -> None:  # type: ignore[no-untyped-def]
    rundown = app.screen.query_one(Rundown)
    rundown.focus()
    rundown.move_cursor(row=row)
    await pilot.pause()


async def type_into(pilot, field: str, text: str) -> None:  # type: ignore[no-untyped-def]
    widget = pilot.app.screen.query_one(f"#item-{field}", Input)
    widget.focus()
    widget.value = ""
    await pilot.press(*text)


async def test_the_rundown_is_edited_with_keys(served: Served) -> None:
    async with console(served, served.tokens.moderator) as (app, pilot):
        await select_row(app, pilot, 3)  # the open discussion
        await pilot.press("insert")
        await until(pilot, lambda: isinstance(app.screen, ItemDialog), "the add dialog")
        assert app.screen.query_one("#item-title", Input).has_focus
        # It says what is wrong as it is typed, and Save waits for it to be right.
        assert "A title is needed" in problem(app) and app.screen.query_one("#save", Button).disabled
        await type_into(pilot, "title", "Any other business")
        await type_into(pilot, "duration", "5 minutes")
        await until(pilot, lambda: "duration is not one" in problem(app), "the duration refused")
        await pilot.press("enter")  # refused as it stands: the dialog stays
        assert isinstance(app.screen, ItemDialog)
        await type_into(pilot, "duration", "5m")
        await type_into(pilot, "speakers", "garcetti, nobody")
        await until(pilot, lambda: "Not on the roster: nobody" in problem(app), "the unknown speaker named")
        await type_into(pilot, "speakers", "garcetti")
        await until(pilot, lambda: problem(app).strip() == "", "nothing wrong")
        await pilot.press("enter")
        await until(pilot, lambda: "any-other-business" in server_ids(served), "the item added")
        assert server_ids(served) == [*ITEMS[:4], "any-other-business", "closing"]
        spec = served.state.plan("call").items[4]
        assert (spec.title, spec.duration_s, spec.speakers) == ("Any other business", 300, ("garcetti",))
        await until(pilot, lambda: "Any other business" in screen_text(app), "the rundown to show it")

        # F2 edits the selected item: the dialog opens with its fields, only what changed is sent.
        await select_row(app, pilot, 4)
        await pilot.press("f2")
        await until(pilot, lambda: isinstance(app.screen, ItemDialog), "the edit dialog")
        assert app.screen.query_one("#item-title", Input).value == "Any other business"
        assert app.screen.query_one("#item-duration", Input).value == "5:00"
        await type_into(pilot, "duration", "8m")
        await pilot.press("enter")
        await until(pilot, lambda: served.state.plan("call").items[4].duration_s == 480, "the edit")
        assert served.state.plan("call").items[4].title == "Any other business"

        # < moves it up, > down; the selection follows the item.
        await select_row(app, pilot, 4)
        await pilot.press("less_than_sign")
        await until(pilot, lambda: server_ids(served)[3] == "any-other-business", "the move up")
        await until(pilot, lambda: app.screen.query_one(Rundown).selected_item == "any-other-business", "selection")
        await pilot.press("greater_than_sign")
        await until(pilot, lambda: server_ids(served)[4] == "any-other-business", "the move down")

        # Delete asks first, then removes it; undo brings it back.
        await select_row(app, pilot, 4)
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await until(pilot, lambda: server_ids(served) == ITEMS, "the item removed")
        await until(pilot, lambda: isinstance(app.screen, ModeratorScreen), "back on the moderator's screen")

        # A refused edit is said in words: the opening runs, nothing goes before it.
        await pilot.press("space")
        await until(pilot, lambda: served.session.status == "running", "the start")
        await until(pilot, lambda: app.link.state.sessions[0].status == "running", "the replica to see it")
        await select_row(app, pilot, 1)
        await pilot.press("less_than_sign")
        await until(pilot, lambda: any("already run" in n for n in notifications(app)), "the refusal")
        assert server_ids(served) == ITEMS


async def test_a_title_from_outside_reaches_the_screen_as_text(served: Served) -> None:
    moderator = await served.client(served.tokens.moderator, label="desk-2")
    await moderator.command(c.ItemAdd(title="[bold red]Mayor's[/] [link=x]talk[/link]", duration_s=60))
    async with console(served, served.tokens.moderator) as (app, pilot):
        await until(pilot, lambda: "[bold red]Mayor's[/]" in screen_text(app), "the title shown as typed")
        await select_row(app, pilot, 5)
        await pilot.press("f2")
        await until(pilot, lambda: isinstance(app.screen, ItemDialog), "the edit dialog")
        assert app.screen.query_one("#item-title", Input).value == "[bold red]Mayor's[/] [link=x]talk[/link]"
        await pilot.press("escape")


async def test_the_palette_lists_the_rundown_editor(served: Served) -> None:
    async with console(served, served.tokens.moderator) as (app, pilot):
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the command palette")
        await pilot.press(*"add an item")
        options = app.screen.query_one(OptionList)
        await until(
            pilot,
            lambda: options.option_count >= 1 and "Add an item" in str(options.get_option_at_index(0).prompt),
            "the rundown editor in the palette",
        )
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ItemDialog), "the add dialog from the palette")


def test_the_dialog_checks() -> None:
    people = frozenset({"ann"})
    ok = {"title": "Q&A", "duration": "10m", "kind": "qa", "speakers": "ann", "turn_limit": "1m", "fixed_start": "9:30"}
    fields, wrong = check_item_fields(ok, people)
    assert wrong == "" and fields == {
        "title": "Q&A",
        "duration_s": 600,
        "kind": "qa",
        "turn_limit_s": 60,
        "fixed_start": "9:30",
        "speakers": ("ann",),
    }
    for change, words in (
        ({"title": "  "}, "title is needed"),
        ({"title": "a\x1bb"}, "control characters"),
        ({"duration": "25h"}, "over a day"),
        ({"kind": "party"}, "kind is one of"),
        ({"turn_limit": "x"}, "turn limit"),
        ({"fixed_start": "24:00"}, "fixed start"),
        ({"speakers": "bob"}, "Not on the roster: bob"),
    ):
        assert words in check_item_fields(ok | change, people)[1]
