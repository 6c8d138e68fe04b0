"""Live reports (sessions not ended): the headline figures add up on their own line.

Before an end, a session's overrun is measured against the plan used so far (items done, and the item
under way up to its own plan), not against its whole plan: "planned 45:00, ran 1:42:36, 59:30 over
plan" did not add up. Each line now names the plan its overrun and percentage are of, so that ran less
that plan is the overrun, which is also the "Together" of the list of reasons and the sum of the item
table. A programme reported after its first day gives its percentage of that day's plan, and says so.
A session under way reads "actual 23:15– (running)", not "23:15–—".
"""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest
from support.harness import ROOT

from modconsole.agenda_files import load_agenda
from modconsole.core import commands as c
from modconsole.core.agenda import local_to_ms
from modconsole.server.reports import Report, SessionReport, build_report, render
from modconsole.server.store import Entry
from scenarios.logs import Sim, who_seminar

AGENDA = load_agenda(ROOT / "examples" / "mayors-call.toml")
START = local_to_ms(datetime(2020, 3, 27, 23, 15), AGENDA.zone)
MOD = c.Actor(role="moderator", client="desk")
DUR = r"-?\d+(?::\d\d){1,2}"


def secs(text: str) -> int:
    """ "1:42:36" or "43:06" (or "-7:12") in seconds."""
    sign = -1 if text.startswith("-") else 1
    total = 0
    for part in text.lstrip("-").split(":"):
        total = total * 60 + int(part)
    return sign * total


def signed_secs(text: str) -> int:
    return secs(text.lstrip("+"))


def over_secs(amount: str, word: str) -> int:
    return secs(amount) * (1 if word in ("over", "behind") else -1)


def live_call(minutes: tuple[float, ...], running_for: float, *, pause_s: int = 0) -> tuple[Sim, int]:
    """The mayors' call started on time; each item in ``minutes`` ran that long, then the next one has been
    running for ``running_for`` minutes (with a pause of ``pause_s`` in it) when the report is asked for."""
    sim = Sim(AGENDA, "mayors", START - 60_000)
    sim.now = START
    sim.do(c.Start(), MOD)
    for length in minutes:
        sim.now += round(length * 60_000)
        sim.do(c.Next(), MOD)
    if pause_s:
        sim.now += 30_000
        sim.do(c.Pause(), MOD)
        sim.now += pause_s * 1000
        sim.do(c.Resume(), MOD)
        sim.now += round(running_for * 60_000) - 30_000
    else:
        sim.now += round(running_for * 60_000)
    return sim, sim.now


def only_session(report: Report) -> SessionReport:
    (session,) = report.sessions
    return session


def summary_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("- ") and "planned" in line)


def check_session_adds_up(report: Report, text: str) -> None:
    """For one session not ended: the summary, the "Not ended" sentence, the reasons and the item table
    agree with each other and with the JSON."""
    session = only_session(report)
    assert session.actual_end is None
    # The JSON: ran less the plan used so far is the overrun; its percentage is of that plan.
    data = json.loads(render(report, "json"))
    for figures in (data["sessions"][0], data["totals"]):
        assert figures["actual_duration_s"] - figures["planned_so_far_s"] == pytest.approx(figures["overrun_s"])
        assert figures["overrun_pct"] == round(100 * figures["overrun_s"] / figures["planned_so_far_s"], 1)
    # The summary line: planned (all of it), ran so far, against the plan used so far: over by the difference.
    line = summary_line(text)
    found = re.fullmatch(
        rf"- 1 session, not ended: planned ({DUR}); ran ({DUR}) so far, against the ({DUR}) of plan used by the "
        rf"items done or under way: ({DUR}) (over|under) plan \(([+-]\d+\.\d) % of ({DUR})\)",
        line,
    )
    assert found, line
    planned, ran, so_far, amount, word, pct, base = found.groups()
    assert secs(planned) == session.planned_duration_s
    assert secs(ran) - secs(so_far) == over_secs(amount, word)
    assert base == so_far and float(pct) == session.overrun_pct
    assert secs(so_far) == round(session.planned_so_far_s) < session.planned_duration_s
    # The same figures in the session's own sentence.
    found = re.search(
        rf"Not ended: (running|paused) when the log stops\. Planned ({DUR}); ran ({DUR}) so far, "
        rf"against the ({DUR}) of plan used by the items done or under way: ({DUR}) (behind|ahead of) "
        rf"plan so far \(([+-]\d+\.\d) % of ({DUR})\)\.",
        text,
    )
    assert found, text
    assert found.group(2, 3, 4) == (planned, ran, so_far)
    assert over_secs(found.group(5), found.group(6)) == over_secs(amount, word)
    # The reasons: against the same plan, together the same overrun.
    assert f"Where the time went, against the {so_far} of plan used so far:" in text
    [together] = re.findall(rf"- Together: ([+-]?{DUR})", text)
    assert signed_secs(together) == over_secs(amount, word)
    # The item table: each item's ± added up, with the pauses and the time between items, is that overrun.
    table = sum(i.over_under_s for i in session.items if i.actual_start is not None)
    others = sum(p.seconds for p in session.overrun_explained if not p.what.startswith("item "))
    assert round(table + others) == over_secs(amount, word)
    assert round(sum(i.actual_duration_s for i in session.items) + session.paused_s) == secs(ran)


def test_a_live_report_reads_ran_against_the_plan_used_so_far() -> None:
    # 4:30, 15:00, 18:00 and 62:00 for items planned 3, 10, 12 and 15 minutes; the closing (5:00) 3:06 in.
    sim, now = live_call((4.5, 15, 18, 62), 3.1)
    report = build_report(sim.entries, now=now)
    text = render(report, "md")
    check_session_adds_up(report, text)
    session = only_session(report)
    # 1:42:36 ran against 3 + 10 + 12 + 15 minutes of plan and the closing's 3:06 so far: 59:30 over.
    assert (session.actual_duration_s, session.planned_so_far_s, session.overrun_s) == (6156, 2586, 3570)
    assert (
        "planned 45:00; ran 1:42:36 so far, against the 43:06 of plan used by the items done or under way: "
        "59:30 over plan (+138.1 % of 43:06)" in text
    )
    assert (
        "| Closing: the chair proposes a standing platform | 5:00 | 5:00 | 3:06 | 0:00 | 23:55 | 00:54 | under way |"
        in text
    )
    page = render(report, "html")
    assert "against the 43:06 of plan used by the items done or under way: 59:30 over plan" in page


def test_a_live_report_with_a_pause_and_the_item_under_way_past_its_plan() -> None:
    sim, now = live_call((3, 12, 14), 21, pause_s=240)  # the discussion (15:00) 21 minutes in, 4 of them paused
    report = build_report(sim.entries, now=now)
    text = render(report, "md")
    check_session_adds_up(report, text)
    session = only_session(report)
    assert session.status == "running" and session.paused_s == 240
    assert session.planned_so_far_s == (3 + 10 + 12 + 15) * 60  # the item under way has used all of its plan
    assert "Session paused: +4:00" in text


def test_a_live_report_ahead_of_plan() -> None:
    sim, now = live_call((2, 8), 4)  # quicker than planned; the cities' item (12:00) 4 minutes in
    report = build_report(sim.entries, now=now)
    text = render(report, "md")
    check_session_adds_up(report, text)
    assert "3:00 ahead of plan so far" in text and "3:00 under plan" in text


def test_a_session_under_way_shows_its_actual_range_readably() -> None:
    sim, now = live_call((3,), 4)
    text = render(build_report(sim.entries, now=now), "md")
    assert "planned 23:15–00:00, actual 23:15– (running)" in text
    sim.do(c.Pause(), MOD)
    sim.now += 60_000
    text = render(build_report(sim.entries, now=sim.now), "md")
    assert "planned 23:15–00:00, actual 23:15– (paused)" in text
    assert "Not ended: paused when the log stops." in text
    assert "–—" not in text


# --------------------------------------------------------------------------- a programme of several days


@pytest.fixture(scope="module")
def who() -> list[Entry]:
    return who_seminar(seed=0, target_entries=3_000)


def cut_after(entries: list[Entry], count: int, kind: str) -> list[Entry]:
    """The log up to the ``count``-th entry of type ``kind``."""
    seen = 0
    for index, entry in enumerate(entries):
        if entry.event.type == kind:
            seen += 1
            if seen == count:
                return entries[: index + 1]
    raise AssertionError(f"fewer than {count} {kind}")


def test_a_programme_after_its_first_day_gives_its_percentage_of_that_day(who: list[Entry]) -> None:
    entries = cut_after(who, 1, "session_ended")
    report = build_report(entries, now=entries[-1].ts + 3_600_000)
    t = report.totals
    day_one = report.sessions[0]
    assert day_one.actual_end is not None and all(s.actual_start is None for s in report.sessions[1:])
    assert t.planned_duration_s == 25 * 3600 + 45 * 60
    assert t.planned_so_far_s == day_one.planned_duration_s == 6 * 3600 + 15 * 60
    assert t.overrun_pct == round(100 * t.overrun_s / t.planned_so_far_s, 1) == day_one.overrun_pct
    text = render(report, "md")
    line = summary_line(text)
    found = re.fullmatch(
        rf"- 6 sessions \(their times added up\): planned ({DUR}) \(1 ended, 5 not started\); ran ({DUR}) so far, "
        rf"against the ({DUR}) planned for the session run so far: ({DUR}) (over|under) plan "
        rf"\(([+-]\d+\.\d) % of ({DUR})\)",
        line,
    )
    assert found, line
    planned, ran, so_far, amount, word, pct, base = found.groups()
    assert (planned, so_far, base) == ("25:45:00", "6:15:00", "6:15:00")
    assert secs(ran) - secs(so_far) == over_secs(amount, word)
    assert float(pct) == t.overrun_pct
    # The days table says what each day's ± is of; a day not started has none of its plan used.
    assert "| day | sessions | planned | planned so far | ran | ± | extended | turns |" in text
    assert "| 2018-11-21 | 4 | 12:00:00 | 0:00 | 0:00 | 0:00 | 0:00 | 0 |" in text
    # The sessions not started say so, without a range of dashes.
    assert text.count("planned 09:30–12:30, not started") == 2
    assert "–—" not in text and "—–" not in text
    page = render(report, "html")
    assert "<th>planned so far</th>" in page and "planned for the session run so far" in page


def test_a_programme_with_sessions_ended_and_under_way(who: list[Entry]) -> None:
    # Day one ended, the first of day two's sessions ended; the second one (in the other hall) still running.
    first_day_two = cut_after(who, 2, "session_ended")
    started = sum(e.event.type == "session_started" for e in first_day_two)
    entries = first_day_two
    ended = {e.event.session for e in entries if e.event.type == "session_ended"}  # type: ignore[union-attr]
    report = build_report(entries)
    under_way = [s for s in report.sessions if s.actual_start is not None and s.actual_end is None]
    assert len(ended) == 2 and started == 3 and len(under_way) == 1
    t = report.totals
    assert t.planned_so_far_s == pytest.approx(sum(s.planned_so_far_s for s in report.sessions))
    assert t.actual_duration_s - t.planned_so_far_s == pytest.approx(t.overrun_s, abs=0.05)
    line = summary_line(render(report, "md"))
    found = re.fullmatch(
        rf"- 6 sessions \(their times added up\): planned 25:45:00 \(2 ended, 1 under way, 3 not started\); "
        rf"ran ({DUR}) so far, against the ({DUR}) of plan used so far \(all of it for the 2 sessions ended; for "
        rf"those under way, what their items done or under way used\): ({DUR}) (over|under) plan "
        rf"\(([+-]\d+\.\d) % of ({DUR})\)",
        line,
    )
    assert found, line
    ran, so_far, amount, word, pct, base = found.groups()
    assert abs(secs(ran) - secs(so_far) - over_secs(amount, word)) <= 1  # each figure rounded to the second
    assert base == so_far and float(pct) == t.overrun_pct


def test_nothing_started_yet() -> None:
    sim = Sim(AGENDA, "mayors", START - 60_000)
    sim.now = START - 30_000
    sim.set_clock()
    text = render(build_report(sim.entries, now=sim.now), "md")
    assert "- 1 session: planned 45:00; not started yet" in text
    assert "planned 23:15–00:00, not started" in text
