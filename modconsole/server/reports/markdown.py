"""The report in Markdown, for an email or the console's report screen.

This module owns the Markdown layout and the quoting of outside text for Markdown (``md_text``, and
``one_line`` for what a line may show of a name or a title). Every piece of outside text goes through
md_text (which also keeps a table cell's "|" and a line break from ending the cell or the line); the
report's own words and figures are written as they are. The sentences come from ``prose``; this module
never words a finding of its own that the HTML report would then lack.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from .model import Report, SessionReport
from .prose import (
    DAYS_SO_FAR,
    actual_range,
    days_so_far,
    dur,
    epoch_s,
    explained,
    heard,
    hhmm,
    intro,
    item_notes,
    never_line,
    not_heard_line,
    plan_line,
    share_rows,
    shown_shares,
    signed,
    summary,
    timeline_window,
    why,
)


def one_line(text: object) -> str:
    """The text on one line: line breaks and other control characters (a tab excepted) as spaces,
    no whitespace at either end. What a report line shows of a name or a title."""
    chars = [
        " " if (unicodedata.category(ch) == "Cc" and ch != "\t") or ch in "\u2028\u2029" else ch for ch in str(text)
    ]
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


def _fence(lines: list[str]) -> str:
    """A code fence longer than any run of backticks in the lines, so that none of them closes it."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    return "`" * max(3, longest + 1)


def render_markdown(report: Report) -> str:
    q = md_text
    out: list[str] = [f"# {q(report.title)}", "", intro(report, q)]
    if report.rehearsal:
        out.append(
            f"**Rehearsal clock** (time scales: {', '.join(f'×{s:g}' for s in report.time_scales)}): "
            "the figures are on the event clock, not the wall clock."
        )
    out += ["", "## Summary", ""]
    out += [f"- {line}" for line in summary(report)]
    out.append("")
    if len(report.days) > 1:
        so_far = days_so_far(report)
        out += [
            "## Days",
            "",
            f"| day | sessions | planned |{' planned so far |' if so_far else ''} ran | ± | extended | turns |",
            f"| --- | ---: | ---: |{' ---: |' if so_far else ''} ---: | ---: | ---: | ---: |",
        ]
        for d in report.days:
            out.append(
                f"| {d.day} | {d.totals.sessions} | {dur(d.totals.planned_duration_s)} | "
                + (f"{dur(d.totals.planned_so_far_s)} | " if so_far else "")
                + f"{dur(d.totals.actual_duration_s)} | {signed(d.totals.overrun_s)} | "
                f"{dur(d.totals.extended_s)} | {d.totals.turns} |"
            )
        if so_far:
            out += ["", DAYS_SO_FAR]
        out.append("")
    for session in report.sessions:
        out += [f"## {q(session.title)} ({q(session.id)})", ""]
        out.append(
            f"{session.day}{' · ' + q(session.room) if session.room else ''} · planned "
            f"{hhmm(session.planned_start)}–{hhmm(session.planned_end)}, {actual_range(session)}"
            + (" · rehearsal clock" if session.rehearsal else "")
        )
        out.append("")
        out += why(session, q)
        heading, lines = explained(report, session, q)
        if lines:
            out += ["", heading, ""]
            out += [f"- {line}" for line in lines]
        out += [
            "",
            "| item | planned | in force | actual | ± | start planned | start actual | notes |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for item in session.items:
            ran = item.actual_start is not None
            out.append(
                f"| {q(item.title)} | {'—' if item.added_live else dur(item.planned_duration_s)} | "
                f"{dur(item.final_planned_s)} | {dur(item.actual_duration_s) if ran else '—'} | "
                f"{signed(item.over_under_s) if ran else ''} | "
                f"{hhmm(item.planned_start)} | {hhmm(item.actual_start)} | {item_notes(item, item.turns)} |"
            )
        for index in range(len(session.plans_applied)):
            out += ["", plan_line(session, index, q)]
        unheard = not_heard_line(report, session, q)
        if unheard:
            out += ["", unheard]
        chart = timeline_text(session)
        if chart:  # a code block shows its lines as they are: the titles in it need no escaping, only a fence
            fence = _fence(chart)
            out += ["", f"{fence}text", *chart, fence]
        out.append("")
    spoke, waiting = heard(report)
    if report.people:
        out += ["## Speakers", ""]
        if spoke:
            out += [
                "| person | turns | speaking | average | longest | over limit | waited | hands not given the floor |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            ]
            for p in spoke:
                out.append(
                    f"| {q(p.name)}{' (participant)' if p.participant else ''} | {p.turns} | "
                    f"{dur(p.speaking_s)} | {dur(p.average_s)} | {dur(p.longest_s)} | {p.turns_over_limit} | "
                    f"{dur(p.waited_s)} | {p.hands_never_given_floor} |"
                )
            out.append("")
        if waiting:
            out += [never_line(waiting, q), ""]
    for key, shares in shown_shares(report):
        rows, silent = share_rows(key, shares, q)
        out += [f"### Speaking time by {q(key)}", ""]
        if rows:
            out += [f"| {q(key)} | speaking | share | turns |", "| --- | ---: | ---: | ---: |"]
            out += [f"| {q(s.value)} | {dur(s.speaking_s)} | {s.share_pct:.1f} % | {s.turns} |" for s in rows]
        if silent:
            out += ["", silent]
        out.append("")
    out += _attendance_lines(report, q)
    if report.questions:
        out += ["## Questions", "", "| session | asked | answered | dismissed | merged | still open | votes |"]
        out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        out += [
            f"| {q(n.session)} | {n.asked} | {n.answered} | {n.dismissed} | {n.merged} | {n.open} | {n.votes} |"
            for n in report.question_counts
        ]
        out += ["", "| id | asked | by | votes | state | live | answered | moderated by | question |"]
        out.append("| --- | ---: | --- | ---: | --- | ---: | ---: | --- | --- |")
        out += [
            f"| {x.id} | {hhmm(x.asked_at)} | {q(x.asker)} | {x.votes} | {x.state} | {hhmm(x.live_at)} | "
            f"{hhmm(x.answered_at)} | {q(x.moderated_by)} | {q(x.text)} |"
            for x in report.questions
        ]
        out.append("")
    if report.audit:
        out += [
            "## Audit: undone actions (left out of every figure)",
            "",
            "| seq | session | action | at | by | undone at | undone by |",
            "| ---: | --- | --- | --- | --- | --- | --- |",
        ]
        out += [
            f"| {a.seq} | {q(a.session or '')} | {q(a.what)} | {hhmm(a.at)} | {q(a.by)} | "
            f"{hhmm(a.undone_at)} | {q(a.undone_by)} |"
            for a in report.audit
        ]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _attendance_lines(report: Report, q: Callable[[object], str]) -> list[str]:
    """Who was present live, per session and for the programme; each group's share of the speaking time
    beside its share of the attendance. Nothing when nobody's presence was logged."""
    overall = report.attendance
    if overall is None or overall.attended == 0:
        return []
    out = [
        "## Attendance",
        "",
        "| | registered | attended live | peak | peak at | median present | countries |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    rows = [(s.title, s.attendance) for s in report.sessions if s.attendance is not None]
    for title, figures in [*rows, ("Programme (unique people)", overall)]:
        assert figures is not None
        out.append(
            f"| {q(title)} | {figures.registered:,} | {figures.attended:,} | {figures.peak:,} | "
            f"{q(figures.peak_at or '')} | {dur(figures.median_present_s)} | {figures.countries} |"
        )
    out.append("")
    for key, breakdown in overall.by_tag.items():
        if key == "country" or not breakdown.values:
            continue
        out += [
            f"### Attendance and speaking time by {q(key)}",
            "",
            f"| {q(key)} | attended | share | speaking | share of speaking |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        out += [
            f"| {q(v.value)} | {v.attended:,} | {v.attended_pct:.1f} % | {dur(v.speaking_s)} | {v.speaking_pct:.1f} % |"
            for v in breakdown.values
        ]
        out += ["", f"Not given (or preferred not to say): {breakdown.not_given:,} attendees, counted apart.", ""]
    return out


def timeline_text(session: SessionReport, width: int = 56) -> list[str]:
    """Planned against actual as text bars, for Markdown and the console's report screen."""
    if not session.items:
        return []
    t0, t1, shift = timeline_window(session)
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
        lines.append(f"{title:<{label_w}}{bar(epoch_s(item.planned_start), item.planned_duration_s, '░')}")
        if item.actual_start:
            actual = bar(epoch_s(item.actual_start) - shift, item.actual_duration_s, "█")
            lines.append(f"{'':<{label_w}}{actual} {signed(item.over_under_s)}")
    return lines
