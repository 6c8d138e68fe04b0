"""The Textual application: picks the screen the token's role calls for and keeps the link alive.

The App owns the link (opening it, after a sign-in if need be, and closing it), its workers, the clock of
the redraws and the notifications. It imports the screens and hands each the link to read; a screen asks
the App for anything else by posting a message from ``messages`` (``SendCommand``: the App sends it and says
how it went). It is the one module of the console that may import every other; none may import it.
It must never work out a figure or a screen's layout: that is ``figures`` and the screens.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo
from pathlib import Path
from typing import Protocol, runtime_checkable

from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Footer, Header, Label
from textual.worker import Worker, WorkerState

from ..client import ClientError, CommandRefused
from ..core.commands import Command
from ..protocol import NAME_NEEDED
from .actions import MODERATOR_ACTIONS
from .audience import DisplayScreen, ViewerScreen
from .labels import plain
from .link import Link
from .login import Login, LoginScreen
from .messages import SendCommand

REFRESH_S = 0.25  # timers are computed locally; four frames a second keeps seconds exact


@runtime_checkable
class Redrawn(Protocol):
    """A role screen: redrawn from the link on every tick once ``ready`` (composed)."""

    ready: bool

    def refresh_view(self) -> None: ...


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
        # The reason comes from the network (a header value, a server's refusal): text, never markup.
        self.query_one("#connecting", Label).update(plain(text))


class ConsoleApp(App[None]):
    CSS_PATH = Path(__file__).with_name("console.tcss")
    TITLE = "modconsole"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]
    ENABLE_COMMAND_PALETTE = True

    def __init__(
        self,
        link: Link | None,
        *,
        local_zone: tzinfo | None = None,
        view: str | None = None,
        refresh_s: float = REFRESH_S,
        greeting: str | None = None,
        session: str | None = None,
        login: Login | None = None,
        language: str | None = None,
    ) -> None:
        super().__init__()
        self.language = language  # the audience screens' language (modconsole.i18n); the moderator's is English
        # None until the sign-in screen (``login``) gives a token: ``modconsole join --ask``.
        self.link: Link | None = link
        self.session = session  # the session to show (--session); None: the running one
        self.login = login
        self.greeting = greeting  # shown once the console opens (the demo explains itself)
        self.local_zone = local_zone  # None: this machine's zone
        self.view_override = view
        self.refresh_s = refresh_s
        self.role_screen: Screen[None] | None = None
        self.crash: BaseException | None = None  # what ended the console, if something unhandled did

    def _handle_exception(self, error: Exception) -> None:
        # Kept for `modconsole join`, which exits non-zero with the reason (Textual prints the traceback).
        if self.crash is None:
            self.crash = error
        super()._handle_exception(error)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every toast of the console is plain text: its messages carry names, titles and the server's
        reasons, so ``markup`` is never honoured (a screen's ``notify`` asks for it by default)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def on_mount(self) -> None:
        self.set_interval(self.refresh_s, self._tick)
        if self.link is None:
            assert self.login is not None
            self.push_screen(LoginScreen(self.login.server_url), self._signed_in)
        else:
            self._open(self.link)

    def _open(self, link: Link) -> None:
        self.link = link
        self.push_screen(ConnectingScreen())
        self.run_worker(link.run(self._link_changed), name="link", exclusive=True, exit_on_error=False)

    def _signed_in(self, answer: tuple[str, str | None] | None) -> None:
        if answer is not None and self.login is not None:
            token, name = answer
            self.login.name, self.login.token = name, token  # offered again after a refusal
            self._open(self.login.connect(token, name))

    async def _refused(self) -> None:
        """Asked for a token and it was refused: back to the sign-in screen, with the reason."""
        assert self.login is not None
        link = self.link
        assert link is not None  # refused: it was opened
        await link.close()
        self.role_screen = None
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        # The token is kept when it was the name that was refused (the participants' token), not the token.
        name_refused = NAME_NEEDED in link.detail or getattr(link, "refusal", None) in ("bad_frame", "invalid")
        token = self.login.token if name_refused else None
        self.login.token = None
        await self.push_screen(LoginScreen(self.login.server_url, link.detail, self.login.name, token), self._signed_in)

    def _link_changed(self) -> None:
        self.post_message(LinkChanged())

    async def on_link_changed(self, _message: LinkChanged) -> None:
        assert self.link is not None  # only an open link reports a change
        if self.link.status == "refused":
            if self.login is not None:
                await self._refused()
                return
            if self.role_screen is None:
                # Refused before anything was shown, with the token from the command line: retrying cannot
                # help, so the console ends and `modconsole join` prints the reason (exit status 1).
                self.exit(return_code=1)
                return
        if self.role_screen is None:
            # Reconnecting with a state known: show it (the connection bar says it may be stale).
            if self.link.state is not None and self.link.status in ("connected", "reconnecting"):
                self.role_screen = self._role_screen()
                self.switch_screen(self.role_screen)
                if self.greeting:
                    self.notify(self.greeting, title="modconsole demo", timeout=12)
            elif isinstance(self.screen, ConnectingScreen):
                self.screen.show(f"{self.link.status}… {self.link.detail}")
                return
        self._tick()

    def _role_screen(self) -> Screen[None]:
        assert self.link is not None  # shown once the link has a state
        role = "display" if self.view_override == "display" else self.link.role
        if role == "moderator":
            from .moderator import ModeratorScreen  # with its dialogs: a display or a speaker never needs them

            return ModeratorScreen(self.link, self.session, local_zone=self.local_zone)
        if self.language is not None:
            from ..i18n import use

            use(self.language)
        if role == "display":
            return DisplayScreen(self.link, self.session)
        return ViewerScreen(self.link, role, self.session)

    def _tick(self) -> None:
        if not self.is_running:
            return  # shutting down: the screens' widgets are being removed, there is nothing to draw on
        screen = self.screen
        if isinstance(screen, Redrawn) and screen.ready:
            screen.refresh_view()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The link's worker failed on something it did not expect: say so, instead of showing
        "Connecting…" (or a state growing old) forever."""
        if event.worker.name != "link" or event.state != WorkerState.ERROR:
            return
        assert self.link is not None  # the link's worker runs an open link
        self.link.status, self.link.detail = "refused", f"the link failed: {event.worker.error!r}"
        if self.role_screen is None:
            self.exit(return_code=1)  # `modconsole join` prints the reason
        else:
            self.notify(self.link.detail, title="Disconnected for good", severity="error", timeout=60)
            self._tick()

    @on(SendCommand)
    def _command_asked(self, message: SendCommand) -> None:
        self.send_command(message.command, message.done)

    def send_command(self, command: Command, done: str | None = None) -> None:
        """Send a command; ``done``, if given, is said once the server has taken it."""
        self.run_worker(self._send(command, done), group="commands", exit_on_error=False)

    async def _send(self, command: Command, done: str | None = None) -> None:
        assert self.link is not None  # a screen asks only once the link is open
        try:
            await self.link.send(command)
            if done:
                self.notify(done)
        except CommandRefused as exc:
            self.notify(exc.message, title=f"Refused ({exc.code})", severity="error")
        except ClientError as exc:
            self.notify(exc.message, title="Not sent", severity="error")
        except TimeoutError:
            self.notify(
                "No answer from the server; look at the state before repeating.", title="No answer", severity="error"
            )

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        from .moderator import ModeratorScreen  # not at the top: see _role_screen

        if isinstance(screen, ModeratorScreen):
            for action in MODERATOR_ACTIONS:
                yield SystemCommand(
                    action.description, f"key: {action.key}", getattr(screen, f"action_{action.action}")
                )

    async def action_quit(self) -> None:
        if self.link is not None:
            await self.link.close()
        self.exit()


def create_app(
    link: Link | None,
    *,
    local_zone: tzinfo | None = None,
    view: str | None = None,
    refresh_s: float = REFRESH_S,
    greeting: str | None = None,
    session: str | None = None,
    login: Login | None = None,
    language: str | None = None,
) -> ConsoleApp:
    """The console for a link: a live server in use, a canned state in tests. With no link,
    ``login`` asks for the token on screen and makes the link from it (``join --ask``)."""
    return ConsoleApp(
        link,
        local_zone=local_zone,
        view=view,
        refresh_s=refresh_s,
        greeting=greeting,
        session=session,
        login=login,
        language=language,
    )
