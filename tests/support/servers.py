"""Servers, clients and command lines for the tests that need them: a real server on port 0, real clients,
a real SQLite file. The folders' conftests take the fixtures from here (``from support.servers import ...``).

``start_server`` starts a MeetingServer on a fresh database holding the mayors' call (45 mayors,
45 planned minutes) and stops it at teardown; ``server`` is one with the defaults (real clock,
scale 1; parametrise it indirectly with a dict of ``start_server`` options). ``connect`` makes
connected clients that record every frame they receive and closes them before the server stops.
``FakeClock`` is a wall clock the test moves by hand, for exact figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from modconsole.agenda_files import load_agenda
from modconsole.client import MeetingClient
from modconsole.core.agenda import Agenda, local_to_ms
from modconsole.core.fold import replay
from modconsole.core.state import State
from modconsole.core.visibility import view_for
from modconsole.server.events_admin import CreatedEvent, create_event
from modconsole.server.service import MeetingServer
from modconsole.server.store import Entry, SqliteStore
from support.processes import stop_server
from support.tui import Served

ROOT = Path(__file__).resolve().parents[2]
MAYORS_CALL = ROOT / "examples" / "mayors-call.toml"


def script(name: str) -> str:
    """A console script of this install (the venv's own, else the one on PATH)."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name) or name


# The mayors' call was planned to start at 23:15 in Seoul on 27 March 2020.
MAYORS_CALL_START_MS = local_to_ms(datetime(2020, 3, 27, 23, 15), ZoneInfo("Asia/Seoul"))


class FakeClock:
    """A wall clock (epoch ms) that moves only when the test moves it."""

    def __init__(self, start_ms: int = MAYORS_CALL_START_MS) -> None:
        self.ms = start_ms

    def __call__(self) -> int:
        return self.ms

    def advance(self, *, seconds: float = 0, minutes: float = 0) -> int:
        self.ms += round((seconds + 60 * minutes) * 1000)
        return self.ms

    def set(self, *, seconds: float = 0, minutes: float = 0, origin: int = MAYORS_CALL_START_MS) -> int:
        """Put the clock at ``origin`` plus an offset (by default: after the call's planned start)."""
        self.ms = origin + round((seconds + 60 * minutes) * 1000)
        return self.ms


def read_log(db: Path, event_id: str) -> list[Entry]:
    """The event's log as a second connection reads it back from the file."""
    store = SqliteStore(db)
    try:
        return list(store.read(event_id))
    finally:
        store.close()


def log_rows(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db)) as db_conn:
        return int(db_conn.execute("SELECT count(*) FROM log").fetchone()[0])


def replay_log(entries: list[Entry]) -> State:
    return replay([(e.seq, e.event) for e in entries])


@dataclass
class RunningServer:
    url: str
    port: int
    tokens: CreatedEvent
    db: Path
    store: SqliteStore
    server: MeetingServer
    clock: Callable[[], int]

    @property
    def event_id(self) -> str:
        return self.tokens.event_id

    @property
    def state(self) -> State:
        return self.server.events[self.event_id].state

    def now(self) -> int:
        """The event clock now, as the server reads it."""
        return self.server.events[self.event_id].now(self.clock())

    def read_log(self) -> list[Entry]:
        return read_log(self.db, self.event_id)

    def log_rows(self) -> int:
        return log_rows(self.db)

    def replayed(self) -> State:
        """The state the log in the file folds into."""
        return replay_log(self.read_log())

    def expected_view(self, client: MeetingClient) -> dict[str, Any]:
        """What ``client`` may see of the server's state, as a plain dict."""
        assert client.welcome is not None
        person = client.welcome.person.id if client.welcome.person is not None else None
        return asdict(view_for(self.state, client.welcome.role, person))

    async def settled(self, client: MeetingClient, timeout: float = 5.0) -> None:
        """Wait until the client's replica equals what it may see of the server's state, and assert it.

        A replica kept up to date also remembers the participants who registered while it watched, which a
        snapshot leaves out once the state no longer speaks of them: both are compared as a snapshot."""

        def seen(state: State) -> dict[str, Any]:
            assert client.welcome is not None
            person = client.welcome.person.id if client.welcome.person is not None else None
            return asdict(view_for(state, client.welcome.role, person))

        def expected() -> dict[str, Any]:
            # A viewer's sequence is the last entry it was sent: entries it may not see (attendance, others'
            # messages) move the server's alone.
            view = self.expected_view(client)
            if client.state is not None and client.welcome is not None and client.welcome.role != "moderator":
                view["seq"] = min(view["seq"], max(client.state.seq, client.welcome.seq))
            return view

        with contextlib.suppress(TimeoutError):
            await client.wait_for(lambda s: seen(s) == expected(), timeout=timeout)
        assert client.state is not None
        assert seen(client.state) == expected()


class RecordingClient(MeetingClient):
    """A MeetingClient that keeps every frame it received after the welcome, in order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.frames: list[Any] = []

    def _handle(self, frame: object) -> None:
        self.frames.append(frame)
        super()._handle(frame)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    """The mayors' call served in this process, for the console's tests (support/tui.py)."""
    srv = await Served.start(tmp_path / "served.db")
    yield srv
    await srv.close()


@pytest.fixture
async def served_fast(tmp_path: Path) -> AsyncIterator[Served]:
    """The same at the 60x rehearsal clock: a minute of the meeting passes every second."""
    srv = await Served.start(tmp_path / "served-fast.db", time_scale=60.0)
    yield srv
    await srv.close()


@pytest.fixture(scope="session")
def mayors_agenda() -> Agenda:
    return load_agenda(MAYORS_CALL)


@dataclass
class _Servers:
    tmp_path: Path
    agenda: Agenda
    running: list[RunningServer] = field(default_factory=list)

    async def start(
        self,
        *,
        time_scale: float = 1.0,
        clock: Callable[[], int] | None = None,
        agenda: Agenda | None = None,
        db: Path | None = None,
        **server_options: Any,
    ) -> RunningServer:
        db = db or self.tmp_path / f"modconsole-{len(self.running)}.db"
        store = SqliteStore(db)
        created = create_event(store, agenda or self.agenda, now_ms=clock() if clock is not None else None)
        server = MeetingServer(
            store, time_scale=time_scale, **({"clock": clock} if clock is not None else {}), **server_options
        )
        port = await server.start("127.0.0.1", 0)
        running = RunningServer(
            url=f"ws://127.0.0.1:{port}",
            port=port,
            tokens=created,
            db=db,
            store=store,
            server=server,
            clock=server.clock,
        )
        self.running.append(running)
        return running

    async def stop_all(self) -> None:
        for running in reversed(self.running):
            await running.server.stop()
            running.store.close()


@pytest.fixture
async def start_server(tmp_path: Path, mayors_agenda: Agenda) -> AsyncIterator[Callable[..., Awaitable[RunningServer]]]:
    """``await start_server(time_scale=..., clock=...)``: a served mayors' call on a fresh database."""
    servers = _Servers(tmp_path, mayors_agenda)
    yield servers.start
    await servers.stop_all()


@pytest.fixture
async def server(
    request: pytest.FixtureRequest, start_server: Callable[..., Awaitable[RunningServer]]
) -> RunningServer:
    options: dict[str, Any] = getattr(request, "param", {})
    return await start_server(**options)


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def connect(
    start_server: Callable[..., Awaitable[RunningServer]],
) -> AsyncIterator[Callable[..., Awaitable[RecordingClient]]]:
    """``await connect(url, token, name=..., label=...)``: a connected RecordingClient, closed at teardown.

    It depends on ``start_server`` so that its clients close before the servers stop.
    """
    clients: list[RecordingClient] = []

    async def make(url: str, token: str, *, name: str | None = None, label: str = "test") -> RecordingClient:
        client = RecordingClient(url, token, name=name, client=label)
        clients.append(client)
        await client.connect()
        return client

    yield make
    await asyncio.gather(*(client.close() for client in clients), return_exceptions=True)


# --- the command lines, as subprocesses ----------------------------------------------------------


def run_cli(
    *args: str | Path, env: dict[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run ``modconsole-server ...`` or ``modconsole ...`` (the first argument names which)."""
    base = {k: v for k, v in os.environ.items() if k not in ("MODCONSOLE_TOKEN", "MODCONSOLE_DB", "MODCONSOLE_STORE")}
    return subprocess.run(
        [script(str(args[0])), *map(str, args[1:])],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=base | (env or {}),
        cwd=ROOT,
    )


@dataclass
class CliServer:
    url: str
    port: int
    db: Path
    tokens: dict[str, Any]  # as `create-event --json` printed them
    process: subprocess.Popen[str]

    @property
    def event_id(self) -> str:
        return str(self.tokens["event_id"])

    def ctl(self, *args: str, token: str | None = None, env: dict[str, str] | None = None):
        """``modconsole ctl URL [--token T] ARGS...``"""
        return run_cli("modconsole", "ctl", self.url, *(("--token", token) if token else ()), *args, env=env)


@pytest.fixture
def cli_server(tmp_path: Path) -> Iterator[CliServer]:
    """The mayors' call created with `modconsole-server create-event --json`, served by `modconsole-server serve`."""
    db = tmp_path / "cli.db"
    created = run_cli("modconsole-server", "create-event", MAYORS_CALL, "--db", db, "--json")
    assert created.returncode == 0, created.stderr
    process = subprocess.Popen(
        [script("modconsole-server"), "serve", "--db", str(db), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.fullmatch(r"listening on ws://127\.0\.0\.1:(\d+)\s*", line)
        assert match, f"the server did not start: {line!r}"
        port = int(match.group(1))
        yield CliServer(f"ws://127.0.0.1:{port}", port, db, json.loads(created.stdout), process)
    finally:
        stop_server(process)


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``cli("modconsole-server", "schema")``: run a command line of this install, capture its output."""
    return run_cli
