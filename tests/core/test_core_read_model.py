"""The read model's views hold the keys their TypedDicts declare, in the declared order (the JSON's order)."""

from __future__ import annotations

from typing import Any, is_typeddict

from support.harness import Harness, mayors_agenda, participant

from modconsole.core import commands as c
from modconsole.core import read_model
from modconsole.core.read_model import (
    ComingView,
    FloorView,
    HandView,
    ItemView,
    SessionView,
    StateView,
    session_view,
    state_view,
)


def _keys(cls: Any) -> list[str]:
    assert is_typeddict(cls)
    return list(cls.__annotations__)


def _busy_call() -> Harness:
    h = Harness(mayors_agenda())
    h.ok(c.Start())
    h.advance(200)
    h.ok(c.Next())
    h.ok(c.QueueAdd(person="sala"))
    h.ok(c.Raise(kind="question"), participant("p-ana", "Ana Lima"))
    h.ok(c.Floor())
    h.advance(30)
    return h


def test_every_view_has_its_declared_keys_in_order() -> None:
    h = _busy_call()
    view = state_view(h.state, h.now)
    assert list(view) == _keys(StateView)
    session = view["sessions"][0]
    assert list(session) == _keys(SessionView)
    assert session["items"] and all(list(item) == _keys(ItemView) for item in session["items"])
    assert session["coming"] and all(list(coming) == _keys(ComingView) for coming in session["coming"])
    assert session["queue"] and all(list(hand) == _keys(HandView) for hand in session["queue"])
    assert session["floor"] is not None and list(session["floor"]) == _keys(FloorView)


def test_the_views_are_the_read_models_typed_dicts() -> None:
    # Private ones (``_Hand``, ``_HandFor``) are bases of a view, not views.
    declared = {cls for name, cls in vars(read_model).items() if is_typeddict(cls) and not name.startswith("_")}
    assert declared == {StateView, SessionView, ItemView, ComingView, HandView, FloorView, read_model.QuestionView}


def test_a_question_view_has_its_declared_keys_in_order() -> None:
    h = _busy_call()
    h.ok(c.Ask(text="Why?"), c.Actor(role="speaker", person="ann"))
    (view,) = read_model.question_views(h.state, "ann")
    assert list(view) == _keys(read_model.QuestionView)
    assert view["mine"] and view["state"] == "visible" and view["asked_at"].startswith("2020-")


def test_a_session_not_started_has_no_floor_and_no_queue() -> None:
    h = Harness(mayors_agenda())
    view = session_view(h.state, h.session, h.now)
    assert list(view) == _keys(SessionView)
    assert (view["current_item"], view["floor"], view["queue"], view["queue_open"]) == (None, None, [], True)
    assert view["next_item"] == "opening" and len(view["coming"]) == 5
