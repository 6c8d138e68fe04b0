"""Snapshots (pytest-textual-snapshot, 80x24) of what speakers, participants and the stage display see.

Each state is built with the core as the server would build it (the mayors' call, then commands decided
by ``decide`` at fixed times and their events applied) and shown through a CannedLink frozen at a fixed
time, in UTC, so every figure is the same on every run. Regenerate with ``--snapshot-update`` and look
at the SVGs before committing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from support.tui import UTC, Meeting, at, until
from textual.pilot import Pilot

from modconsole.core import commands as c
from modconsole.core.agenda import Person
from modconsole.core.read_model import session_view
from modconsole.core.state import State
from modconsole.tui import CannedLink, create_app
from modconsole.tui.audience import ViewerScreen
from modconsole.tui.bigfont import BigDigits
from modconsole.tui.figures import my_place, waiting_messages

AMINA = Person(id="p-amina", name="Amina Diallo", participant=True)


def discussion() -> Meeting:
    """The open discussion (turns of 2 minutes) from 27:00; Lagos has the floor from 27:30 and five
    hands are up, Lima's point of order at their head."""
    meeting = (
        Meeting()
        .do(c.Start(), 0)
        .do(c.Next(), 3.5)
        .do(c.Floor(person="park-won-soon"), 3.6)
        .do(c.Next(), 14)
        .do(c.Next(), 27)
        .do(c.Floor(person="lagos"), 27.5)
    )
    for minutes, person, kind in [
        (27.6, "paris", "contribution"),
        (27.7, "sala", "question"),
        (27.8, "nairobi", "reply"),
        (28.0, "montreal", "contribution"),
        (28.1, "lima", "point_of_order"),
    ]:
        meeting.hand(person, minutes, kind)
    return meeting


def wrap_up() -> Meeting:
    return discussion().do(c.SendMessage(text="Please wrap up", to="floor"), 29.2)


def with_amina() -> Meeting:
    amina = c.Actor(role="participant", person=AMINA.id, name=AMINA.name, client="amina")
    return discussion().do(c.Raise(), 28.2, amina)


def seoul_overtime() -> Meeting:
    return Meeting().do(c.Start(), 0).do(c.Next(), 3.5).do(c.Floor(person="park-won-soon"), 3.6)


def break_notice() -> Meeting:
    return discussion().do(c.SendMessage(text="Two minutes to the closing", to="all"), 28.3)


@dataclass(frozen=True)
class Scene:
    build: Callable[[], Meeting]
    now: float  # minutes after the planned start
    role: str  # speaker, participant or display
    person: str | None = None


SCENES = {
    # Ten minutes before the call: Paris waits for it to start.
    "speaker_idle": Scene(Meeting, -10, "speaker", "paris"),
    # 29:15: Paris is #2 of 5 behind Lima's point of order.
    "speaker_queued": Scene(discussion, 29.25, "speaker", "paris"),
    # 28:15: Lagos has spoken 0:45 of a 2-minute turn.
    "speaker_floor": Scene(discussion, 28.25, "speaker", "lagos"),
    # 29:15: 15 seconds left of Lagos's turn: the warning phase (and the bell, once).
    "speaker_warning": Scene(discussion, 29.25, "speaker", "lagos"),
    # 29:45: Lagos is 15 seconds over.
    "speaker_overtime": Scene(discussion, 29.75, "speaker", "lagos"),
    # 29:20: the moderator asked Lagos to wrap up; not yet acknowledged.
    "speaker_message": Scene(wrap_up, 29 + 1 / 3, "speaker", "lagos"),
    # Amina, a participant, raised her hand at 28:12: #6 of 6.
    "participant_queued": Scene(with_amina, 28.5, "participant", AMINA.id),
    # The same discussion for Amina before she raises a hand, with a message to everyone.
    "participant_message": Scene(break_notice, 28.5, "participant", AMINA.id),
    # The stage display ten minutes before the call.
    "display_idle": Scene(Meeting, -10, "display"),
    # The stage display during the discussion: Lagos 0:45 into a 2-minute turn.
    "display_floor": Scene(discussion, 28.25, "display"),
    # Seoul's briefing 1:15 over its 10 minutes.
    "display_overtime": Scene(seoul_overtime, 14.75, "display"),
    # A message to everyone on the stage display.
    "display_message": Scene(break_notice, 28.5, "display"),
}


def person_for(scene: Scene, state: State) -> Person | None:
    if scene.person is None:
        return None
    return state.person(scene.person) or AMINA


def app_for(scene: Scene) -> Any:
    state = scene.build().state
    link = CannedLink(state, at(scene.now), role=scene.role, person=person_for(scene, state))  # type: ignore[arg-type]
    return create_app(link, local_zone=UTC)


async def drawn(pilot: Pilot[Any]) -> None:
    """Wait until the view has drawn, its large digits at their laid-out size."""
    app = pilot.app

    def ready() -> bool:
        screen = app.screen
        if not (isinstance(screen, ViewerScreen) and screen.ready):
            return False
        return all(d.content_size.height > 0 for d in screen.query(BigDigits) if d.display and d.value)

    await until(pilot, ready, "the view to draw")
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


@pytest.mark.parametrize("scene", SCENES)
def test_audience_snapshot(snap_compare: Any, scene: str) -> None:
    assert snap_compare(app_for(SCENES[scene]), terminal_size=(80, 24), run_before=drawn)


def test_scenes_are_what_they_claim() -> None:
    """The figures behind the pictures, so a snapshot cannot quietly show another state."""

    def view(name: str) -> dict[str, Any]:
        scene = SCENES[name]
        state = scene.build().state
        return session_view(state, state.sessions[0], at(scene.now))

    assert view("speaker_idle")["status"] == "not_started"
    queued = my_place(view("speaker_queued"), "paris")
    assert queued is not None and (queued.position, queued.of) == (2, 5)
    assert view("speaker_floor")["floor"]["person"] == "lagos"
    assert view("speaker_floor")["floor"]["phase"] == "normal"
    assert view("speaker_warning")["floor"]["phase"] == "warning"
    assert view("speaker_overtime")["floor"]["phase"] == "overtime"
    state = wrap_up().state
    assert [m.text for m in waiting_messages(state, "lagos", "call")] == ["Please wrap up"]
    amina = my_place(view("participant_queued"), AMINA.id)
    assert amina is not None and (amina.position, amina.of) == (6, 6)
    assert view("display_overtime")["current_remaining_s"] == -75


@pytest.mark.parametrize(
    ("role", "person", "says", "not_said"),
    [
        ("display", None, "showing the last state known", "commands refused"),  # a display sends no commands
        ("speaker", "lagos", "commands refused", "showing the last state known"),  # a speaker's hand would not go
    ],
)
async def test_offline_the_bar_says_what_it_means_for_this_view(
    role: str, person: str | None, says: str, not_said: str
) -> None:
    state = discussion().state
    link = CannedLink(
        state,
        at(28.25),
        role=role,
        person=state.person(person) if person else None,  # type: ignore[arg-type]
        status="reconnecting",
    )
    app = create_app(link, local_zone=UTC)
    async with app.run_test(size=(80, 24)) as pilot:
        await drawn(pilot)
        bar = str(app.screen.query_one("#connection").render())
        assert "○ reconnecting" in bar and says in bar and not_said not in bar, bar


async def test_a_link_that_fails_unexpectedly_ends_the_console_with_the_reason() -> None:
    class Broken(CannedLink):
        async def run(self, changed: Callable[[], None]) -> None:
            raise RuntimeError("something no one planned for")

    link = Broken(discussion().state, at(28.25), role="display", status="connecting")
    app = create_app(link, local_zone=UTC)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.return_code is not None, "the console to end")
    assert app.return_code == 1
    assert link.status == "refused" and "something no one planned for" in link.detail
