"""Messages from the moderators: who sees them, acknowledgements, and the rejections."""

from __future__ import annotations

from dataclasses import asdict

from support.harness import Harness, make_agenda, participant, speaker

from modconsole.core import commands as c
from modconsole.core.visibility import view_for, visible_to

VIEWERS = [
    ("moderator", None),
    ("speaker", "ann"),
    ("speaker", "bob"),
    ("participant", "pat"),
    ("display", None),
]


def seen_by(h: Harness, event) -> dict[tuple[str, str | None], bool]:  # type: ignore[no-untyped-def]
    return {viewer: visible_to(h.state, event, *viewer) for viewer in VIEWERS}


def message_ids(h: Harness, role: str, person: str | None) -> list[str]:
    return [m.id for m in view_for(h.state, role, person).messages]


def running() -> Harness:
    h = Harness(make_agenda([600, 600]))
    h.ok(c.Start())
    h.ok(c.Raise(), participant("pat"))  # registers pat
    return h


def test_a_message_to_a_person_reaches_only_them_and_the_moderators() -> None:
    h = running()
    (sent,) = h.ok(c.SendMessage(text="One minute", to="ann"))
    assert sent.to == "ann"
    assert seen_by(h, sent) == {
        ("moderator", None): True,
        ("speaker", "ann"): True,
        ("speaker", "bob"): False,
        ("participant", "pat"): False,
        ("display", None): False,
    }
    assert message_ids(h, "moderator", None) == [sent.message_id]
    assert message_ids(h, "speaker", "ann") == [sent.message_id]
    assert message_ids(h, "speaker", "bob") == []
    assert message_ids(h, "participant", "pat") == []
    assert message_ids(h, "display", None) == []
    # Filtering a view leaves the replica alone.
    assert len(h.state.messages) == 1

    # Only the recipient can acknowledge it.
    h.rejected(c.Ack(message_id=sent.message_id), speaker("bob"), code="not_found")
    (ack,) = h.ok(c.Ack(), speaker("ann"))
    assert (ack.message_id, ack.person) == (sent.message_id, "ann")
    assert h.state.messages[0].acknowledged == {"ann": h.now}
    assert seen_by(h, ack) == {
        ("moderator", None): True,
        ("speaker", "ann"): True,
        ("speaker", "bob"): False,
        ("participant", "pat"): False,
        ("display", None): False,
    }
    # Acknowledged once: nothing left to acknowledge.
    h.rejected(c.Ack(), speaker("ann"), code="not_found")
    h.rejected(c.Ack(message_id=sent.message_id), speaker("ann"), code="not_found")


def test_a_message_to_all_reaches_everyone_and_each_sees_their_own_ack() -> None:
    h = running()
    (sent,) = h.ok(c.SendMessage(text="We resume at ten past", to="all"))
    assert all(seen_by(h, sent).values())
    for role, person in VIEWERS:
        assert message_ids(h, role, person) == [sent.message_id]
    h.ok(c.Ack(), speaker("ann"))
    h.advance(3)
    (ack,) = h.ok(c.Ack(), participant("pat"))
    assert set(h.state.messages[0].acknowledged) == {"ann", "pat"}
    assert seen_by(h, ack)[("speaker", "ann")] is False
    assert view_for(h.state, "speaker", "ann").messages[0].acknowledged.keys() == {"ann"}
    assert view_for(h.state, "participant", "pat").messages[0].acknowledged.keys() == {"pat"}
    assert view_for(h.state, "speaker", "bob").messages[0].acknowledged == {}
    assert view_for(h.state, "moderator", None).messages[0].acknowledged.keys() == {"ann", "pat"}
    assert set(h.state.messages[0].acknowledged) == {"ann", "pat"}  # the views copied, not trimmed the replica


def test_a_message_to_the_floor_goes_to_whoever_speaks() -> None:
    h = running()
    h.rejected(c.SendMessage(text="Please wrap up"), code="invalid_state")  # nobody has the floor
    h.ok(c.Floor(person="bob"))
    (sent,) = h.ok(c.SendMessage(text="Please wrap up"))
    assert sent.to == "bob" and sent.session == "s"
    (ack,) = h.ok(c.Ack(), speaker("bob"))
    assert ack.message_id == sent.message_id


def test_ack_acknowledges_the_latest_unacknowledged_message_by_default() -> None:
    h = running()
    (first,) = h.ok(c.SendMessage(text="One minute", to="ann"))
    (second,) = h.ok(c.SendMessage(text="Time is up", to="ann"))
    assert first.message_id != second.message_id
    assert h.ok(c.Ack(), speaker("ann"))[0].message_id == second.message_id
    assert h.ok(c.Ack(), speaker("ann"))[0].message_id == first.message_id


def test_message_rejections() -> None:
    h = running()
    h.rejected(c.Ack(message_id="m999"), speaker("ann"), code="not_found")
    h.rejected(c.Ack(), speaker("ann"), code="not_found")
    h.rejected(c.SendMessage(text="hi", to="nobody"), code="not_found")
    h.rejected(c.SendMessage(text="   "), code="invalid")
    h.rejected(c.SendMessage(text="bell\x07", to="all"), code="invalid")
    h.rejected(c.SendMessage(text="hi", to="all"), speaker("ann"), code="forbidden")
    h.ok(c.SendMessage(text="two\nlines", to="pat"))  # newlines are fine, and participants are people too


def test_equal_viewer_keys_give_equal_views() -> None:
    from modconsole.core.visibility import view_for, viewer_key

    h = Harness(make_agenda([600]))
    h.ok(c.Start())
    h.ok(c.SendMessage(text="For Ann", to="ann"))
    h.ok(c.SendMessage(text="For all", to="all"))
    h.ok(c.Ack(), speaker("bob"))
    viewers = [("speaker", p) for p in ("ann", "bob", "cho", "dee")] + [("display", None), ("participant", "p-x")]
    for role, person in viewers:
        for other_role, other in viewers:
            same_key = viewer_key(h.state, role, person) == viewer_key(h.state, other_role, other)
            views = view_for(h.state, role, person), view_for(h.state, other_role, other)
            same_view = asdict(views[0]) == asdict(views[1])
            assert same_key <= same_view  # a shared key never hides a difference
    # Those with nothing of their own share one view.
    assert viewer_key(h.state, "speaker", "cho") == viewer_key(h.state, "display", None)
    assert viewer_key(h.state, "speaker", "ann") != viewer_key(h.state, "speaker", "cho")
