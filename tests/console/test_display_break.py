"""The stage display during a break: "BACK AT 14:00" (the next start, a fixed one honoured) in the large digits,
the time left in words below; once the break runs over, the overtime clock as for any item."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from support.tui import UTC, until

from modconsole.agenda_files import load_agenda
from modconsole.core import commands as c
from modconsole.core.agenda import local_to_ms
from modconsole.core.decide import Rejected
from modconsole.core.events import ClockSet, EventCreated
from modconsole.core.log import Entry, number, record, settle
from modconsole.core.read_model import session_view
from modconsole.core.state import State
from modconsole.server.events_admin import SYSTEM
from modconsole.tui import CannedLink, create_app
from modconsole.tui.bigfont import BigDigits, decode, fit
from modconsole.tui.figures import back_at

WHO = Path(__file__).resolve().parents[2] / "examples" / "who-city-diplomacy.toml"
MOSCOW = ZoneInfo("Europe/Moscow")
MODERATOR = c.Actor(role="moderator", client="desk")


def _at(hh: int, mm: int, ss: int = 0) -> int:
    return local_to_ms(datetime(2018, 11, 20, hh, mm, ss), MOSCOW)


def _lunch() -> State:
    """Day one started at 10:00; lunch (1:30, the afternoon panel fixed at 14:00) from 12:30."""
    state, log = State(), []  # type: ignore[var-annotated]
    agenda = load_agenda(WHO)
    for new in (
        number(state, [EventCreated(event_id="who", agenda=agenda)], SYSTEM, _at(9, 0)),
        number(state, [ClockSet(wall_ms=_at(9, 0), virtual_ms=_at(9, 0), scale=1.0)], SYSTEM, _at(9, 0)),
    ):
        state = settle(state, log, new).state
    lunch = next(i.id for i in agenda.sessions[0].items if i.title == "Lunch")
    for command, when in ((c.Start(), _at(10, 0)), (c.Goto(item=lunch), _at(12, 30))):
        recorded: list[Entry] | Rejected = record(state, command, MODERATOR, when, when)
        assert not isinstance(recorded, Rejected), recorded
        state = settle(state, log, recorded).state
    return state


def test_back_at_is_the_next_start_during_a_break_with_time_left() -> None:
    state = _lunch()
    view = session_view(state, state.sessions[0], _at(13, 2, 13))
    assert view["current_remaining_s"] == 57 * 60 + 47
    assert back_at(view, "break", 57 * 60 + 47) == "14:00"
    assert back_at(view, "talk", 57 * 60 + 47) is None  # only a break
    over = session_view(state, state.sessions[0], _at(14, 1))
    assert back_at(over, "break", float(over["current_remaining_s"] or 0)) is None  # over its time


async def test_the_stage_display_shows_back_at_in_the_large_digits() -> None:
    state = _lunch()
    app = create_app(CannedLink(state, _at(13, 2, 13), role="display"), local_zone=UTC)  # type: ignore[arg-type]
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.screen.query("#stage-digits"), "the stage display")
        digits = app.screen.query_one("#stage-digits", BigDigits)
        await until(pilot, lambda: digits.value == "BACK AT 14:00", "back at 14:00", timeout=5)
        assert fit(digits.value, *digits.content_size) is not None  # drawn in the block font, not the fallback
        assert decode(str(digits.render()).splitlines()) == "BACKAT14:00"
        phase = str(app.screen.query_one("#stage-phase").content)
        assert "57:47 left of 1:30:00" in phase
