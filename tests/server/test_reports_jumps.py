"""Planned against actual after a stray goto: an item visited for no time, and items jumped over.

The mayors' call: the chair sends ``goto closing`` by mistake five minutes into the Seoul briefing and
``prev`` at once. The closing has then run for no time; until the session comes back to it, it has not
used up its plan, so the live report neither counts it as five minutes saved nor as an item under.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from support.harness import ROOT

from modconsole.agenda_files import load_agenda
from modconsole.core import commands as c
from modconsole.core.agenda import local_to_ms, ms_to_local
from modconsole.server.reports import Report, SessionReport, build_report
from scenarios.logs import Sim

AGENDA = load_agenda(ROOT / "examples" / "mayors-call.toml")
START = local_to_ms(datetime(2020, 3, 27, 23, 15), AGENDA.zone)
MOD = c.Actor(role="moderator", client="desk")


def iso(ms: int) -> str:
    return ms_to_local(ms, AGENDA.zone).isoformat(timespec="seconds")


def stray_goto() -> tuple[Sim, int]:
    """Started on time; the opening ran its 3 minutes, the briefing 5 of its 10, then goto closing and prev."""
    sim = Sim(AGENDA, "mayors", START - 60_000)
    sim.now = START
    sim.do(c.Start(), MOD)
    sim.now += 3 * 60_000
    sim.do(c.Next(), MOD)
    sim.now += 5 * 60_000
    went = sim.now
    sim.do(c.Goto(item="closing"), MOD)
    (back,) = sim.do(c.Prev(), MOD)
    assert back.item == "seoul-briefing"  # type: ignore[attr-defined]
    return sim, went


def session_of(report: Report) -> SessionReport:
    (session,) = report.sessions
    return session


def test_the_live_report_counts_no_time_saved_on_an_item_still_to_come() -> None:
    sim, went = stray_goto()
    sim.now += 2 * 60_000
    session = session_of(build_report(sim.entries, now=sim.now))
    closing = next(item for item in session.items if item.id == "closing")
    assert (closing.status, closing.actual_duration_s, closing.actual_start) == ("done", 0.0, iso(went))
    assert closing.over_under_s == 0.0
    # Ten minutes in, ten minutes of plan used (3 + 7): on time, not five minutes ahead.
    assert session.actual_duration_s == 600.0
    assert session.overrun_s == 0.0
    assert not any("closing" in part.what for part in session.overrun_explained)
    cities = next(item for item in session.items if item.id == "cities-share")
    assert (cities.status, cities.actual_start, cities.actual_duration_s) == ("pending", None, 0.0)


def test_coming_back_to_the_closing_reports_its_real_run() -> None:
    sim, went = stray_goto()
    sim.now += 5 * 60_000  # the rest of the briefing
    for minutes in (12, 15, 5):  # cities, discussion, closing: each its plan
        sim.do(c.Next(), MOD)
        sim.now += minutes * 60_000
    sim.do(c.End(), MOD)
    session = session_of(build_report(sim.entries))
    closing = next(item for item in session.items if item.id == "closing")
    assert (closing.actual_duration_s, closing.over_under_s, closing.reopened) == (300.0, 0.0, 1)
    assert closing.actual_start == iso(went)  # its first start: the stray visit, counted as a reopening
    assert session.actual_duration_s == session.planned_duration_s == 45 * 60
    assert session.overrun_s == 0.0 and session.overrun_explained == []


def test_a_closing_never_come_back_to_ran_for_no_time() -> None:
    sim, went = stray_goto()
    sim.now += 5 * 60_000
    for minutes in (12, 15):
        sim.do(c.Next(), MOD)
        sim.now += minutes * 60_000
    sim.do(c.End(), MOD)
    session = session_of(build_report(sim.entries))
    closing = next(item for item in session.items if item.id == "closing")
    assert (closing.status, closing.actual_duration_s, closing.actual_start) == ("done", 0.0, iso(went))
    assert closing.over_under_s == -300.0
    assert session.overrun_s == pytest.approx(session.actual_duration_s - session.planned_duration_s) == -300.0
    assert sum(part.seconds for part in session.overrun_explained) == session.overrun_s
