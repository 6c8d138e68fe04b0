"""The event clock never goes back: not across a change of time scale, not when the system clock steps back.

At load a new ClockSet puts the event clock at the latest of the wall clock, its own reading and the
last time the log holds; at run time the runtime's ``now`` never returns less than it did. Serving
an event whose session runs (or is paused) at another scale than its clock's is refused: the
session's timers would change pace in the middle (before, a session started at ×60 and served at
×1 ended before it began: 05:00 to 04:52, actual_duration_s -468.8).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.processes import stop_server
from support.servers import MAYORS_CALL, FakeClock, log_rows, read_log, run_cli, script

from modconsole.client import MeetingClient
from modconsole.core import commands as c
from modconsole.core.agenda import Agenda
from modconsole.core.events import ClockSet
from modconsole.server.events_admin import CreatedEvent, create_event
from modconsole.server.reports import build_report
from modconsole.server.runtime import last_logged_time
from modconsole.server.service import ClockConflict, MeetingServer
from modconsole.server.store import SqliteStore


@dataclass
class Serving:
    server: MeetingServer
    store: SqliteStore
    url: str

    async def moderator(self, created: CreatedEvent) -> MeetingClient:
        client = MeetingClient(self.url, created.moderator)
        await client.connect()
        return client

    async def stop(self) -> None:
        await self.server.stop()
        self.store.close()


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Serving]]]:
    """``await serve(db, clock, time_scale)``: a MeetingServer on ``db``, stopped at teardown if still up."""
    running: list[Serving] = []

    async def start(db: Path, clock: FakeClock, time_scale: float = 1.0) -> Serving:
        store = SqliteStore(db)
        server = MeetingServer(store, time_scale=time_scale, clock=clock)
        try:
            port = await server.start("127.0.0.1", 0)
        except BaseException:
            store.close()
            raise
        serving = Serving(server, store, f"ws://127.0.0.1:{port}")
        running.append(serving)
        return serving

    yield start
    for serving in running:
        if not serving.server._closing:
            await serving.stop()


def _new_event(db: Path, agenda: Agenda, clock: FakeClock) -> CreatedEvent:
    store = SqliteStore(db)
    try:
        return create_event(store, agenda, now_ms=clock())
    finally:
        store.close()


async def test_after_a_rehearsal_the_real_pace_carries_on_from_where_the_clock_was(  # type: ignore[no-untyped-def]
    tmp_path: Path, serve, mayors_agenda: Agenda, fake_clock: FakeClock
) -> None:
    db = tmp_path / "rehearsal.db"
    created = _new_event(db, mayors_agenda, fake_clock)
    rehearsal = await serve(db, fake_clock, 60.0)
    mod = await rehearsal.moderator(created)
    await mod.command(c.Start())
    fake_clock.advance(seconds=45)  # 45 minutes of the call
    await mod.command(c.End())
    ended_at = rehearsal.server.events[created.event_id].state.sessions[0].ended_at
    assert ended_at is not None
    await mod.close()
    await rehearsal.stop()

    fake_clock.advance(seconds=10)
    real = await serve(db, fake_clock, 1.0)
    runtime = real.server.events[created.event_id]
    clock_set = runtime.entries[-1].event
    assert isinstance(clock_set, ClockSet) and clock_set.scale == 1
    # It went on from the rehearsal clock's reading (45 min + 10 s x 60 ahead of the start), not back to the wall.
    assert clock_set.virtual_ms == ended_at + 600_000 > fake_clock()
    assert runtime.now(fake_clock()) >= ended_at
    mod = await real.moderator(created)
    assert mod.welcome is not None and mod.welcome.server_time >= ended_at
    await mod.command(c.SendMessage(text="thanks all", to="all"))
    assert runtime.state.messages[-1].at >= ended_at
    await mod.close()
    report = build_report(read_log(db, created.event_id))
    assert report.sessions[0].actual_duration_s == 45 * 60


async def test_a_session_running_on_a_clock_at_another_scale_is_refused(  # type: ignore[no-untyped-def]
    tmp_path: Path, serve, mayors_agenda: Agenda, fake_clock: FakeClock
) -> None:
    db = tmp_path / "running.db"
    created = _new_event(db, mayors_agenda, fake_clock)
    rehearsal = await serve(db, fake_clock, 60.0)
    mod = await rehearsal.moderator(created)
    await mod.command(c.Start())
    fake_clock.advance(seconds=5)
    await mod.command(c.Pause())
    await mod.close()
    await rehearsal.stop()
    rows = log_rows(db)

    for scale in (1.0, 30.0):
        with pytest.raises(ClockConflict) as refused:
            await serve(db, fake_clock, scale)
        assert str(refused.value) == (
            f"event {created.event_id}: session 'call' is paused on the event clock at ×60; it cannot go on at "
            f"×{scale:g}. Serve it with --time-scale 60 (and end the session there before changing the pace)"
        )
    assert log_rows(db) == rows  # nothing logged
    again = await serve(db, fake_clock, 60.0)  # at its own scale it goes on
    assert again.server.events[created.event_id].state.sessions[0].status == "paused"


async def test_the_event_clock_never_goes_back_when_the_system_clock_steps_back(  # type: ignore[no-untyped-def]
    tmp_path: Path, serve, mayors_agenda: Agenda, fake_clock: FakeClock
) -> None:
    db = tmp_path / "stepped.db"
    created = _new_event(db, mayors_agenda, fake_clock)
    serving = await serve(db, fake_clock, 1.0)
    runtime = serving.server.events[created.event_id]
    mod = await serving.moderator(created)
    await mod.command(c.Start())
    fake_clock.advance(minutes=5)
    await mod.command(c.Next())
    before = runtime.now(fake_clock())

    fake_clock.advance(minutes=-10)  # NTP steps the system clock back ten minutes
    assert runtime.now(fake_clock()) == before
    await mod.command(c.Next())
    assert runtime.entries[-1].event.at == before  # type: ignore[union-attr]
    fake_clock.advance(minutes=12)  # and forward again: the clock moves on from there
    assert runtime.now(fake_clock()) == before + 2 * 60_000
    await mod.command(c.Next())
    await mod.close()
    await serving.stop()
    for item in build_report(read_log(db, created.event_id)).sessions[0].items:
        assert item.actual_duration_s >= 0, item

    # Restarted with the system clock an hour behind: the same scale logs nothing, yet the clock holds.
    last = last_logged_time(read_log(db, created.event_id))
    fake_clock.advance(minutes=-60)
    restarted = await serve(db, fake_clock, 1.0)
    assert restarted.server.events[created.event_id].now(fake_clock()) == last
    await restarted.stop()


async def test_a_new_clock_set_never_goes_behind_the_log(  # type: ignore[no-untyped-def]
    tmp_path: Path, serve, mayors_agenda: Agenda, fake_clock: FakeClock
) -> None:
    db = tmp_path / "behind.db"
    created = _new_event(db, mayors_agenda, fake_clock)
    first = await serve(db, fake_clock, 1.0)
    mod = await first.moderator(created)
    await mod.command(c.Start())
    fake_clock.advance(minutes=20)
    await mod.command(c.End())
    await mod.close()
    await first.stop()
    last = last_logged_time(read_log(db, created.event_id))

    fake_clock.advance(minutes=-30)  # the system clock stepped back, and the event is served at a new pace
    second = await serve(db, fake_clock, 2.0)
    clock_set = second.server.events[created.event_id].entries[-1].event
    assert isinstance(clock_set, ClockSet) and clock_set.virtual_ms == last and clock_set.scale == 2


def test_serve_refuses_a_running_session_at_another_scale_and_says_how_to_serve_it(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    created = run_cli("modconsole-server", "create-event", MAYORS_CALL, "--db", db, "--json")
    assert created.returncode == 0, created.stderr
    tokens = json.loads(created.stdout)
    process = subprocess.Popen(
        [script("modconsole-server"), "serve", "--db", str(db), "--port", "0", "--time-scale", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = re.fullmatch(r"listening on ws://127\.0\.0\.1:(\d+)\s*", process.stdout.readline())
        assert port
        started = run_cli(
            "modconsole", "ctl", f"ws://127.0.0.1:{port.group(1)}", "--token", tokens["tokens"]["moderator"], "start"
        )
        assert started.returncode == 0, started.stderr
    finally:
        stop_server(process)
    rows = log_rows(db)

    refused = run_cli("modconsole-server", "serve", "--db", db, "--port", "0")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr == (
        f"modconsole-server: event {tokens['event_id']}: session 'call' is running on the event clock at ×60; "
        "it cannot go on at ×1. Serve it with --time-scale 60 (and end the session there before changing the pace)\n"
    )
    assert "listening" not in refused.stdout
    assert log_rows(db) == rows
