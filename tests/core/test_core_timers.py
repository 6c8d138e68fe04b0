"""Timers: item and turn time across pauses, paused time, and the phases of items and turns."""

from __future__ import annotations

import pytest
from support.harness import MAYORS_START, Harness, make_agenda

from modconsole.core import commands as c
from modconsole.core.agenda import Agenda, ItemPlan, Person, SessionPlan
from modconsole.core.projection import item_phase, phase, turn_phase


def elapsed_s(h: Harness) -> tuple[float, float]:
    item = h.current
    assert item.floor is not None
    return item.timer.elapsed_ms(h.now) / 1000, item.floor.timer.elapsed_ms(h.now) / 1000


def test_session_pause_freezes_item_and_turn() -> None:
    h = Harness(make_agenda([600, 600]))
    h.ok(c.Start())
    h.advance(20)
    h.ok(c.Floor(person="ann"))
    h.advance(30)
    assert elapsed_s(h) == (50, 30)
    h.ok(c.Pause())
    h.advance(100)
    assert elapsed_s(h) == (50, 30)
    assert h.view()["paused_s"] == 100
    h.ok(c.Resume())
    h.advance(10)
    assert elapsed_s(h) == (60, 40)
    assert h.session.paused_ms == 100_000
    assert h.current.timer.pauses == 1
    # The session's own elapsed time is wall time on the event clock, pauses included.
    assert h.view()["elapsed_s"] == 160


def test_a_turn_paused_by_the_moderator_stays_paused_through_a_session_pause() -> None:
    h = Harness(make_agenda([600]))
    h.ok(c.Start())
    h.ok(c.Floor(person="ann"))
    h.advance(30)
    h.ok(c.PauseTurn())
    h.rejected(c.PauseTurn(), code="invalid_state")
    h.advance(10)
    h.ok(c.Pause())
    h.advance(60)
    h.ok(c.Resume())
    h.advance(10)
    assert h.current.floor is not None and h.current.floor.paused
    assert elapsed_s(h) == (50, 30)  # the item ran on around the paused turn, not during the session pause
    h.ok(c.ResumeTurn())
    h.advance(5)
    assert elapsed_s(h) == (55, 35)
    h.rejected(c.ResumeTurn(), code="invalid_state")


def test_a_turn_resumed_while_the_session_is_paused_waits_for_the_session() -> None:
    h = Harness(make_agenda([600]))
    h.ok(c.Start())
    h.ok(c.Floor(person="ann"))
    h.advance(10)
    h.ok(c.PauseTurn())
    h.ok(c.Pause())
    h.ok(c.ResumeTurn())
    h.advance(40)
    assert elapsed_s(h) == (10, 10)
    h.ok(c.Resume())
    h.advance(5)
    assert elapsed_s(h) == (15, 15)


def test_a_turn_started_while_the_session_is_paused_starts_on_resume() -> None:
    h = Harness(make_agenda([600]))
    h.ok(c.Start())
    h.advance(10)
    h.ok(c.Pause())
    h.ok(c.Floor(person="ann"))
    h.advance(30)
    assert elapsed_s(h) == (10, 0)
    h.ok(c.Resume())
    h.advance(7)
    assert elapsed_s(h) == (17, 7)


def test_paused_time_is_counted_until_the_end() -> None:
    h = Harness(make_agenda([600, 600]))
    h.ok(c.Start())
    h.advance(60)
    h.ok(c.Pause())
    h.advance(45)
    h.ok(c.Resume())
    h.advance(60)
    h.ok(c.Pause())
    h.advance(30)
    assert h.view()["paused_s"] == 75  # 45 s counted, 30 s ongoing
    h.ok(c.End())  # ending while paused closes the pause
    assert h.session.paused_ms == 75_000 and h.session.paused_since is None
    h.advance(1000)
    assert h.view()["paused_s"] == 75
    assert h.view()["elapsed_s"] == 195
    assert h.item("i0").timer.elapsed_ms(h.now) == 120_000


def agenda_with_thresholds(duration_s: int, warning_s: int, danger_s: int) -> Agenda:
    item = ItemPlan(id="talk", title="Talk", duration_s=duration_s, warning_s=warning_s, danger_s=danger_s)
    return Agenda(
        title="Phases",
        timezone="Europe/Zurich",
        people=(Person(id="ann", name="Ann"),),
        sessions=(SessionPlan(id="s", title="S", start=MAYORS_START, items=(item,)),),
    )


@pytest.mark.parametrize(
    ("duration_s", "warning_s", "danger_s"),
    [(300, 120, 30), (600, 60, 10), (90, 120, 30)],
)
def test_item_phases_turn_at_the_thresholds(duration_s: int, warning_s: int, danger_s: int) -> None:
    h = Harness(agenda_with_thresholds(duration_s, warning_s, danger_s))
    h.ok(c.Start())
    spec = h.agenda.sessions[0].items[0]

    def at(elapsed: float) -> str:
        now = h.session.started_at + round(elapsed * 1000)  # type: ignore[operator]
        return item_phase(spec, h.current, now)

    warn_at = max(0, duration_s - warning_s)
    danger_at = max(0, duration_s - danger_s)
    if warn_at > 0:
        assert at(warn_at - 0.001) == "normal"
    assert at(warn_at) == ("warning" if warn_at < danger_at else "danger")
    if danger_at > 0:
        assert at(danger_at - 0.001) in ("normal", "warning")
    assert at(danger_at) == "danger"
    assert at(duration_s - 0.001) == "danger"
    assert at(duration_s) == "overtime"
    assert at(duration_s + 3600) == "overtime"
    h.advance(duration_s)
    assert h.view()["items"][0]["phase"] == "overtime"  # type: ignore[index]
    # Added time moves the item out of overtime.
    h.ok(c.AddTime(delta_s=warning_s + 1))
    assert h.view()["items"][0]["phase"] == "normal"  # type: ignore[index]


def test_phase_boundaries() -> None:
    assert phase(121, 120, 30) == "normal"
    assert phase(120, 120, 30) == "warning"
    assert phase(31, 120, 30) == "warning"
    assert phase(30, 120, 30) == "danger"
    assert phase(0.5, 120, 30) == "danger"
    assert phase(0, 120, 30) == "overtime"
    assert phase(-5, 120, 30) == "overtime"


def test_turn_phases_with_a_limit() -> None:
    h = Harness(make_agenda([1800], turn_limit_s=120))
    h.ok(c.Start())
    h.ok(c.Floor(person="ann"))
    turn = h.current.floor
    assert turn is not None and turn.limit_s == 120
    start = h.now

    def at(elapsed_s: float) -> str:
        return turn_phase(turn, start + round(elapsed_s * 1000))

    # A fifth of 120 s is 24 s of warning; danger in the last 10 s.
    assert at(95) == "normal"
    assert at(96) == "warning"
    assert at(109) == "warning"
    assert at(110) == "danger"
    assert at(119.9) == "danger"
    assert at(120) == "overtime"
    h.advance(100)
    assert h.view()["floor"]["phase"] == "warning"  # type: ignore[index]
    h.ok(c.AddTime(delta_s=60, turn=True))
    assert h.current.floor is not None and h.current.floor.effective_limit_s == 180
    assert h.view()["floor"]["phase"] == "normal"  # type: ignore[index]
    assert h.view()["floor"]["limit_s"] == 180  # type: ignore[index]
    h.rejected(c.AddTime(delta_s=-181, turn=True), code="invalid")


def test_short_turn_limits_and_no_limit() -> None:
    h = Harness(make_agenda([1800], turn_limit_s=30))
    h.ok(c.Start())
    h.ok(c.Floor(person="ann"))
    turn = h.current.floor
    assert turn is not None
    assert turn_phase(turn, h.now + 14_000) == "normal"
    assert turn_phase(turn, h.now + 15_000) == "warning"  # at least 15 s of warning
    assert turn_phase(turn, h.now + 20_000) == "danger"
    h.ok(c.SetTurnLimit(limit_s=None))
    h.ok(c.Floor(person="bob"))
    turn = h.current.floor
    assert turn is not None and turn.limit_s is None
    assert turn_phase(turn, h.now + 10_000_000) == "normal"
    # With no limit there is nothing to shorten; "more time" gives the turn a limit: what it ran, plus that.
    h.rejected(c.AddTime(delta_s=-30, turn=True), code="invalid_state")
    h.ok(c.AddTime(delta_s=30, turn=True))
    assert h.current.floor is not None and h.current.floor.effective_limit_s == 30


def test_a_turn_ends_with_its_item_and_is_recorded() -> None:
    h = Harness(make_agenda([600, 600], turn_limit_s=60))
    h.ok(c.Start())
    h.ok(c.Floor(person="ann"))
    h.advance(42)
    h.ok(c.Next())
    (turn,) = h.item("i0").turns
    assert (turn.person, turn.timer.accumulated_ms, turn.ended_at) == ("ann", 42_000, h.now)
    assert not turn.timer.running and h.item("i0").floor is None
