"""Projections: where the session will end, fixed starts, skips, extensions and the over/under figure."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.harness import MAYORS_START, Harness, make_agenda, ms

from modconsole.core import commands as c
from modconsole.core.agenda import ItemKind, fixed_start_ms, ms_to_local
from modconsole.core.projection import LATE_START_LIMIT_MS

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ZURICH = "Europe/Zurich"


@st.composite
def running_sessions(draw):  # type: ignore[no-untyped-def]
    """Durations, how long each item before the current one ran, the current one's elapsed time, and skips."""
    durations = draw(st.lists(st.integers(0, 3600), min_size=1, max_size=6))
    current = draw(st.integers(0, len(durations) - 1))
    ran = draw(st.lists(st.integers(0, 5400), min_size=current, max_size=current))
    elapsed = draw(st.integers(0, 7200))
    later = list(range(current + 1, len(durations)))
    skipped = draw(st.sets(st.sampled_from(later))) if later else set()
    late_by = draw(st.integers(-600, 3600))
    return durations, current, ran, elapsed, skipped, late_by


@SETTINGS
@given(case=running_sessions())
def test_projected_end_is_now_plus_remaining_plus_the_rest(case) -> None:  # type: ignore[no-untyped-def]
    durations, current, ran, elapsed, skipped, late_by = case
    h = Harness(make_agenda(durations))
    h.advance(late_by)
    h.ok(c.Start())
    started = h.now
    for seconds in ran:
        h.advance(seconds)
        h.ok(c.Next())
    h.advance(elapsed)
    for index in sorted(skipped):
        h.ok(c.Skip(item=f"i{index}"))
    assert h.current.id == f"i{current}"

    proj = h.projection()
    remaining_ms = max(0, durations[current] * 1000 - elapsed * 1000)
    rest = [i for i in range(current + 1, len(durations)) if i not in skipped]
    assert proj.projected_end == h.now + remaining_ms + sum(durations[i] for i in rest) * 1000

    # Remaining items follow one another from the end of the current one; skipped and done ones have no start.
    cursor = h.now + remaining_ms
    for index in range(len(durations)):
        if index < current or index in skipped:
            assert proj.projected_starts[index] is None
        elif index == current:
            assert proj.projected_starts[index] == h.now - elapsed * 1000
        else:
            assert proj.projected_starts[index] == cursor
            cursor += durations[index] * 1000

    # The session started on time, so it is measured against its planned end.
    assert abs(started - proj.planned_starts[0]) <= LATE_START_LIMIT_MS
    assert proj.baseline_end == proj.planned_starts[0] + sum(durations) * 1000
    view = h.view()
    assert view["over_under_s"] == round((proj.projected_end - proj.baseline_end) / 1000, 1)
    # Skips change the projection, not the plan the target is measured against.
    assert view["planned_duration_s"] == sum(durations)


def test_skip_takes_an_item_out_of_the_projection() -> None:
    h = Harness(make_agenda([300, 600, 900, 120]))
    h.ok(c.Start())
    before = h.projection()
    h.ok(c.Skip())  # the next pending item: i1
    assert h.item("i1").status == "skipped"
    after = h.projection()
    assert after.projected_starts[1] is None
    assert after.projected_end == before.projected_end - 600_000
    assert after.projected_starts[2] == before.projected_starts[1]
    (changed,) = h.ok(c.Next())
    assert changed.item == "i2"  # next jumps the skipped item
    h.ok(c.Undo())
    h.ok(c.Undo())  # undo the skip as well
    assert h.projection().projected_end == before.projected_end


def test_extend_moves_the_target_end_not_the_projected_end() -> None:
    h = Harness(make_agenda([600, 600]))
    h.ok(c.Start())
    h.advance(900)  # i0 is 5 minutes over
    before = h.projection()
    assert h.view()["over_under_s"] == 300
    h.ok(c.Extend(delta_s=600))
    after = h.projection()
    assert after.projected_end == before.projected_end
    assert after.baseline_end == before.baseline_end + 600_000
    view = h.view()
    assert view["extended_s"] == 600
    assert view["over_under_s"] == -300
    assert view["over_under_s"] == (after.projected_end - after.baseline_end) / 1000
    h.ok(c.Extend(delta_s=-600))
    assert h.projection().baseline_end == before.baseline_end
    h.rejected(c.Extend(delta_s=-1), code="invalid")


def test_added_time_moves_the_projected_end() -> None:
    h = Harness(make_agenda([600, 600]))
    h.ok(c.Start())
    before = h.projection().projected_end
    h.ok(c.AddTime(delta_s=120))
    assert h.projection().projected_end == before + 120_000
    assert h.current.duration_s == 720 and h.current.added_s == 120
    assert h.view()["items"][0]["planned_duration_s"] == 600  # type: ignore[index]


def test_before_the_start_the_projection_starts_at_the_planned_start_or_now() -> None:
    h = Harness(make_agenda([600, 600]))
    h.advance(-3600)
    assert h.projection().projected_end == ms(MAYORS_START) + 1_200_000
    h.advance(3600 + 300)  # five minutes late and still not started
    assert h.projection().projected_end == h.now + 1_200_000
    assert h.view()["over_under_s"] == 300


# --- fixed starts ----------------------------------------------------------------------------------

MORNING = datetime(2024, 5, 14, 9, 0)
FIXED = time(10, 30)


def fixed_agenda(durations: list[int]):  # type: ignore[no-untyped-def]
    # i2 starts at 10:30 whatever happens before it (it follows a break in the plan).
    return make_agenda(durations, start=MORNING, zone=ZURICH, fixed={2: FIXED}, kinds={1: ItemKind.break_})


@SETTINGS
@given(
    durations=st.lists(st.integers(60, 3600), min_size=4, max_size=4),
    day_shift=st.integers(-3, 3),
    late_by=st.integers(-1200, 5400),
    ran=st.lists(st.integers(0, 4000), min_size=2, max_size=2),
    steps=st.integers(0, 2),
)
def test_fixed_start_is_never_projected_before_its_time(durations, day_shift, late_by, ran, steps) -> None:  # type: ignore[no-untyped-def]
    h = Harness(fixed_agenda(durations))
    h.now = ms(MORNING + timedelta(days=day_shift), ZURICH) + late_by * 1000  # maybe a rehearsal on another day
    h.ok(c.Start())
    for seconds in ran[:steps]:
        h.advance(seconds)
        h.ok(c.Next())
    h.advance(17)
    current = h.session.current
    assert current == steps
    proj = h.projection()

    fixed_ms = fixed_start_ms(FIXED, MORNING + timedelta(days=day_shift), h.agenda.zone)
    cursor = h.now + max(0, durations[current] * 1000 - h.current.timer.elapsed_ms(h.now))
    for index in range(current + 1, 4):
        if index == 2:
            cursor = max(cursor, fixed_ms)
        assert proj.projected_starts[index] == cursor, index
        cursor += durations[index] * 1000
    assert proj.projected_end == cursor
    if current < 2:
        assert proj.projected_starts[2] >= fixed_ms  # type: ignore[operator]


def test_fixed_start_on_the_planned_day() -> None:
    h = Harness(fixed_agenda([1800, 1200, 3600, 1800]))
    h.ok(c.Start())
    proj = h.projection()
    assert proj.planned_starts[2] == ms(datetime(2024, 5, 14, 10, 30), ZURICH)
    # 50 minutes of plan before a 10:30 fixed start: it waits for 10:30, not 09:50.
    assert proj.projected_starts[2] == proj.planned_starts[2]
    assert proj.projected_end == ms(datetime(2024, 5, 14, 12, 0), ZURICH)
    assert proj.planned_duration_s == 3 * 3600


def test_a_late_start_after_midnight_keeps_fixed_starts_on_the_planned_day() -> None:
    # Fixed starts were once anchored on the calendar day the session actually started, so a 23:15
    # session starting 50 minutes late (at 00:05) had its 23:45 fixed start moved to the next evening.
    agenda = make_agenda([900, 900, 900], fixed={1: time(23, 45)})
    h = Harness(agenda)
    h.advance(50 * 60)
    h.ok(c.Start())
    proj = h.projection()
    assert proj.projected_starts[1] == h.now + 900_000  # nothing to wait for: 23:45 has passed
    assert proj.projected_end == h.now + 2700_000
    # A late start counts as behind: the plan ends at 00:15 (waiting for 23:45 included), the projection
    # at 00:50.
    assert h.view()["over_under_s"] == 2100

    # A session starting early, before midnight, for a plan just after it, likewise.
    early = make_agenda([900, 900], start=datetime(2020, 3, 28, 0, 10), fixed={1: time(0, 40)})
    h = Harness(early)
    h.advance(-20 * 60)  # starts at 23:50 the day before
    h.ok(c.Start())
    assert h.projection().projected_starts[1] == ms(datetime(2020, 3, 28, 0, 40))


def test_a_rehearsal_days_before_anchors_fixed_starts_on_its_own_day() -> None:
    h = Harness(fixed_agenda([1800, 1200, 3600, 1800]))
    h.now = ms(datetime(2024, 5, 12, 8, 55), ZURICH)
    h.ok(c.Start())
    proj = h.projection()
    assert proj.projected_starts[2] == ms(datetime(2024, 5, 12, 10, 30), ZURICH)
    assert ms_to_local(proj.projected_end, h.agenda.zone).date() == date(2024, 5, 12)


def test_late_start_counts_as_behind_but_a_rehearsal_hours_away_is_measured_from_its_own_start() -> None:
    late = Harness(make_agenda([600, 600]))
    late.advance(10 * 60)
    late.ok(c.Start())
    assert late.view()["over_under_s"] == 600
    rehearsal = Harness(make_agenda([600, 600]))
    rehearsal.advance(5 * 3600)
    rehearsal.ok(c.Start())
    assert rehearsal.view()["over_under_s"] == 0
