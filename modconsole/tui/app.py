"""The Textual application: picks the screen the token's role calls for and keeps the link alive."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo
from pathlib import Path

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Label

from ..client import ClientError, CommandRefused
from ..core.commands import Command
from .actions import MODERATOR_ACTIONS
from .link import Link
from .moderator import ModeratorScreen
from .viewer import ViewerScreen

REFRESH_S = 0.25  # timers are computed locally; four frames a second keeps seconds exact


class LinkChanged(Message):
    """The replica or the connection changed; one pending is as good as many."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LinkChanged)


class ConnectingScreen(Screen[None]):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("Connecting…", id="connecting")
        yield Footer()

    def show(self, text: str) -> None:
        self.query_one("#connecting", Label).update(text)


class ConsoleApp(App[None]):
    CSS_PATH = Path(__file__).with_name("console.tcss")
    TITLE = "modconsole"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]
    ENABLE_COMMAND_PALETTE = True

    def __init__(self, link: Link, *, local_zone: tzinfo | None = None, view: str | None = None,
                 refresh_s: float = REFRESH_S) -> None:
        super().__init__()
        self.link = link
        self.local_zone = local_zone  # None: this machine's zone
        self.view_override = view
        self.refresh_s = refresh_s
        self.role_screen: Screen[None] | None = None

    def on_mount(self) -> None:
        self.push_screen(ConnectingScreen())
        self.run_worker(self.link.run(self._link_changed), name="link", exclusive=True, exit_on_error=False)
        self.set_interval(self.refresh_s, self._tick)

    def _link_changed(self) -> None:
        self.post_message(LinkChanged())

    def on_link_changed(self, _message: LinkChanged) -> None:
        if self.role_screen is None:
            # Reconnecting with a state known: show it (the connection bar says it may be stale).
            if self.link.state is not None and self.link.status in ("connected", "reconnecting"):
                role = "display" if self.view_override == "display" else self.link.role
                self.role_screen = ModeratorScreen() if role == "moderator" else ViewerScreen(role)
                self.switch_screen(self.role_screen)
            elif isinstance(self.screen, ConnectingScreen):
                self.screen.show(f"{self.link.status}… {self.link.detail}")
                return
        self._tick()

    def _tick(self) -> None:
        if not self.is_running:
            return  # shutting down: the screens' widgets are being removed, there is nothing to draw on
        screen = self.screen
        if getattr(screen, "ready", False):
            screen.refresh_view()  # type: ignore[attr-defined]

    def send_command(self, command: Command) -> None:
        self.run_worker(self._send(command), group="commands", exit_on_error=False)

    async def _send(self, command: Command) -> None:
        try:
            await self.link.send(command)
        except CommandRefused as exc:
            self.notify(exc.message, title=f"Refused ({exc.code})", severity="error")
        except ClientError as exc:
            self.notify(exc.message, title="Not sent", severity="error")
        except TimeoutError:
            self.notify("No answer from the server; look at the state before repeating.", title="No answer",
                        severity="error")

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, ModeratorScreen):
            for action in MODERATOR_ACTIONS:
                yield SystemCommand(action.description, f"key: {action.key}",
                                    getattr(screen, f"action_{action.action}"))

    async def action_quit(self) -> None:
        await self.link.close()
        self.exit()


def create_app(link: Link, *, local_zone: tzinfo | None = None, view: str | None = None,
               refresh_s: float = REFRESH_S) -> ConsoleApp:
    """The console for a link: a live server in use, a canned state in tests."""
    return ConsoleApp(link, local_zone=local_zone, view=view, refresh_s=refresh_s)
