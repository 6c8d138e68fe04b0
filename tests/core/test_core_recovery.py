"""Recovery plans: new durations that bring a late session back to a target end, and ``apply_plan``."""

from __future__ import annotations

from datetime import datetime, time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.harness import MAYORS_START, Harness, make_agenda, ms

from modconsole.core import commands as c
from modconsole.core.agenda import ItemKind
from modconsole.core.projection import MIN_PLANNED_ITEM_S, recovery_plan

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def late_sessions(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(2, 6))
    durations = draw(st.lists(st.integers(0, 1800), min_size=n, max_size=n))
    breaks = draw(st.sets(st.integers(0, n - 1), max_size=2))
    # A fixed start some minutes after the planned start (23:15), maybe.
    fixed_index = draw(st.none() | st.integers(1, n - 1))
    fixed_minute = draw(st.integers(20, 44))
    current = draw(st.integers(0, n - 1))
    ran = draw(st.lists(st.integers(0, 2400), min_size=current, max_size=current))
    elapsed = draw(st.integers(0, 2400))
    target_in = draw(st.integers(1, 7200))
    include_fixed = draw(st.booleans())
    return durations, breaks, fixed_index, fixed_minute, current, ran, elapsed, target_in, include_fixed


def harness_for(case) -> Harness:  # type: ignore[no-untyped-def]
    durations, breaks, fixed_index, fixed_minute, current, ran, elapsed, _, _ = case
    fixed = {fixed_index: time(23, fixed_minute)} if fixed_index is not None else None
    h = Harness(make_agenda(durations, fixed=fixed, kinds={i: ItemKind.break_ for i in breaks}))
    h.ok(c.Start())
    for seconds in ran:
        h.advance(seconds)
        h.ok(c.Next())
    h.advance(elapsed)
    assert h.session.current == current
    return h


@SETTINGS
@given(case=late_sessions())
def test_recovery_plan_meets_the_target_when_it_can(case) -> None:  # type: ignore[no-untyped-def]
    durations, breaks, fixed_index, _, current, _, elapsed, target_in, include_fixed = case
    h = harness_for(case)
    target = h.now + target_in * 1000
    plan = recovery_plan(h.state, h.session, h.now, target, include_fixed=include_fixed)
    before = h.projection().projected_end

    def protected(index: int) -> bool:
        return not include_fixed and (index in breaks or index == fixed_index)

    # Only items still to run (or running), and not the protected ones, change.
    for item_id, new in plan.durations.items():
        index = int(item_id[1:])
        assert index >= current and not protected(index), f"{item_id} should be left alone"
        full = durations[index]
        ran = elapsed if index == current else 0
        assert new < full
        assert new >= min(full, max(MIN_PLANNED_ITEM_S, ran)), f"{item_id} cut to {new} s (was {full}, ran {ran})"

    after = h.projection(plan.durations).projected_end
    assert plan.projected_end == after
    assert after <= before
    assert plan.trimmed_s == sum(durations[int(k[1:])] - v for k, v in plan.durations.items())
    # Feasible exactly when the shortest allowed plan fits, and then the plan fits.
    floors = {
        f"i{i}": min(durations[i], max(MIN_PLANNED_ITEM_S, elapsed if i == current else 0))
        for i in range(current, len(durations))
        if not protected(i)
    }
    shortest = min(before, h.projection(floors).projected_end)
    assert plan.feasible == (shortest <= target)
    if plan.feasible:
        assert after <= target
    else:
        assert plan.durations == {k: v for k, v in floors.items() if v != durations[int(k[1:])]}
    if before <= target:
        assert plan.durations == {} and plan.feasible
    elif plan.feasible and fixed_index is None and not breaks:
        # Not more than needed: within the 10 s rounding per trimmed item.
        assert target - after <= 10_000 * len(floors)


def test_recovery_plan_never_cuts_the_running_item_below_what_it_ran() -> None:
    # Found while writing these tests: durations were rounded down to whole tens of seconds after the
    # floor was applied, so an item that had run 65 s could be planned at 60 s, already in overtime.
    h = Harness(make_agenda([600, 600, 600]))
    h.ok(c.Start())
    h.advance(65)
    # Targets that only the shortest plan meets (two minutes for i1 and i2): i0 is trimmed to the bone.
    for target in range(h.now + 120_000, h.now + 125_000, 500):
        plan = recovery_plan(h.state, h.session, h.now, target)
        assert plan.feasible
        assert plan.durations["i0"] >= 65, plan


def test_breaks_and_fixed_starts_are_kept_unless_included() -> None:
    agenda = make_agenda(
        [900, 600, 900, 900],
        fixed={3: time(0, 0)},  # after midnight: the session starts at 23:15
        kinds={1: ItemKind.break_},
    )
    h = Harness(agenda)
    h.ok(c.Start())
    h.advance(1800)  # i0 is 15 minutes over
    target = ms(datetime(2020, 3, 28, 0, 15))
    plan = recovery_plan(h.state, h.session, h.now, target)
    assert set(plan.durations) <= {"i0", "i2"}
    plan_all = recovery_plan(h.state, h.session, h.now, target, include_fixed=True)
    assert set(plan_all.durations) - {"i0", "i2"}
    assert plan_all.trimmed_s >= plan.trimmed_s or not plan.feasible


def test_infeasible_plan_says_so() -> None:
    h = Harness(make_agenda([600, 600, 600]))
    h.ok(c.Start())
    h.advance(1500)  # i0 ran 25 minutes of its 10
    target = h.now + 60_000  # one minute left for two more items and the running one
    plan = recovery_plan(h.state, h.session, h.now, target)
    assert not plan.feasible
    assert plan.durations == {"i1": 60, "i2": 60}  # the best it can do
    assert plan.projected_end == h.now + 120_000 > target


def test_apply_plan_brings_the_projected_end_back_to_the_planned_end() -> None:
    h = Harness(make_agenda([600, 900, 900, 300]))
    h.ok(c.Start())
    h.advance(900)  # 5 minutes over in the first item
    h.ok(c.Next())
    h.advance(60)
    baseline = h.projection().baseline_end
    assert h.projection().projected_end == baseline + 300_000
    (event,) = h.ok(c.ApplyPlan())
    assert event.type == "plan_applied" and event.target_ms == baseline
    assert h.projection().projected_end <= baseline
    assert h.view()["over_under_s"] <= 0  # type: ignore[operator]
    assert h.session.plans_applied == 1
    for item_id, duration in event.durations.items():
        assert h.item(item_id).duration_s == duration
    assert h.view()["items"][1]["planned_duration_s"] == 900  # type: ignore[index]  # the agenda keeps its plan
    # On time now: nothing more to trim.
    h.rejected(c.ApplyPlan(), code="invalid_state")
    # And undo gives the old durations back.
    h.ok(c.Undo())
    assert [i.duration_s for i in h.session.items] == [600, 900, 900, 300]


def test_apply_plan_to_a_time_of_day() -> None:
    h = Harness(make_agenda([1200, 1200, 1200]))  # 23:15 .. 00:15
    h.ok(c.Start())
    h.advance(600)
    (event,) = h.ok(c.ApplyPlan(target="00:05"))  # ten minutes early, on the next calendar day
    assert event.target_ms == ms(datetime(2020, 3, 28, 0, 5))
    assert h.projection().projected_end <= event.target_ms
    h.rejected(c.ApplyPlan(target="25:00"), code="invalid")
    h.rejected(c.ApplyPlan(target="23:20"), code="invalid")  # already passed


def test_apply_plan_start_of_session_uses_the_planned_start() -> None:
    h = Harness(make_agenda([1200, 1200]))
    assert h.session.started_at is None
    h.advance(600)  # ten minutes late, not started: the target is still the planned end
    (event,) = h.ok(c.ApplyPlan())
    assert event.target_ms == ms(MAYORS_START) + 2_400_000
    assert h.projection().projected_end <= event.target_ms
