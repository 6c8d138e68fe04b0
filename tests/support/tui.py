"""Helpers for the console's tests: a served mayors' call, the console on it, the screen as text,
and bounded waits on conditions (never a fixed sleep where a condition can be awaited).

A plain module, not a conftest: the TUI tests import what they use from it.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import DataTable

from modconsole.agenda_files import load_agenda
from modconsole.client import MeetingClient
from modconsole.core import commands as c
from modconsole.core.agenda import Agenda, local_to_ms
from modconsole.core.decide import Rejected
from modconsole.core.events import ClockSet, EventCreated
from modconsole.core.log import Entry, number, record, settle
from modconsole.core.state import SessionState, State
from modconsole.core.visibility import view_for
from modconsole.server.events_admin import SYSTEM, CreatedEvent, create_event
from modconsole.server.service import MeetingServer
from modconsole.server.store import SqliteStore
from modconsole.tui import ConsoleApp, LiveLink, create_app
from modconsole.tui.moderator import ModeratorScreen

ROOT = Path(__file__).resolve().parents[2]
MAYORS_CALL = ROOT / "examples" / "mayors-call.toml"
UTC = ZoneInfo("UTC")
CONSOLE_SIZE = (80, 24)
REFRESH_S = 0.1  # the console's redraw interval in tests: quicker than the default, same code path
WAIT_S = 8.0  # the longest any condition is awaited before the test fails


def mayors_agenda() -> Agenda:
    return load_agenda(MAYORS_CALL)


# --- a served event ---------------------------------------------------------------------------


@dataclass
class Served:
    """A MeetingServer on a SQLite file holding the mayors' call, and the clients connected to it."""

    db: Path
    tokens: CreatedEvent
    time_scale: float
    store: SqliteStore
    server: MeetingServer
    port: int
    clients: list[MeetingClient] = field(default_factory=list)

    @classmethod
    async def start(cls, db: Path, *, time_scale: float = 1.0, agenda: Agenda | None = None) -> Served:
        store = SqliteStore(db)
        tokens = create_event(store, agenda or mayors_agenda())
        server = MeetingServer(store, time_scale=time_scale)
        port = await server.start("127.0.0.1", 0)
        return cls(db, tokens, time_scale, store, server, port)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def event_id(self) -> str:
        return self.tokens.event_id

    @property
    def state(self) -> State:
        """The server's own state (the log's fold)."""
        return self.server.events[self.event_id].state

    @property
    def session(self) -> SessionState:
        return self.state.sessions[0]

    def log(self) -> list[Entry]:
        return list(self.store.read(self.event_id))

    async def stop_server(self) -> None:
        """Stop the server (its connections close), keeping the file: a restart serves it again."""
        await self.server.stop()
        self.store.close()

    async def restart(self) -> None:
        """A new MeetingServer on the same file and the same port, as after a crash or a deploy."""
        self.store = SqliteStore(self.db)
        self.server = MeetingServer(self.store, time_scale=self.time_scale)
        port = await self.server.start("127.0.0.1", self.port)
        assert port == self.port

    async def client(self, token: str, *, name: str | None = None, label: str = "test") -> MeetingClient:
        client = MeetingClient(self.url, token, name=name, client=label)
        self.clients.append(client)
        await client.connect()
        return client

    async def speaker(self, person: str) -> MeetingClient:
        return await self.client(self.tokens.people[person], label=f"speaker-{person}")

    async def close(self) -> None:
        for client in self.clients:
            with contextlib.suppress(Exception):
                await client.close()
        with contextlib.suppress(Exception):
            await self.server.stop()
        with contextlib.suppress(Exception):
            self.store.close()

    def expected_view(self, client: MeetingClient) -> dict[str, Any]:
        assert client.welcome is not None
        person = client.welcome.person.id if client.welcome.person is not None else None
        return asdict(view_for(self.state, client.welcome.role, person))


# --- the console --------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def console(
    served: Served,
    token: str,
    *,
    view: str | None = None,
    screen: type = ModeratorScreen,
    size: tuple[int, int] = CONSOLE_SIZE,
    name: str | None = None,
) -> AsyncIterator[tuple[ConsoleApp, Pilot[None]]]:
    """The console on a live link to ``served``, once its role screen is up; the link closes after."""
    link = LiveLink(MeetingClient(served.url, token, name=name, client="tui-test"))
    app = create_app(link, local_zone=UTC, view=view, refresh_s=REFRESH_S)
    try:
        async with app.run_test(size=size, notifications=True) as pilot:
            # Open, and drawn once: a cold first start can mount the screen before its first frame.
            def drawn() -> bool:
                return isinstance(app.screen, screen) and app.screen.ready and bool(screen_text(app).strip())

            await until(pilot, drawn, f"the {screen.__name__} to open")
            yield app, pilot
    finally:
        with contextlib.suppress(Exception):
            await link.close()


async def until(pilot: Pilot[Any], predicate: Callable[[], object], what: str, timeout: float = WAIT_S) -> None:
    """Let the app run until ``predicate()`` holds; fail with the screen shown if it does not in time."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; the screen shows:\n{screen_text(pilot.app)}")
        await pilot.pause(0.02)


def screen_text(app: Any) -> str:
    """What the terminal shows now, as plain text (the same render as a screenshot)."""
    width, height = app.size
    out = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    out.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return out.export_text()


def marks(table: DataTable[Any]) -> list[str]:
    """The first column of each row of a table (the rundown's ▶ ✓ – marks)."""
    return [str(table.get_row_at(row)[0]) for row in range(table.row_count)]


def notifications(app: ConsoleApp) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


# --- a canned meeting, for snapshots ------------------------------------------------------------


START_MS = local_to_ms(datetime(2020, 3, 27, 23, 15), ZoneInfo("Asia/Seoul"))
MODERATOR = c.Actor(role="moderator", client="desk")


def at(minutes: float) -> int:
    """Epoch ms, ``minutes`` after the planned start."""
    return START_MS + round(minutes * 60_000)


class Meeting:
    """A state moved only by decided commands, through the server's own write path (modconsole/core/log.py):
    each command recorded, then settled into the log and the state (the log replayed after an undo)."""

    def __init__(self) -> None:
        self.state = State()
        self.log: list[Entry] = []
        self._settle(
            number(
                self.state,
                [EventCreated(event_id="covid-19-mayors-call-snap", agenda=mayors_agenda())],
                SYSTEM,
                at(-30),
            )
        )
        self._settle(number(self.state, [ClockSet(wall_ms=at(-30), virtual_ms=at(-30), scale=1.0)], SYSTEM, at(-30)))

    def _settle(self, new: list[Entry]) -> None:
        self.state = settle(self.state, self.log, new).state

    def do(self, command: c.Command, minutes: float, actor: c.Actor = MODERATOR) -> Meeting:
        recorded = record(self.state, command, actor, at(minutes), at(minutes))
        assert not isinstance(recorded, Rejected), recorded
        self._settle(recorded)
        return self

    def hand(self, person: str, minutes: float, kind: str = "contribution") -> Meeting:
        speaker = c.Actor(role="speaker", person=person, client=person)
        return self.do(c.Raise(kind=kind), minutes, speaker)  # type: ignore[arg-type]
