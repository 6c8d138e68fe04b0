"""What speakers, participants and a stage display see: the current item, the floor, their place in
the queue and their time, and the moderator's messages.

``ViewerScreen`` is a speaker's or a participant's (keys to raise and withdraw a hand, acknowledge a
message); ``DisplayScreen`` is the read-only stage clock, large and high-contrast, with no keys to
press. ``NowPanel`` and ``StageClock`` are their panels.

It owns the audience's layout, keys and bell. The figures come from ``figures`` (pure functions over the
core's ``session_view``); what is drawn here is put together from them and nothing else. A screen reads
the link it is given (state, person, clock) and asks the App for the rest by posting a message
(``messages.SendCommand``): it must never import the App, send on the link or notify through it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Digits, Footer, Header, Label, Static

from ..core import commands as c
from ..core.agenda import ms_to_local
from ..core.durations import format_duration
from ..core.read_model import FloorView, SessionView, session_view
from ..core.state import SessionState, State
from ..core.visibility import view_for
from ..i18n import N_, _, message_text
from ..i18n import language as spoken
from .bigfont import BigDigits
from .figures import (
    RAISED_WORDS,
    back_at,
    clock_text,
    day_and_time,
    floor_line,
    hhmm,
    live_sessions,
    my_place,
    my_waiting,
    next_item,
    phase_class,
    phase_style,
    phase_words,
    place_words,
    programme_lines,
    queue_lines,
    removal_words,
    stage_floor,
    stage_messages,
    stage_next,
    stage_top,
    turn_clock,
    waiting_messages,
    watched_session,
)
from .labels import person_label, plain
from .link import Link
from .messages import SendCommand
from .questions import live_question
from .widgets import ConnectionBar, TimerPanel

AUDIENCE_BINDINGS = [
    Binding("r", "raise_hand('contribution')", N_("Speak"), tooltip=N_("Ask for the floor")),
    Binding("y", "raise_hand('reply')", N_("Reply"), tooltip=N_("Ask to reply to what was just said")),
    Binding("w", "raise_hand('question')", N_("Question"), tooltip=N_("Ask a question")),
    Binding("o", "raise_hand('point_of_order')", N_("Point of order"), tooltip=N_("Raise a point of order")),
    Binding("n", "raise_for_later", N_("For later"), tooltip=N_("Raise your hand for an item still to come")),
    Binding("l", "lower_hand", N_("Withdraw"), tooltip=N_("Withdraw your hand")),
    Binding("a", "acknowledge", N_("Acknowledge"), tooltip=N_("Acknowledge the moderator's message")),
]
SESSION_BINDING = Binding("s", "choose_session", N_("Session"), tooltip=N_("Choose the session you follow"))


def translated(bindings: list[Binding]) -> list[Binding]:
    """The keys with their words in the language in use (the footer shows them)."""
    return [replace(b, description=_(b.description), tooltip=_(b.tooltip) if b.tooltip else "") for b in bindings]


PHASE_CLASSES = ("phase-normal", "phase-warning", "phase-danger", "phase-overtime", "phase-paused", "phase-idle")


def _set_phase(widget: Widget, wanted: str) -> None:
    for name in PHASE_CLASSES:
        widget.set_class(name == wanted, name)


# --- widgets ----------------------------------------------------------------------------------------


class NowPanel(TimerPanel):
    """The current item for a speaker or participant: its title, its time left, what comes next."""

    def compose(self) -> ComposeResult:
        yield Label("", id="now-title")
        with Horizontal(id="now-row"):
            yield Digits("--:--", id="now-digits")
            with Vertical(id="now-side"):
                yield Label("", id="now-phase")
                yield Label("", id="now-next")

    def show(self, view: SessionView | None, zone: str = "") -> None:
        title = self.query_one("#now-title", Label)
        digits = self.query_one("#now-digits", Digits)
        phase = self.query_one("#now-phase", Label)
        upcoming = self.query_one("#now-next", Label)
        if view is None:
            title.update(_("No session"))
            return
        _set_phase(self, phase_class(view))
        coming = next_item(view)
        city = zone.rsplit("/", 1)[-1]
        if view["status"] == "not_started" or view["current_item"] is None:
            title.update(
                Text(_("{title} — not started").format(title=view["title"]), overflow="ellipsis", no_wrap=True)
            )
            digits.update("--:--")
            when = day_and_time(view["planned_start"])
            phase.update(plain(_("Planned start {when} {city}").format(when=when, city=city).rstrip()))
            first = _("First: {title}").format(title=coming["title"]) if coming else ""
            upcoming.update(Text(first, overflow="ellipsis", no_wrap=True))
            return
        if view["status"] == "ended":
            title.update(Text(_("{title} — ended").format(title=view["title"]), overflow="ellipsis", no_wrap=True))
            digits.update("--:--")
            phase.update(plain(_("Ended at {time} {city}").format(time=hhmm(view["actual_end"]), city=city).rstrip()))
            upcoming.update(
                _("Ran {ran} · planned {planned}").format(
                    ran=format_duration(float(view["elapsed_s"])),
                    planned=format_duration(view["planned_duration_s"] + view["extended_s"]),
                )
            )
            return
        item = next(i for i in view["items"] if i["id"] == view["current_item"])
        current_remaining = view["current_remaining_s"]
        assert current_remaining is not None  # there is a current item
        remaining = float(current_remaining)
        title.update(Text(item["title"], overflow="ellipsis", no_wrap=True))
        digits.update(clock_text(remaining))
        words = phase_words(item["phase"] or "normal")
        if view["status"] == "paused":
            words = _("PAUSED") + " · " + words
        phase.update(f"{words} · " + _("{planned} planned").format(planned=format_duration(item["duration_s"])))
        if coming is not None:
            upcoming.update(
                Text(
                    _("Next: {title} · {time}").format(title=coming["title"], time=hhmm(view["next_start"])),
                    overflow="ellipsis",
                    no_wrap=True,
                )
            )
        else:
            upcoming.update(_("Last item · session ends {time}").format(time=hhmm(view["projected_end"])))


class StageClock(TimerPanel):
    """The stage display's clock: the item, its time in the largest digits that fit, the phase in words."""

    def compose(self) -> ComposeResult:
        yield Label("", id="stage-item")
        yield BigDigits("--:--", id="stage-digits")
        yield Label("", id="stage-phase")

    def show(self, view: SessionView | None, zone: str = "", now_iso: str = "") -> None:
        title = self.query_one("#stage-item", Label)
        digits = self.query_one("#stage-digits", BigDigits)
        phase = self.query_one("#stage-phase", Label)
        if view is None:
            return
        _set_phase(self, phase_class(view))
        city = zone.rsplit("/", 1)[-1]
        if view["status"] == "not_started" or view["current_item"] is None:
            coming = next_item(view)
            heading = _("Next: {title}").format(title=coming["title"]) if coming else view["title"]
            title.update(Text(heading, overflow="ellipsis", no_wrap=True))
            digits.update(hhmm(now_iso) or "--:--")
            planned = hhmm(view["planned_start"])
            phase.update(plain(_("Time of day in {city} · planned start {time}").format(city=city, time=planned)))
            return
        if view["status"] == "ended":
            title.update(Text(_("{title} — ended").format(title=view["title"]), overflow="ellipsis", no_wrap=True))
            digits.update(hhmm(now_iso) or "--:--")
            ended = hhmm(view["actual_end"])
            phase.update(plain(_("Time of day in {city} · ended at {time}").format(city=city, time=ended)))
            return
        item = next(i for i in view["items"] if i["id"] == view["current_item"])
        current_remaining = view["current_remaining_s"]
        assert current_remaining is not None  # there is a current item
        remaining = float(current_remaining)
        title.update(Text(item["title"], overflow="ellipsis", no_wrap=True))
        back = back_at(view, item["kind"], remaining)
        # During a break the room wants to know when to be back, not how long the break has left.
        digits.update(f"BACK AT {back}" if back else clock_text(remaining))
        planned = format_duration(item["duration_s"])
        words = phase_words(item["phase"] or "normal")
        if remaining >= 0:
            words += " · " + _("{left} left of {planned}").format(left=format_duration(remaining), planned=planned)
        else:
            words += " · " + _("{over} over {planned}").format(over=format_duration(-remaining), planned=planned)
        if view["status"] == "paused":
            words = _("PAUSED") + " · " + words
        phase.update(words)


# --- screens ----------------------------------------------------------------------------------------


class ViewerScreen(Screen[None]):
    """A speaker's or a participant's view: the item, the floor, their place or their turn, messages."""

    BINDINGS = [*AUDIENCE_BINDINGS, SESSION_BINDING]

    def __init__(self, link: Link, role: str, session: str | None = None) -> None:
        super().__init__(classes=f"role-{role}")
        if spoken() != "en":  # the footer's words in the viewer's language
            for binding in translated([*AUDIENCE_BINDINGS, SESSION_BINDING]):
                self._bindings.key_to_bindings[binding.key] = [binding]
        self.link = link  # read here (state, person, clock); the App sends on it
        self.role = role
        self.session_id = session  # chosen with --session or the s key; None follows the running one
        self._keys: tuple[Any, ...] = ()
        self._rung: set[tuple[str, str, int | None]] = set()  # turns whose warning already rang the bell
        self._shown_message: str | None = None
        self._mine = False  # this person holds the floor
        self._queued = False
        self._can_raise = False
        self._can_raise_later = False
        self._several_live = False

    ready = False  # set once composed: refreshes before that have nothing to draw on

    @property
    def me(self) -> str | None:
        person = self.link.person
        return person.id if person is not None and self.role != "display" else None

    def compose(self) -> ComposeResult:
        yield Header()
        yield NowPanel(id="now")
        yield Static("", id="floor-line")
        with Vertical(id="you"):
            yield Static("", id="you-status")
            yield BigDigits("", id="turn-digits")
            yield Static("", id="you-hint")
            yield Static("", id="queue-list")
        yield Static("", id="message")
        yield ConnectionBar(id="connection")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:  # also the display's (Textual calls on_mount along the class hierarchy)
        self.ready = True
        for panel in self.query("#now"):
            panel.border_title = _("Now")
        self.refresh_view()

    # --- figures ------------------------------------------------------------------------------

    def session(self) -> SessionState | None:
        state = self.link.state
        if state is None or state.agenda is None:
            return None
        if self.session_id and state.session(self.session_id) is None:
            known = ", ".join(s.id for s in state.sessions)
            # After the screen is drawn: a notification while it is being switched to races the old one's header.
            self.call_after_refresh(
                self.notify,
                _("No session {session} (sessions: {known}); following the running one.").format(
                    session=repr(self.session_id), known=known
                ),
                severity="warning",
            )
            self.session_id = None
        return watched_session(state, self.session_id, self.me)

    def visible_state(self) -> State | None:
        link = self.link
        state = link.state
        if state is None:
            return None
        return view_for(state, "display" if self.role == "display" else link.role, self.me)

    def _seen(self) -> tuple[State, SessionState, SessionView, int] | None:
        """What this viewer may see now: its state, the watched session and its figures, the time."""
        link = self.link
        self.query_one(ConnectionBar).show(link)
        state = self.visible_state()
        session = self.session()
        if state is None or state.agenda is None or session is None:
            return None
        now = link.now()
        return state, session, session_view(state, session, now), now

    def refresh_view(self) -> None:
        seen = self._seen()
        if seen is None:
            return
        state, session, view, _now = seen
        assert state.agenda is not None  # _seen gives only a state with an agenda
        me = self.me
        person = self.link.person
        # Who I am first (a narrow terminal cuts the end), then the event.
        self.title = person_label(state, person) if person else "modconsole"
        self.sub_title = state.agenda.title
        self._several_live = len(live_sessions(state)) > 1
        self.query_one(NowPanel).show(view, state.agenda.timezone)
        self.query_one("#floor-line", Static).update(floor_line(view, me, state, self._several_live))
        self._show_you(view, session, me, state)
        self._show_message(state, session, me)
        keys = (
            self._queued,
            self._can_raise,
            self._can_raise_later,
            self._shown_message is not None,
            self._several_live,
        )
        if keys != self._keys:
            self._keys = keys
            self.refresh_bindings()

    def _show_you(self, view: SessionView, session: SessionState, me: str | None, state: State) -> None:
        you = self.query_one("#you", Vertical)
        status = self.query_one("#you-status", Static)
        hint = self.query_one("#you-hint", Static)
        digits = self.query_one("#turn-digits", BigDigits)
        floor = view["floor"]
        place = my_place(view, me)
        waiting = my_waiting(view, me)
        self._mine = floor is not None and me is not None and floor["person"] == me
        self._queued = place is not None or waiting is not None
        running = view["current_item"] is not None and view["status"] in ("running", "paused")
        # Hands go up before the start too: they join the first item's queue when it starts.
        open_now = view["status"] == "not_started" or (running and view["queue_open"])
        self._can_raise = open_now and not self._queued and not self._mine
        self._can_raise_later = (open_now or running) and bool(view["coming"]) and not self._queued and not self._mine
        mode = "floor" if self._mine else ("queued" if self._queued else "idle")
        for name in ("floor", "queued", "idle"):
            you.set_class(name == mode, f"mode-{name}")
        if self._mine:
            assert floor is not None
            clock, words = turn_clock(floor)
            digits.update(clock)
            _set_phase(you, "phase-paused" if floor["paused"] else f"phase-{floor['phase']}")
            you.border_title = _("Your turn")
            status.update(Text(_("YOU HAVE THE FLOOR"), style="bold"))
            hint.update(Text(words, style=phase_style(floor["phase"])))
            self._bell(session, floor)
            return
        _set_phase(you, "phase-idle")
        if place is not None:
            you.border_title = _("Your hand is up")
            digits.update(f"#{place.position}")
            status.update(Text(place_words(place), style="bold"))
            kind = _(RAISED_WORDS[place.kind]) if place.kind in RAISED_WORDS else place.kind
            hint.update(plain(_("Raised {kind} · l to withdraw").format(kind=kind)))
            return
        if waiting is not None:
            you.border_title = _("Your hand is up")
            digits.update("")
            titles = {item["id"]: item["title"] for item in view["items"]}
            target = waiting["for"]
            words = (
                _("For {title}: you join its queue when it starts").format(title=titles.get(target, target))
                if target is not None
                else _("You join the queue when the session starts")
            )
            status.update(Text(words, style="bold", overflow="ellipsis", no_wrap=True))
            kind = _(RAISED_WORDS[waiting["kind"]]) if waiting["kind"] in RAISED_WORDS else waiting["kind"]
            hint.update(plain(_("Raised {kind} · l to withdraw").format(kind=kind)))
            return
        digits.update("")
        you.border_title = _("You")
        lines = queue_lines(view, me, state) if view["queue"] else programme_lines(view)
        self.query_one("#queue-list", Static).update(lines)
        removed = removal_words(session, me)
        if removed is not None:
            status.update(Text(removed, style="bold"))
            hint.update(
                _("Thank you.") if view["status"] == "ended" else _("r to raise your hand again · n for a later item")
            )
        elif view["status"] == "not_started":
            status.update(_("The session has not started."))
            hint.update(_("Raise your hand now (r): you join the queue when it starts · n for a later item."))
        elif view["status"] == "ended":
            status.update(_("The session has ended."))
            hint.update(_("Thank you."))
        elif not view["queue_open"]:
            status.update(_("The queue is closed."))
            hint.update(_("The moderator takes no more hands for now."))
        else:
            status.update(Text(_("Want the floor? Raise your hand."), style="bold"))
            hint.update(_("r to speak · y to reply · w for a question · o for a point of order"))

    def _bell(self, session: SessionState, floor: FloorView) -> None:
        """Ring once per turn when it reaches its warning phase (or starts past it)."""
        if floor["phase"] == "normal" or floor["paused"]:
            return
        item = session.current_item
        turn = item.floor if item is not None else None
        key = (session.id, item.id if item else "", turn.timer.first_start if turn else None)
        if key not in self._rung:
            self._rung.add(key)
            self.app.bell()

    def _show_message(self, state: State, session: SessionState, me: str | None) -> None:
        box = self.query_one("#message", Static)
        waiting = waiting_messages(state, me, session.id)
        if not waiting:
            self._shown_message = None
            box.display = False
            return
        message = waiting[0]  # the oldest first: each `a` acknowledges the one shown
        self._shown_message = message.id
        box.display = True
        more = " (" + _("1 of {count}").format(count=len(waiting)) + ")" if len(waiting) > 1 else ""
        box.border_title = _("Message from the moderator") + more
        text = Text()
        text.append(f"✉ {message_text(message.text, message.lang)}", style="bold")
        if message.lang and message.lang != spoken() and message_text(message.text, message.lang) == message.text:
            text.append(f" [{message.lang}]", style="dim")
        if message.to == "all":
            text.append("  (" + _("to everyone") + ")", style="italic")
        box.update(text)
        box.border_subtitle = _("a to acknowledge")

    # --- keys ---------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "choose_session":
            return self._several_live
        if self.role == "display":
            return False  # a display is read-only: its keys do nothing and it shows no footer
        if action == "raise_hand":
            return self._can_raise
        if action == "raise_for_later":
            return self._can_raise_later
        if action == "lower_hand":
            return self._queued
        if action == "acknowledge":
            return self._shown_message is not None
        return True

    def _send(self, command: c.Command) -> None:
        session = self.session()
        self.post_message(SendCommand(command.model_copy(update={"session": session.id if session else None})))

    def action_raise_hand(self, kind: str) -> None:
        self._send(c.Raise(kind=kind))

    def action_raise_for_later(self) -> None:
        state, session = self.visible_state(), self.session()
        if state is None or session is None:
            return
        view = session_view(state, session, self.link.now())
        titles = {item["id"]: item["title"] for item in view["items"]}
        items = [(coming["item"], titles[coming["item"]]) for coming in view["coming"]]
        if not items:
            return
        from .dialogs import ItemPicker  # the dialogs are not needed before this

        def chosen(item_id: str | None) -> None:
            if item_id:
                self._send(c.Raise(for_item=item_id))

        self.app.push_screen(ItemPicker(items), chosen)

    def action_lower_hand(self) -> None:
        self._send(c.Lower())

    def action_acknowledge(self) -> None:
        if self._shown_message is not None:
            self.post_message(SendCommand(c.Ack(message_id=self._shown_message)))

    def action_choose_session(self) -> None:
        state = self.link.state
        if state is None or state.agenda is None:
            return
        from .dialogs import pick_session  # the dialogs (OptionList, Markdown) are not needed before this

        pick_session(self, state)


class DisplayScreen(ViewerScreen):
    """The stage display: read-only, full screen, large and high-contrast; no keys are needed."""

    def __init__(self, link: Link, session: str | None = None) -> None:
        super().__init__(link, "display", session)

    def compose(self) -> ComposeResult:
        yield Static("", id="stage-top")
        yield StageClock(id="stage-clock")
        yield Static("", id="stage-floor")
        yield Static("", id="stage-next")
        yield Static("", id="stage-question")
        yield Static("", id="stage-message")
        yield ConnectionBar(sends_commands=False, id="connection")

    def refresh_view(self) -> None:
        seen = self._seen()
        if seen is None:
            return
        state, session, view, now = seen
        assert state.agenda is not None  # _seen gives only a state with an agenda
        now_iso = ms_to_local(now, state.agenda.zone).isoformat(timespec="seconds")
        city = state.agenda.timezone.rsplit("/", 1)[-1]
        self._several_live = len(live_sessions(state)) > 1
        self.query_one("#stage-top", Static).update(stage_top(view, now_iso, city))
        self.query_one(StageClock).show(view, state.agenda.timezone, now_iso)
        self.query_one("#stage-floor", Static).update(stage_floor(view, state))
        self.query_one("#stage-next", Static).update(stage_next(view))
        asked = self.query_one("#stage-question", Static)
        live = live_question(state, session.id)
        asked.display = live is not None
        if live is not None:
            asked.update(live)
        box = self.query_one("#stage-message", Static)
        messages = stage_messages(state, session, now)
        box.display = bool(messages)
        if messages:
            box.update(Text(f"✉ {message_text(messages[-1].text, messages[-1].lang)}", style="bold"))
        if self._several_live != (self._keys[-1] if self._keys else False):
            self._keys = (self._several_live,)
            self.refresh_bindings()
