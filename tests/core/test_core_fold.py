"""The fold's handler table: one handler for every event type, typed by that type's class."""

from __future__ import annotations

import inspect
import typing

import modconsole.core.events as events_module
from modconsole.core import fold
from modconsole.core.events import Event, _Event
from modconsole.core.state import SessionState, State


def _event_classes() -> dict[str, type[_Event]]:
    """Every event class ``modconsole.core.events`` defines, by the type it is told apart by."""
    found = {}
    for _name, cls in inspect.getmembers(events_module, inspect.isclass):
        if issubclass(cls, _Event) and "type" in cls.model_fields:
            found[cls.model_fields["type"].default] = cls
    return found


def test_every_event_class_is_in_the_event_union() -> None:
    (union, *_meta) = typing.get_args(Event)
    assert set(typing.get_args(union)) == set(_event_classes().values())


def test_the_handler_table_covers_every_event_type() -> None:
    types = set(_event_classes())
    assert len(types) >= 27
    missing = sorted(types - set(fold._HANDLERS))
    assert not missing, f"no fold handler for {missing}"
    assert not sorted(set(fold._HANDLERS) - types), "a handler for a type that is no event"


def test_each_handler_is_typed_by_its_event_class() -> None:
    classes = _event_classes()
    for kind, handler in fold._HANDLERS.items():
        hints = typing.get_type_hints(handler)
        state_param, session_param, event_param = inspect.signature(handler).parameters
        assert hints[state_param] is State, kind
        assert hints[event_param] is classes[kind], (kind, hints[event_param])
        # A session's event gets its session; the others get None.
        fields = classes[kind].model_fields
        session_event = "session" in fields and fields["session"].is_required() and kind != "message_sent"
        assert hints[session_param] == (SessionState if session_event else SessionState | None), kind
