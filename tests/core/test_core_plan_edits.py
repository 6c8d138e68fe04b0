"""The plan edited live: items added, edited, moved, removed; sessions added and edited; people added.

Each edit is an event in the log, undoable and guarded by ``expected_seq``; a refused edit is a typed
rejection that changes nothing; the agenda in the state (the plan in force) and the session's items stay in
step, so the projection, the recovery plan and the read model follow at once.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.harness import MOD, Harness, check_structure, make_agenda, speaker

from modconsole.core import commands as c
from modconsole.core.agenda import fixed_start_ms, local_to_ms, unique_id
from modconsole.core.decide import Rejected
from modconsole.core.fold import replay
from modconsole.core.projection import recovery_plan, upcoming
from modconsole.core.visibility import view_for, visible_to

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def ids(h: Harness) -> list[str]:
    return [i.id for i in h.session.items]


def plan_ids(h: Harness) -> list[str]:
    return [i.id for i in h.state.plan("s").items]


def test_add_an_item_after_another_with_an_id_made_from_its_title() -> None:
    h = Harness(make_agenda([600, 600, 300]))
    h.ok(c.Start())
    (added,) = h.ok(c.ItemAdd(title="Any other business", duration_s=300, after="i1", kind="discussion"))
    assert added.type == "item_added" and added.item.id == "any-other-business"
    assert ids(h) == plan_ids(h) == ["i0", "i1", "any-other-business", "i2"]
    (again,) = h.ok(c.ItemAdd(title="Any other business!", duration_s=60))
    assert again.item.id == "any-other-business-2" and ids(h)[-1] == "any-other-business-2"
    view = h.view()
    aob = next(i for i in view["items"] if i["id"] == "any-other-business")
    assert aob["planned_duration_s"] == 300 and aob["kind"] == "discussion"
    assert aob["projected_start"] is not None
    # The projection counts it: 600 (current) + 600 + 300 + 300 + 60 from the start.
    assert h.projection().projected_end == h.now + (600 + 600 + 300 + 300 + 60) * 1000


def test_refusals_name_what_is_wrong_and_change_nothing() -> None:
    h = Harness(make_agenda([600, 600, 300]))
    h.ok(c.Start())
    h.advance(60)
    h.ok(c.Next())  # i0 has run, i1 is current
    cases = [
        (c.ItemRemove(item="i0"), "invalid_state", "has already run"),
        (c.ItemRemove(item="i1"), "invalid_state", "skip it instead"),
        (c.ItemRemove(item="nope"), "not_found", "no item 'nope'"),
        (c.ItemEdit(item="nope", title="x"), "not_found", "no item 'nope'"),
        (c.ItemEdit(item="i0", duration_s=60), "invalid_state", "has already run"),
        (c.ItemMove(item="i2", first=True), "invalid_state", "which has already run"),
        (c.ItemMove(item="i2", before="i1"), "invalid_state", "which has already run"),
        (c.ItemMove(item="i1", after="i2"), "invalid_state", "has already run"),
        (c.ItemAdd(title="Late", duration_s=60, first=True), "invalid_state", "which has already run"),
        (c.ItemAdd(title="Dup", duration_s=60, item_id="i2"), "invalid", "duplicate id"),
        (c.ItemAdd(title="Both", duration_s=60, after="i2", before="i2"), "invalid", "one of them"),
        (c.ItemAdd(title="Who", duration_s=60, speakers=("zed",)), "not_found", "no person 'zed'"),
        (c.ItemAdd(title="Bad\x1b[31m", duration_s=60), "invalid", "control characters"),
        (c.ItemAdd(title="At", duration_s=60, fixed_start="25:00"), "invalid", "not a time of day"),
        (c.ItemEdit(item="i2", duration_s=300), "invalid", "nothing to change"),
        (c.SessionAdd(session_id="s", title="Again", start="2020-03-28T09:00"), "invalid", "duplicate id"),
        (c.PersonAdd(name="Ann", person_id="ann"), "invalid", "duplicate id"),
        (c.SessionEdit(session="s", start="2020-03-28T09:00"), "invalid_state", "has started"),
        (c.ItemAdd(title="Stale", duration_s=60, expected_seq=1), "stale", "changed since"),
    ]
    for command, code, words in cases:
        rejection = h.rejected(command, code=code)
        assert words in rejection.message, (command, rejection.message)


def test_bad_durations_are_refused_at_the_edge() -> None:
    import pytest
    from pydantic import ValidationError

    for bad in (-1, 24 * 3600 + 1):
        with pytest.raises(ValidationError):
            c.ItemAdd(title="x", duration_s=bad)
        with pytest.raises(ValidationError):
            c.ItemEdit(item="i0", duration_s=bad)


def test_an_ended_session_takes_no_edit() -> None:
    h = Harness(make_agenda([600, 600]))
    h.ok(c.Start())
    h.ok(c.End())
    for command in (
        c.ItemAdd(title="After", duration_s=60),
        c.ItemEdit(item="i1", title="Renamed"),
        c.ItemRemove(item="i1"),
        c.SessionEdit(session="s", room="Hall B"),
    ):
        assert "has ended" in h.rejected(command, code="invalid_state").message


def test_edit_fields_and_clear_with_null() -> None:
    h = Harness(make_agenda([600, 600, 300], turn_limit_s=120))
    (edit,) = h.ok(c.ItemEdit(item="i1", title="Panel", duration_s=1200, kind="panel", speakers=("ann", "bob")))
    assert set(edit.fields) == {"title", "duration_s", "kind", "speakers"}
    spec = h.state.plan("s").items[1]
    assert (spec.title, spec.duration_s, spec.kind, spec.speakers) == ("Panel", 1200, "panel", ("ann", "bob"))
    assert h.item("i1").duration_s == 1200
    h.ok(c.ItemEdit.model_validate({"item": "i1", "turn_limit_s": None, "fixed_start": "23:50"}))
    spec = h.state.plan("s").items[1]
    assert spec.turn_limit_s is None and h.item("i1").turn_limit_s is None and spec.fixed_start == time(23, 50)
    h.ok(c.ItemEdit.model_validate({"item": "i1", "fixed_start": None}))
    assert h.state.plan("s").items[1].fixed_start is None
    # A field left out is kept: the title stays.
    assert h.state.plan("s").items[1].title == "Panel"


def test_move_keeps_the_current_item_and_the_plan_in_step() -> None:
    h = Harness(make_agenda([600, 600, 300, 300]))
    h.ok(c.Start())
    h.ok(c.ItemMove(item="i3", after="i0"))
    assert ids(h) == plan_ids(h) == ["i0", "i3", "i1", "i2"]
    assert h.current.id == "i0"
    h.advance(600)
    h.ok(c.Next())
    assert h.current.id == "i3"
    h.ok(c.ItemMove(item="i2", after="i3"))
    assert ids(h) == ["i0", "i3", "i2", "i1"] and h.current.id == "i3"


def test_sessions_and_people_added_and_edited() -> None:
    h = Harness(make_agenda([600]))
    (added,) = h.ok(c.SessionAdd(session_id="extra", title="Extra session", start="2020-03-28T09:00", room="B"))
    assert added.session == "s" and [s.id for s in h.state.sessions] == ["s", "extra"]
    assert h.state.plan("extra").room == "B" and h.state.session("extra").items == []
    assert "no items yet" in h.rejected(c.Start(session="extra"), code="invalid_state").message
    h.ok(c.ItemAdd(session="extra", title="Welcome", duration_s=300))
    h.ok(c.SessionEdit(session="extra", title="Extra", room="Hall C", start="2020-03-28T10:00"))
    plan = h.state.plan("extra")
    assert (plan.title, plan.room, plan.start.hour) == ("Extra", "Hall C", 10)
    assert h.view()["items"][0]["id"] == "i0"
    events = h.ok(c.PersonAdd(name="Mayor of Busan", affiliation="Busan", tags={"country": "KR"}))
    assert [e.type for e in events] == ["person_added", "person_tagged"]
    person = h.state.person("mayor-of-busan")
    assert person is not None and person.tags == {"country": "KR"} and not person.participant
    # The tags reach moderators only, in the events and in snapshots alike.
    assert not visible_to(h.state, events[1], "speaker", "ann") and visible_to(h.state, events[1], "moderator", None)
    assert view_for(h.state, "display", None).person("mayor-of-busan").tags == {}
    # A person added live can be listed on an item and given the floor.
    h.ok(c.ItemAdd(title="Busan", duration_s=300, speakers=("mayor-of-busan",), after="i0"))
    h.ok(c.Start())
    h.advance(600)
    h.ok(c.Next())
    h.ok(c.Floor())
    assert h.current.floor is not None and h.current.floor.person == "mayor-of-busan"
    h.ok(c.Raise(), speaker("ann"))


def test_undo_takes_an_edit_back() -> None:
    h = Harness(make_agenda([600, 600]))
    h.ok(c.Start())
    before = asdict(h.state)["sessions"], h.state.agenda
    h.ok(c.ItemAdd(title="Any other business", duration_s=300))
    (undone,) = h.ok(c.Undo())
    assert undone.what == "item_added"
    assert (asdict(h.state)["sessions"], h.state.agenda) == before


def test_recovery_plan_trims_an_item_added_live() -> None:
    h = Harness(make_agenda([600, 600]))
    h.ok(c.Start())
    h.ok(c.ItemAdd(title="Any other business", duration_s=600))
    # The plan in force ends with the added item; to end by the end planned before it, the added item is trimmed.
    assert h.projection().planned_starts[-1] == h.now + 1800 * 1000
    target = h.now + 1200 * 1000
    plan = recovery_plan(h.state, h.session, h.now, target)
    assert "any-other-business" in plan.durations and plan.feasible


# --- properties --------------------------------------------------------------------------------------

TITLES = st.sampled_from(["Any other business", "Milan", "Q&A", "Break", "Milan", "!!!"])


def edit_steps() -> st.SearchStrategy[tuple[c.Command, int]]:
    refs = st.sampled_from(["i0", "i1", "i2", "i3", "any-other-business", "milan", "milan-2", "q-a", "nope"])
    place = st.sampled_from(["after", "before", "first", "end"])

    def add(title: str, duration: int, where: str, ref: str, fixed: bool) -> c.Command:
        extra = {"first": True} if where == "first" else ({} if where == "end" else {where: ref})
        return c.ItemAdd(title=title, duration_s=duration, fixed_start="00:30" if fixed else None, **extra)

    def move(item: str, where: str, ref: str) -> c.Command:
        extra = {"first": True} if where in ("first", "end") else {where: ref}
        return c.ItemMove(item=item, **extra)

    commands = st.one_of(
        st.builds(add, TITLES, st.sampled_from([0, 60, 300, 900]), place, refs, st.booleans()),
        st.builds(c.ItemRemove, item=refs),
        st.builds(move, refs, place, refs),
        st.builds(lambda i, d: c.ItemEdit(item=i, duration_s=d), refs, st.sampled_from([60, 120, 1200])),
        st.builds(lambda i, t: c.ItemEdit(item=i, title=t), refs, TITLES),
        st.sampled_from([c.Next(), c.Skip(), c.AddTime(delta_s=120), c.Undo(), c.ApplyPlan()]),
    )
    return st.tuples(commands, st.integers(0, 400))


def remaining_end(h: Harness) -> int:
    """Now plus the remaining plan, fixed starts honoured: computed here from the plan in force."""
    state, session, now = h.state, h.session, h.now
    zone = state.agenda.zone
    plan = state.plan("s")
    current = session.current_item
    cursor = now + max(0, current.duration_s * 1000 - current.timer.elapsed_ms(now)) if current else now
    for index in upcoming(session):
        item = session.items[index]
        if item.status != "pending":
            cursor += max(0, item.duration_s * 1000 - item.timer.elapsed_ms(now))
            continue
        fixed = plan.items[index].fixed_start
        if fixed is not None:
            cursor = max(cursor, fixed_start_ms(fixed, plan.start, zone))
        cursor += item.duration_s * 1000
    return cursor


@SETTINGS
@given(steps=st.lists(edit_steps(), min_size=1, max_size=30))
def test_any_edits_keep_ids_unique_and_the_projection_the_remaining_plan(steps) -> None:  # type: ignore[no-untyped-def]
    h = Harness(make_agenda([300, 600, 120, 900]))
    h.ok(c.Start())
    for command, wait in steps:
        h.advance(wait)
        before = asdict(h.state)
        decision = h.do(command)
        if isinstance(decision, Rejected):
            assert asdict(h.state) == before  # nothing changes
        check_structure(h.state)
        assert ids(h) == plan_ids(h)
        assert len(set(ids(h))) == len(ids(h))
        assert h.session.current is None or h.session.items[h.session.current].status == "current"
        assert h.projection().projected_end == remaining_end(h)
        # Fixed starts honoured in the projection.
        zone = h.state.agenda.zone
        plan = h.state.plan("s")
        for index, start in enumerate(h.projection().projected_starts):
            fixed = plan.items[index].fixed_start
            if start is not None and fixed is not None and h.session.items[index].status == "pending":
                assert start >= fixed_start_ms(fixed, plan.start, zone)
        assert [i["id"] for i in h.view()["items"]] == ids(h)
    assert asdict(replay(h.log)) == asdict(h.state)


@SETTINGS
@given(steps=st.lists(edit_steps(), min_size=1, max_size=20), edit=edit_steps())
def test_undo_of_an_edit_equals_the_replay_without_it(steps, edit) -> None:  # type: ignore[no-untyped-def]
    h = Harness(make_agenda([300, 600, 120, 900]))
    h.ok(c.Start())
    for command, wait in steps:
        h.advance(wait)
        h.do(command)
    h.advance(edit[1])
    decision = h.do(edit[0])
    if isinstance(decision, Rejected) or not edit[0].type.startswith("item_"):
        return
    (event,) = decision
    edited_seq = h.state.seq
    h.advance(5)
    (undone,) = h.ok(c.Undo(expected_seq=h.session.rev))
    assert undone.seqs == (edited_seq,) and undone.what == event.type
    undo_seq = h.state.seq
    without = replay([(seq, ev) for seq, ev in h.log if seq not in (edited_seq, undo_seq)])
    mine = asdict(h.state)
    theirs = asdict(without)
    for key in ("seq", "voided", "timing_actions", "redo"):  # the log's bookkeeping: what undo and redo can take
        mine.pop(key, None), theirs.pop(key, None)
    for session in (*mine["sessions"], *theirs["sessions"]):
        session.pop("rev")
    assert mine == theirs


def test_unique_id() -> None:
    assert unique_id("Any other business", set()) == "any-other-business"
    assert unique_id("Any other business", {"any-other-business"}) == "any-other-business-2"
    assert unique_id("???", {"item"}) == "item-2"
    assert unique_id("Æ" * 3, set(), fallback="person") == "person"
    assert len(unique_id("x" * 300, set())) <= 48


def test_times_are_local() -> None:
    h = Harness(make_agenda([600]))
    h.ok(c.ItemAdd(title="Late", duration_s=60, fixed_start="23:40"))
    start = h.projection().projected_starts[-1]
    assert start == local_to_ms(h.state.plan("s").start.replace(hour=23, minute=40), h.state.agenda.zone)
    assert MOD.role == "moderator"


def test_redo_brings_an_edit_back() -> None:
    h = Harness(make_agenda([600, 600]))
    h.ok(c.Start())
    h.ok(c.ItemAdd(title="Any other business", duration_s=300))
    after = asdict(h.state)["sessions"], h.state.agenda
    h.ok(c.Undo())
    assert "any-other-business" not in ids(h)
    h.ok(c.Redo())
    assert ids(h) == plan_ids(h) == ["i0", "i1", "any-other-business"]
    assert (asdict(h.state)["sessions"][0]["items"], h.state.agenda) == (after[0][0]["items"], after[1])
