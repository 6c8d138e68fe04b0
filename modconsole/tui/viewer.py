"""What speakers, participants and a stage display see: the current item, the floor,
their place in the queue, and the moderator's messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from ..core import commands as c
from ..core.durations import format_duration
from ..core.state import view_for
from ..core.view import default_session, session_view
from .widgets import ConnectionBar, TimerPanel

if TYPE_CHECKING:
    from .app import ConsoleApp

AUDIENCE_BINDINGS = [
    Binding("r", "raise_hand('contribution')", "Raise hand"),
    Binding("o", "raise_hand('point_of_order')", "Point of order"),
    Binding("w", "raise_hand('question')", "Question", show=False),
    Binding("l", "lower_hand", "Withdraw"),
    Binding("a", "acknowledge", "Acknowledge"),
]


class ViewerScreen(Screen[None]):
    BINDINGS = AUDIENCE_BINDINGS

    def __init__(self, role: str) -> None:
        super().__init__(classes=f"role-{role}")
        self.role = role

    @property
    def console(self) -> ConsoleApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        yield TimerPanel(id="timer")
        yield Static("", id="place")
        yield Static("", id="message")
        yield ConnectionBar(id="connection")
        if self.role != "display":
            yield Footer()

    ready = False  # set once composed: refreshes before that have nothing to draw on

    def on_mount(self) -> None:
        self.ready = True
        self.refresh_view()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # A display is read-only: its keys do nothing and the footer shows none.
        return self.role != "display"

    def refresh_view(self) -> None:
        link = self.console.link
        self.query_one(ConnectionBar).show(link)
        state = link.state
        if state is None or state.agenda is None:
            return
        session = default_session(state)
        if session is None:
            return
        view = session_view(state, session, link.now())
        self.title = state.agenda.title
        self.sub_title = view["title"]
        self.query_one(TimerPanel).show(view)
        me = link.person.id if link.person else None
        place = Text()
        floor = view["floor"]
        if floor is not None:
            who = "You have the floor" if floor["person"] == me else f"Floor: {floor['name']}"
            place.append(who, style="bold")
            place.append(f"  {format_duration(floor['elapsed_s'])}")
            if floor["limit_s"]:
                place.append(f" / {format_duration(floor['limit_s'])}")
        queue = view["queue"]
        mine = next((h for h in queue if h["person"] == me), None)
        if mine is not None:
            place.append(f"\nYou are #{mine['position']} of {len(queue)} — about "
                         f"{max(1, round(mine['estimated_wait_s'] / 60))} min", style="bold")
        elif self.role != "display":
            place.append(f"\n{len(queue)} in the queue" + ("" if view["queue_open"] else " (closed)"))
        self.query_one("#place", Static).update(place)
        visible = view_for(state, link.role, me).messages
        pending = [m for m in visible if not (me and me in m.acknowledged) and (m.to in ("all", me))]
        text = Text()
        if pending:
            text.append(f"✉ {pending[-1].text}", style="bold reverse")
            if self.role != "display":
                text.append("  (a to acknowledge)")
        self.query_one("#message", Static).update(text)

    def action_raise_hand(self, kind: str) -> None:
        self.console.send_command(c.Raise(kind=kind))  # type: ignore[arg-type]

    def action_lower_hand(self) -> None:
        self.console.send_command(c.Lower())

    def action_acknowledge(self) -> None:
        self.console.send_command(c.Ack())
