"""The stage display commands (blackout, flash, focus) and the pages' view (``core.page_view``): who may
give them, what they refuse, that they fold and replay alike, and the view's absolute times."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.harness import DISPLAY, MOD, Harness, command_steps, make_agenda, participant, speaker

from modconsole.core import commands as c
from modconsole.core.page_view import MAX_PAGE_MESSAGES, page_view
from modconsole.core.visibility import viewer_key


def test_blackout_goes_on_and_off_once_each() -> None:
    h = Harness(make_agenda([300, 600]))
    h.rejected(c.Blackout(on=False), code="invalid_state")
    h.ok(c.Blackout())
    assert h.state.display.blackout is True
    h.rejected(c.Blackout(on=True), code="invalid_state")
    h.ok(c.Blackout(on=False))
    assert h.state.display.blackout is False
    assert h.replayed().display == h.state.display


def test_flash_records_when_and_focus_shows_and_clears() -> None:
    h = Harness(make_agenda([300]))
    h.advance(5)
    h.ok(c.Flash())
    assert h.state.display.flashed_at == h.now
    h.rejected(c.Focus(text=None), code="invalid_state")
    h.rejected(c.Focus(text="   "), code="invalid_state")
    h.rejected(c.Focus(text="ON\x1bAIR"), code="invalid")
    h.ok(c.Focus(text="  ON \n AIR  "))
    assert h.state.display.focus == "ON AIR"
    h.ok(c.Focus(text=""))
    assert h.state.display.focus is None
    assert h.replayed().display == h.state.display


def test_only_a_moderator_drives_the_displays() -> None:
    h = Harness(make_agenda([300]))
    for actor in (DISPLAY, speaker("ann"), participant("pat")):
        for command in (c.Blackout(), c.Flash(), c.Focus(text="ON AIR")):
            h.rejected(command, actor, code="forbidden")


def test_display_commands_do_not_move_a_session_revision() -> None:
    h = Harness(make_agenda([300, 300]))
    h.ok(c.Start())
    rev = h.session.rev
    h.ok(c.Blackout())
    h.ok(c.Flash())
    assert h.session.rev == rev
    h.ok(c.Next(expected_seq=rev))  # a moderator's guarded "next" is not made stale by them
    # Not undoable timing actions: undo takes back the "next", and the displays stay as they were set.
    undone = h.ok(c.Undo())
    assert undone[0].type == "undone" and undone[0].what == "item_changed"
    assert h.state.display.blackout is True and h.state.display.flashed_at is not None


def test_the_view_carries_absolute_times_to_count_down_from() -> None:
    h = Harness(make_agenda([300, 600]))
    h.ok(c.Start())
    h.advance(40)
    h.ok(c.Raise(kind="question"), participant("pat", "Pat"))
    h.ok(c.Floor(person="ann"))
    h.advance(20)
    view = page_view(h.state, "participant", "pat", h.now)
    session = view["sessions"][0]
    current = session["current"]
    assert current is not None and current["running"]
    assert current["remaining_ms"] == 300_000 - 60_000
    assert current["deadline"] == h.now + 240_000
    floor = session["floor"]
    assert floor is not None and floor["person"] == "ann" and floor["elapsed_ms"] == 20_000
    assert floor["started"] == h.now - 20_000
    assert [hand["person"] for hand in session["queue"]] == ["pat"] and session["queue_length"] == 1
    assert view["server_time"] == h.now
    # Paused: the figures hold still and there is no deadline to count to.
    h.ok(c.Pause())
    h.advance(30)
    paused = page_view(h.state, "participant", "pat", h.now)["sessions"][0]
    assert paused["current"] is not None and paused["current"]["deadline"] is None
    assert paused["current"]["remaining_ms"] == 240_000
    assert paused["floor"] is not None and paused["floor"]["started"] is None
    json.dumps(view)  # plain JSON


def test_a_view_has_no_one_elses_private_message_and_keeps_the_newest() -> None:
    h = Harness(make_agenda([300]))
    h.ok(c.Start())
    h.ok(c.SendMessage(text="For ann only", to="ann"))
    for n in range(MAX_PAGE_MESSAGES + 2):
        h.ok(c.SendMessage(text=f"To all {n}", to="all"))
    pat = page_view(h.state, "participant", "pat", h.now)
    assert [m["text"] for m in pat["messages"]] == [f"To all {n}" for n in range(2, MAX_PAGE_MESSAGES + 2)]
    assert all(m["to_all"] for m in pat["messages"])
    h.ok(c.SendMessage(text="Now for ann", to="ann"))
    ann = page_view(h.state, "speaker", "ann", h.now)
    assert ann["messages"][-1] == {
        "id": ann["messages"][-1]["id"],
        "to_all": False,
        "text": "Now for ann",
        "at": h.now,
        "acknowledged": False,
    }
    assert "Now for ann" not in json.dumps(page_view(h.state, "display", None, h.now))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(command_steps(), max_size=25))
def test_viewers_with_equal_keys_get_equal_views(steps: list[tuple[c.Command, c.Actor, int]]) -> None:
    """What lets the server make one view per key and send it to every page of that key."""
    h = Harness(make_agenda([300, 600, 900]))
    for command, actor, wait in steps:
        h.advance(wait)
        h.do(command, actor)
    viewers = [
        ("display", None),
        ("participant", "pat"),
        ("participant", "quin"),
        ("speaker", "ann"),
        ("speaker", "bob"),
    ]
    views: dict[tuple[object, ...], str] = {}
    for role, person in viewers:
        key = viewer_key(h.state, role, person)
        made = json.dumps(page_view(h.state, role, person, h.now), sort_keys=True)
        assert views.setdefault(key, made) == made, (role, person)
    assert MOD.role == "moderator"
