"""The view feed: what the browser pages (``/join``, ``/display``) are sent, derived from the read model.

A page runs no copy of the reducer: the server folds the log, and sends each page the figures it shows, cut
to what its viewer may see (``visibility.view_for``) and shaped here. Every clock figure comes with absolute
times on the event clock (``server_time``, deadlines), so a page counts down by itself between two views
with the clock offset it measures from its pings. Viewers with the same ``visibility.viewer_key`` get the
same view, so the server serialises one per key, not one per page.

docs/view-feed.md is generated from these declarations by ``python -m modconsole.server.view_feed_doc``,
with the string under each field as its description. Nothing here reads a clock: ``now`` is passed in.
"""

from __future__ import annotations

from typing import TypedDict

from .events import HandKind
from .projection import TURN_DANGER_S
from .read_model import SessionView, question_views, session_view
from .state import QuestionState, SessionState, SessionStatus, State
from .visibility import view_for

MAX_PAGE_MESSAGES = 5  # the newest messages a page is sent: to the viewer and to all
MAX_PAGE_QUEUE = 500  # hands listed in a view; ``queue_length`` counts them all
MAX_PAGE_QUESTIONS = 200  # others' visible and live questions listed per session, most voted first
PAGE_QUESTION_STATES = frozenset({"visible", "live"})  # others' questions a page lists; its viewer's own in any state


class PageDisplay(TypedDict):
    """What the moderator's display commands set: for the stage display."""

    blackout: bool
    """The stage displays are black."""
    focus: str | None
    """A text shown full-screen on the stage displays (such as "ON AIR"); None for none."""
    flashed_at: int | None
    """When the displays were last told to flash, event-clock ms since the epoch; None if never. A display
    flashes when this changes after it has loaded."""


class PageMessage(TypedDict):
    """A moderator's message to the viewer or to all."""

    id: str
    """Its id: a participant or speaker acknowledges it with ``{"type": "ack", "message_id": id}``."""
    to_all: bool
    """Sent to everyone, rather than to the viewer alone."""
    text: str
    """What it says (text, never markup)."""
    at: int
    """When it was sent, event-clock ms since the epoch."""
    acknowledged: bool
    """The viewer acknowledged it."""


class PageItem(TypedDict):
    """The current item, with what a page needs to count it down."""

    id: str
    """The agenda item's id."""
    title: str
    """Its title."""
    kind: str
    """Its kind in the agenda: "break" makes the display say when the session is back."""
    duration_s: int
    """Its current plan, time added included."""
    remaining_ms: int
    """What was left of its plan at ``server_time`` (negative: over it)."""
    running: bool
    """Its timer runs (the session is not paused)."""
    deadline: int | None
    """When its plan runs out, event-clock ms since the epoch, while it runs: the page counts down to it. None
    while paused (``remaining_ms`` holds still)."""
    warning_s: int
    """Remaining seconds at which its phase turns "warning"."""
    danger_s: int
    """Remaining seconds at which its phase turns "danger"; at 0 it is "overtime"."""


class PageComing(TypedDict):
    """An item still to come, in the order "next" takes them."""

    id: str
    """The agenda item's id."""
    title: str
    """Its title."""
    kind: str
    """Its kind in the agenda."""
    start: str
    """When it is expected to begin (ISO 8601, in the event's time zone, with its offset)."""
    duration_s: int
    """Its current plan."""


class PageFloor(TypedDict):
    """The turn in progress."""

    person: str
    """Who has the floor, by id (a page compares it with its own person)."""
    name: str
    """Their name, as text."""
    participant: bool
    """A self-declared member of the audience rather than a person on the roster."""
    kind: HandKind
    """The kind of the hand it came from."""
    elapsed_ms: int
    """How long the turn had run at ``server_time``."""
    running: bool
    """Its timer runs (neither it nor the session is paused)."""
    started: int | None
    """While it runs, the event-clock time its elapsed time counts from (``server_time - elapsed_ms``): the
    page shows ``now - started``. None while paused."""
    limit_s: int | None
    """Its limit, time added included; None for no limit."""
    deadline: int | None
    """When its limit runs out, while it runs and has one, event-clock ms since the epoch; None otherwise."""
    warning_s: int
    """Remaining seconds of the limit at which its phase turns "warning"."""
    danger_s: int
    """Remaining seconds of the limit at which its phase turns "danger"."""


class PageHand(TypedDict):
    """A hand up in the current item's queue, in speaking order."""

    position: int
    """Its place, from 1."""
    person: str
    """Who it is, by id: a page finds its own hand by its person."""
    name: str
    """Their name, as text."""
    participant: bool
    """A self-declared member of the audience."""
    kind: HandKind
    """What the hand is for: a point of order goes ahead of every other kind."""
    estimated_wait_s: int
    """The expected wait for the floor at ``server_time``, in whole seconds."""


class PageQuestion(TypedDict):
    """A written question the viewer may see: visible or live, or the viewer's own in whatever state it is."""

    id: str
    """Its id: a participant or speaker votes with ``{"type": "vote", "question": id}`` (``unvote`` takes it
    back)."""
    text: str
    """What it asks, as text (a moderator may have edited it)."""
    state: QuestionState
    """"visible" or "live"; for the viewer's own also "pending" (waiting for a moderator), "answered" or
    "merged" (a dismissed one goes on showing the state it had: its asker is not told)."""
    votes: int
    """How many people voted for it, as of the view: between views the counts come in ``question_votes``
    frames ({"votes": {id: count}}), at most one a second, which the page applies to its view."""
    asked_at: int
    """When it was asked, event-clock ms since the epoch."""
    name: str | None
    """The asker's name, as text; None when asked anonymously (whoever looks)."""
    anonymous: bool
    """Asked without a name."""
    mine: bool
    """Asked by the viewer (who cannot vote for it)."""
    voted: bool
    """The viewer voted for it."""
    merged_into: str | None
    """The question it was merged into (its votes went there); None otherwise."""


class PageQuestionSettings(TypedDict):
    """The event's question settings, for the page's "ask" form."""

    max_length: int
    """The longest question, in characters (after runs of spaces are made one)."""
    anonymous: bool
    """Questions may be asked without a name."""
    moderated: bool
    """A question waits for a moderator's approval before the audience sees it."""


class PageSession(TypedDict):
    """One session as the pages show it."""

    id: str
    """The agenda session's id (the display's ``session`` option)."""
    title: str
    """Its title."""
    room: str
    """Its room; empty when none is given."""
    status: SessionStatus
    """Not started, running, paused or ended."""
    planned_start: str
    """When the agenda has it start (ISO 8601, event zone)."""
    planned_end: str
    """When the agenda has it end."""
    projected_end: str
    """When it is expected to end; its actual end once ended."""
    current: PageItem | None
    """The current item; None before the start."""
    coming: list[PageComing]
    """The programme to come."""
    floor: PageFloor | None
    """The turn in progress; None when nobody has the floor."""
    queue: list[PageHand]
    """The speakers' list of the current item, in speaking order (the first ``MAX_PAGE_QUEUE``)."""
    queue_length: int
    """How many hands are up in all."""
    queue_open: bool
    """Whether hands may be raised on the current item."""
    questions: list[PageQuestion]
    """The session's written questions for the viewer: the viewer's own (any state), then the live one, then
    the visible ones by votes (most first, then oldest; the first ``MAX_PAGE_QUESTIONS`` of others')."""


class PageView(TypedDict):
    """The whole of what a page is sent: the event, every session, the display's settings, the messages."""

    event_id: str
    """The event's id."""
    title: str
    """The event's title."""
    timezone: str
    """The event's time zone (IANA name): times are shown in it and in the viewer's own."""
    seq: int
    """The log sequence the view was made at."""
    server_time: int
    """The event clock when the view was made, ms since the epoch: the ``_ms`` figures hold at this time."""
    time_scale: float
    """Event-clock time per wall-clock time: above 1 on a rehearsal (a page's countdown runs as fast)."""
    display: PageDisplay
    """What the stage display shows besides the timer."""
    messages: list[PageMessage]
    """The newest messages to the viewer and to all, oldest first (at most ``MAX_PAGE_MESSAGES``)."""
    sessions: list[PageSession]
    """Every session, in the agenda's order."""
    question_settings: PageQuestionSettings
    """Whether questions may be anonymous, how long they may be, and whether a moderator approves them."""


def _turn_warning_s(limit_s: int | None) -> int:
    # As ``projection.turn_phase``: a fifth of the limit left (at least 15 s).
    return max(15, limit_s // 5) if limit_s is not None else 0


def _page_session(
    state: State, session: SessionState, view: SessionView, now: int, person: str | None = None, me: str | None = None
) -> PageSession:
    plan = state.plan(session.id)
    specs = {spec.id: spec for spec in plan.items}
    items = {item["id"]: item for item in view["items"]}
    current: PageItem | None = None
    live = session.current_item
    if live is not None and view["current_item"] is not None:
        spec = specs[live.id]
        remaining = live.duration_s * 1000 - live.timer.elapsed_ms(now)
        running = live.timer.running and session.status == "running"
        current = {
            "id": live.id,
            "title": spec.title,
            "kind": spec.kind.value,
            "duration_s": live.duration_s,
            "remaining_ms": remaining,
            "running": running,
            "deadline": now + remaining if running else None,
            "warning_s": spec.warning_s,
            "danger_s": spec.danger_s,
        }
    floor: PageFloor | None = None
    turn = live.floor if live is not None else None
    shown_floor = view["floor"]
    if turn is not None and shown_floor is not None:
        elapsed = turn.timer.elapsed_ms(now)
        running = turn.timer.running
        limit = turn.effective_limit_s
        floor = {
            "person": turn.person,
            "name": shown_floor["name"],
            "participant": shown_floor["participant"],
            "kind": turn.kind,
            "elapsed_ms": elapsed,
            "running": running,
            "started": now - elapsed if running else None,
            "limit_s": limit,
            "deadline": now - elapsed + limit * 1000 if running and limit is not None else None,
            "warning_s": _turn_warning_s(limit),
            "danger_s": TURN_DANGER_S if limit is not None else 0,
        }
    coming: list[PageComing] = [
        {
            "id": entry["item"],
            "title": items[entry["item"]]["title"],
            "kind": items[entry["item"]]["kind"],
            "start": entry["start"],
            "duration_s": items[entry["item"]]["duration_s"],
        }
        for entry in view["coming"]
    ]
    queue: list[PageHand] = [
        {
            "position": hand["position"],
            "person": hand["person"],
            "name": hand["name"],
            "participant": hand["participant"],
            "kind": hand["kind"],
            "estimated_wait_s": hand["estimated_wait_s"],
        }
        for hand in view["queue"][:MAX_PAGE_QUEUE]
    ]
    return {
        "id": session.id,
        "title": view["title"],
        "room": view["room"],
        "status": session.status,
        "planned_start": view["planned_start"],
        "planned_end": view["planned_end"],
        "projected_end": view["projected_end"],
        "current": current,
        "coming": coming,
        "floor": floor,
        "queue": queue,
        "queue_length": len(view["queue"]),
        "queue_open": view["queue_open"],
        "questions": _page_questions(state, session.id, person, me),
    }


def _page_questions(state: State, session: str, person: str | None, me: str | None) -> list[PageQuestion]:
    """``state`` is the viewer's (``view_for``): others' pending questions and anonymous askers are out of it
    already; a moderator's page lists the same as the audience's. ``me`` is the viewer's own name (a viewer's
    state need not hold it while only pending questions speak of them)."""
    mine: list[PageQuestion] = []
    others: list[PageQuestion] = []
    for view in question_views(state, person, session=session):
        if not view["mine"] and view["state"] not in PAGE_QUESTION_STATES:
            continue
        question = state.questions[view["id"]]
        shown: PageQuestion = {
            "id": view["id"],
            "text": view["text"],
            "state": view["state"],
            "votes": view["votes"],
            "asked_at": question.asked_at,
            "name": None if view["anonymous"] else (me if view["mine"] and me else view["name"]),
            "anonymous": view["anonymous"],
            "mine": view["mine"],
            "voted": view["voted"],
            "merged_into": view["merged_into"],
        }
        (mine if view["mine"] else others).append(shown)
    return [*mine, *others[:MAX_PAGE_QUESTIONS]]


def page_view(state: State, role: str, person: str | None, now: int) -> PageView:
    """The view a page of ``role`` held by ``person`` is sent, at event-clock time ``now``. Equal
    ``visibility.viewer_key`` values give equal views."""
    assert state.agenda is not None
    seen = view_for(state, role, person)
    messages: list[PageMessage] = [
        {
            "id": m.id,
            "to_all": m.to == "all",
            "text": m.text,
            "at": m.at,
            "acknowledged": person is not None and person in m.acknowledged,
        }
        for m in seen.messages[-MAX_PAGE_MESSAGES:]
    ]
    display = state.display
    settings = state.agenda.questions
    known = state.person(person) if person is not None else None
    me = known.name if known is not None else None
    return {
        "event_id": state.event_id,
        "title": state.agenda.title,
        "timezone": state.agenda.timezone,
        "seq": state.seq,
        "server_time": now,
        "time_scale": state.clock.scale,
        "display": {"blackout": display.blackout, "focus": display.focus, "flashed_at": display.flashed_at},
        "messages": messages,
        "sessions": [_page_session(seen, s, session_view(seen, s, now), now, person, me) for s in seen.sessions],
        "question_settings": {
            "max_length": settings.max_length,
            "anonymous": settings.anonymous,
            "moderated": settings.moderated,
        },
    }
