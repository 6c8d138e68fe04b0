"""What the Markdown and the HTML report say alike: figures as people read them, and the sentences.

Durations read the way people say them: minutes and seconds up to 99:59 ("ran 70:00"), hours
beyond ("6:15:00"); times of day as "16:00". The summary, each session's outcome, the overrun
explained, the notes on items, plans, speakers and shares are written here once, so that the two
readable formats never tell a report differently.

Names, titles, affiliations, tags, ids and client names come from agenda files and from clients. The
sentences take a ``Quote`` for such text, so that each format shows it as it is and interprets none of
its syntax: Markdown passes ``markdown.md_text``; HTML passes nothing and escapes each whole sentence as
it writes it. (CSV and JSON hold no sentences.) This module writes plain text only: it never escapes
for a format, and it never computes a figure the report does not hold (``build`` does).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from .model import ItemReport, LiveChange, PersonReport, Report, SessionReport, Share, TurnReport

MAX_NAMES = 30  # lists of names longer than this are given as a count
_HOURS_FROM_S = 100 * 60  # 99:59 is still written in minutes


def _clock(total: int, sign: str) -> str:
    if total < _HOURS_FROM_S:
        minutes, secs = divmod(total, 60)
        return f"{sign}{minutes}:{secs:02d}"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours}:{minutes:02d}:{secs:02d}"


def dur(seconds: float | None) -> str:
    """A duration: "45:00", "70:00", "6:15:00"; "-" in front when negative."""
    if seconds is None:
        return ""
    total = round(seconds)
    return _clock(abs(total), "-" if total < 0 else "")


def signed(seconds: float) -> str:
    """A difference: "+25:00", "-0:34", "0:00"."""
    total = round(seconds)
    return _clock(abs(total), "-" if total < 0 else ("+" if total > 0 else ""))


def hhmm(iso: str | None) -> str:
    return iso[11:16] if iso else "—"


def _time(iso: str) -> str:
    """The time of day, with seconds only when they are not zero ("16:00", "16:00:31")."""
    return iso[11:16] if iso[17:19] == "00" else iso[11:19]


def _n(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural or word + 's')}"


def _stamp(iso: str) -> str:
    """ "2020-03-28T00:25:00+09:00" as "2020-03-28 00:25:00"."""
    return f"{iso[:10]} {iso[11:19]}" if len(iso) >= 19 else iso


def epoch_s(iso: str) -> float:
    """An ISO time as epoch seconds."""
    return datetime.fromisoformat(iso).timestamp()


Quote = Callable[[str], str]


def _as_is(text: str) -> str:
    return text


def _scope(report: Report, q: Quote) -> str:
    if report.scope == "event":
        return "the whole event"
    kind, _, which = report.scope.partition(" ")  # "session <id>" or "day <date>"
    return f"{kind} {q(which)}"


def intro(report: Report, q: Quote = _as_is) -> str:
    return (
        f"Report of {_scope(report, q)} from its timing log, as of {_stamp(report.as_of)} "
        f"({report.timezone} time); {report.log_entries} log entries."
    )


def summary(report: Report) -> list[str]:
    t = report.totals
    sessions = _n(t.sessions, "session")
    if t.sessions > 1:
        sessions += " (their times added up)"
    lines = [_summary_line(report, sessions)]
    if t.extended_s:
        lines.append(f"extended on purpose by {dur(t.extended_s)}; {_unplanned(t.unplanned_overrun_s)}")
    else:
        lines.append("not extended; all of the overrun was unplanned" if t.overrun_s >= 1 else "not extended")
    lines.append(f"{_n(t.turns, 'turn')}, {dur(t.speaking_s)} of speaking")
    return lines


def _summary_line(report: Report, sessions: str) -> str:
    """Planned, ran and over plan on one line, in figures that can be checked against each other: once
    every session has ended, ran less planned is the overrun; before that, the overrun (and its share)
    is of the plan used so far, which the line names."""
    t = report.totals
    started = [s for s in report.sessions if s.actual_start is not None]
    ended = [s for s in started if s.actual_end is not None]
    under_way = len(started) - len(ended)
    not_started = len(report.sessions) - len(started)
    if not started:
        return f"{sessions}: planned {dur(t.planned_duration_s)}; {'none' if t.sessions > 1 else 'not'} started yet"
    if len(ended) == len(report.sessions):
        return (
            f"{sessions}: planned {dur(t.planned_duration_s)}, ran {dur(t.actual_duration_s)}, "
            f"{_over(t.overrun_s)} ({t.overrun_pct:+.1f} %)"
        )
    if len(report.sessions) == 1:
        head = f"{sessions}, not ended: planned {dur(t.planned_duration_s)}"
    else:
        counts = [
            f"{len(ended)} ended" if ended else "",
            f"{under_way} under way" if under_way else "",
            f"{not_started} not started" if not_started else "",
        ]
        head = f"{sessions}: planned {dur(t.planned_duration_s)} ({', '.join(c for c in counts if c)})"
    so_far = dur(t.planned_so_far_s)
    if not under_way:
        run = "the session" if len(ended) == 1 else f"the {len(ended)} sessions"
        which = f"the {so_far} planned for {run} run so far"
    elif not ended:
        which = f"the {so_far} of plan used by the items done or under way"
    else:
        which = (
            f"the {so_far} of plan used so far (all of it for the {_n(len(ended), 'session')} ended; "
            "for those under way, what their items done or under way used)"
        )
    return (
        f"{head}; ran {dur(t.actual_duration_s)} so far, against {which}: "
        f"{_over(t.overrun_s)} ({t.overrun_pct:+.1f} % of {so_far})"
    )


def _over(seconds: float) -> str:
    if abs(seconds) < 1:
        return "on plan"
    return f"{dur(abs(seconds))} {'over' if seconds > 0 else 'under'} plan"


def _item_names(session: SessionReport, q: Quote = _as_is) -> dict[str, str]:
    """Item titles, with the id added where two items share a title ("Coffee break (coffee-break-2)")."""
    counts: dict[str, int] = {}
    for item in session.items:
        counts[item.title] = counts.get(item.title, 0) + 1
    return {i.id: q(i.title) if counts[i.title] == 1 else f"{q(i.title)} ({q(i.id)})" for i in session.items}


def _unplanned(seconds: float) -> str:
    """The overrun beyond what was extended on purpose, or the part of the extension not used."""
    if seconds >= 1:
        return f"unplanned overrun {signed(seconds)}"
    if seconds <= -1:
        return f"no unplanned overrun ({dur(-seconds)} of the extension not used)"
    return "no unplanned overrun"


def why(session: SessionReport, q: Quote = _as_is) -> list[str]:
    """The session's outcome in a few sentences."""
    if session.actual_start is None:
        return ["Not started."]
    lines = []
    if session.actual_end is None:
        # Ran less the plan used so far is the overrun: the full plan is not (the rest is still to run).
        so_far = dur(session.planned_so_far_s)
        if abs(session.overrun_s) < 1:
            behind = "on plan so far"
        else:
            behind = (
                f"{dur(abs(session.overrun_s))} {'behind' if session.overrun_s > 0 else 'ahead of'} plan "
                f"so far ({session.overrun_pct:+.1f} % of {so_far})"
            )
        lines.append(
            f"Not ended: {session.status.replace('_', ' ')} when the log stops. "
            f"Planned {dur(session.planned_duration_s)}; ran {dur(session.actual_duration_s)} so far, "
            f"against the {so_far} of plan used by the items done or under way: {behind}."
        )
    else:
        lines.append(
            f"Planned {dur(session.planned_duration_s)}, ran {dur(session.actual_duration_s)}: "
            f"{_over(session.overrun_s)} ({session.overrun_pct:+.1f} %)."
        )
    lines.append(_start_end(session))
    if session.live_changes:
        lines.append(_live_line(session))
    if session.extended_s:
        how = ", ".join(f"{signed(e.delta_s)} at {hhmm(e.at)} by {q(e.by)}" for e in session.extensions)
        lines.append(
            f"Extended on purpose by {dur(session.extended_s)} ({how}); {_unplanned(session.unplanned_overrun_s)}."
        )
    if session.paused_s >= 1:
        times = {1: "once", 2: "twice"}.get(session.pauses, f"{session.pauses} times")
        lines.append(
            f"Paused {times}, for {dur(session.paused_s)} in all (counted in the session's time, not in its items')."
        )
    return lines


_CHANGE_WORDS = {
    "added": ("item added", "items added"),
    "removed": ("item removed", "items removed"),
    "lengthened": ("item lengthened", "items lengthened"),
    "shortened": ("item shortened", "items shortened"),
    "moved": ("item moved", "items moved"),
    "edited": ("item edited", "items edited"),
    "time added": ("time added once", "time added {n} times"),
    "recovery plan": ("item replanned by a recovery plan", "items replanned by recovery plans"),
}


def _live_line(session: SessionReport) -> str:
    """The plan changed live, apart from the time run over the plan in force."""
    counts: dict[str, int] = {}
    for change in session.live_changes:
        counts[change.change] = counts.get(change.change, 0) + 1
    parts = []
    for kind, (one, many) in _CHANGE_WORDS.items():
        if kind in counts:
            n = counts[kind]
            parts.append(one if n == 1 else (many.format(n=n) if "{n}" in many else f"{n} {many}"))
    what = ", ".join(parts)
    if session.actual_end is None:
        return f"The plan was changed live ({what}): {signed(session.live_changes_s)} on the plan in all."
    rest = session.overrun_s - session.live_changes_s
    return (
        f"The plan was changed live ({what}): {signed(session.live_changes_s)} on the plan; "
        f"against the plan in force it ran {signed(rest)}."
    )


def change_line(change: LiveChange, q: Quote = _as_is) -> str:
    """A change of the plan made live, in words: what, to which item, when and by whom."""
    when = f"at {hhmm(change.at)} by {q(change.by)}"
    title = q(change.title)
    was_now = f"{dur(change.before_s or 0)} → {dur(change.after_s or 0)}"
    if change.change == "added":
        return f"Added live {when}: {title} ({dur(change.after_s or 0)})"
    if change.change == "removed":
        return f"Removed live {when}: {title} ({dur(change.before_s or 0)})"
    if change.change == "recovery plan":
        return f"Recovery plan {when}: {title} {was_now}"
    if change.change == "time added":
        return f"Time added on purpose {when}: {title} {was_now}"
    if change.change in ("moved", "edited"):
        return f"{change.change.capitalize()} live {when}: {title}"
    return f"{change.change.capitalize()} live {when}: {title} {was_now}"


def _start_end(session: SessionReport) -> str:
    assert session.actual_start is not None and session.start_delay_s is not None
    delay = session.start_delay_s
    if abs(delay) >= 12 * 3600:  # a rehearsal, or a meeting moved to another day
        start = f"Started on {_stamp(session.actual_start)} (planned {_stamp(session.planned_start)})"
    elif abs(delay) < 1:
        start = f"Started on time, at {_time(session.actual_start)}"
    else:
        start = (
            f"Started {dur(abs(delay))} {'late' if delay > 0 else 'early'}, at {_time(session.actual_start)} "
            f"(planned {_time(session.planned_start)})"
        )
    if session.actual_end is None or abs(delay) >= 12 * 3600:
        return start + "."
    late = epoch_s(session.actual_end) - epoch_s(session.planned_end)
    if abs(late) < 1:
        end = f"ended at the planned end, {_time(session.planned_end)}"
    else:
        end = (
            f"ended {dur(abs(late))} {'after' if late > 0 else 'before'} the planned end, "
            f"at {_time(session.actual_end)} (planned {_time(session.planned_end)})"
        )
    return f"{start}; {end}."


def _turns_note(turns: list[TurnReport]) -> str:
    if not turns:
        return ""
    note = _n(len(turns), "turn")
    over = [t for t in turns if t.over_limit_s > 0]
    if over:
        limits = {t.limit_s for t in over}
        limit = f"the {dur(limits.pop())} limit" if len(limits) == 1 else "their limit"
        note += f", {len(over)} over {limit}, by {dur(sum(t.over_limit_s for t in over))} in all"
    return note


def explained(report: Report, session: SessionReport, q: Quote = _as_is) -> tuple[str, list[str]]:
    """A heading and one line per reason the session ran as long as it did, items first by size."""
    if not session.overrun_explained:
        return "", []
    names = _item_names(session, q)
    by_label = {f"item {i.id}: {i.title}": i for i in session.items}
    turns_of: dict[str, list[TurnReport]] = {}
    for turn in report.turns:
        if turn.session == session.id:
            turns_of.setdefault(turn.item, []).append(turn)
    lines = []
    changes = iter([c for c in session.live_changes if c.delta_s])
    for part in session.overrun_explained:
        if part.live:  # a change of the plan made live, in the order the plan changed
            change = next(changes, None)
            if change is not None:
                lines.append(f"{change_line(change, q)}: {signed(part.seconds)}")
            continue
        item = by_label.get(part.what)
        if item is None:  # the reasons that are not items are the report's own words
            lines.append(f"{part.what[:1].upper()}{part.what[1:]}: {signed(part.seconds)}")
            continue
        notes = []
        if item.added_live:
            notes.append(f"added live, {dur(item.final_planned_s)} planned")
        elif item.final_planned_s != item.planned_duration_s:
            notes.append(f"against {dur(item.final_planned_s)} in force, {dur(item.planned_duration_s)} planned")
        if item.pauses:
            notes.append(_n(item.pauses, "pause"))
        if item.reopened:
            notes.append(f"re-opened {item.reopened}×")
        turns_note = _turns_note(turns_of.get(item.id, []))
        if turns_note:
            notes.append(turns_note)
        lines.append(f"{names[item.id]}: {signed(part.seconds)}" + (f" ({'; '.join(notes)})" if notes else ""))
    total = sum(part.seconds for part in session.overrun_explained)
    lines.append(f"Together: {signed(total)}")
    if session.actual_end is not None and abs(session.overrun_s) >= 60:
        heading = f"Why {dur(session.planned_duration_s)} became {dur(session.actual_duration_s)}:"
    elif session.actual_end is None:
        heading = f"Where the time went, against the {dur(session.planned_so_far_s)} of plan used so far:"
    else:
        heading = "Where the time went, against the plan:"
    return heading, lines


def actual_range(session: SessionReport) -> str:
    """ "actual 10:07–16:14"; "actual 05:57– (running)" for a session not ended; "not started"."""
    if session.actual_start is None:
        return "not started"
    if session.actual_end is None:
        return f"actual {hhmm(session.actual_start)}– ({session.status.replace('_', ' ')})"
    return f"actual {hhmm(session.actual_start)}–{hhmm(session.actual_end)}"


def item_notes(item: ItemReport, turns: int) -> str:
    notes = []
    if item.status == "current":  # only before the session ends: the end closes the current item
        notes.append("under way")
    if item.skipped:
        notes.append("skipped")
    if item.added_live:
        notes.append("added live")
    if item.added_s:
        notes.append(f"time added {signed(item.added_s)}")
    if item.pauses:
        notes.append(_n(item.pauses, "pause"))
    if item.reopened:
        notes.append(f"re-opened {item.reopened}×")
    if turns:
        notes.append(_n(turns, "turn"))
    return ", ".join(notes)


def plan_line(session: SessionReport, plan_index: int, q: Quote = _as_is) -> str:
    plan = session.plans_applied[plan_index]
    names = _item_names(session, q)
    changes = ", ".join(f"{names.get(k, q(k))} {dur(v)}" for k, v in plan.durations.items())
    return f"Recovery plan applied at {hhmm(plan.at)} by {q(plan.by)}, to end by {hhmm(plan.target)}: {changes}."


def heard(report: Report) -> tuple[list[PersonReport], list[PersonReport]]:
    """People who had the floor, and people who raised a hand but never had it (the rest of the roster, with
    zeros, is in the people table and the JSON)."""
    spoke = [p for p in report.people if p.turns]
    waiting = [p for p in report.people if not p.turns and p.hands_raised]
    return spoke, waiting


def not_heard_line(report: Report, session: SessionReport, q: Quote = _as_is) -> str:
    """The listed speakers who never had the floor on their item, item by item; empty when all were heard."""
    names = {p.person: p.name for p in report.people}
    parts = [
        f"{q(item.title)}: " + ", ".join(q(names.get(person, person)) for person in item.not_heard)
        for item in session.items
        if item.not_heard
    ]
    return ("Listed speakers who never had the floor: " + "; ".join(parts) + ".") if parts else ""


def never_line(waiting: list[PersonReport], q: Quote = _as_is) -> str:
    if not waiting:
        return ""
    if len(waiting) > MAX_NAMES:
        return (
            f"{len(waiting)} more people raised a hand but never had the floor "
            "(all of them are in the people table of the CSV and in the JSON)."
        )
    # A participant is marked as one, as in the people table: "Eric Garcetti (participant)" is not the chair.
    names = ", ".join(
        q(p.name) + (" (participant)" if p.participant else "") for p in sorted(waiting, key=lambda p: p.name)
    )
    return f"{_n(len(waiting), 'more person', 'more people')} raised a hand but never had the floor: {names}."


def share_rows(key: str, shares: list[Share], q: Quote = _as_is) -> tuple[list[Share], str]:
    heard = [s for s in shares if s.speaking_s > 0 or s.turns]
    silent = [s.value for s in shares if not (s.speaking_s > 0 or s.turns)]
    if not silent:
        return heard, ""
    if len(silent) > MAX_NAMES:
        return heard, f"Raised a hand but had no speaking time: {len(silent)} more values of {q(key)}."
    return heard, f"Raised a hand but had no speaking time: {', '.join(q(v) for v in sorted(silent))}."


def shown_shares(report: Report) -> list[tuple[str, list[Share]]]:
    return [(key, shares) for key, shares in report.shares.items() if len(shares) >= 2 or key in ("gender", "country")]


def days_so_far(report: Report) -> bool:
    """Whether some day has not run in full, so that its ± is of less than its plan."""
    return any(abs(d.totals.planned_so_far_s - d.totals.planned_duration_s) >= 1 for d in report.days)


DAYS_SO_FAR = (
    "± is ran less planned so far: the sessions ended count with all of their plan, those under way "
    "with the plan their items done or under way used, those not started with none."
)


def timeline_window(session: SessionReport) -> tuple[float, float, float]:
    """The time window a timeline draws (start, end, in epoch seconds) and the shift that lines a
    rehearsal run, on another day than planned, up at the planned start."""
    shift = (epoch_s(session.actual_start) - epoch_s(session.planned_start)) if session.actual_start else 0.0
    spans = [(epoch_s(i.planned_start), epoch_s(i.planned_start) + i.planned_duration_s) for i in session.items]
    spans += [
        (epoch_s(i.actual_start) - shift, epoch_s(i.actual_start) - shift + i.actual_duration_s)
        for i in session.items
        if i.actual_start
    ]
    return min(a for a, _ in spans), max(b for _, b in spans), shift
