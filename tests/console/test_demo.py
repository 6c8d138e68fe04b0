"""The demo's own parts: the agenda planned for now, and the assistant chair that runs the call
until the console takes over (through a real server at the demo's 60x rehearsal pace)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from support.servers import MAYORS_CALL

from modconsole.agenda_files import load_agenda
from modconsole.core import commands as c
from modconsole.demo import FAST_SCALE, DemoConsole, planned_now, simulate


def test_the_agenda_is_planned_to_start_at_this_minute_in_its_own_zone() -> None:
    agenda = load_agenda(MAYORS_CALL)  # planned for 2020-03-27 23:15 in Seoul
    now = datetime(2026, 11, 22, 20, 38, 41, tzinfo=UTC)
    moved = planned_now(agenda, now)
    assert moved.sessions[0].start == datetime(2026, 11, 23, 5, 38)  # 20:38 UTC is 05:38 the next day in Seoul
    assert moved.sessions[0].start.tzinfo is None  # still local time in the event's zone
    assert moved.sessions[0].items == agenda.sessions[0].items and moved.people == agenda.people


def test_sessions_keep_their_distance_from_the_first() -> None:
    agenda = load_agenda(MAYORS_CALL.parent / "who-city-diplomacy.toml")
    now = datetime.now(ZoneInfo(agenda.timezone))
    moved = planned_now(agenda, now)
    gaps = [s.start - agenda.sessions[0].start for s in agenda.sessions]
    assert [s.start - moved.sessions[0].start for s in moved.sessions] == gaps
    assert abs(moved.sessions[0].start - now.replace(tzinfo=None)) < timedelta(minutes=1)


async def test_the_assistant_chair_runs_the_call_until_the_console_acts(start_server) -> None:  # type: ignore[no-untyped-def]
    server = await start_server(time_scale=FAST_SCALE)
    took_over = asyncio.Event()
    console = DemoConsole(server.url, server.tokens.moderator, took_over)
    await console.connect()
    running = asyncio.create_task(simulate(server.url, server.tokens, took_over))
    try:
        # The assistant starts the call and gives the floor to the opening's listed speaker first.
        async with asyncio.timeout(10):
            while not any(e.event.type == "turn_started" for e in server.read_log()):
                await asyncio.sleep(0.05)
        first_turn = next(e for e in server.read_log() if e.event.type == "turn_started")
        assert first_turn.actor.client == "demo-assistant"
        assert first_turn.event.person == "garcetti"  # type: ignore[union-attr]

        await console.command(c.Pause())  # the console's first command: the chair is the console's now
        assert took_over.is_set()
        mark = server.read_log()[-1].seq
        await console.command(c.Resume())
        await asyncio.sleep(5)  # five minutes of the call at 60x: the opening overruns, its turn runs long
        after = [e for e in server.read_log() if e.seq > mark]
        assert not [e for e in after if e.actor.client == "demo-assistant"], "the assistant acted after the take-over"
        assert any(e.event.type == "hand_raised" for e in after), "the mayors go on raising hands"
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await console.close()


def test_a_crash_of_the_demo_console_exits_1_with_the_reason(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """`modconsole demo` with a console that fails once its screen is up: exit 1, the reason, and still
    where the log is."""
    from typing import Any

    import modconsole.demo as demo
    from modconsole.tui import ConsoleApp

    class Failing(ConsoleApp):
        def _tick(self) -> None:
            super()._tick()
            if self.role_screen is not None and getattr(self.screen, "ready", False):
                raise RuntimeError("the demo broke [b]here[/b]")

        async def run_async(self, *args: Any, **kwargs: Any) -> Any:
            return await super().run_async(headless=True, size=(100, 30))

    monkeypatch.setattr(demo, "create_app", lambda link, **kwargs: Failing(link, **kwargs))
    code = demo.main(False, tmp_path / "demo.db")
    captured = capsys.readouterr()
    assert code == 1, captured.err
    assert "modconsole demo: the console stopped on an error: RuntimeError: the demo broke [b]here[/b]" in captured.err
    assert f"The demo's timing log is in {tmp_path / 'demo.db'}" in captured.out
