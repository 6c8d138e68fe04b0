"""The moderator's questions panel: pending (oldest first), live, visible by votes, answered; and the lines the
stage display shows of the live question.

It owns how questions read on screen; the text of a question (from outside) reaches the widget as ``Text``. It
must never send a command: the moderator's keys are the screen's.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ..core.read_model import QuestionView, question_views
from ..core.state import State

PANEL_LINES = 8  # the questions the panel lists; ctl questions lists them all
SHOWN = frozenset({"pending", "live", "visible", "answered"})
_STYLE = {"pending": "yellow", "live": "bold reverse", "visible": "", "answered": "dim"}


def question_text(views: list[QuestionView], limit: int = 50) -> Text:
    """One line per question, the panel's order, at most ``limit``; a last line says how many more."""
    out = Text(no_wrap=True, overflow="ellipsis")
    for index, view in enumerate(views[:limit]):
        if index:
            out.append("\n")
        who = "anonymous" if view["anonymous"] else (view["name"] or view["asker"] or "")
        out.append(f"{view['id']:>4} ", style="dim")
        out.append(f"{view['state']:<8} ", style=_STYLE.get(view["state"], ""))
        out.append(f"{view['votes']:>3}▲ ")
        out.append(view["text"], style=_STYLE.get(view["state"], ""))
        out.append(f" — {who}", style="dim")
    if len(views) > limit:
        out.append(f"\n… {len(views) - limit} more (modconsole ctl questions)", style="dim")
    return out


def live_question(state: State, session: str | None) -> Text | None:
    """The question live in ``session`` (any session when None), as the display shows it; None when none is."""
    live = question_views(state, None, session=session, states=frozenset({"live"}))
    if not live:
        return None
    return Text("❓ " + live[0]["text"], style="bold")  # a sign, not a word: the display speaks many languages


class QuestionsPanel(Static):
    """The session's questions, shown once there are any."""

    def show(self, state: State, session: str) -> None:
        views = question_views(state, None, session=session, states=SHOWN)
        self.set_class(bool(views), "has-questions")
        if views:
            pending = sum(v["state"] == "pending" for v in views)
            self.border_title = (
                f"Questions ({len(views)}, {pending} pending)" if pending else f"Questions ({len(views)})"
            )
            shown = question_text(views, limit=PANEL_LINES)
            self.styles.height = len(shown.split()) + 2  # its lines and the border, however the screen was laid out
            self.update(shown)
