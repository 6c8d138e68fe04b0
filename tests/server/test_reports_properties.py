"""Properties of the reports over random but valid command scripts.

Hypothesis writes scripts for two sessions side by side (one with a break and a fixed start): at
every step the clock moves on, then one command is picked among those the core accepts right then
(``decide`` is asked for each candidate), from moderators, listed speakers and participants; undo
included. The log is driven like the server does it (scenarios.logs.Sim: apply, or replay after undo).

What must hold, whatever the script:

- a turn never outlasts its item's running time (nor do all of an item's turns together);
- a session's time is its items' running time plus its pauses, nothing else: no time falls
  between items (no "between items" line), and the parts of ``overrun_explained`` add up to
  ``overrun_s``; for an ended session the overrun is actual less planned, and the unplanned part
  is the overrun less the extension. Ended or not, the overrun is actual less the plan used so far
  (``planned_so_far_s``: all of it once ended, never more than all of it), and its percentage is of
  that plan, in the totals too. With a clock in whole seconds every one of these is exact;
  with milliseconds it holds within the 0.1 s rounding of each figure;
- speaking shares for every tag add up to 100 % within rounding (0.05 per row);
- voided entries never count: the report of the log equals the report of the log with the voided
  entries and the undos taken out, but for the audit;
- the same log gives the same report, object and bytes.
"""

from __future__ import annotations

from datetime import datetime, time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modconsole.core import commands as c
from modconsole.core.agenda import Agenda, ItemKind, ItemPlan, Person, SessionPlan, local_to_ms
from modconsole.core.decide import Rejected, decide
from modconsole.core.events import MessageSent
from modconsole.server.reports import FORMATS, TABLES, Report, build_report, render
from modconsole.server.store import Entry
from scenarios.logs import Sim, participant_id

AGENDA = Agenda(
    title="Property test event",
    timezone="Europe/Zurich",
    people=(
        Person(id="ana", name="Ana", affiliation="Geneva", tags={"gender": "female", "country": "CH"}),
        Person(id="ben", name="Ben", tags={"gender": "male", "country": "DE"}),
        Person(id="chi", name="Chi", affiliation="Lagos", tags={"country": "NG"}),
        Person(id="dee", name="Dee"),
    ),
    sessions=(
        SessionPlan(
            id="main",
            title="Main hall",
            start=datetime(2024, 5, 6, 9, 0),
            room="A",
            items=(
                ItemPlan(id="open", title="Opening", kind=ItemKind.opening, duration_s=120, speakers=("ana",)),
                ItemPlan(id="talk", title="Talk", kind=ItemKind.talk, duration_s=300, speakers=("ben",)),
                ItemPlan(id="break", title="Break", kind=ItemKind.break_, duration_s=300),
                ItemPlan(
                    id="disc",
                    title="Discussion",
                    kind=ItemKind.discussion,
                    duration_s=600,
                    fixed_start=time(9, 20),
                    turn_limit_s=60,
                ),
                ItemPlan(id="close", title="Closing", kind=ItemKind.closing, duration_s=120, speakers=("ana",)),
            ),
        ),
        SessionPlan(
            id="side",
            title="Side room",
            start=datetime(2024, 5, 6, 9, 0),
            room="B",
            items=(
                ItemPlan(id="intro", title="Intro", kind=ItemKind.talk, duration_s=180, speakers=("chi",)),
                ItemPlan(id="qa", title="Q&A", kind=ItemKind.qa, duration_s=300, turn_limit_s=45),
            ),
        ),
    ),
)
START = local_to_ms(datetime(2024, 5, 6, 9, 0), AGENDA.zone)
MODERATOR = c.Actor(role="moderator", client="desk")
SPEAKERS = [c.Actor(role="speaker", person=p.id, client=p.id) for p in AGENDA.people]
PARTICIPANTS = [
    c.Actor(role="participant", person=participant_id("prop", name), name=name, client="web")
    for name in ("Zoë", "Ярослав", "Li Wei")
]
PEOPLE = [p.id for p in AGENDA.people] + [a.person for a in PARTICIPANTS]  # type: ignore[misc]


def _candidates(session: str) -> list[tuple[c.Command, c.Actor]]:
    s = {"session": session}
    items = [i.id for i in AGENDA.session(session).items]  # type: ignore[union-attr]
    mod: list[c.Command] = [
        c.Start(**s),
        c.Pause(**s),
        c.Resume(**s),
        c.Next(**s),
        c.Next(**s),
        c.Prev(**s),
        c.End(**s),
        c.Undo(**s),
        c.Skip(**s),
        c.AddTime(delta_s=60, **s),
        c.AddTime(delta_s=-30, **s),
        c.AddTime(delta_s=20, turn=True, **s),
        c.Extend(delta_s=300, **s),
        c.Extend(delta_s=-120, **s),
        c.Floor(**s),
        c.Floor(**s),
        c.EndTurn(**s),
        c.EndTurn(**s),
        c.PauseTurn(**s),
        c.ResumeTurn(**s),
        c.SetTurnLimit(limit_s=30, **s),
        c.SetTurnLimit(limit_s=None, **s),
        c.CloseQueue(**s),
        c.OpenQueue(**s),
        c.ApplyPlan(**s),
        c.SendMessage(text="Please wrap up", to="floor", **s),
        *(c.Goto(item=i, **s) for i in items),
        *(c.Skip(item=i, **s) for i in items),
        *(c.QueueAdd(person=p.id, kind="question", **s) for p in AGENDA.people),
        *(c.QueueRemove(person=p, **s) for p in PEOPLE),
        *(c.QueueMove(person=p, position=1, **s) for p in PEOPLE),
        *(c.Floor(person=p.id, **s) for p in AGENDA.people),
    ]
    out = [(command, MODERATOR) for command in mod]
    for actor in [*SPEAKERS, *PARTICIPANTS]:
        out += [(c.Raise(kind=kind, **s), actor) for kind in ("contribution", "point_of_order")]  # type: ignore[arg-type]
        out += [(c.Lower(**s), actor), (c.Ack(), actor)]
    return out


CANDIDATES = {s.id: _candidates(s.id) for s in AGENDA.sessions}


@st.composite
def scripts(draw: st.DrawFn, *, whole_seconds: bool) -> list[Entry]:
    sim = Sim(AGENDA, "prop", START - 60_000)
    sim.now = START - 30_000
    steps = draw(st.integers(min_value=1, max_value=45))
    for _ in range(steps):
        if whole_seconds:
            sim.now += 1000 * draw(st.integers(min_value=0, max_value=240))
        else:
            sim.now += draw(st.integers(min_value=0, max_value=240_000))
        session = draw(st.sampled_from([s.id for s in AGENDA.sessions]))
        valid = [
            (cmd, actor)
            for cmd, actor in CANDIDATES[session]
            if not isinstance(decide(sim.state, cmd, actor, sim.now), Rejected)
        ]
        if not valid:
            continue
        command, actor = draw(st.sampled_from(valid))
        assert not isinstance(sim.attempt(command, actor), Rejected)
    if draw(st.booleans()):  # often the meeting is over when the report is made
        for s in AGENDA.sessions:
            sim.now += 1000 * draw(st.integers(min_value=0, max_value=60))
            sim.attempt(c.End(session=s.id), MODERATOR)
    return sim.entries


def _rounding(whole_seconds: bool, figures: int) -> float:
    """How far a sum of ``figures`` rounded figures can stray: nothing in whole seconds."""
    return 1e-6 if whole_seconds else 0.05 * figures + 1e-6


def _pct_rounding(whole_seconds: bool, part: float, whole: float, figures: int) -> float:
    """How far a percentage (rounded to 0.1) can stray from one worked out again from its part and whole,
    each a sum of ``figures`` figures rounded to 0.1 s: far, when the whole is a fraction of a second."""
    slack = _rounding(whole_seconds, figures)
    return 0.05 + 1e-6 + 100 * slack * (1 + abs(part) / whole) / max(whole - slack, 1e-9)


def _check_timing(report: Report, whole_seconds: bool) -> None:
    turns_of: dict[tuple[str, str], list[float]] = {}
    for turn in report.turns:
        turns_of.setdefault((turn.session, turn.item), []).append(turn.speaking_s)
    for session in report.sessions:
        for item in session.items:
            mine = turns_of.get((session.id, item.id), [])
            assert item.turns == len(mine)
            for speaking in mine:
                assert 0 <= speaking <= item.actual_duration_s + _rounding(whole_seconds, 2), (session.id, item.id)
            assert sum(mine) <= item.actual_duration_s + _rounding(whole_seconds, len(mine) + 1)
        if session.actual_start is None:
            assert session.actual_duration_s == 0 and not session.overrun_explained
            assert session.planned_so_far_s == session.overrun_pct == 0
            continue
        # The overrun and its percentage are of the plan used so far; so are the totals'.
        assert session.actual_duration_s - session.planned_so_far_s == pytest.approx(
            session.overrun_s, abs=_rounding(whole_seconds, 3)
        )
        # Used so far: never more than the whole plan, before the event or in force (time added live counts
        # in the items' plan in force while the session runs; once it has ended, the plan before is the
        # figure, the live changes explained beside it).
        in_force = session.planned_duration_s + session.live_changes_s
        assert 0 <= session.planned_so_far_s <= max(session.planned_duration_s, in_force)
        if session.actual_end is not None:
            assert session.planned_so_far_s == session.planned_duration_s
        if session.planned_so_far_s:
            assert session.overrun_pct == pytest.approx(
                100 * session.overrun_s / session.planned_so_far_s,
                abs=_pct_rounding(whole_seconds, session.overrun_s, session.planned_so_far_s, 1),
            )
        ran = sum(item.actual_duration_s for item in session.items)
        slack = _rounding(whole_seconds, len(session.items) + 2)
        assert ran + session.paused_s == pytest.approx(session.actual_duration_s, abs=slack)
        assert not any(part.what.startswith("between items") for part in session.overrun_explained)
        # Every part is at least a second (smaller ones are left out): in whole seconds they are exactly 0.
        explained = sum(part.seconds for part in session.overrun_explained)
        parts = len(session.items) + 4
        assert explained == pytest.approx(session.overrun_s, abs=slack if whole_seconds else 1.0 * parts)
        if session.actual_end is not None:
            assert session.overrun_s == pytest.approx(
                session.actual_duration_s - session.planned_duration_s, abs=_rounding(whole_seconds, 2)
            )
        assert session.unplanned_overrun_s == pytest.approx(
            session.overrun_s - session.extended_s, abs=_rounding(whole_seconds, 2)
        )
    assert report.totals.speaking_s == pytest.approx(
        sum(t.speaking_s for t in report.turns), abs=_rounding(whole_seconds, 1)
    )
    for totals in [report.totals, *(d.totals for d in report.days)]:
        assert totals.actual_duration_s - totals.planned_so_far_s == pytest.approx(
            totals.overrun_s, abs=_rounding(whole_seconds, 3 * len(report.sessions))
        )
        if totals.planned_so_far_s:
            assert totals.overrun_pct == pytest.approx(
                100 * totals.overrun_s / totals.planned_so_far_s,
                abs=_pct_rounding(whole_seconds, totals.overrun_s, totals.planned_so_far_s, len(report.sessions)),
            )


def _check_shares(report: Report) -> None:
    total = sum(p.speaking_s for p in report.people)
    for key, shares in report.shares.items():
        assert sum(s.turns for s in shares) == sum(p.turns for p in report.people), key
        assert sum(s.speaking_s for s in shares) == pytest.approx(total, abs=0.05 * len(shares) + 1e-6)
        if total > 0:
            assert sum(s.share_pct for s in shares) == pytest.approx(100.0, abs=0.05 * len(shares) + 1e-6), key
        else:
            assert all(s.share_pct == 0 for s in shares)


def _without_voided(entries: list[Entry]) -> list[Entry]:
    voided = {seq for e in entries if e.event.type == "undone" for seq in e.event.seqs}  # type: ignore[union-attr]
    return [e for e in entries if e.seq not in voided and e.event.type != "undone"]


def _closing(entries: list[Entry]) -> Entry:
    """A last entry that changes no figure, so both logs end at the same time."""
    last = max(e.ts for e in entries)
    event = MessageSent(at=last, message_id="m-end", to="all", text="end of the log")
    return Entry.make(entries[-1].seq + 1, last, MODERATOR, event)


_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("whole_seconds", [True, False], ids=["seconds", "milliseconds"])
def test_report_properties(whole_seconds: bool) -> None:
    @_SETTINGS
    @given(scripts(whole_seconds=whole_seconds))
    def check(entries: list[Entry]) -> None:
        report = build_report(entries)
        _check_timing(report, whole_seconds)
        _check_shares(report)
        for day in {s.day for s in report.sessions}:
            by_day = build_report(entries, day=datetime.fromisoformat(day).date())
            _check_timing(by_day, whole_seconds)
            _check_shares(by_day)
        for session in AGENDA.sessions:
            alone = build_report(entries, session=session.id)
            assert [s.id for s in alone.sessions] == [session.id]
            assert alone.sessions[0] == next(s for s in report.sessions if s.id == session.id)
            _check_shares(alone)

    check()


@_SETTINGS
@given(scripts(whole_seconds=False))
def test_voided_entries_never_count(entries: list[Entry]) -> None:
    closing = _closing(entries)
    with_undo = build_report([*entries, closing])
    without = build_report([*_without_voided(entries), closing])
    keep = {"sessions", "days", "totals", "people", "turns", "shares", "rehearsal", "time_scales", "as_of"}
    assert with_undo.model_dump(include=keep) == without.model_dump(include=keep)
    voided = len(entries) - len(_without_voided(entries)) - sum(e.event.type == "undone" for e in entries)
    assert len(with_undo.audit) == voided
    assert without.audit == []


@_SETTINGS
@given(scripts(whole_seconds=False))
def test_same_log_same_report(entries: list[Entry]) -> None:
    first, second = build_report(entries), build_report(list(entries))
    assert first == second
    for fmt in FORMATS:
        for table in TABLES if fmt == "csv" else ("sessions",):
            assert render(first, fmt, table) == render(second, fmt, table)
