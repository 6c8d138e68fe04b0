"""Building a report: one fold over the timing log, into the models of ``model``.

Planned against actual for every session, day and the whole event; who spoke
for how long and waited how long; shares of speaking time by tag; and the
overrun explained item by item. Voided (undone) entries are left out of the
figures and listed in an audit section. The same log gives the same report,
byte for byte: nothing here reads the clock. This module owns the figures; it never
formats them for a reader (the format modules do), and it never writes to the log.

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
from collections.abc import Iterable, Sequence
from datetime import date
from typing import overload
from zoneinfo import ZoneInfo

from modconsole.core.agenda import Agenda, Person, SessionPlan, ms_to_local, planned_schedule
from modconsole.core.attendance import Mark, intervals
from modconsole.core.commands import Actor
from modconsole.core.durations import format_duration
from modconsole.core.events import (
    TIMING_EVENTS,
    ClockSet,
    Event,
    EventCreated,
    HandMoved,
    HandRaised,
    ItemAdded,
    ItemChanged,
    ItemEdited,
    ItemMoved,
    ItemRemoved,
    ItemSkipped,
    ItemTimeAdded,
    PlanApplied,
    SessionAdded,
    SessionExtended,
    SessionPaused,
    TurnLimitSet,
    TurnStarted,
    TurnTimeAdded,
)
from modconsole.core.fold import apply, voided_in
from modconsole.core.projection import upcoming
from modconsole.core.state import SessionState, State

from ..store import Entry
from .attendance import attendance, windows
from .model import (
    AuditEntry,
    DayReport,
    Extension,
    ItemReport,
    LiveChange,
    OverrunPart,
    PersonReport,
    PlanChange,
    QuestionCounts,
    QuestionReport,
    Report,
    SessionReport,
    Share,
    Totals,
    TurnReport,
)

SEC = 1000


@overload
def _local(ms: int, zone: ZoneInfo) -> str: ...
@overload
def _local(ms: int | None, zone: ZoneInfo) -> str | None: ...
def _local(ms: int | None, zone: ZoneInfo) -> str | None:
    """An event time (epoch ms) as local ISO time to the second; None stays None."""
    return None if ms is None else ms_to_local(ms, zone).isoformat(timespec="seconds")


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
        self.live: dict[str, list[LiveChange]] = defaultdict(list)  # session -> the plan changed live
        self.added: dict[str, SessionPlan] = {}  # sessions added live, as they were added


def build_report(
    entries: list[Entry],
    *,
    session: str | None = None,
    day: date | None = None,
    now: int | None = None,
    registrants: Sequence[Person] = (),
    attendance_log: Sequence[Mark] = (),
) -> Report:
    """The report of a log. ``now`` (the event clock) makes a live report run to this moment; without
    it the report runs to the log's last entry, so the same log gives the same bytes."""
    if not entries or not isinstance(entries[0].event, EventCreated):
        raise ValueError("the log does not start with an event")
    by_seq = {entry.seq: entry for entry in entries}
    voided: dict[int, Entry] = {
        seq: by_seq[undo] for seq, undo in voided_in((entry.seq, entry.event) for entry in entries).items()
    }
    state = State()
    fold = _Fold()
    last_at = 0  # the latest event time in the log, voided entries included
    for entry in entries:
        event = entry.event
        at = getattr(event, "at", 0) or 0  # inline: this loop runs once per log entry
        if at > last_at:
            last_at = at
        if entry.seq in voided:
            continue
        if isinstance(event, _OBSERVED):
            _observe(fold, state, entry)
        if isinstance(event, _PLAN_CHANGES):
            before = _plans_in_force(state, event.session)
            apply(state, event, entry.seq)
            _plan_changed(fold, state, entry, before)
            continue
        apply(state, event, entry.seq)
    assert state.agenda is not None
    agenda = state.agenda
    zone = agenda.zone
    as_of_ms = entries[-1].ts if state.clock.scale == 1 else state.clock.now(entries[-1].ts)
    # The event clock at the last entry: what "now" was when the log stopped.
    as_of_ms = max(as_of_ms, last_at)
    if now is not None:
        as_of_ms = max(as_of_ms, now)

    first = entries[0].event
    assert isinstance(first, EventCreated)
    sessions = []
    for plan, live in zip(agenda.sessions, state.sessions, strict=True):
        if session is not None and plan.id != session:
            continue
        if day is not None and plan.start.date() != day:
            continue
        # The plan before the event: the agenda's, or for a session added live, the session as it was added;
        # at the start in force (a session moved before it started is not late).
        original = first.agenda.session(plan.id) or fold.added.get(plan.id) or plan
        original = original.model_copy(update={"start": plan.start})
        sessions.append(_session_report(state, agenda, plan.id, live, fold, as_of_ms, original))
    chosen = {s.id for s in sessions}
    turns = [t for t in _turns(state, agenda, as_of_ms) if t.session in chosen]
    people = _people(state, turns, fold, chosen)
    days = []
    for day_key in sorted({s.day for s in sessions}):
        of_day = [s for s in sessions if s.day == day_key]
        days.append(
            DayReport(
                day=day_key,
                sessions=[s.id for s in of_day],
                totals=_totals(of_day, [t for t in turns if t.session in {s.id for s in of_day}]),
            )
        )
    # Undone actions of the sessions in scope (all of them, and those of no session, for the event).
    audit = [
        AuditEntry(
            seq=e.seq,
            at=_local(_last_at(e.event) or e.ts, zone),
            type=e.event.type,
            session=_session_of(e.event),
            what=_describe(e.event, state),
            by=_who(e.actor, state),
            undone_at=_local(_last_at(u.event) or u.ts, zone),
            undone_by=_who(u.actor, state),
        )
        for e in entries
        if (u := voided.get(e.seq)) is not None
        and e.event.type in TIMING_EVENTS  # an undo a redo voided is no action of its own
        and (_session_of(e.event) in chosen or (session is None and day is None))
    ]
    # Attendance: who was present live, per session and for the sessions in scope (registrants, from the
    # store, are the event's whatever the scope).
    presence = intervals(attendance_log)
    roles = {m.person: m.role for m in attendance_log if m.kind == "joined"}
    who = {m.person: m.who for m in attendance_log if m.who is not None}
    registered = len({p.id for p in registrants} | set(state.participants) | set(who))
    spans = windows(state, [s.id for s in sessions], as_of_ms)
    for report in sessions:
        window = spans.get(report.id)
        report.attendance = attendance(
            state,
            who,
            presence,
            roles,
            [window] if window else [],
            [t for t in turns if t.session == report.id],
            registered,
            as_of_ms,
            zone,
        )
    overall = attendance(state, who, presence, roles, list(spans.values()), turns, registered, as_of_ms, zone)
    scope = "event" if session is None and day is None else (f"session {session}" if session else f"day {day}")
    questions, question_counts = _questions(entries, state, chosen, voided)
    return Report(
        event_id=state.event_id,
        title=agenda.title,
        timezone=agenda.timezone,
        as_of=_local(as_of_ms, zone),
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
        question_counts=question_counts,
        questions=questions,
        attendance=overall,
    )


_MODERATING = frozenset(
    {
        "question_approved",
        "question_live",
        "question_answered",
        "question_dismissed",
        "question_merged",
        "question_edited",
    }
)


def _questions(
    entries: list[Entry], state: State, chosen: set[str], voided: dict[int, Entry]
) -> tuple[list[QuestionReport], list[QuestionCounts]]:
    """The written questions of the sessions in scope, and per session how many were asked, answered, dismissed."""
    assert state.agenda is not None
    zone = state.agenda.zone
    moderators: dict[str, list[str]] = {}
    for entry in entries:
        event = entry.event
        if entry.seq not in voided and event.type in _MODERATING:
            who = _who(entry.actor, state)
            names = moderators.setdefault(event.question, [])  # type: ignore[union-attr]
            if who not in names:
                names.append(who)
    questions = [
        QuestionReport(
            id=q.id,
            session=q.session,
            asked_at=_local(q.asked_at, zone),
            asker="anonymous" if q.anonymous or q.asker is None else _asker_name(state, q.asker),
            anonymous=q.anonymous,
            votes=q.votes,
            state=q.state,
            live_at=_local(q.live_at, zone),
            answered_at=_local(q.answered_at, zone),
            moderated_by=", ".join(moderators.get(q.id, [])),
            merged_into=q.merged_into,
            text=q.text,
        )
        for q in state.questions.values()
        if q.session in chosen
    ]
    counts = []
    for plan in state.agenda.sessions:
        mine = [q for q in questions if q.session == plan.id]
        if plan.id not in chosen or not mine:
            continue
        counts.append(
            QuestionCounts(
                session=plan.id,
                asked=len(mine),
                answered=sum(q.state == "answered" for q in mine),
                dismissed=sum(q.state == "dismissed" for q in mine),
                merged=sum(q.state == "merged" for q in mine),
                open=sum(q.state in ("pending", "visible", "live") for q in mine),
                votes=sum(q.votes for q in mine),
            )
        )
    return questions, counts


def _asker_name(state: State, person_id: str) -> str:
    person = state.person(person_id)
    return person.name if person is not None else person_id


def _last_at(event: Event) -> int:
    """The event's time on the event clock; 0 for the events that carry none (the event, the clock)."""
    return int(getattr(event, "at", 0) or 0)


def _session_of(event: Event) -> str | None:
    """The session an event acts in, if any (messages may name one, the event and the clock never do)."""
    session: str | None = getattr(event, "session", None)
    return session


def _describe(event: Event, state: State) -> str:
    """A timing action in words, for the audit."""
    assert state.agenda is not None
    session_plan = state.agenda.session(_session_of(event) or "")

    def title(item_id: str) -> str:
        spec = None if session_plan is None else next((i for i in session_plan.items if i.id == item_id), None)
        return spec.title if spec is not None else item_id

    def name(person_id: str) -> str:
        person = state.person(person_id)
        return person.name if person else person_id

    match event:
        case ItemChanged(how=how, item=item):
            return f"{how}: {title(item)}"
        case ItemSkipped(item=item):
            return f"skip: {title(item)}"
        case ItemTimeAdded(item=item, delta_s=delta_s):
            return f"time {format_duration(delta_s, signed=True)} on {title(item)}"
        case SessionExtended(delta_s=delta_s):
            return f"extend by {format_duration(delta_s, signed=True)}"
        case TurnTimeAdded(delta_s=delta_s):
            return f"turn time {format_duration(delta_s, signed=True)}"
        case TurnStarted(person=person_id):
            return f"floor to {name(person_id)}"
        case HandMoved(person=person_id, position=position):
            return f"move {name(person_id)} to position {position}"
        case TurnLimitSet(limit_s=limit_s):
            return "turn limit off" if limit_s is None else f"turn limit {format_duration(limit_s)}"
        case PlanApplied(durations=durations):
            return f"recovery plan for {len(durations)} item(s)"
        case _:
            return event.type.replace("_", " ")


# The events that change the plan in force (what an item is planned to run): the report grades every item
# against the plan in force when it ran, and names each of these changes apart from unplanned overrun.
_PLAN_CHANGES = (ItemAdded, ItemEdited, ItemRemoved, ItemMoved, ItemTimeAdded, PlanApplied)


def _plans_in_force(state: State, session_id: str) -> dict[str, tuple[int, str, int]]:
    """Each item of the session: its plan in force, title and place."""
    live = state.session(session_id)
    if live is None or state.agenda is None:
        return {}
    plan = state.plan(session_id)
    return {i.id: (i.duration_s, spec.title, n) for n, (i, spec) in enumerate(zip(live.items, plan.items, strict=True))}


def _plan_changed(fold: _Fold, state: State, entry: Entry, before: dict[str, tuple[int, str, int]]) -> None:
    event = entry.event
    session_id = _session_of(event) or ""
    after = _plans_in_force(state, session_id)
    at = _observed_at(state, _last_at(event))
    by = _who(entry.actor, state)
    rows = fold.live[session_id]
    for item_id in [*before, *(k for k in after if k not in before)]:
        old, new = before.get(item_id), after.get(item_id)
        old_s = None if old is None else old[0]
        new_s = None if new is None else new[0]
        title = (new or old or (0, item_id, 0))[1]
        delta = (new_s or 0) - (old_s or 0)
        if old is None:
            change = "added"
        elif new is None:
            change = "removed"
        elif isinstance(event, ItemTimeAdded) and delta:
            change = "time added"
        elif isinstance(event, PlanApplied) and delta:
            change = "recovery plan"
        elif delta:
            change = "lengthened" if delta > 0 else "shortened"
        elif isinstance(event, ItemMoved) and event.item == item_id:
            change = "moved"
        elif isinstance(event, ItemEdited) and event.item.id == item_id:
            change = "edited"
        else:
            continue
        rows.append(
            LiveChange(
                at=at, by=by, change=change, item=item_id, title=title, before_s=old_s, after_s=new_s, delta_s=delta
            )
        )


# The events the fold keeps more of than the state does (the rest only go through ``apply``): a check
# before the call, as most of a long log is of the other events.
_OBSERVED = (HandRaised, SessionPaused, ClockSet, SessionExtended, PlanApplied, SessionAdded)


def _observe(fold: _Fold, state: State, entry: Entry) -> None:
    """Keeps of an event of ``_OBSERVED`` what the state does not: who did it, when, how often."""
    match entry.event:
        case HandRaised(session=session, person=person):  # by far the most frequent: first, and kept cheap
            fold.raised[(session, person)] += 1
        case SessionPaused(session=session):
            fold.pauses[session] += 1
        case ClockSet(scale=scale):
            fold.scales.append(scale)
        case SessionExtended(session=session, at=at, delta_s=delta_s):
            fold.extensions[session].append(
                Extension(at=_observed_at(state, at), by=_who(entry.actor, state), delta_s=delta_s)
            )
        case SessionAdded(plan=plan):
            fold.added[plan.id] = plan
        case PlanApplied(session=session, at=at, target_ms=target_ms, durations=durations):
            fold.plans[session].append(
                PlanChange(
                    at=_observed_at(state, at),
                    by=_who(entry.actor, state),
                    target=_observed_at(state, target_ms),
                    durations=dict(durations),
                )
            )


def _observed_at(state: State, ms: int) -> str:
    """A time seen during the fold: local once the event (and so its time zone) is known."""
    return _local(ms, state.agenda.zone) if state.agenda else str(ms)


def _session_report(
    state: State, agenda: Agenda, session_id: str, live: SessionState, fold: _Fold, as_of: int, before: SessionPlan
) -> SessionReport:
    """``before`` is the session's plan before the event: what it planned to run, against which it ran; each
    item is graded against its plan in force when it ran, and the changes between the two are named."""
    plan = agenda.session(session_id)
    assert plan is not None
    zone = agenda.zone
    schedule = planned_schedule(before, zone)
    in_force = planned_schedule(plan, zone)
    planned_at = {spec.id: schedule[n] for n, spec in enumerate(before.items)}
    planned_s = {spec.id: spec.duration_s for spec in before.items}
    planned_duration = (schedule[-1] - schedule[0]) // SEC
    changes = fold.live.get(session_id, [])
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
        force = item.duration_s  # the plan in force: after added time, recovery plans and live edits
        # A running item (or one to finish) is only over once it passes its plan; until then it is on time.
        over = max(0.0, ran - force) if to_finish else ran - force
        if started is not None:
            budget += min(ran, force) if to_finish else force
            if abs(over) >= 1:
                explained.append(OverrunPart(what=f"item {spec.id}: {spec.title}", seconds=round(over, 1)))
        elif ended:
            not_run += force
        items.append(
            ItemReport(
                id=spec.id,
                title=spec.title,
                kind=spec.kind.value,
                status=item.status,
                planned_start=_local(planned_at.get(spec.id, in_force[index]), zone),
                planned_duration_s=planned_s.get(spec.id, 0),
                actual_start=_local(started, zone),
                actual_duration_s=round(ran, 1),
                over_under_s=round(over, 1) if started is not None else 0.0,
                pauses=item.timer.pauses,
                added_s=item.added_s,
                skipped=item.status == "skipped",
                reopened=item.reopened,
                final_planned_s=item.duration_s,
                turns=len(item.turns) + (1 if item.floor else 0),
                added_live=spec.id not in planned_s,
                not_heard=[
                    p
                    for p in spec.speakers
                    if p not in {t.person for t in item.turns} and not (item.floor and item.floor.person == p)
                ],
            )
        )
    if ended:
        budget = planned_duration
    if live.started_at is not None:
        if not_run:
            explained.append(OverrunPart(what="items skipped or not reached", seconds=-float(not_run)))
        if paused >= 1:
            explained.append(OverrunPart(what="session paused", seconds=round(paused, 1)))
        if ended:  # the plan changed live is part of why the session ran as long as it did: each change, named
            explained += [
                OverrunPart(what=_change_words(change), seconds=float(change.delta_s), live=True)
                for change in changes
                if change.delta_s
            ]
        fixed_gaps = planned_duration - sum(spec.duration_s for spec in before.items)
        if fixed_gaps and ended:
            explained.append(OverrunPart(what="planned waits before fixed starts", seconds=-float(fixed_gaps)))
        rest = actual - ran_total - paused
        if abs(rest) >= 1:
            explained.append(OverrunPart(what="between items (no item running)", seconds=round(rest, 1)))
    # The plan changed live first, in the order it changed; then the time run over the plan, largest first.
    ran_over = sorted((p for p in explained if not p.live), key=lambda part: (-abs(part.seconds), part.what))
    explained = [p for p in explained if p.live] + ran_over
    overrun = actual - budget if live.started_at is not None else 0.0
    return SessionReport(
        id=plan.id,
        title=plan.title,
        room=plan.room,
        day=plan.start.date().isoformat(),
        status=live.status,
        planned_start=_local(schedule[0], zone),
        planned_end=_local(schedule[-1], zone),
        actual_start=_local(live.started_at, zone),
        actual_end=_local(live.ended_at, zone),
        start_delay_s=None if live.started_at is None else round((live.started_at - schedule[0]) / SEC, 1),
        planned_duration_s=planned_duration,
        actual_duration_s=round(actual, 1),
        overrun_s=round(overrun, 1),
        overrun_pct=_pct(overrun, budget),
        extended_s=live.extended_s,
        unplanned_overrun_s=round(overrun - live.extended_s, 1),
        paused_s=round(paused, 1),
        pauses=fold.pauses.get(plan.id, 0),
        extensions=fold.extensions.get(plan.id, []),
        plans_applied=fold.plans.get(plan.id, []),
        items=items,
        overrun_explained=explained,
        rehearsal=state.rehearsal,
        planned_so_far_s=round(budget, 1) if live.started_at is not None else 0.0,
        live_changes=list(changes),
        live_changes_s=sum(change.delta_s for change in changes),
    )


def _change_words(change: LiveChange) -> str:
    """A live change as the overrun's explanation names it."""
    when = f"at {change.at[11:16]} by {change.by}"
    if change.change == "added":
        return f"added live {when}: {change.title} ({format_duration(change.after_s or 0)})"
    if change.change == "removed":
        return f"removed live {when}: {change.title} ({format_duration(change.before_s or 0)})"
    was_now = f"{format_duration(change.before_s or 0)} → {format_duration(change.after_s or 0)}"
    if change.change == "recovery plan":
        return f"recovery plan {when}: {change.title} {was_now}"
    if change.change == "time added":
        return f"time added on purpose {when}: {change.title}"
    return f"{change.change} live {when}: {change.title} {was_now}"


def _turns(state: State, agenda: Agenda, as_of: int) -> list[TurnReport]:
    zone = agenda.zone
    out = []
    for plan_session, live in zip(agenda.sessions, state.sessions, strict=True):
        for item in live.items:
            all_turns = [*item.turns, *([item.floor] if item.floor else [])]
            for turn in all_turns:
                start = turn.timer.first_start
                speaking = turn.timer.elapsed_ms(as_of) / SEC
                limit = turn.effective_limit_s
                person = state.person(turn.person)
                out.append(
                    TurnReport(
                        session=plan_session.id,
                        item=item.id,
                        person=turn.person,
                        name=person.name if person else turn.person,
                        kind=turn.kind,
                        start=_local(start, zone) or "",
                        speaking_s=round(speaking, 1),
                        limit_s=limit,
                        over_limit_s=round(max(0.0, speaking - limit), 1) if limit is not None else 0.0,
                        waited_s=None
                        if turn.raised_at is None or start is None
                        else round((start - turn.raised_at) / SEC, 1),
                    )
                )
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
    # The whole roster, with zeros for those not heard; participants once they spoke or raised a hand.
    assert state.agenda is not None
    roster = {p.id for p in state.agenda.people}
    ids = sorted(roster | set(by_person) | {p for p, n in raised_by.items() if n})
    out = []
    for person_id in ids:
        person = state.person(person_id)
        mine = by_person.get(person_id, [])
        speaking = sum(t.speaking_s for t in mine)
        raised = raised_by.get(person_id, 0)
        queued_turns = sum(1 for t in mine if t.waited_s is not None)
        out.append(
            PersonReport(
                person=person_id,
                name=person.name if person else person_id,
                affiliation=person.affiliation if person else "",
                participant=bool(person and person.participant),
                tags=dict(person.tags) if person else {},
                turns=len(mine),
                speaking_s=round(speaking, 1),
                average_s=round(speaking / len(mine), 1) if mine else 0.0,
                longest_s=max((t.speaking_s for t in mine), default=0.0),
                turns_over_limit=sum(1 for t in mine if t.over_limit_s > 0),
                waited_s=round(sum(t.waited_s or 0.0 for t in mine), 1),
                hands_raised=raised,
                hands_never_given_floor=max(0, raised - queued_turns),
            )
        )
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
        rows = [
            Share(
                value=value,
                speaking_s=round(sum(p.speaking_s for p in group), 1),
                share_pct=_pct(sum(p.speaking_s for p in group), total),
                turns=sum(p.turns for p in group),
            )
            for value, group in groups.items()
        ]
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
        sessions=len(sessions),
        planned_duration_s=planned,
        actual_duration_s=round(actual, 1),
        overrun_s=round(overrun, 1),
        overrun_pct=_pct(overrun, so_far),
        extended_s=extended,
        unplanned_overrun_s=round(sum(s.unplanned_overrun_s for s in started), 1),
        speaking_s=round(sum(t.speaking_s for t in turns), 1),
        turns=len(turns),
        planned_so_far_s=round(so_far, 1),
    )


__all__ = ["build_report"]
