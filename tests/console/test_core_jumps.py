"""Goto, next and prev out of order: items jumped over, items visited for no time, and what is still to come.

A goto leaves the items it jumps over pending: they still count in the projected end and in what comes
next, and ``next`` reaches them once nothing is left after the current item. ``prev`` goes back to the
nearest earlier item that has run, so after a goto forward it returns to where the chair was. A done
item that ``next`` opens again keeps its actual start and is projected for what is left of its plan.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.harness import Harness, check_structure, make_agenda, mayors_agenda

from modconsole.core import commands as c
from modconsole.core.agenda import ms_to_local
from modconsole.core.decide import Rejected
from modconsole.tui.figures import next_item, programme_lines

MIN = 60_000
ITEMS = ("opening", "seoul-briefing", "cities-share", "discussion", "closing")  # 3, 10, 12, 15 and 5 minutes


def iso(h: Harness, ms: int) -> str:
    return ms_to_local(ms, h.agenda.zone).isoformat(timespec="seconds")


def items_of(view: dict[str, object]) -> dict[str, dict[str, object]]:
    return {item["id"]: item for item in view["items"]}  # type: ignore[attr-defined, index]


def in_the_seoul_briefing() -> Harness:
    """The mayors' call: the opening ran its 3 minutes, the Seoul briefing 5 of its 10."""
    h = Harness(mayors_agenda())
    h.ok(c.Start())
    h.advance(180)
    h.ok(c.Next())
    h.advance(300)
    return h


def test_a_stray_goto_to_the_closing_then_prev_loses_no_item() -> None:
    h = in_the_seoul_briefing()
    went = h.now
    h.ok(c.Goto(item="closing"))
    (back,) = h.ok(c.Prev())  # at once: the closing was current for no time at all

    # prev returns to where the chair was, not to the discussion (which has never run).
    assert (back.how, back.item) == ("prev", "seoul-briefing")
    view = h.view()
    items = items_of(view)
    assert [items[i]["status"] for i in ITEMS] == ["done", "current", "pending", "pending", "done"]

    # The closing: its real (zero) actual, started when the goto made it current, not in the future.
    closing = items["closing"]
    assert closing["actual_duration_s"] == 0.0
    assert closing["actual_start"] == iso(h, went)
    assert closing["projected_start"] is None
    assert closing["over_under_s"] == 0.0  # still to come: not "5:00 under"

    # Nothing is lost: the rest of the briefing, the two pending items, then the closing.
    rest = 5 * MIN
    assert items["cities-share"]["projected_start"] == iso(h, h.now + rest)
    assert items["discussion"]["projected_start"] == iso(h, h.now + rest + 12 * MIN)
    assert h.projection().projected_end == h.now + rest + (12 + 15 + 5) * MIN
    assert (view["next_item"], view["next_start"]) == ("cities-share", iso(h, h.now + rest))

    # And next runs them in that order, the closing last (opened again), then there is nothing after it.
    for item in ("cities-share", "discussion", "closing"):
        h.advance(60)
        (changed,) = h.ok(c.Next())
        assert changed.item == item
    assert h.item("closing").reopened == 1
    assert h.item("closing").timer.first_start == went
    assert h.view()["next_item"] is None
    assert "last item" in h.rejected(c.Next(), code="invalid_state").message


def test_prev_after_a_short_visit_keeps_the_visit_but_no_start_in_the_future() -> None:
    h = in_the_seoul_briefing()
    h.ok(c.Goto(item="closing"))
    h.advance(2)
    h.ok(c.Prev())
    h.advance(30)
    closing = items_of(h.view())["closing"]
    assert closing["status"] == "done"
    assert closing["actual_duration_s"] == 2.0
    assert closing["projected_start"] is None
    assert closing["actual_start"] is not None and closing["actual_start"] <= iso(h, h.now)
    # What it did not use of its plan still counts: 4:58 after the discussion.
    assert h.projection().projected_end == h.now + (5 * MIN - 30_000) + (12 + 15) * MIN + (5 * MIN - 2000)


def test_items_a_goto_jumped_over_stay_pending_and_come_next() -> None:
    h = in_the_seoul_briefing()
    h.ok(c.Goto(item="closing"))
    h.advance(60)
    view = h.view()
    items = items_of(view)
    assert items["cities-share"]["status"] == items["discussion"]["status"] == "pending"
    # The closing's 4 minutes left, then the items jumped over, in agenda order.
    end_of_closing = h.now + 4 * MIN
    assert items["cities-share"]["projected_start"] == iso(h, end_of_closing)
    assert items["discussion"]["projected_start"] == iso(h, end_of_closing + 12 * MIN)
    assert h.projection().projected_end == end_of_closing + (12 + 15) * MIN
    # The display does not say "Last item": the next is the first item jumped over.
    assert view["next_item"] == "cities-share"
    coming = next_item(view)
    assert coming is not None and coming["title"] == "Cities share their situation"
    assert str(programme_lines(view)).splitlines()[1:] == [
        f" {iso(h, h.now - 60_000)[11:16]}  Closing: the chair proposes a standing platform (5:00)",
        f" {iso(h, end_of_closing)[11:16]}  Cities share their situation (12:00)",
        f" {iso(h, end_of_closing + 12 * MIN)[11:16]}  Open discussion (15:00)",
    ]

    # "skip" with no item skips what comes next, and next takes the rest.
    (skipped,) = h.ok(c.Skip())
    assert skipped.item == "cities-share"
    assert h.view()["next_item"] == "discussion"
    (changed,) = h.ok(c.Next())
    assert (changed.how, changed.item) == ("next", "discussion")
    # The closing was left by "next": the chair is through with it (prev or goto would have kept it to
    # come, as in the test above). After the discussion, nothing is left but "end".
    assert h.view()["next_item"] is None
    assert h.projection().projected_end == h.now + 15 * MIN


def test_prev_after_a_goto_returns_where_the_chair_was() -> None:
    h = Harness(make_agenda([300, 600, 900, 120]))
    h.ok(c.Start())
    h.advance(60)
    h.ok(c.Goto(item="i2"))  # i1 jumped over
    h.advance(60)
    (back,) = h.ok(c.Prev())
    assert back.item == "i0"
    assert "first item" in h.rejected(c.Prev(), code="invalid_state").message
    # From i0, next is the item after it, which has not run yet.
    (changed,) = h.ok(c.Next())
    assert changed.item == "i1"
    (changed,) = h.ok(c.Next())
    assert changed.item == "i2"  # opened again, for what is left of it
    assert h.item("i2").reopened == 1


def test_a_recovery_plan_trims_items_jumped_over_too() -> None:
    h = in_the_seoul_briefing()
    h.advance(900)  # the briefing runs 10 minutes over
    h.ok(c.Goto(item="discussion"))  # the cities' turn jumped over, for later
    h.advance(60)
    plan_end = h.projection().baseline_end
    (applied,) = h.ok(c.ApplyPlan())
    assert "cities-share" in applied.durations  # type: ignore[attr-defined]
    assert h.projection().projected_end <= plan_end


# --- whatever the jumps --------------------------------------------------------------------------

DURATIONS = (300, 600, 900, 120, 240)
moves = st.lists(
    st.tuples(
        st.one_of(
            st.just(c.Next()),
            st.just(c.Prev()),
            st.just(c.Undo()),
            st.builds(c.Goto, item=st.sampled_from([f"i{i}" for i in range(len(DURATIONS))])),
            st.builds(c.Skip, item=st.none() | st.sampled_from([f"i{i}" for i in range(len(DURATIONS))])),
        ),
        st.integers(0, 400),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=moves)
def test_nothing_to_come_is_lost_whatever_the_jumps(steps) -> None:  # type: ignore[no-untyped-def]
    h = Harness(make_agenda(DURATIONS))
    h.ok(c.Start())
    for command, wait in steps:
        h.advance(wait)
        before = h.view()
        decision = h.do(command)
        if h.session.status != "running" or before["status"] != "running":
            continue  # an undo took the start back
        if command.type == "next":
            # "next" goes where the display said it would, and is refused only when it said nothing is left.
            if before["next_item"] is None:
                assert isinstance(decision, Rejected)
            else:
                assert not isinstance(decision, Rejected) and decision[0].item == before["next_item"]  # type: ignore[union-attr]
        if command.type == "prev" and not isinstance(decision, Rejected):
            # Back to the nearest earlier item that ran.
            index = h.session.current
            assert index is not None and h.current.timer.first_start is not None
            assert all(h.session.items[i].timer.first_start is None for i in range(index + 1, before_index(before)))
        check(h)


def before_index(view: dict[str, object]) -> int:
    return [i["id"] for i in view["items"]].index(view["current_item"])  # type: ignore[attr-defined]


def check(h: Harness) -> None:
    check_structure(h.state)
    session = h.session
    view = h.view()
    proj = h.projection()
    items = session.items
    pending = [i for i, item in enumerate(items) if item.status == "pending"]
    # The display never says "Last item" while an item is still pending, wherever it is.
    if pending:
        assert view["next_item"] is not None
    for index, item in enumerate(items):
        shown = view["items"][index]  # type: ignore[index]
        # Only pending items have a projected start (and the current one, its actual start); no actual
        # start is in the future.
        if item.status in ("done", "skipped"):
            assert proj.projected_starts[index] is None
        if item.status == "pending":
            assert proj.projected_starts[index] is not None and proj.projected_starts[index] >= h.now
        if item.timer.first_start is not None:
            assert item.timer.first_start <= h.now
            assert shown["actual_duration_s"] >= 0
    # Every pending item counts in full, whatever side of the current item it is on.
    current = h.current
    left = max(0, current.duration_s * 1000 - current.timer.elapsed_ms(h.now))
    assert proj.projected_end >= h.now + left + sum(items[i].duration_s for i in pending) * 1000


def test_an_item_left_by_next_does_not_come_again() -> None:
    """Goto forward to the discussion, next through the closing and the items jumped over: the
    discussion ran in full and the chair moved on from it, so it is not "next" again and the closing,
    left at 1 of its 5 minutes, counts as the minute it ran, not as 4 more to come."""
    h = Harness(mayors_agenda())
    h.ok(c.Start())
    h.advance(60)
    h.ok(c.Goto(item="discussion"))
    h.advance(15 * 60)
    h.ok(c.Next())  # to the closing
    h.advance(60)
    for expected in ("seoul-briefing", "cities-share"):  # then the items the goto jumped over
        (changed,) = h.ok(c.Next())
        assert changed.item == expected
        h.advance(60)
    view = h.view()
    assert view["next_item"] is None  # nothing left: not the discussion or the closing again
    closing = items_of(view)["closing"]
    assert closing["over_under_s"] == -4 * 60  # ran 1:00 of 5:00, and that is all it will run
    refused = h.rejected(c.Next(), code="invalid_state")
    assert "use end" in refused.message
    assert h.projection().projected_end == h.now + 12 * MIN - MIN  # only what is left of cities-share
