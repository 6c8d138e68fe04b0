"""The console's figures: what each screen shows, worked out from the state and the core's session view.

Everything here is a pure function (or a constant) from a ``State``, a ``SessionState`` and the
``SessionView`` of ``session_view`` to text or numbers: a clock's digits, a phase's words and colours, a
person's place in the queue and their wait, the floor line, the queue and the programme, the stage display's
lines, the moderator's message lines and recovery plan. The widgets and screens draw these; the tests read them to
check what a viewer would see.

It owns no widget and must never import Textual, hold a link, send a command or read a clock of its own
(the time is always given): the same inputs give the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from rich.text import Text

from ..core.decide import redo_target, resolve_target, undo_age_ms, undo_target
from ..core.durations import format_duration
from ..core.events import ACTION_WORDS, UNDO_CONFIRM_AFTER_MS
from ..core.projection import default_session, recovery_plan
from ..core.read_model import FloorView, HandView, ItemView, SessionView, session_view
from ..core.state import Message, SessionState, State
from ..i18n import N_, _, _n
from .labels import person_label

PHASE_WORDS = {
    "normal": N_("ON TIME"),
    "warning": N_("WARNING"),
    "danger": N_("WRAP UP"),
    "overtime": N_("OVERTIME"),
}
PHASES = tuple(PHASE_WORDS)
RAISED_WORDS = {
    "contribution": N_("to speak"),
    "reply": N_("to reply"),
    "question": N_("with a question"),
    "point_of_order": N_("with a point of order"),
}  # "Raised …", on the viewer's own hand
STAGE_MESSAGE_S = 10 * 60  # a message to everyone stays on the stage display this long (event clock)


def phase_words(phase: str) -> str:
    """A phase's word in the language in use."""
    return _(PHASE_WORDS[phase])


# --- times and clocks -------------------------------------------------------------------------------


def clock_text(seconds: float) -> str:
    """Remaining time, or overtime counting up with a plus."""
    if seconds >= 0:
        return format_duration(seconds)
    return "+" + format_duration(-seconds)


def hhmm(iso: str | None) -> str:
    return iso[11:16] if iso else ""


def drift_words(over_under_s: float) -> str:
    if abs(over_under_s) < 30:
        return "on time"
    return f"{format_duration(abs(over_under_s), signed=True)} {'behind' if over_under_s > 0 else 'ahead'}"


def local_time(iso: str | None, zone: tzinfo | None) -> str:
    if not iso:
        return ""
    moment = datetime.fromisoformat(iso)
    return moment.astimezone(zone).strftime("%H:%M")


def day_and_time(iso: str | None) -> str:
    """ "Fri 27 Mar 23:15": a start that may lie days ahead (a programme's later sessions) says which day."""
    return datetime.fromisoformat(iso).strftime("%a %d %b %H:%M") if iso else ""


def phase_style(phase: str) -> str:
    """A phase's colour, for its words."""
    return {"normal": "bold green", "warning": "bold yellow", "danger": "bold red", "overtime": "bold reverse red"}.get(
        phase, "bold"
    )


def phase_class(view: SessionView) -> str:
    """The CSS class an audience panel takes for the session's current phase."""
    if view["status"] in ("not_started", "ended") or view["current_item"] is None:
        return "phase-idle"
    if view["status"] == "paused":
        return "phase-paused"
    item = next(i for i in view["items"] if i["id"] == view["current_item"])
    return f"phase-{item['phase'] or 'normal'}"


# --- sessions and messages --------------------------------------------------------------------------


def live_sessions(state: State) -> list[SessionState]:
    return [s for s in state.sessions if s.status in ("running", "paused")]


def driven_session(state: State, chosen: str | None) -> SessionState | None:
    """The session a moderator drives: the one chosen, else the core's default (the running one)."""
    session = state.session(chosen) if chosen else None
    return session or default_session(state)


def watched_session(state: State, chosen: str | None, me: str | None) -> SessionState | None:
    """The session a viewer follows: the one chosen, else the running one. With several running,
    the one where this person is queued or has the floor, then where they speak, then the first."""
    if chosen:
        session = state.session(chosen)
        if session is not None:
            return session
    live = live_sessions(state)
    if not live:
        return default_session(state)
    if len(live) == 1 or me is None or state.agenda is None:
        return live[0]

    def closeness(session: SessionState) -> int:
        item = session.current_item
        if item is not None and (
            any(h.person == me for h in item.queue) or (item.floor is not None and item.floor.person == me)
        ):
            return 0
        plan = state.plan(session.id)
        if session.current is not None and me in plan.items[session.current].speakers:
            return 1
        return 2 if any(me in spec.speakers for spec in plan.items) else 3

    return min(live, key=closeness)


def waiting_messages(state: State, me: str | None, session_id: str | None) -> list[Message]:
    """Messages to this person, or to everyone in this session, that they have not acknowledged."""
    if me is None:
        return []
    return [
        m
        for m in state.messages
        if me not in m.acknowledged and (m.to == me or (m.to == "all" and m.session in (None, session_id)))
    ]


def stage_messages(state: State, session: SessionState, now: int) -> list[Message]:
    """Messages to everyone that a stage display shows: recent ones, sent since the current item began."""
    item = session.current_item
    since = item.timer.first_start if item is not None and item.timer.first_start is not None else 0
    return [
        m
        for m in state.messages
        if m.to == "all"
        and m.session in (None, session.id)
        and m.at >= since
        and now - m.at <= STAGE_MESSAGE_S * 1000
        and session.status != "ended"
    ]


def message_lines(state: State, session: SessionState) -> list[str]:
    """The moderator's latest messages of this session, while it runs: once it has ended, they are history."""
    if session.status == "ended":
        return []
    lines = []
    for message in [m for m in state.messages if m.session in (None, session.id)][-3:]:
        who = "all" if message.to == "all" else person_label(state, message.to)
        seen = "acknowledged" if message.acknowledged else "not yet acknowledged"
        lang = f" [{message.lang}]" if message.lang else ""
        lines.append(f"✉ “{message.text}”{lang} to {who} · {seen}")
    return lines


def message_recipients(state: State, session: SessionState | None) -> list[tuple[str, str]]:
    """Whom the moderator may message, as (id, label): the floor, everyone, then the queue in order."""
    recipients = [("floor", "whoever has the floor"), ("all", "everyone")]
    if session is not None and session.current_item is not None:
        for hand in session.current_item.queue:
            recipients.append((hand.person, person_label(state, hand.person)))
    return recipients


def redone_words(state: State | None, session: SessionState | None) -> str | None:
    """What a redo would bring back, said once it has (None when there is nothing to redo)."""
    target = redo_target(state, session.id) if session is not None and state is not None else None
    return f"Redone: {ACTION_WORDS.get(target.what, target.what)}." if target else None


def undo_question(state: State | None, session: SessionState | None, now: int) -> str | None:
    """The question an undo asks first, when what it takes back is older than ten minutes of event time."""
    if state is None or session is None:
        return None
    target = undo_target(state, session.id)
    age = undo_age_ms(state, session.id, now)
    if target is None or age is None or age <= UNDO_CONFIRM_AFTER_MS:
        return None
    return f"Undo {ACTION_WORDS.get(target[1], target[1])}, {format_duration(age / 1000)} ago?"


def undone_words(state: State | None, session: SessionState | None) -> str | None:
    """What an undo would take back, said once it has (None when there is nothing the core would undo)."""
    target = undo_target(state, session.id) if session is not None and state is not None else None
    return f"Undone: {ACTION_WORDS.get(target[1], target[1])}." if target else None


# --- the queue and the floor ------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """A queued person's place: position (1 first), queue length, estimated wait, kind of hand."""

    position: int
    of: int
    wait_s: int
    kind: str


def my_place(view: SessionView, me: str | None) -> Place | None:
    if me is None:
        return None
    queue = view["queue"]
    for hand in queue:
        if hand["person"] == me:
            return Place(hand["position"], len(queue), hand["estimated_wait_s"], hand["kind"])
    return None


def my_waiting(view: SessionView, me: str | None) -> HandView | None:
    """My hand waiting (for a later item, or for the start), if it is."""
    if me is None:
        return None
    return next((hand for hand in view["waiting"] if hand["person"] == me), None)


REMOVAL_WORDS = {
    "moderator": N_("The moderator took your hand down."),
    "cleared": N_("The moderator cleared the queue: your hand came down."),
    "session_ended": N_("The session ended before your turn: your hand came down."),
}


def removal_words(session: SessionState, me: str | None) -> str | None:
    """Why my hand came down without my having had the floor, if it did (until I raise another)."""
    removal = session.removed.get(me) if me is not None else None
    words = REMOVAL_WORDS.get(removal.reason) if removal is not None else None
    return _(words) if words is not None else None


def place_words(place: Place) -> str:
    if place.wait_s < 30:
        return _("You are #{position} of {total} — next").format(position=place.position, total=place.of)
    minutes = max(1, round(place.wait_s / 60))
    # A plural by the minutes (the pages' words are the same): Russian and Arabic inflect "minute".
    words = _n(
        "You are #{position} of {total} — about {minutes} min",
        "You are #{position} of {total} — about {minutes} min",
        minutes,
    )
    return words.format(position=place.position, total=place.of, minutes=minutes)


def next_item(view: SessionView) -> ItemView | None:
    """The item "next" moves to, as the core chose it: once none is left after the current one, an item
    a goto jumped over (its time to begin is ``view["next_start"]``). None only when nothing is to come."""
    wanted = view["next_item"]
    return next((item for item in view["items"] if item["id"] == wanted), None) if wanted else None


def turn_clock(floor: FloorView) -> tuple[str, str]:
    """The turn's clock (remaining, or elapsed when it has no limit) and its words."""
    elapsed = float(floor["elapsed_s"])
    limit = floor["limit_s"]
    if not limit:
        words = _("no time limit")
        if floor["paused"]:
            words = _("PAUSED") + " · " + words
        return format_duration(elapsed), words
    remaining = limit - elapsed
    phase = floor["phase"]
    if remaining >= 0:
        left = _("{left} left of {planned}").format(left=format_duration(remaining), planned=format_duration(limit))
    else:
        left = _("{over} over {planned}").format(over=format_duration(-remaining), planned=format_duration(limit))
    words = f"{phase_words(phase)} · {left}"
    if floor["paused"]:
        words = _("PAUSED") + " · " + words
    return clock_text(remaining), words


def queue_lines(view: SessionView, me: str | None, state: State, limit: int = 20) -> Text:
    """The queue in order, for someone deciding whether to raise a hand."""
    queue = view["queue"]
    text = Text(no_wrap=True, overflow="ellipsis")
    if not queue:
        return text
    text.append(_("In the queue:"), style="dim")
    mark = {
        "point_of_order": " (" + _("point of order") + ")",
        "question": " (" + _("question") + ")",
        "reply": " (" + _("reply") + ")",
    }
    for hand in queue[:limit]:
        text.append(
            f"\n {hand['position']:>2}. {person_label(state, hand['person'])}{mark.get(hand['kind'], '')}",
            style="bold" if hand["person"] == me else "",
        )
    if len(queue) > limit:
        text.append("\n     " + _("… and {count} more").format(count=len(queue) - limit), style="dim")
    return text


def programme_lines(view: SessionView) -> Text:
    """What is still to come, with projected starts (planned ones before the session starts)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    # The current item, then those to come in the order the core says "next" takes them.
    by_id = {item["id"]: item for item in view["items"]}
    rows = [
        (item, item["actual_start"] or item["planned_start"]) for item in view["items"] if item["status"] == "current"
    ]
    rows += [(by_id[coming["item"]], coming["start"]) for coming in view["coming"]]
    if not rows or view["status"] == "ended":
        return text
    text.append(_("Programme:"), style="dim")
    for item, start in rows:
        style = "bold" if item["status"] == "current" else ""
        text.append(f"\n {hhmm(start)}  ", style=style)
        text.append(f"{item['title']} ({format_duration(item['duration_s'])})", style=style)
    return text


def floor_words(floor: FloorView | None, me: str | None, state: State) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    if floor is None:
        text.append(_("Floor: nobody"), style="dim")
        return text
    text.append(_("Floor:") + " ")
    text.append(_("you") if floor["person"] == me else person_label(state, floor["person"]), style="bold")
    text.append(f" · {format_duration(float(floor['elapsed_s']))}")
    if floor["limit_s"]:
        text.append(" " + _("of {limit}").format(limit=format_duration(floor["limit_s"])))
        text.append(f" {phase_words(floor['phase'])}", style=phase_style(floor["phase"]))
    if floor["paused"]:
        text.append(" " + _("PAUSED"), style="bold")
    return text


def floor_line(view: SessionView, me: str | None, state: State, several_live: bool) -> Text:
    """A speaker's or a participant's floor line: who has it, how long the queue is, whether to choose."""
    line = floor_words(view["floor"], me, state)
    queue = view["queue"]
    if view["current_item"] is not None and view["status"] != "ended":
        waiting = _n("{count} in the queue", "{count} in the queue", len(queue)).format(count=len(queue))
        line.append(" · " + waiting + ("" if view["queue_open"] else " (" + _("closed") + ")"))
    if several_live:
        line.append(" · " + _("several sessions run: s to choose"), style="italic")
    return line


# --- the stage display ------------------------------------------------------------------------------


def stage_top(view: SessionView, now_iso: str, city: str) -> Text:
    """The stage display's top line: the session, its room, the time of day."""
    top = Text(no_wrap=True, overflow="ellipsis")
    top.append(view["title"], style="bold")
    if view["room"]:
        top.append(f" · {view['room']}")
    top.append(f" · {hhmm(now_iso)} {city}")
    return top


def stage_floor(view: SessionView, state: State) -> Text:
    """The stage display's floor line: who speaks and their turn's time, or nobody while an item runs."""
    floor = view["floor"]
    floor_text = Text(no_wrap=True, overflow="ellipsis")
    if floor is not None:
        clock, words = turn_clock(floor)
        floor_text.append(_("Floor:") + " ", style="dim")
        floor_text.append(person_label(state, floor["person"]), style="bold")
        if floor["limit_s"]:
            floor_text.append(" · ")
            floor_text.append(words, style=phase_style(floor["phase"]))
        else:
            floor_text.append(f" · {clock} · {words}")
    elif view["current_item"] is not None and view["status"] in ("running", "paused"):
        floor_text.append(_("Floor: nobody"), style="dim")
    return floor_text


def stage_next(view: SessionView) -> Text:
    """The stage display's next line: the item to come and when, or the session's end; who waits."""
    upcoming = Text(no_wrap=True, overflow="ellipsis")
    if view["status"] in ("running", "paused"):
        coming = next_item(view)
        if coming is not None:
            upcoming.append(_("Next:") + " ", style="dim")
            upcoming.append(f"{coming['title']} · {hhmm(view['next_start'])}")
        else:
            upcoming.append(_("Last item · ends {time}").format(time=hhmm(view["projected_end"])), style="dim")
        queue = view["queue"]
        if queue:
            waiting = _n("{count} waiting", "{count} waiting", len(queue)).format(count=len(queue))
            upcoming.append(" · " + waiting, style="dim")
    return upcoming


# --- the recovery plan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanFigures:
    """The recovery plan as the moderator's dialog shows it: (title, now, proposed) per trimmed item, the
    verdict in words, and the target end as written (HH:MM)."""

    rows: list[tuple[str, int, int]]
    summary: str
    target: str


def plan_figures(state: State, session: SessionState, now: int, target: str | None) -> PlanFigures:
    """The trims that end ``session`` by ``target`` (HH:MM; None: its planned end). Raises ``ValueError``
    for a target that is no time of day."""
    target_ms = resolve_target(state, session, target, now)
    plan = recovery_plan(state, session, now, target_ms)
    spec = state.plan(session.id)
    titles = {item.id: item.title for item in spec.items}
    rows = [(titles[i.id], i.duration_s, plan.durations[i.id]) for i in session.items if i.id in plan.durations]
    view = session_view(state, session, now)
    target_text = hhmm(view["target_end"]) if target is None else target
    verdict = "ends on time" if plan.feasible else "still late: extend, skip, or trim breaks too"
    summary = (
        f"Projected end {hhmm(view['projected_end'])}, target {target_text}; "
        f"trims {format_duration(plan.trimmed_s)} in all; {verdict}."
    )
    return PlanFigures(rows, summary, target_text)


def back_at(view: SessionView, kind: str, remaining: float) -> str | None:
    """During a break that has time left, when the next item starts (HH:MM, fixed starts honoured); else None."""
    if kind != "break" or remaining < 0 or view["status"] != "running" or not view["next_start"]:
        return None
    return hhmm(view["next_start"])
