"""Written questions for a speaker or a participant: the panel of their own questions and the ones open for votes,
the dialog to ask one, and the list to vote (or take a vote back) from.

It owns how the audience's questions read on screen; a question's text (from outside) reaches a widget as
``Text``, never markup. The dialogs show what they are given and dismiss with the answer: they must never send
a command or read the link (the screen that opened them does).
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label, OptionList
from textual.widgets.option_list import Option

from ..core.read_model import QuestionView, question_views
from ..core.state import State
from ..i18n import N_, _

OPEN_FOR_VOTES = frozenset({"visible", "live"})
PANEL_OTHERS = 5  # others' questions the panel lists (the vote list has them all)
STATE_WORDS = {
    "pending": N_("waiting for a moderator"),
    "visible": N_("open for votes"),
    "live": N_("live now"),
    "answered": N_("answered"),
    "merged": N_("merged with a similar question"),
}


def audience_questions(state: State, session: str, me: str | None) -> tuple[list[QuestionView], list[QuestionView]]:
    """The viewer's own questions (any state they may see) and the others open for votes (live first, then by
    votes), in ``state`` as the viewer may see it (``visibility.view_for``)."""
    views = question_views(state, me, session=session)
    mine = [v for v in views if v["mine"]]
    others = [v for v in views if not v["mine"] and v["state"] in OPEN_FOR_VOTES]
    return mine, others


def _line(view: QuestionView, out: Text, *, own: bool) -> None:
    out.append("▲ " if view["voted"] else "  ", style="bold")
    out.append(f"{view['votes']:>3} ", style="bold" if view["state"] == "live" else "")
    out.append(view["text"], style="bold" if view["state"] == "live" else "")
    if own:
        out.append(" — " + _(STATE_WORDS.get(view["state"], view["state"])), style="italic")
    else:
        who = _("anonymous") if view["anonymous"] or not view["name"] else view["name"]
        out.append(f" — {who}", style="dim")
        if view["state"] == "live":
            out.append(" (" + _("live now") + ")", style="italic")


def questions_text(mine: list[QuestionView], others: list[QuestionView], limit: int = PANEL_OTHERS) -> Text:
    """The panel: "Your questions" with each one's state and votes, then the first ``limit`` open for votes."""
    out = Text(no_wrap=True, overflow="ellipsis")
    if mine:
        out.append(_("Your questions") + "\n", style="bold underline")
        for view in mine:
            _line(view, out, own=True)
            out.append("\n")
    if others:
        out.append(_("Open for votes") + "\n", style="bold underline")
        for view in others[:limit]:
            _line(view, out, own=False)
            out.append("\n")
        if len(others) > limit:
            out.append(_("… {count} more: v to see them all and vote").format(count=len(others) - limit), style="dim")
    out.rstrip()
    return out


class AskScreen(ModalScreen[tuple[str, bool] | None]):
    """Type a written question and press Enter: dismissed with (text, anonymous), or None when left."""

    BINDINGS = [Binding("escape", "dismiss(None)", N_("Cancel"))]

    def __init__(self, max_length: int, anonymous: bool) -> None:
        super().__init__()
        self.max_length = max_length
        self.anonymous = anonymous  # whether the event takes anonymous questions: the box is shown only then

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(_("Your question (Enter sends it, Esc cancels)"), classes="question")
            yield Input(
                placeholder=_("At most {count} characters").format(count=self.max_length),
                max_length=self.max_length,
                id="ask-text",
            )
            if self.anonymous:
                yield Checkbox(_("Ask anonymously"), id="ask-anonymous")
            yield Label("", id="ask-count")

    def on_mount(self) -> None:
        self.query_one("#ask-text", Input).focus()
        self._count("")

    def _count(self, value: str) -> None:
        text = _("{used} of {max} characters").format(used=len(value), max=self.max_length)
        self.query_one("#ask-count", Label).update(Text(text, style="dim"))

    @on(Input.Changed, "#ask-text")
    def _changed(self, event: Input.Changed) -> None:
        self._count(event.value)

    @on(Input.Submitted, "#ask-text")
    def _submitted(self, event: Input.Submitted) -> None:
        text = " ".join(event.value.split())
        if not text:
            return
        anonymous = self.anonymous and self.query_one("#ask-anonymous", Checkbox).value
        self.dismiss((text, anonymous))


class VoteScreen(ModalScreen[str | None]):
    """The questions open for votes: Enter on one votes for it, or takes the vote back when given already.
    Dismissed with the question's id, or None when left."""

    BINDINGS = [Binding("escape", "dismiss(None)", N_("Cancel"))]

    def __init__(self, others: list[QuestionView]) -> None:
        super().__init__()
        self.others = others

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(_("Enter: vote for a question, or take your vote back (▲: you voted)"), classes="question")
            options = []
            for view in self.others:
                line = Text()
                _line(view, line, own=False)
                options.append(Option(line, id=view["id"]))
            yield OptionList(*options, id="vote-list", markup=False)

    @on(OptionList.OptionSelected, "#vote-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
