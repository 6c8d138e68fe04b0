"""A moderator limited to some sessions: a command without a session goes to theirs, another's is refused."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from modconsole.core import commands as c
from modconsole.core.agenda import Agenda
from modconsole.core.decide import Rejected
from modconsole.core.events import EventCreated
from modconsole.core.fold import replay
from modconsole.core.scope import scoped
from modconsole.core.state import State


def _two_halls() -> State:
    agenda = Agenda.model_validate(
        {
            "title": "Two halls",
            "timezone": "Europe/Berlin",
            "sessions": [
                {
                    "id": hall,
                    "title": hall,
                    "start": "2030-05-04T09:00:00",
                    "items": [{"id": f"{hall}-talk", "title": "Talk", "duration_s": 600}],
                }
                for hall in ("hall-a", "hall-b")
            ],
        }
    )
    return replay([(1, EventCreated(event_id="e", agenda=agenda))])


def test_a_command_without_a_session_goes_to_the_moderators_own() -> None:
    state = _two_halls()
    assert scoped(state, c.Start(), ("hall-b",)) == c.Start(session="hall-b")
    assert scoped(state, c.Start(), None) == c.Start()  # unlimited: the default session, as before
    assert scoped(state, c.Next(session="hall-b"), ("hall-b",)) == c.Next(session="hall-b")
    assert scoped(state, c.SendMessage(text="hi", to="all"), ("hall-b",)) == c.SendMessage(text="hi", to="all")


def test_another_moderators_session_is_refused_naming_ones_own() -> None:
    refused = scoped(_two_halls(), c.Next(session="hall-a"), ("hall-b",))
    assert isinstance(refused, Rejected) and refused.code == "forbidden"
    assert "'hall-a'" in refused.message and "'hall-b'" in refused.message


@given(st.sampled_from(["hall-a", "hall-b"]), st.sampled_from([None, "hall-a", "hall-b"]))
def test_a_limited_moderator_never_reaches_another_session(theirs: str, asked: str | None) -> None:
    out = scoped(_two_halls(), c.Pause(session=asked), (theirs,))
    if isinstance(out, Rejected):
        assert asked is not None and asked != theirs
    else:
        assert out.session == theirs
