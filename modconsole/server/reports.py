"""Post-event reports: folds over the timing log.

Planned against actual for every session, day and the whole event; who spoke
for how long and waited how long; shares of speaking time by tag; and the
overrun explained item by item. Voided (undone) entries are left out of the
figures and listed in an audit section. The same log gives the same report,
byte for byte: nothing here reads the clock.

Pauses are treated one way everywhere: an item's or a turn's duration is its
running time, pauses excluded; a session's actual duration is wall time from
start to end, pauses included, and the pauses are shown as their own line.

Overrun is measured against the plan the figure covers, ``planned_so_far_s``: the whole plan of a
session that ended; for one not ended, the plan its items done or under way have used (each done item
its plan, the item under way up to its plan); for totals, the sum over the sessions started. So
``actual_duration_s - planned_so_far_s == overrun_s`` always, and ``overrun_pct`` is a share of
``planned_so_far_s`` (the same as of ``planned_duration_s`` once every session has ended).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from pydantic import BaseModel, ConfigDict

from modconsole.core.agenda import Agenda, ms_to_local, planned_schedule
from modconsole.core.commands import Actor
from modconsole.core.durations import format_duration
from modconsole.core.events import Event
from modconsole.core.fold import apply
from modconsole.core.projection import upcoming
from modconsole.core.state import SessionState, State

from .store import Entry

SEC = 1000


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Extension(_Model):
    at: str
    by: str
    delta_s: int


class PlanChange(_Model):
    at: str
    by: str
    target: str
    durations: dict[str, int]


class ItemReport(_Model):
    id: str
    title: str
    kind: str
    status: str
    planned_start: str
    planned_duration_s: int
    actual_start: str | None
    actual_duration_s: float
    over_under_s: float
    pauses: int
    added_s: int
    skipped: bool
    reopened: int
    final_planned_s: int  # after added time and applied plans
    turns: int


class TurnReport(_Model):
    session: str
    item: str
    person: str
    name: str
    kind: str
    start: str
    speaking_s: float
    limit_s: int | None
    over_limit_s: float
    waited_s: float | None


class PersonReport(_Model):
    person: str
    name: str
    affiliation: str
    participant: bool
    tags: dict[str, str]
    turns: int
    speaking_s: float
    average_s: float
    longest_s: float
    turns_over_limit: int
    waited_s: float
    hands_raised: int
    hands_never_given_floor: int


class OverrunPart(_Model):
    what: str
    seconds: float


class SessionReport(_Model):
    id: str
    title: str
    room: str
    day: str
    status: str
    planned_start: str
    planned_end: str
    actual_start: str | None
    actual_end: str | None
    start_delay_s: float | None
    planned_duration_s: int
    actual_duration_s: float
    overrun_s: float
    overrun_pct: float
    extended_s: int
    unplanned_overrun_s: float
    paused_s: float
    pauses: int
    extensions: list[Extension]
    plans_applied: list[PlanChange]
    items: list[ItemReport]
    overrun_explained: list[OverrunPart]
    rehearsal: bool
    # The plan overrun_s and overrun_pct are measured against: planned_duration_s once ended, the plan
    # used so far by the items done or under way before that, 0 before the start. (Last, so the columns
    # of the sessions CSV keep their places.)
    planned_so_far_s: float


class Totals(_Model):
    sessions: int
    planned_duration_s: int
    actual_duration_s: float
    overrun_s: float
    overrun_pct: float
    extended_s: int
    unplanned_overrun_s: float
    speaking_s: float
    turns: int
    planned_so_far_s: float  # the sessions' planned_so_far_s added up: what overrun_s and overrun_pct are of


class DayReport(_Model):
    day: str
    sessions: list[str]
    totals: Totals


class Share(_Model):
    value: str
    speaking_s: float
    share_pct: float
    turns: int


class AuditEntry(_Model):
    seq: int
    at: str
    type: str
    session: str | None
    what: str  # the action in words: "next: Open discussion", "extend by 25:00"
    by: str
    undone_at: str
    undone_by: str


class Report(_Model):
    event_id: str
    title: str
    timezone: str
    as_of: str  # the time of the last log entry: the report is the log's, not the clock's
    log_entries: int
    rehearsal: bool
    time_scales: list[float]
    scope: str
    sessions: list[SessionReport]
    days: list[DayReport]
    totals: Totals
    people: list[PersonReport]
    turns: list[TurnReport]
    shares: dict[str, list[Share]]
    audit: list[AuditEntry]


def _who(actor: Actor, state: State) -> str:
    if actor.role == "system":
        return "server"
    if actor.person:
        person = state.person(actor.person)
        return f"{person.name if person else actor.person} ({actor.role})"
    return f"{actor.role}" + (f" [{actor.client}]" if actor.client else "")


def _pct(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


class _Fold:
    """Collects what the state alone does not keep: who did what, and when."""

    def __init__(self) -> None:
        self.extensions: dict[str, list[Extension]] = defaultdict(list)
        self.plans: dict[str, list[PlanChange]] = defaultdict(list)
        self.raised: dict[tuple[str, str], int] = defaultdict(int)  # (session, person) -> hands raised
        self.scales: list[float] = []
        self.pauses: dict[str, int] = defaultdict(int)


def build_report(
    entries: list[Entry], *, session: str | None = None, day: date | None = None, now: int | None = None
) -> Report:
    """The report of a log. ``now`` (the event clock) makes a live report run to this moment; without
    it the report runs to the log's last entry, so the same log gives the same bytes."""
    if not entries or entries[0].event.type != "event_created":
        raise ValueError("the log does not start with an event")
    voided: dict[int, Entry] = {}
    for entry in entries:
        if entry.event.type == "undone":
            for seq in entry.event.seqs:  # type: ignore[union-attr]
                voided[seq] = entry
    state = State()
    fold = _Fold()
    last_at = 0  # the latest event time in the log, voided entries included
    for entry in entries:
        event = entry.event
        at = getattr(event, "at", 0) or 0
        if at > last_at:
            last_at = at
        if entry.seq in voided:
            continue
        if event.type in _OBSERVED:
            _observe(fold, state, entry)
        apply(state, event, entry.seq)
    assert state.agenda is not None
    agenda = state.agenda
    zone = agenda.zone
    as_of_ms = entries[-1].ts if state.clock.scale == 1 else state.clock.now(entries[-1].ts)
    # The event clock at the last entry: what "now" was when the log stopped.
    as_of_ms = max(as_of_ms, last_at)
    if now is not None:
        as_of_ms = max(as_of_ms, now)

    def iso(ms: int | None) -> str | None:
        return None if ms is None else ms_to_local(ms, zone).isoformat(timespec="seconds")

    sessions = []
    for plan, live in zip(agenda.sessions, state.sessions, strict=True):
        if session is not None and plan.id != session:
            continue
        if day is not None and plan.start.date() != day:
            continue
        sessions.append(_session_report(state, agenda, plan.id, live, fold, as_of_ms, iso))
    chosen = {s.id for s in sessions}
    turns = [t for t in _turns(state, as_of_ms, iso) if t.session in chosen]
    people = _people(state, turns, fold, chosen)
    days = []
    for day_key in sorted({s.day for s in sessions}):
        of_day = [s for s in sessions if s.day == day_key]
        days.append(DayReport(day=day_key, sessions=[s.id for s in of_day],
                              totals=_totals(of_day, [t for t in turns if t.session in {s.id for s in of_day}])))
    # Undone actions of the sessions in scope (all of them, and those of no session, for the event).
    audit = [
        AuditEntry(seq=e.seq, at=iso(_last_at(e.event) or e.ts) or "", type=e.event.type,
                   session=getattr(e.event, "session", None), what=_describe(e.event, state),
                   by=_who(e.actor, state), undone_at=iso(_last_at(u.event) or u.ts) or "",
                   undone_by=_who(u.actor, state))
        for e in entries
        if (u := voided.get(e.seq)) is not None
        and (getattr(e.event, "session", None) in chosen or (session is None and day is None))
    ]
    scope = "event" if session is None and day is None else (f"session {session}" if session else f"day {day}")
    return Report(
        event_id=state.event_id,
        title=agenda.title,
        timezone=agenda.timezone,
        as_of=iso(as_of_ms) or "",
        log_entries=len(entries),
        rehearsal=state.rehearsal,
        time_scales=sorted(set(fold.scales)) or [1.0],
        scope=scope,
        sessions=sessions,
        days=days,
        totals=_totals(sessions, turns),
        people=people,
        turns=turns,
        shares=_shares(people),
        audit=audit,
    )


def _last_at(event: Event) -> int:
    return int(getattr(event, "at", 0) or 0)


def _describe(event: Event, state: State) -> str:
    """A timing action in words, for the audit."""
    assert state.agenda is not None
    session_plan = state.agenda.session(getattr(event, "session", "") or "")

    def title(item_id: str) -> str:
        spec = None if session_plan is None else next((i for i in session_plan.items if i.id == item_id), None)
        return spec.title if spec is not None else item_id

    kind = event.type
    if kind == "item_changed":
        return f"{event.how}: {title(event.item)}"  # type: ignore[union-attr]
    if kind == "item_skipped":
        return f"skip: {title(event.item)}"  # type: ignore[union-attr]
    if kind == "item_time_added":
        return f"time {format_duration(event.delta_s, signed=True)} on {title(event.item)}"  # type: ignore[union-attr]
    if kind == "session_extended":
        return f"extend by {format_duration(event.delta_s, signed=True)}"  # type: ignore[union-attr]
    if kind == "turn_time_added":
        return f"turn time {format_duration(event.delta_s, signed=True)}"  # type: ignore[union-attr]
    if kind in ("turn_started", "hand_moved"):
        person = state.person(event.person)  # type: ignore[union-attr]
        name = person.name if person else event.person  # type: ignore[union-attr]
        return f"floor to {name}" if kind == "turn_started" else f"move {name} to position {event.position}"  # type: ignore[union-attr]
    if kind == "turn_limit_set":
        limit = event.limit_s  # type: ignore[union-attr]
        return "turn limit off" if limit is None else f"turn limit {format_duration(limit)}"
    if kind == "plan_applied":
        return f"recovery plan for {len(event.durations)} item(s)"  # type: ignore[union-attr]
    return kind.replace("_", " ")


# The events the fold keeps more of than the state does (the rest only go through ``apply``).
_OBSERVED = frozenset({"clock_set", "session_extended", "plan_applied", "session_paused", "hand_raised"})


def _observe(fold: _Fold, state: State, entry: Entry) -> None:
    event = entry.event
    kind = event.type
    if kind == "hand_raised":  # by far the most frequent: kept cheap
        fold.raised[(event.session, event.person)] += 1  # type: ignore[union-attr]
        return
    if kind == "session_paused":
        fold.pauses[event.session] += 1  # type: ignore[union-attr]
        return
    if kind == "clock_set":
        fold.scales.append(event.scale)  # type: ignore[union-attr]
        return
    at = _last_at(event)
    zone = state.agenda.zone if state.agenda else None

    def iso(ms: int) -> str:
        return ms_to_local(ms, zone).isoformat(timespec="seconds") if zone else str(ms)

    if kind == "session_extended":
        fold.extensions[event.session].append(  # type: ignore[union-attr]
            Extension(at=iso(at), by=_who(entry.actor, state), delta_s=event.delta_s))  # type: ignore[union-attr]
    elif kind == "plan_applied":
        fold.plans[event.session].append(PlanChange(  # type: ignore[union-attr]
            at=iso(at), by=_who(entry.actor, state), target=iso(event.target_ms),  # type: ignore[union-attr]
            durations=dict(event.durations)))  # type: ignore[union-attr]


def _session_report(state: State, agenda: Agenda, session_id: str, live: SessionState, fold: _Fold,
                    as_of: int, iso) -> SessionReport:  # type: ignore[no-untyped-def]
    plan = agenda.session(session_id)
    assert plan is not None
    schedule = planned_schedule(plan, agenda.zone)
    planned_duration = (schedule[-1] - schedule[0]) // SEC
    end = live.ended_at if live.ended_at is not None else (as_of if live.started_at is not None else None)
    actual = (end - live.started_at) / SEC if live.started_at is not None and end is not None else 0.0
    paused = (live.paused_ms + (as_of - live.paused_since if live.paused_since else 0)) / SEC
    items = []
    ran_total = 0.0
    explained: list[OverrunPart] = []
    not_run = 0
    budget = 0.0  # planned seconds the session has used up so far (all of them once it ended)
    ended = live.status == "ended"
    # Done items that "next" opens again (after a prev, or a goto back) have not used up their plan either.
    unfinished = set(upcoming(live)) | {live.current}
    for index, (spec, item) in enumerate(zip(plan.items, live.items, strict=True)):
        ran = item.timer.elapsed_ms(end if end is not None else as_of) / SEC
        ran_total += ran
        started = item.timer.first_start
        to_finish = index in unfinished and not ended
        # A running item (or one to finish) is only over once it passes its plan; until then it is on time.
        over = max(0.0, ran - spec.duration_s) if to_finish else ran - spec.duration_s
        if started is not None:
            budget += min(ran, spec.duration_s) if to_finish else spec.duration_s
            if abs(over) >= 1:
                explained.append(OverrunPart(what=f"item {spec.id}: {spec.title}", seconds=round(over, 1)))
        elif ended:
            not_run += spec.duration_s
        items.append(ItemReport(
            id=spec.id, title=spec.title, kind=spec.kind.value, status=item.status,
            planned_start=iso(schedule[index]), planned_duration_s=spec.duration_s,
            actual_start=iso(started), actual_duration_s=round(ran, 1),
            over_under_s=round(over, 1) if started is not None else 0.0,
            pauses=item.timer.pauses, added_s=item.added_s, skipped=item.status == "skipped",
            reopened=item.reopened, final_planned_s=item.duration_s,
            turns=len(item.turns) + (1 if item.floor else 0),
        ))
    if ended:
        budget = planned_duration
    if live.started_at is not None:
        if not_run:
            explained.append(OverrunPart(what="items skipped or not reached", seconds=-float(not_run)))
        if paused >= 1:
            explained.append(OverrunPart(what="session paused", seconds=round(paused, 1)))
        fixed_gaps = planned_duration - sum(spec.duration_s for spec in plan.items)
        if fixed_gaps and ended:
            explained.append(OverrunPart(what="planned waits before fixed starts", seconds=-float(fixed_gaps)))
        rest = actual - ran_total - paused
        if abs(rest) >= 1:
            explained.append(OverrunPart(what="between items (no item running)", seconds=round(rest, 1)))
    explained.sort(key=lambda part: (-abs(part.seconds), part.what))
    overrun = actual - budget if live.started_at is not None else 0.0
    return SessionReport(
        id=plan.id, title=plan.title, room=plan.room, day=plan.start.date().isoformat(), status=live.status,
        planned_start=iso(schedule[0]), planned_end=iso(schedule[-1]),
        actual_start=iso(live.started_at), actual_end=iso(live.ended_at),
        start_delay_s=None if live.started_at is None else round((live.started_at - schedule[0]) / SEC, 1),
        planned_duration_s=planned_duration, actual_duration_s=round(actual, 1),
        overrun_s=round(overrun, 1), overrun_pct=_pct(overrun, budget),
        extended_s=live.extended_s, unplanned_overrun_s=round(overrun - live.extended_s, 1),
        paused_s=round(paused, 1),
        pauses=fold.pauses.get(plan.id, 0),
        extensions=fold.extensions.get(plan.id, []), plans_applied=fold.plans.get(plan.id, []),
        items=items, overrun_explained=explained, rehearsal=state.rehearsal,
        planned_so_far_s=round(budget, 1) if live.started_at is not None else 0.0,
    )


def _turns(state: State, as_of: int, iso) -> list[TurnReport]:  # type: ignore[no-untyped-def]
    out = []
    for plan_session, live in zip(state.agenda.sessions, state.sessions, strict=True):  # type: ignore[union-attr]
        for item in live.items:
            all_turns = [*item.turns, *([item.floor] if item.floor else [])]
            for turn in all_turns:
                start = turn.timer.first_start
                speaking = turn.timer.elapsed_ms(as_of) / SEC
                limit = turn.effective_limit_s
                person = state.person(turn.person)
                out.append(TurnReport(
                    session=plan_session.id, item=item.id, person=turn.person,
                    name=person.name if person else turn.person, kind=turn.kind, start=iso(start) or "",
                    speaking_s=round(speaking, 1), limit_s=limit,
                    over_limit_s=round(max(0.0, speaking - limit), 1) if limit is not None else 0.0,
                    waited_s=None if turn.raised_at is None or start is None
                    else round((start - turn.raised_at) / SEC, 1),
                ))
    return out


def _people(state: State, turns: list[TurnReport], fold: _Fold, sessions: set[str]) -> list[PersonReport]:
    by_person: dict[str, list[TurnReport]] = defaultdict(list)
    for turn in turns:
        by_person[turn.person].append(turn)
    # Hands raised in the sessions in scope only: a day's report counts that day's hands.
    raised_by: dict[str, int] = defaultdict(int)
    for (session_id, person_id), count in fold.raised.items():
        if session_id in sessions:
            raised_by[person_id] += count
    ids = sorted(set(by_person) | {p for p, n in raised_by.items() if n})
    out = []
    for person_id in ids:
        person = state.person(person_id)
        mine = by_person.get(person_id, [])
        speaking = sum(t.speaking_s for t in mine)
        raised = raised_by.get(person_id, 0)
        queued_turns = sum(1 for t in mine if t.waited_s is not None)
        out.append(PersonReport(
            person=person_id, name=person.name if person else person_id,
            affiliation=person.affiliation if person else "", participant=bool(person and person.participant),
            tags=dict(person.tags) if person else {},
            turns=len(mine), speaking_s=round(speaking, 1),
            average_s=round(speaking / len(mine), 1) if mine else 0.0,
            longest_s=max((t.speaking_s for t in mine), default=0.0),
            turns_over_limit=sum(1 for t in mine if t.over_limit_s > 0),
            waited_s=round(sum(t.waited_s or 0.0 for t in mine), 1),
            hands_raised=raised, hands_never_given_floor=max(0, raised - queued_turns),
        ))
    out.sort(key=lambda p: (-p.speaking_s, p.person))
    return out


def _shares(people: list[PersonReport]) -> dict[str, list[Share]]:
    total = sum(p.speaking_s for p in people)
    keys = sorted({k for p in people for k in p.tags} | {"affiliation", "participant"})
    shares: dict[str, list[Share]] = {}
    for key in keys:
        groups: dict[str, list[PersonReport]] = defaultdict(list)
        for person in people:
            if key == "affiliation":
                value = person.affiliation or "(not given)"
            elif key == "participant":
                value = "participant" if person.participant else "listed speaker"
            else:
                value = person.tags.get(key, "(not given)")
            groups[value].append(person)
        rows = [Share(value=value, speaking_s=round(sum(p.speaking_s for p in group), 1),
                      share_pct=_pct(sum(p.speaking_s for p in group), total), turns=sum(p.turns for p in group))
                for value, group in groups.items()]
        rows.sort(key=lambda s: (-s.speaking_s, s.value))
        shares[key] = rows
    return shares


def _totals(sessions: Iterable[SessionReport], turns: list[TurnReport]) -> Totals:
    sessions = list(sessions)
    planned = sum(s.planned_duration_s for s in sessions)
    actual = sum(s.actual_duration_s for s in sessions)
    started = [s for s in sessions if s.actual_start is not None]
    overrun = sum(s.overrun_s for s in started)
    # The overrun covers the sessions started, and of those not ended only what has run: so does its base.
    so_far = sum(s.planned_so_far_s for s in started)
    extended = sum(s.extended_s for s in sessions)
    return Totals(
        sessions=len(sessions), planned_duration_s=planned, actual_duration_s=round(actual, 1),
        overrun_s=round(overrun, 1), overrun_pct=_pct(overrun, so_far),
        extended_s=extended, unplanned_overrun_s=round(sum(s.unplanned_overrun_s for s in started), 1),
        speaking_s=round(sum(t.speaking_s for t in turns), 1), turns=len(turns),
        planned_so_far_s=round(so_far, 1),
    )


__all__ = ["Report", "build_report"]
