"""A large online session, end to end: people registered from a CSV (modconsole-server register, the real
command line), their invitations' tokens used by real participant connections held in worker processes, a
burst of raised hands, every client's queue equal to the server's, and the report's attendance matching
what was simulated.

    python -m pytest tests/server/test_audience_acceptance.py                  # 60 of 80 registrants, 20 raise
    python -m pytest -m slow tests/server/test_audience_acceptance.py -s   # 1,800 of 2,000, 135 countries, 300 raise
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from support.audience import Audience, read_invitations, write_registrants
from support.servers import ROOT, read_log, run_cli

from modconsole.agenda_files import load_agenda
from modconsole.client import MeetingClient
from modconsole.core import commands as c
from modconsole.server.reports import build_report

GETI = ROOT / "examples" / "geti-programme.toml"


async def _scenario(
    start_server: Any, tmp_path: Path, *, registered: int, countries: int, connected: int, raising: int
) -> None:
    db = tmp_path / "audience.db"
    srv = await start_server(agenda=load_agenda(GETI), db=db, leave_grace_s=0.2, max_participants=10_000)
    rows = write_registrants(tmp_path / "registrants.csv", registered, countries)
    out = tmp_path / "invitations.csv"
    done = run_cli(
        "modconsole-server", "register", tmp_path / "registrants.csv", "--db", db, "--invitations", out, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert f"{registered:,} added" in done.stdout
    invitations = read_invitations(out)
    assert len(invitations) == registered and all("#token=" in i["link"] and "?" not in i["link"] for i in invitations)

    moderator = MeetingClient(srv.url, srv.tokens.moderator, client="desk")
    await moderator.connect()
    try:
        await moderator.command(c.Start(session="session-4"))
        tokens = [i["token"] for i in invitations[:connected]]
        raisers = set(range(0, connected, connected // raising))
        assert len(raisers) == raising
        audience = Audience(srv.url, tokens, raisers)
        try:
            assert await audience.start() == connected
            assert await moderator.ping() >= 0
            started = time.monotonic()
            assert await audience.raise_hands() == raising  # every raise acknowledged
            burst_s = time.monotonic() - started
            queue = [h.person for h in srv.state.session("session-4").current_item.queue]  # type: ignore[union-attr]
            assert len(queue) == raising
            queues, people = await audience.queues(queue)
            assert all(q == queue for q in queues)  # every client holds the server's queue, in its order
            assert sorted(people) == sorted(srv.server.events[srv.event_id].attendance.present)
        finally:
            await audience.close()
        runtime = srv.server.events[srv.event_id]
        deadline = time.monotonic() + 30
        while runtime.attendance.present and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)  # the last leaves written with the next commit
        await moderator.command(c.End(session="session-4"))
    finally:
        await moderator.close()
    marks = srv.store.attendance(srv.event_id)
    registrants = [p for _e, p in srv.store.registrants(srv.event_id)]
    report = build_report(read_log(db, srv.event_id), registrants=registrants, attendance_log=marks)
    figures = next(s for s in report.sessions if s.id == "session-4").attendance
    assert figures is not None
    came = rows[:connected]
    assert figures.registered == registered
    assert figures.attended == connected == figures.participants
    assert figures.peak == connected  # they were all connected at once, before the raise
    assert figures.countries == len({r["country"] for r in came})
    genders = Counter(r["gender"] for r in came if r["gender"] != "prefer not to say")
    by_gender = {v.value: v.attended for v in figures.by_tag["gender"].values}
    assert by_gender == dict(genders)
    assert figures.by_tag["gender"].not_given == sum(1 for r in came if r["gender"] == "prefer not to say")
    sectors = Counter(r["sector"] for r in came if r["sector"])
    assert {v.value: v.attended for v in figures.by_tag["sector"].values} == dict(sectors)
    assert report.attendance is not None and report.attendance.attended == connected
    print(f"\n{connected:,} participants, {raising} raised in {burst_s:.2f} s (acknowledged, all queues equal)")


async def test_a_large_online_session_scaled_down(start_server: Any, tmp_path: Path) -> None:
    await _scenario(start_server, tmp_path, registered=80, countries=12, connected=60, raising=20)


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_a_large_online_session(start_server: Any, tmp_path: Path) -> None:
    await _scenario(start_server, tmp_path, registered=2_000, countries=135, connected=1_800, raising=300)
