"""The report in HTML: one self-contained file with an inline SVG timeline, fit to print.

This module owns the HTML page, its style sheet and the SVG timeline. Every piece of text written into
the page, outside or the report's own, goes through ``html.escape``. The page never refers to anything
outside itself (no script, image, link or http address), and the sentences come from ``prose``, so that
it never tells a report otherwise than the Markdown does.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from .model import Report, SessionReport
from .prose import (
    DAYS_SO_FAR,
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


def timeline_svg(session: SessionReport, width: int = 760) -> str:
    """Planned against actual, one row per item: planned bar above, actual bar below."""
    if not session.items:
        return ""
    t0, t1, shift = timeline_window(session)
    label_w, row_h = 220, 26
    span = max(1.0, t1 - t0)
    scale = (width - label_w - 10) / span
    height = row_h * len(session.items) + 30
    label = html.escape(f"Planned against actual timeline for {session.title}")
    # Inline SVG in HTML needs no namespace: the file stays free of any http reference.
    parts = [f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{label}">']
    for index, item in enumerate(session.items):
        y = 10 + index * row_h
        label = html.escape(item.title if len(item.title) <= 32 else item.title[:31] + "…")
        parts.append(f'<text x="0" y="{y + 14}" font-size="11">{label}</text>')
        px = label_w + (epoch_s(item.planned_start) - t0) * scale
        parts.append(
            f'<rect x="{px:.1f}" y="{y}" width="{max(1.0, item.planned_duration_s * scale):.1f}" '
            f'height="9" fill="#9db4d6"><title>planned {dur(item.planned_duration_s)}</title></rect>'
        )
        if item.actual_start:
            ax = label_w + (epoch_s(item.actual_start) - shift - t0) * scale
            colour = "#c0392b" if item.over_under_s > 0 else "#2e8b57"
            parts.append(
                f'<rect x="{ax:.1f}" y="{y + 11}" width="{max(1.0, item.actual_duration_s * scale):.1f}" '
                f'height="9" fill="{colour}"><title>actual {dur(item.actual_duration_s)}</title></rect>'
            )
    parts.append(
        f'<text x="{label_w}" y="{height - 4}" font-size="10">planned (blue) against actual '
        "(green on time, red over)</text>"
    )
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
        return (
            "<tr>"
            + "".join(
                f'<td class="n">{esc(c)}</td>' if i in numeric else f"<td>{esc(c)}</td>" for i, c in enumerate(cells)
            )
            + "</tr>"
        )

    def head(*names: str) -> str:
        return "<table><tr>" + "".join(f"<th>{esc(n)}</th>" for n in names) + "</tr>"

    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(report.title)}: report</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(report.title)}</h1>",
        f"<p>{esc(intro(report))}</p>",
    ]
    if report.rehearsal:
        out.append('<p class="rehearsal">Rehearsal clock: the figures are on the event clock, not the wall clock.</p>')
    out.append("<h2>Summary</h2><ul>" + "".join(f"<li>{esc(line)}</li>" for line in summary(report)) + "</ul>")
    if len(report.days) > 1:
        so_far = days_so_far(report)  # a column of its own only while some day has not fully run
        extra = ["planned so far"] if so_far else []
        out.append("<h2>Days</h2>" + head("day", "sessions", "planned", *extra, "ran", "±", "extended", "turns"))
        for d in report.days:
            t = d.totals
            cells = [
                d.day,
                t.sessions,
                dur(t.planned_duration_s),
                *([dur(t.planned_so_far_s)] if so_far else []),
                dur(t.actual_duration_s),
                signed(t.overrun_s),
                dur(t.extended_s),
                t.turns,
            ]
            out.append(row(*cells, numeric=tuple(range(1, len(cells)))))
        out.append("</table>" + (f"<p>{esc(DAYS_SO_FAR)}</p>" if so_far else ""))
    for session in report.sessions:
        out.append(
            f"<h2>{esc(session.title)} <small>({esc(session.id)}, {esc(session.day)}"
            f"{', ' + esc(session.room) if session.room else ''})</small></h2>"
        )
        out += [f"<p>{esc(line)}</p>" for line in why(session)]
        heading, lines = explained(report, session)
        if lines:
            out.append(f"<p>{esc(heading)}</p><ul>" + "".join(f"<li>{esc(line)}</li>" for line in lines) + "</ul>")
        out.append(timeline_svg(session))
        out.append(head("item", "planned", "in force", "actual", "±", "planned start", "actual start", "notes"))
        for item in session.items:
            ran = item.actual_start is not None
            out.append(
                row(
                    item.title,
                    "—" if item.added_live else dur(item.planned_duration_s),
                    dur(item.final_planned_s),
                    dur(item.actual_duration_s) if ran else "—",
                    signed(item.over_under_s) if ran else "",
                    hhmm(item.planned_start),
                    hhmm(item.actual_start),
                    item_notes(item, item.turns),
                    numeric=(1, 2, 3, 4, 5, 6),
                )
            )
        out.append("</table>")
        out += [f"<p>{esc(plan_line(session, index))}</p>" for index in range(len(session.plans_applied))]
        unheard = not_heard_line(report, session)
        if unheard:
            out.append(f"<p>{esc(unheard)}</p>")
    spoke, waiting = heard(report)
    if report.people:
        out.append("<h2>Speakers</h2>")
        if spoke:
            out.append(
                head(
                    "person",
                    "turns",
                    "speaking",
                    "average",
                    "longest",
                    "over limit",
                    "waited",
                    "hands not given the floor",
                )
            )
            out += [
                row(
                    p.name + (" (participant)" if p.participant else ""),
                    p.turns,
                    dur(p.speaking_s),
                    dur(p.average_s),
                    dur(p.longest_s),
                    p.turns_over_limit,
                    dur(p.waited_s),
                    p.hands_never_given_floor,
                    numeric=(1, 2, 3, 4, 5, 6, 7),
                )
                for p in spoke
            ]
            out.append("</table>")
        if waiting:
            out.append(f"<p>{esc(never_line(waiting))}</p>")
    for key, shares in shown_shares(report):
        rows, silent = share_rows(key, shares)
        out.append(f"<h3>Speaking time by {esc(key)}</h3>")
        if rows:
            out.append(head(key, "speaking", "share", "turns"))
            out += [row(s.value, dur(s.speaking_s), f"{s.share_pct:.1f} %", s.turns, numeric=(1, 2, 3)) for s in rows]
            out.append("</table>")
        if silent:
            out.append(f"<p>{esc(silent)}</p>")
    if report.questions:
        out.append(
            "<h2>Questions</h2>" + head("session", "asked", "answered", "dismissed", "merged", "still open", "votes")
        )
        out += [
            row(n.session, n.asked, n.answered, n.dismissed, n.merged, n.open, n.votes, numeric=(1, 2, 3, 4, 5, 6))
            for n in report.question_counts
        ]
        out.append("</table>")
        out.append(head("id", "asked", "by", "votes", "state", "live", "answered", "moderated by", "question"))
        out += [
            row(x.id, hhmm(x.asked_at), x.asker, x.votes, x.state, hhmm(x.live_at), hhmm(x.answered_at),
                x.moderated_by, x.text, numeric=(3,))
            for x in report.questions
        ]  # fmt: skip
        out.append("</table>")
    if report.audit:
        out.append(
            "<h2>Audit: undone actions (left out of every figure)</h2>"
            + head("seq", "session", "action", "at", "by", "undone at", "undone by")
        )
        out += [
            row(a.seq, a.session or "", a.what, hhmm(a.at), a.by, hhmm(a.undone_at), a.undone_by, numeric=(0,))
            for a in report.audit
        ]
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
