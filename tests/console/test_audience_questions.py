"""Written questions on the audience's terminal screen (Textual's Pilot, 80x24) against a real server on port
0: a participant asks with ``q`` (anonymously, since the event allows it), sees their question's state change
as a moderator approves it and its count as another votes, and votes and takes the vote back with ``v``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support.tui import Served, console, mayors_agenda, screen_text, until
from textual.widgets import Checkbox, Input, OptionList

from modconsole.core import commands as c
from modconsole.core.agenda import QuestionSettings
from modconsole.tui.asking import AskScreen, VoteScreen
from modconsole.tui.audience import ViewerScreen


@pytest.fixture
async def served_questions(tmp_path: Path) -> AsyncIterator[Served]:
    agenda = mayors_agenda().model_copy(
        update={"questions": QuestionSettings(moderated=True, anonymous=True, max_length=100)}
    )
    srv = await Served.start(tmp_path / "questions.db", agenda=agenda)
    yield srv
    await srv.close()


async def test_a_participant_asks_sees_the_state_and_count_and_votes(served_questions: Served) -> None:
    srv = served_questions
    desk = await srv.client(srv.tokens.moderator, label="desk")
    await desk.command(c.Start())
    bob = await srv.client(srv.tokens.participant, name="Bob Marley", label="bob")
    async with console(srv, srv.tokens.participant, screen=ViewerScreen, name="Ada Lovelace") as (app, pilot):
        assert "q" in {b.binding.key for b in app.active_bindings.values() if b.enabled}
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, AskScreen), "the ask dialog")
        assert app.screen.query_one("#ask-text", Input).max_length == 100
        await pilot.press(*"[bold]Who pays[/bold] for it?")
        await pilot.press("tab", "space")  # the anonymous box
        assert app.screen.query_one("#ask-anonymous", Checkbox).value is True
        await pilot.press("shift+tab", "enter")
        await until(pilot, lambda: "q1" in srv.state.questions, "the question on the server")
        asked = srv.state.questions["q1"]
        assert asked.text == "[bold]Who pays[/bold] for it?" and asked.anonymous and asked.state == "pending"
        assert asked.session == "call"
        await until(pilot, lambda: "waiting for a moderator" in screen_text(app), "its state on screen")
        assert "[bold]Who pays[/bold] for it?" in screen_text(app)  # text, never markup
        assert "v" not in {b.binding.key for b in app.active_bindings.values() if b.enabled}  # none to vote on

        await desk.command(c.QuestionApprove(question="q1"))
        await until(pilot, lambda: "open for votes" in screen_text(app), "approved")
        await bob.command(c.Vote(question="q1"))
        # Ada's count comes in the coalesced question_votes frame.
        await until(pilot, lambda: "  1 [bold]Who pays" in screen_text(app), "the count of one vote")

        await bob.command(c.Ask(text="When does the bridge open?"))
        await desk.command(c.QuestionApprove(question="q2"))
        await until(pilot, lambda: "When does the bridge open? — Bob Marley" in screen_text(app), "Bob's question")
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, VoteScreen), "the vote list")
        options = app.screen.query_one("#vote-list", OptionList)
        assert options.option_count == 1  # one's own question is not there
        await pilot.press("enter")
        await until(pilot, lambda: srv.state.questions["q2"].voters == [ada(srv)], "Ada's vote")
        await until(pilot, lambda: "▲   1 When does" in screen_text(app), "the vote shown")
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, VoteScreen), "the vote list again")
        await pilot.press("enter")  # voted already: takes it back
        await until(pilot, lambda: srv.state.questions["q2"].voters == [], "the vote taken back")
        await until(pilot, lambda: "▲" not in screen_text(app), "the vote no longer shown")


def ada(srv: Served) -> str:
    return next(p for p, person in srv.state.participants.items() if person.name == "Ada Lovelace")
