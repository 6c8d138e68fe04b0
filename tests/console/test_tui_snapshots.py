"""Snapshots of the moderator console (pytest-textual-snapshot) at 80x24 and 160x48.

Each state is built with the core, as the server would: the mayors' call agenda, then commands
decided by ``decide`` at fixed times and their events applied. The console reads it through a
CannedLink frozen at a fixed time, with the local zone fixed to UTC, so every figure on screen is
the same on every run; the screenshot is taken once the tables are drawn at their laid-out widths,
and nothing on the console blinks (no text input is shown; DataTable cursors do not blink).
Regenerate with ``--snapshot-update`` and look at the SVGs before committing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from support.tui import UTC, Meeting, at, until
from textual.pilot import Pilot
from textual.widgets import Input

from modconsole.core import commands as c
from modconsole.tui import CannedLink, create_app
from modconsole.tui.moderator import ModeratorScreen
from modconsole.tui.widgets import QueuePanel, Rundown


# The call was planned for 23:15 in Seoul on 27 March 2020.
def seoul_briefing() -> Meeting:
    """The opening ran 3:30 (half a minute over); Seoul's briefing since 3:30, Park Won-soon speaking."""
    return (
        Meeting()
        .do(c.Start(), 0)
        .do(c.Floor(person="garcetti"), 0)
        .do(c.Next(), 3.5)
        .do(c.Floor(person="park-won-soon"), 3.6)
        .hand("paris", 5)
        .hand("tokyo", 6, "question")
    )


def discussion() -> Meeting:
    """The open discussion with turns of 2 minutes: the two hands raised during Seoul's briefing, five more, a
    point of order at the head."""
    meeting = seoul_briefing().do(c.Next(), 14).do(c.Next(), 27).do(c.Floor(person="lagos"), 27.5)
    for minutes, person, kind in [
        (27.6, "london", "contribution"),
        (27.7, "sala", "question"),
        (27.8, "nairobi", "reply"),
        (28.0, "montreal", "contribution"),
        (28.5, "lima", "point_of_order"),
    ]:
        meeting.hand(person, minutes, kind)
    return meeting


@dataclass(frozen=True)
class Scene:
    build: Callable[[], Meeting]
    now: float  # minutes after the planned start
    status: str = "connected"
    online: tuple[str, ...] = ()


SCENES = {
    # Ten minutes before the call: nothing has started.
    "idle": Scene(Meeting, -10),
    # 7:10 in: Seoul's briefing has run 3:40 of 10 minutes, the call is half a minute behind.
    "running": Scene(seoul_briefing, 7 + 10 / 60, online=("paris",)),
    # 14:45 in: Seoul's briefing has run 11:15 of 10 minutes.
    "overtime": Scene(seoul_briefing, 14.75, online=("paris", "tokyo")),
    # 29:15 in: Lagos has spoken 1:45 of a 2-minute turn; Lima's point of order leads the queue.
    "point_of_order": Scene(discussion, 29.25, online=("lagos", "paris", "sala", "lima")),
    # The link is down: the last known state stays, the bar says commands are refused.
    "disconnected": Scene(seoul_briefing, 7 + 10 / 60, status="reconnecting"),
}
SIZES = {"80x24": (80, 24), "160x48": (160, 48)}


def console_for(scene: Scene) -> Any:
    link = CannedLink(scene.build().state, at(scene.now), status=scene.status)  # type: ignore[arg-type]
    link.online = set(scene.online)
    return create_app(link, local_zone=UTC)


async def drawn(pilot: Pilot[Any]) -> None:
    """Wait until the console has drawn its tables at their laid-out widths."""
    app = pilot.app

    def ready() -> bool:
        screen = app.screen
        if not (isinstance(screen, ModeratorScreen) and screen.ready):
            return False
        rundown, queue = screen.query_one(Rundown), screen.query_one(QueuePanel)
        return (
            rundown.size.width > 0
            and rundown.row_count == 5
            and rundown._shape[1] == rundown.size.width
            and queue._width == queue.size.width
        )

    await until(pilot, ready, "the console to draw")
    await pilot.wait_for_scheduled_animations()
    # Nothing on screen blinks: the tables' cursors do not, and there is no text input (whose cursor would).
    assert not app.screen.query(Input)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("scene", SCENES)
def test_console_snapshot(snap_compare: Any, scene: str, size: str) -> None:
    assert snap_compare(console_for(SCENES[scene]), terminal_size=SIZES[size], run_before=drawn)


def test_scenes_are_what_they_claim() -> None:
    """The figures behind the pictures, so a snapshot cannot quietly show another state."""
    from modconsole.core.read_model import session_view

    def view(name: str) -> dict[str, Any]:
        scene = SCENES[name]
        state = scene.build().state
        return session_view(state, state.sessions[0], at(scene.now))

    assert view("idle")["status"] == "not_started"
    running = view("running")
    assert running["current_item"] == "seoul-briefing" and running["items"][1]["phase"] == "normal"
    assert running["over_under_s"] == 30
    assert [h["person"] for h in running["queue"]] == ["paris", "tokyo"]
    overtime = view("overtime")
    assert overtime["items"][1]["phase"] == "overtime" and overtime["current_remaining_s"] == -75
    order = view("point_of_order")
    assert order["queue"][0]["kind"] == "point_of_order" and order["queue"][0]["person"] == "lima"
    assert [h["person"] for h in order["queue"][1:3]] == ["paris", "tokyo"]  # kept from the briefing
    assert order["floor"]["person"] == "lagos" and order["floor"]["phase"] == "warning"


@pytest.mark.parametrize("size", SIZES)
async def test_durations_of_an_hour_or_more_are_shown_whole(size: str) -> None:
    """ "1:03:00*" in a column sized for "45:00": the column widens, the title gives way."""
    from support.tui import screen_text

    meeting = Meeting().do(c.Start(), 0).do(c.AddTime(delta_s=3600), 1)  # the opening: 3:00 + 1:00:00
    app = create_app(CannedLink(meeting.state, at(2)), local_zone=UTC)
    async with app.run_test(size=SIZES[size]) as pilot:
        await drawn(pilot)
        assert "1:03:00*" in screen_text(app)
