"""``modconsole demo``: an embedded server on a free port, a temporary SQLite log,
the mayors' call agenda, and the moderator console on it.

The agenda is the call of March 2020, planned to start now (in its own time zone), so that the
console, the screens and the report read as today's.

With ``--fast`` the rehearsal clock runs 60 times faster and simulated mayors raise hands. Until
the console sends its first command, an assistant chair keeps the call moving: it gives the floor
to each item's listed speakers, then to the queue, ends turns that run long, and moves on only when
an item has overrun by half again, so the 45-minute call drifts toward 70 within about a minute.
From the first key that acts, the chair is yours alone (the mayors go on raising hands).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from modconsole.agenda_files import load_agenda
from modconsole.client import ClientError, MeetingClient
from modconsole.core import commands as c
from modconsole.core.agenda import Agenda
from modconsole.core.decide import next_listed_speaker
from modconsole.core.state import State
from modconsole.protocol import Ack
from modconsole.tui import LiveLink, create_app

from .server.events_admin import CreatedEvent, create_event
from .server.service import MeetingServer
from .server.store import SqliteStore

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DEMO_AGENDA = EXAMPLES / "mayors-call.toml"
FAST_SCALE = 60.0
OVERRUN_FACTOR = 1.5  # the assistant chair moves on at half again the planned duration
SIM_STEP_S = 0.4


async def _quietly(client: MeetingClient, command: c.Command) -> None:
    with contextlib.suppress(ClientError, TimeoutError):
        await client.command(command)


class DemoConsole(MeetingClient):
    """The console's client: its first command tells the assistant chair to step back."""

    def __init__(self, url: str, token: str, took_over: asyncio.Event) -> None:
        super().__init__(url, token, client="demo-console")
        self.took_over = took_over

    async def command(self, command: c.Command, *, timeout: float = 10.0) -> Ack:
        self.took_over.set()
        return await super().command(command, timeout=timeout)


def planned_now(agenda: Agenda, now: datetime | None = None) -> Agenda:
    """The agenda with its first session planned to start at this minute in the event's zone, and the
    others as far after it as they were."""
    zone = ZoneInfo(agenda.timezone)
    local = (now or datetime.now(zone)).astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
    first = min(session.start for session in agenda.sessions)
    sessions = tuple(s.model_copy(update={"start": local + (s.start - first)}) for s in agenda.sessions)
    return agenda.model_copy(update={"sessions": sessions})


async def simulate(url: str, created: CreatedEvent, took_over: asyncio.Event | None = None, seed: int = 27) -> None:
    """Mayors raising hands, and an assistant chair that keeps the meeting moving until ``took_over``."""
    rng = random.Random(seed)
    chair = MeetingClient(url, created.moderator, client="demo-assistant")
    await chair.connect()
    mayors: list[MeetingClient] = []
    for person, token in list(created.people.items())[1:]:
        mayor = MeetingClient(url, token, client=f"demo-{person}")
        await mayor.connect()
        mayors.append(mayor)
    try:
        await _quietly(chair, c.Start())
        while True:
            await asyncio.sleep(SIM_STEP_S)
            state = chair.state
            assert state is not None
            session = state.sessions[0]
            if session.status == "ended":
                return
            item = session.current_item
            if session.status != "running" or item is None:
                continue
            now = chair.server_now()
            if item.queue_open and rng.random() < 0.6:
                mayor = rng.choice(mayors)
                kind = "point_of_order" if rng.random() < 0.05 else rng.choice(["contribution", "question"])
                await _quietly(mayor, c.Raise(kind=kind))
            if took_over is None or not took_over.is_set():
                await _assist(chair, state, now)
    finally:
        for client in [chair, *mayors]:
            await client.close()


async def _assist(chair: MeetingClient, state: State, now: int) -> None:
    session = state.sessions[0]
    item = session.current_item
    assert item is not None
    expected = {"expected_seq": session.rev}
    listed = state.plan(session.id).items[session.current or 0].speakers
    presenter = next_listed_speaker(state, session)
    # A listed speaker has a share of the item's time; anyone else the turn limit (90 s without one).
    if item.floor is not None and item.floor.person in listed:
        limit = item.duration_s // len(listed)
    else:
        limit = item.turn_limit_s or 90
    if item.floor is not None and item.floor.timer.elapsed_ms(now) > limit * 1000 * 1.3:
        await _quietly(chair, c.EndTurn(**expected))
    elif item.floor is None and presenter is not None:
        await _quietly(chair, c.Floor(person=presenter, **expected))  # the item's listed speakers first
    elif item.floor is None and item.queue:
        await _quietly(chair, c.Floor(**expected))
    elif item.timer.elapsed_ms(now) > item.duration_s * 1000 * OVERRUN_FACTOR:
        last = session.current == len(session.items) - 1
        await _quietly(chair, c.End(**expected) if last else c.Next(**expected))


async def run_demo(fast: bool, db: Path | None = None) -> tuple[Path, str, BaseException | None]:
    """Serve the demo's event, run the console until it quits; the database, the event's id and the error
    that ended the console, if one did."""
    if db is None:
        db = Path(tempfile.mkdtemp(prefix="modconsole-demo-")) / "demo.db"
    store = SqliteStore(db)
    created = create_event(store, planned_now(load_agenda(DEMO_AGENDA)))
    server = MeetingServer(store, time_scale=FAST_SCALE if fast else 1.0)
    port = await server.start("127.0.0.1", 0)
    url = f"ws://127.0.0.1:{port}"
    greeting = None
    if fast:
        greeting = (
            "Rehearsal clock at 60×: a minute passes every second. Simulated mayors raise hands and an "
            "assistant chair runs the call until your first key that acts; then the chair is yours. "
            "Press x to extend, t for a recovery plan, r for the report, ? for every key."
        )
    took_over = asyncio.Event()
    app = create_app(LiveLink(DemoConsole(url, created.moderator, took_over)), greeting=greeting)
    sim = asyncio.create_task(simulate(url, created, took_over)) if fast else None
    try:
        await app.run_async()
    finally:
        if sim is not None:
            sim.cancel()
            with contextlib.suppress(asyncio.CancelledError, ClientError):
                await sim
        await server.stop()
        store.close()
    return db, created.event_id, getattr(app, "crash", None)


def _script(name: str) -> str:
    """How to call one of our commands: by name when it is on PATH, else by its full path
    (a fresh virtual environment that was not activated)."""
    beside = Path(sys.executable).parent / name
    found = shutil.which(name)
    if beside.exists() and (found is None or Path(found).resolve() != beside.resolve()):
        return str(beside)
    return name


def main(fast: bool, db: Path | None = None) -> int:
    db, event_id, crash = asyncio.run(run_demo(fast, db))
    server = _script("modconsole-server")
    print(f"The demo's timing log is in {db} (event {event_id}).")
    print(f"Print its report: {server} report --db {db}")
    print(f"Serve it again:   {server} serve --db {db}")
    if crash is not None:  # Textual has printed the traceback above
        print(f"modconsole demo: the console stopped on an error: {type(crash).__name__}: {crash}", file=sys.stderr)
        return 1
    return 0
