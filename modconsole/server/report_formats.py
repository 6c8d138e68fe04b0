"""The report as JSON (the full model), CSV (one tidy table), Markdown (for an email) and
HTML (one self-contained file with an inline SVG timeline, fit to print).

Durations read the way people say them: minutes and seconds up to 99:59 ("ran 70:00"), hours
beyond ("6:15:00"). Machine formats (JSON, CSV) keep plain seconds.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import unicodedata
from collections.abc import Callable
from datetime import datetime

from .reports import ItemReport, PersonReport, Report, SessionReport, Share, TurnReport

FORMATS = ("md", "csv", "json", "html")
TABLES = ("sessions", "items", "turns", "people")

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
    """"2020-03-28T00:25:00+09:00" as "2020-03-28 00:25:00"."""
    return f"{iso[:10]} {iso[11:19]}" if len(iso) >= 19 else iso


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


# --------------------------------------------------------------------------- text from outside
#
# Names, titles, affiliations, tags, ids and client names come from agenda files and from clients. Each
# format is given them so that it shows them as they are and interprets none of their syntax: Markdown
# through md_text, HTML through html.escape, CSV through csv_cell. JSON is data and keeps them as they are.

Quote = Callable[[str], str]


def _as_is(text: str) -> str:
    return text


def one_line(text: object) -> str:
    """The text on one line: line breaks and other control characters (a tab excepted) as spaces,
    no whitespace at either end. What a report line shows of a name or a title."""
    chars = [" " if (unicodedata.category(ch) == "Cc" and ch != "\t") or ch in "\u2028\u2029" else ch
             for ch in str(text)]
    return "".join(chars).strip()


# Every ASCII character that CommonMark or GitHub's Markdown gives a meaning inline (emphasis, code,
# links, images, autolinks, raw HTML, entities, tables, strikethrough), and ``#``; then a ``.`` before a
# word character and a ``:`` between a letter and a non-space, which is all a bare address needs to be
# made a link ("www.x.org", "x.org", "http://x", "mailto:a@b"): escaped, neither is a link. Parentheses
# are left as they are: they mean something only after a "]" (always escaped) or as "1)" at the start
# of a line (below), and titles are full of them.
_MD_INLINE = re.compile(r"[\\`*_\[\]<>#|!~&]|\.(?=\w)|(?<=[A-Za-z]):(?=\S)")
# At the start of a line: a list item ("- ", "+ ", "1. ", "1) "), a thematic break ("---") or a setext
# underline ("===").
_MD_LINE_START = re.compile(r"^(?:[-+=]|\d+[.)])")


def md_text(text: object) -> str:
    """Outside text for Markdown: rendered, it shows exactly ``one_line(text)`` and makes no link, image,
    HTML, emphasis, code, heading, list, quote or table cell of its own, wherever it stands in a line
    (a table cell, a heading, a list item, a paragraph)."""
    escaped = _MD_INLINE.sub(lambda m: "\\" + m.group(), one_line(text))
    return _MD_LINE_START.sub(lambda m: m.group()[:-1] + "\\" + m.group()[-1], escaped)


# What a spreadsheet takes as the start of a formula (OWASP, "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A CSV cell: text that a spreadsheet would run as a formula gets a leading single quote; numbers
    (negative ones too), booleans and empty cells stay as they are. A carriage return in text is written
    as a line feed: the csv module quotes a cell only for the line ending it writes ("\\n"), and a bare
    CR in an unquoted cell ends the row for every reader."""
    if not isinstance(value, str):
        return value
    if value.startswith(_FORMULA_START):
        value = "'" + value
    return value.replace("\r\n", "\n").replace("\r", "\n")


# --------------------------------------------------------------------------- machine formats


def render_json(report: Report) -> str:
    return json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


_SESSION_LISTS = ("items", "extensions", "plans_applied", "overrun_explained")


def render_csv(report: Report, table: str = "sessions") -> str:
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; choose one of {', '.join(TABLES)}")
    rows: list[dict[str, object]]
    if table == "sessions":
        fields = [k for k in SessionReport.model_fields if k not in _SESSION_LISTS]
        rows = [s.model_dump(exclude=set(_SESSION_LISTS)) for s in report.sessions]
    elif table == "items":
        fields = ["session", *ItemReport.model_fields]
        rows = [{"session": s.id, **i.model_dump()} for s in report.sessions for i in s.items]
    elif table == "turns":
        fields = list(TurnReport.model_fields)
        rows = [t.model_dump() for t in report.turns]
    else:
        tag_keys = sorted({k for p in report.people for k in p.tags})
        fields = [k for k in PersonReport.model_fields if k != "tags"] + [f"tag_{k}" for k in tag_keys]
        rows = []
        for person in report.people:
            row = person.model_dump(exclude={"tags"})
            row.update({f"tag_{k}": person.tags.get(k, "") for k in tag_keys})
            rows.append(row)
    out = io.StringIO()
    # The header is written even with no rows, so the file always says what it would hold.
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: csv_cell(value) for key, value in row.items()} for row in rows)
    return out.getvalue()


# --------------------------------------------------------------------------- words shared by md and html


def _scope(report: Report, q: Quote) -> str:
    if report.scope == "event":
        return "the whole event"
    kind, _, which = report.scope.partition(" ")  # "session <id>" or "day <date>"
    return f"{kind} {q(which)}"


def _intro(report: Report, q: Quote = _as_is) -> str:
    return (f"Report of {_scope(report, q)} from its timing log, as of {_stamp(report.as_of)} "
            f"({report.timezone} time); {report.log_entries} log entries.")


def _summary(report: Report) -> list[str]:
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
        return (f"{sessions}: planned {dur(t.planned_duration_s)}, ran {dur(t.actual_duration_s)}, "
                f"{_over(t.overrun_s)} ({t.overrun_pct:+.1f} %)")
    if len(report.sessions) == 1:
        head = f"{sessions}, not ended: planned {dur(t.planned_duration_s)}"
    else:
        counts = [f"{len(ended)} ended" if ended else "", f"{under_way} under way" if under_way else "",
                  f"{not_started} not started" if not_started else ""]
        head = f"{sessions}: planned {dur(t.planned_duration_s)} ({', '.join(c for c in counts if c)})"
    so_far = dur(t.planned_so_far_s)
    if not under_way:
        run = "the session" if len(ended) == 1 else f"the {len(ended)} sessions"
        which = f"the {so_far} planned for {run} run so far"
    elif not ended:
        which = f"the {so_far} of plan used by the items done or under way"
    else:
        which = (f"the {so_far} of plan used so far (all of it for the {_n(len(ended), 'session')} ended; "
                 "for those under way, what their items done or under way used)")
    return (f"{head}; ran {dur(t.actual_duration_s)} so far, against {which}: "
            f"{_over(t.overrun_s)} ({t.overrun_pct:+.1f} % of {so_far})")


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


def _why(session: SessionReport, q: Quote = _as_is) -> list[str]:
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
            behind = (f"{dur(abs(session.overrun_s))} {'behind' if session.overrun_s > 0 else 'ahead of'} plan "
                      f"so far ({session.overrun_pct:+.1f} % of {so_far})")
        lines.append(f"Not ended: {session.status.replace('_', ' ')} when the log stops. "
                     f"Planned {dur(session.planned_duration_s)}; ran {dur(session.actual_duration_s)} so far, "
                     f"against the {so_far} of plan used by the items done or under way: {behind}.")
    else:
        lines.append(f"Planned {dur(session.planned_duration_s)}, ran {dur(session.actual_duration_s)}: "
                     f"{_over(session.overrun_s)} ({session.overrun_pct:+.1f} %).")
    lines.append(_start_end(session))
    if session.extended_s:
        how = ", ".join(f"{signed(e.delta_s)} at {hhmm(e.at)} by {q(e.by)}" for e in session.extensions)
        lines.append(f"Extended on purpose by {dur(session.extended_s)} ({how}); "
                     f"{_unplanned(session.unplanned_overrun_s)}.")
    if session.paused_s >= 1:
        times = {1: "once", 2: "twice"}.get(session.pauses, f"{session.pauses} times")
        lines.append(f"Paused {times}, for {dur(session.paused_s)} in all "
                     "(counted in the session's time, not in its items').")
    return lines


def _start_end(session: SessionReport) -> str:
    assert session.actual_start is not None and session.start_delay_s is not None
    delay = session.start_delay_s
    if abs(delay) >= 12 * 3600:  # a rehearsal, or a meeting moved to another day
        start = f"Started on {_stamp(session.actual_start)} (planned {_stamp(session.planned_start)})"
    elif abs(delay) < 1:
        start = f"Started on time, at {_time(session.actual_start)}"
    else:
        start = (f"Started {dur(abs(delay))} {'late' if delay > 0 else 'early'}, at {_time(session.actual_start)} "
                 f"(planned {_time(session.planned_start)})")
    if session.actual_end is None or abs(delay) >= 12 * 3600:
        return start + "."
    late = _seconds(session.actual_end) - _seconds(session.planned_end)
    if abs(late) < 1:
        end = f"ended at the planned end, {_time(session.planned_end)}"
    else:
        end = (f"ended {dur(abs(late))} {'after' if late > 0 else 'before'} the planned end, "
               f"at {_time(session.actual_end)} (planned {_time(session.planned_end)})")
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


def _explained(report: Report, session: SessionReport, q: Quote = _as_is) -> tuple[str, list[str]]:
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
    for part in session.overrun_explained:
        item = by_label.get(part.what)
        if item is None:  # the reasons that are not items are the report's own words
            lines.append(f"{part.what[:1].upper()}{part.what[1:]}: {signed(part.seconds)}")
            continue
        notes = []
        if item.added_s:
            notes.append(f"time added {signed(item.added_s)} on purpose")
        if item.final_planned_s != item.planned_duration_s + item.added_s:
            notes.append(f"replanned to {dur(item.final_planned_s)} by a recovery plan")
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


def _actual_range(session: SessionReport) -> str:
    """"actual 10:07–16:14"; "actual 05:57– (running)" for a session not ended; "not started"."""
    if session.actual_start is None:
        return "not started"
    if session.actual_end is None:
        return f"actual {hhmm(session.actual_start)}– ({session.status.replace('_', ' ')})"
    return f"actual {hhmm(session.actual_start)}–{hhmm(session.actual_end)}"


def _item_notes(item: ItemReport, turns: int) -> str:
    notes = []
    if item.status == "current":  # only before the session ends: the end closes the current item
        notes.append("under way")
    if item.skipped:
        notes.append("skipped")
    if item.added_s:
        notes.append(f"time added {signed(item.added_s)}")
    if item.final_planned_s != item.planned_duration_s + item.added_s and not item.skipped:
        notes.append(f"replanned to {dur(item.final_planned_s)}")
    if item.pauses:
        notes.append(_n(item.pauses, "pause"))
    if item.reopened:
        notes.append(f"re-opened {item.reopened}×")
    if turns:
        notes.append(_n(turns, "turn"))
    return ", ".join(notes)


def _plan_line(session: SessionReport, plan_index: int, q: Quote = _as_is) -> str:
    plan = session.plans_applied[plan_index]
    names = _item_names(session, q)
    changes = ", ".join(f"{names.get(k, q(k))} {dur(v)}" for k, v in plan.durations.items())
    return (f"Recovery plan applied at {hhmm(plan.at)} by {q(plan.by)}, to end by {hhmm(plan.target)}: "
            f"{changes}.")


def _heard(report: Report) -> tuple[list[PersonReport], list[PersonReport]]:
    """People who had the floor, and people who raised a hand but never had it."""
    spoke = [p for p in report.people if p.turns]
    waiting = [p for p in report.people if not p.turns]
    return spoke, waiting


def _never_line(waiting: list[PersonReport], q: Quote = _as_is) -> str:
    if not waiting:
        return ""
    if len(waiting) > MAX_NAMES:
        return (f"{len(waiting)} more people raised a hand but never had the floor "
                "(all of them are in the people table of the CSV and in the JSON).")
    # A participant is marked as one, as in the people table: "Eric Garcetti (participant)" is not the chair.
    names = ", ".join(q(p.name) + (" (participant)" if p.participant else "")
                      for p in sorted(waiting, key=lambda p: p.name))
    return f"{_n(len(waiting), 'more person', 'more people')} raised a hand but never had the floor: {names}."


def _share_rows(key: str, shares: list[Share], q: Quote = _as_is) -> tuple[list[Share], str]:
    heard = [s for s in shares if s.speaking_s > 0 or s.turns]
    silent = [s.value for s in shares if not (s.speaking_s > 0 or s.turns)]
    if not silent:
        return heard, ""
    if len(silent) > MAX_NAMES:
        return heard, f"Raised a hand but had no speaking time: {len(silent)} more values of {q(key)}."
    return heard, f"Raised a hand but had no speaking time: {', '.join(q(v) for v in sorted(silent))}."


def _shown_shares(report: Report) -> list[tuple[str, list[Share]]]:
    return [(key, shares) for key, shares in report.shares.items()
            if len(shares) >= 2 or key in ("gender", "country")]


def _days_so_far(report: Report) -> bool:
    """Whether some day has not run in full, so that its ± is of less than its plan."""
    return any(abs(d.totals.planned_so_far_s - d.totals.planned_duration_s) >= 1 for d in report.days)


_DAYS_SO_FAR = ("± is ran less planned so far: the sessions ended count with all of their plan, those under way "
                "with the plan their items done or under way used, those not started with none.")


# --------------------------------------------------------------------------- Markdown
#
# Every piece of outside text goes through md_text (which also keeps a table cell's "|" and a line
# break from ending the cell or the line); the report's own words and figures are written as they are.


def _fence(lines: list[str]) -> str:
    """A code fence longer than any run of backticks in the lines, so that none of them closes it."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    return "`" * max(3, longest + 1)


def render_markdown(report: Report) -> str:
    q = md_text
    out: list[str] = [f"# {q(report.title)}", "", _intro(report, q)]
    if report.rehearsal:
        out.append(f"**Rehearsal clock** (time scales: {', '.join(f'×{s:g}' for s in report.time_scales)}): "
                   "the figures are on the event clock, not the wall clock.")
    out += ["", "## Summary", ""]
    out += [f"- {line}" for line in _summary(report)]
    out.append("")
    if len(report.days) > 1:
        so_far = _days_so_far(report)
        out += ["## Days", "", f"| day | sessions | planned |{' planned so far |' if so_far else ''} ran | ± | "
                "extended | turns |", f"| --- | ---: | ---: |{' ---: |' if so_far else ''} ---: | ---: | ---: | ---: |"]
        for d in report.days:
            out.append(f"| {d.day} | {d.totals.sessions} | {dur(d.totals.planned_duration_s)} | "
                       + (f"{dur(d.totals.planned_so_far_s)} | " if so_far else "")
                       + f"{dur(d.totals.actual_duration_s)} | {signed(d.totals.overrun_s)} | "
                       f"{dur(d.totals.extended_s)} | {d.totals.turns} |")
        if so_far:
            out += ["", _DAYS_SO_FAR]
        out.append("")
    for session in report.sessions:
        out += [f"## {q(session.title)} ({q(session.id)})", ""]
        out.append(f"{session.day}{' · ' + q(session.room) if session.room else ''} · planned "
                   f"{hhmm(session.planned_start)}–{hhmm(session.planned_end)}, {_actual_range(session)}"
                   + (" · rehearsal clock" if session.rehearsal else ""))
        out.append("")
        out += _why(session, q)
        heading, lines = _explained(report, session, q)
        if lines:
            out += ["", heading, ""]
            out += [f"- {line}" for line in lines]
        out += ["", "| item | planned | actual | ± | start planned | start actual | notes |",
                "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
        for item in session.items:
            ran = item.actual_start is not None
            out.append(f"| {q(item.title)} | {dur(item.planned_duration_s)} | "
                       f"{dur(item.actual_duration_s) if ran else '—'} | {signed(item.over_under_s) if ran else ''} | "
                       f"{hhmm(item.planned_start)} | {hhmm(item.actual_start)} | {_item_notes(item, item.turns)} |")
        for index in range(len(session.plans_applied)):
            out += ["", _plan_line(session, index, q)]
        chart = timeline_text(session)
        if chart:  # a code block shows its lines as they are: the titles in it need no escaping, only a fence
            fence = _fence(chart)
            out += ["", f"{fence}text", *chart, fence]
        out.append("")
    spoke, waiting = _heard(report)
    if report.people:
        out += ["## Speakers", ""]
        if spoke:
            out += ["| person | turns | speaking | average | longest | over limit | waited | "
                    "hands not given the floor |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
            for p in spoke:
                out.append(f"| {q(p.name)}{' (participant)' if p.participant else ''} | {p.turns} | "
                           f"{dur(p.speaking_s)} | {dur(p.average_s)} | {dur(p.longest_s)} | {p.turns_over_limit} | "
                           f"{dur(p.waited_s)} | {p.hands_never_given_floor} |")
            out.append("")
        if waiting:
            out += [_never_line(waiting, q), ""]
    for key, shares in _shown_shares(report):
        rows, silent = _share_rows(key, shares, q)
        out += [f"### Speaking time by {q(key)}", ""]
        if rows:
            out += [f"| {q(key)} | speaking | share | turns |", "| --- | ---: | ---: | ---: |"]
            out += [f"| {q(s.value)} | {dur(s.speaking_s)} | {s.share_pct:.1f} % | {s.turns} |" for s in rows]
        if silent:
            out += ["", silent]
        out.append("")
    if report.audit:
        out += ["## Audit: undone actions (left out of every figure)", "",
                "| seq | session | action | at | by | undone at | undone by |",
                "| ---: | --- | --- | --- | --- | --- | --- |"]
        out += [f"| {a.seq} | {q(a.session or '')} | {q(a.what)} | {hhmm(a.at)} | {q(a.by)} | "
                f"{hhmm(a.undone_at)} | {q(a.undone_by)} |" for a in report.audit]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


# --------------------------------------------------------------------------- HTML


def _timeline_window(session: SessionReport) -> tuple[float, float, float]:
    """The time window a timeline draws (start, end, in epoch seconds) and the shift that lines a
    rehearsal run, on another day than planned, up at the planned start."""
    shift = (_seconds(session.actual_start) - _seconds(session.planned_start)) if session.actual_start else 0.0
    spans = [(_seconds(i.planned_start), _seconds(i.planned_start) + i.planned_duration_s) for i in session.items]
    spans += [(_seconds(i.actual_start) - shift, _seconds(i.actual_start) - shift + i.actual_duration_s)
              for i in session.items if i.actual_start]
    return min(a for a, _ in spans), max(b for _, b in spans), shift


def timeline_text(session: SessionReport, width: int = 56) -> list[str]:
    """Planned against actual as text bars, for Markdown and the console's report screen."""
    if not session.items:
        return []
    t0, t1, shift = _timeline_window(session)
    per_cell = max(1.0, t1 - t0) / width
    label_w = 26

    def bar(start: float, seconds: float, fill: str) -> str:
        first = round((start - t0) / per_cell)
        cells = max(1, round(seconds / per_cell))
        return (" " * first + fill * cells)[:width].rstrip()

    lines = [f"{'':<{label_w}} planned ░  actual █ (one mark ≈ {dur(per_cell)})"]
    for item in session.items:
        title = one_line(item.title)  # a line break in a title would break the chart's lines
        title = title if len(title) <= label_w - 2 else title[: label_w - 3] + "…"
        lines.append(f"{title:<{label_w}}{bar(_seconds(item.planned_start), item.planned_duration_s, '░')}")
        if item.actual_start:
            actual = bar(_seconds(item.actual_start) - shift, item.actual_duration_s, "█")
            lines.append(f"{'':<{label_w}}{actual} {signed(item.over_under_s)}")
    return lines


def timeline_svg(session: SessionReport, width: int = 760) -> str:
    """Planned against actual, one row per item: planned bar above, actual bar below."""
    if not session.items:
        return ""
    t0, t1, shift = _timeline_window(session)
    label_w, row_h = 220, 26
    span = max(1.0, t1 - t0)
    scale = (width - label_w - 10) / span
    height = row_h * len(session.items) + 30
    label = html.escape(f"Planned against actual timeline for {session.title}")
    # Inline SVG in HTML needs no namespace: the file stays free of any http reference.
    parts = [f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
             f'aria-label="{label}">']
    for index, item in enumerate(session.items):
        y = 10 + index * row_h
        label = html.escape(item.title if len(item.title) <= 32 else item.title[:31] + "…")
        parts.append(f'<text x="0" y="{y + 14}" font-size="11">{label}</text>')
        px = label_w + (_seconds(item.planned_start) - t0) * scale
        parts.append(f'<rect x="{px:.1f}" y="{y}" width="{max(1.0, item.planned_duration_s * scale):.1f}" '
                     f'height="9" fill="#9db4d6"><title>planned {dur(item.planned_duration_s)}</title></rect>')
        if item.actual_start:
            ax = label_w + (_seconds(item.actual_start) - shift - t0) * scale
            colour = "#c0392b" if item.over_under_s > 0 else "#2e8b57"
            parts.append(f'<rect x="{ax:.1f}" y="{y + 11}" width="{max(1.0, item.actual_duration_s * scale):.1f}" '
                         f'height="9" fill="{colour}"><title>actual {dur(item.actual_duration_s)}</title></rect>')
    parts.append(f'<text x="{label_w}" y="{height - 4}" font-size="10">planned (blue) against actual '
                 "(green on time, red over)</text>")
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 60em; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #bbb; padding: 0.2em 0.5em; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.rehearsal { background: #fff3cd; padding: 0.5em; }
@media print { body { margin: 0; max-width: none; } h2 { page-break-before: auto; } svg { max-width: 100%; } }
"""


def render_html(report: Report) -> str:
    esc: Callable[[object], str] = lambda v: html.escape(str(v))  # noqa: E731

    def row(*cells: object, numeric: tuple[int, ...] = ()) -> str:
        return "<tr>" + "".join(f'<td class="n">{esc(c)}</td>' if i in numeric else f"<td>{esc(c)}</td>"
                                for i, c in enumerate(cells)) + "</tr>"

    def head(*names: str) -> str:
        return "<table><tr>" + "".join(f"<th>{esc(n)}</th>" for n in names) + "</tr>"

    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{esc(report.title)}: report</title><style>{_CSS}</style></head><body>",
           f"<h1>{esc(report.title)}</h1>", f"<p>{esc(_intro(report))}</p>"]
    if report.rehearsal:
        out.append('<p class="rehearsal">Rehearsal clock: the figures are on the event clock, not the wall clock.</p>')
    out.append("<h2>Summary</h2><ul>" + "".join(f"<li>{esc(line)}</li>" for line in _summary(report)) + "</ul>")
    if len(report.days) > 1:
        so_far = _days_so_far(report)  # a column of its own only while some day has not fully run
        extra = ["planned so far"] if so_far else []
        out.append("<h2>Days</h2>" + head("day", "sessions", "planned", *extra, "ran", "±", "extended", "turns"))
        for d in report.days:
            t = d.totals
            cells = [d.day, t.sessions, dur(t.planned_duration_s), *([dur(t.planned_so_far_s)] if so_far else []),
                     dur(t.actual_duration_s), signed(t.overrun_s), dur(t.extended_s), t.turns]
            out.append(row(*cells, numeric=tuple(range(1, len(cells)))))
        out.append("</table>" + (f"<p>{esc(_DAYS_SO_FAR)}</p>" if so_far else ""))
    for session in report.sessions:
        out.append(f"<h2>{esc(session.title)} <small>({esc(session.id)}, {esc(session.day)}"
                   f"{', ' + esc(session.room) if session.room else ''})</small></h2>")
        out += [f"<p>{esc(line)}</p>" for line in _why(session)]
        heading, lines = _explained(report, session)
        if lines:
            out.append(f"<p>{esc(heading)}</p><ul>" + "".join(f"<li>{esc(line)}</li>" for line in lines) + "</ul>")
        out.append(timeline_svg(session))
        out.append(head("item", "planned", "actual", "±", "planned start", "actual start", "notes"))
        for item in session.items:
            ran = item.actual_start is not None
            out.append(row(item.title, dur(item.planned_duration_s), dur(item.actual_duration_s) if ran else "—",
                           signed(item.over_under_s) if ran else "", hhmm(item.planned_start),
                           hhmm(item.actual_start), _item_notes(item, item.turns), numeric=(1, 2, 3, 4, 5)))
        out.append("</table>")
        out += [f"<p>{esc(_plan_line(session, index))}</p>" for index in range(len(session.plans_applied))]
    spoke, waiting = _heard(report)
    if report.people:
        out.append("<h2>Speakers</h2>")
        if spoke:
            out.append(head("person", "turns", "speaking", "average", "longest", "over limit", "waited",
                            "hands not given the floor"))
            out += [row(p.name + (" (participant)" if p.participant else ""), p.turns, dur(p.speaking_s),
                        dur(p.average_s), dur(p.longest_s), p.turns_over_limit, dur(p.waited_s),
                        p.hands_never_given_floor, numeric=(1, 2, 3, 4, 5, 6, 7)) for p in spoke]
            out.append("</table>")
        if waiting:
            out.append(f"<p>{esc(_never_line(waiting))}</p>")
    for key, shares in _shown_shares(report):
        rows, silent = _share_rows(key, shares)
        out.append(f"<h3>Speaking time by {esc(key)}</h3>")
        if rows:
            out.append(head(key, "speaking", "share", "turns"))
            out += [row(s.value, dur(s.speaking_s), f"{s.share_pct:.1f} %", s.turns, numeric=(1, 2, 3)) for s in rows]
            out.append("</table>")
        if silent:
            out.append(f"<p>{esc(silent)}</p>")
    if report.audit:
        out.append("<h2>Audit: undone actions (left out of every figure)</h2>"
                   + head("seq", "session", "action", "at", "by", "undone at", "undone by"))
        out += [row(a.seq, a.session or "", a.what, hhmm(a.at), a.by, hhmm(a.undone_at), a.undone_by, numeric=(0,))
                for a in report.audit]
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def render(report: Report, fmt: str, table: str = "sessions") -> str:
    if fmt == "json":
        return render_json(report)
    if fmt == "csv":
        return render_csv(report, table)
    if fmt == "html":
        return render_html(report)
    if fmt == "md":
        return render_markdown(report)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
