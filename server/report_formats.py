"""The report as JSON (the full model), CSV (one tidy table), Markdown (for an email) and
HTML (one self-contained file with an inline SVG timeline, fit to print)."""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Callable
from datetime import datetime

from modconsole.core.durations import format_duration

from .reports import Report, SessionReport

FORMATS = ("md", "csv", "json", "html")
TABLES = ("sessions", "items", "turns", "people")


def dur(seconds: float | None) -> str:
    return "" if seconds is None else format_duration(seconds)


def signed(seconds: float) -> str:
    return format_duration(seconds, signed=True) if abs(seconds) >= 1 else "0:00"


def hhmm(iso: str | None) -> str:
    return iso[11:16] if iso else "—"


def render_json(report: Report) -> str:
    return json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def render_csv(report: Report, table: str = "sessions") -> str:
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; choose one of {', '.join(TABLES)}")
    rows: list[dict[str, object]]
    if table == "sessions":
        rows = [{k: v for k, v in s.model_dump().items()
                 if k not in ("items", "extensions", "plans_applied", "overrun_explained")} for s in report.sessions]
    elif table == "items":
        rows = [{"session": s.id, **i.model_dump()} for s in report.sessions for i in s.items]
    elif table == "turns":
        rows = [t.model_dump() for t in report.turns]
    else:
        rows = []
        tag_keys = sorted({k for p in report.people for k in p.tags})
        for person in report.people:
            row = {k: v for k, v in person.model_dump().items() if k != "tags"}
            row.update({f"tag_{k}": person.tags.get(k, "") for k in tag_keys})
            rows.append(row)
    out = io.StringIO()
    if not rows:
        return ""
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _why(session: SessionReport) -> list[str]:
    lines = []
    if session.actual_start is None:
        return ["Not started."]
    verdict = "over" if session.overrun_s > 0 else "under"
    if session.actual_end is None:
        lines.append(f"Not ended: {session.status.replace('_', ' ')} when the log stops, after "
                     f"{dur(session.actual_duration_s)}; {dur(abs(session.overrun_s))} "
                     f"{'behind' if session.overrun_s > 0 else 'ahead of'} plan so far.")
    else:
        lines.append(f"Planned {dur(session.planned_duration_s)}, ran {dur(session.actual_duration_s)}: "
                     f"{dur(abs(session.overrun_s))} {verdict} plan ({session.overrun_pct:+.1f} %).")
    if session.extended_s:
        who = ", ".join(f"{dur(e.delta_s)} at {hhmm(e.at)} by {e.by}" for e in session.extensions)
        lines.append(f"Extended on purpose by {dur(session.extended_s)} ({who}); "
                     f"unplanned overrun {signed(session.unplanned_overrun_s)}.")
    return lines


def render_markdown(report: Report) -> str:
    out: list[str] = [f"# {report.title}", ""]
    out.append(f"Report of the timing log ({report.scope}), as of {report.as_of}, {report.timezone}; "
               f"{report.log_entries} log entries.")
    if report.rehearsal:
        out.append(f"**Rehearsal clock** (time scales: {', '.join(f'×{s:g}' for s in report.time_scales)}): "
                   "the figures are on the event clock, not the wall clock.")
    t = report.totals
    out += ["", "## Summary", "",
            f"- {t.sessions} session(s): planned {dur(t.planned_duration_s)}, ran {dur(t.actual_duration_s)}, "
            f"overrun {signed(t.overrun_s)} ({t.overrun_pct:+.1f} %)",
            f"- extended on purpose {dur(t.extended_s)}; unplanned overrun {signed(t.unplanned_overrun_s)}",
            f"- {t.turns} turns, {dur(t.speaking_s)} of speaking", ""]
    for session in report.sessions:
        out += [f"## {session.title} ({session.id})", ""]
        out.append(f"{session.day}{' · ' + session.room if session.room else ''} · planned "
                   f"{hhmm(session.planned_start)}–{hhmm(session.planned_end)}, actual "
                   f"{hhmm(session.actual_start)}–{hhmm(session.actual_end)}"
                   + (" · rehearsal clock" if session.rehearsal else ""))
        out.append("")
        out += _why(session)
        if session.overrun_explained:
            out += ["", "Why it ran as it did:", ""]
            out += [f"- {part.what}: {signed(part.seconds)}" for part in session.overrun_explained]
        out += ["", "| item | planned | actual | ± | start planned | start actual | notes |",
                "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
        for item in session.items:
            notes = []
            if item.skipped:
                notes.append("skipped")
            if item.added_s:
                notes.append(f"time added {signed(item.added_s)}")
            if item.pauses:
                notes.append(f"{item.pauses} pause(s)")
            if item.reopened:
                notes.append(f"re-opened {item.reopened}×")
            if item.turns:
                notes.append(f"{item.turns} turn(s)")
            out.append(f"| {item.title} | {dur(item.planned_duration_s)} | "
                       f"{dur(item.actual_duration_s) if item.actual_start else '—'} | "
                       f"{signed(item.over_under_s) if item.actual_start else ''} | {hhmm(item.planned_start)} | "
                       f"{hhmm(item.actual_start)} | {', '.join(notes)} |")
        for plan in session.plans_applied:
            out.append(f"\nRecovery plan applied at {hhmm(plan.at)} by {plan.by} (target {hhmm(plan.target)}): "
                       + ", ".join(f"{k} → {dur(v)}" for k, v in sorted(plan.durations.items())))
        out.append("")
    if report.people:
        out += ["## Speakers", "", "| person | turns | speaking | average | longest | over limit | waited | "
                "hands not given the floor |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for p in report.people:
            out.append(f"| {p.name}{' (participant)' if p.participant else ''} | {p.turns} | {dur(p.speaking_s)} | "
                       f"{dur(p.average_s)} | {dur(p.longest_s)} | {p.turns_over_limit} | {dur(p.waited_s)} | "
                       f"{p.hands_never_given_floor} |")
        out.append("")
    for key, shares in report.shares.items():
        if len(shares) < 2 and key not in ("gender", "country"):
            continue
        out += [f"### Speaking time by {key}", "", "| " + key + " | speaking | share | turns |",
                "| --- | ---: | ---: | ---: |"]
        out += [f"| {s.value} | {dur(s.speaking_s)} | {s.share_pct:.1f} % | {s.turns} |" for s in shares]
        out.append("")
    if report.audit:
        out += ["## Audit: undone actions (left out of every figure)", "",
                "| seq | action | at | by | undone at | undone by |", "| ---: | --- | --- | --- | --- | --- |"]
        out += [f"| {a.seq} | {a.type} | {hhmm(a.at)} | {a.by} | {hhmm(a.undone_at)} | {a.undone_by} |"
                for a in report.audit]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _ms(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def timeline_svg(session: SessionReport, width: int = 760) -> str:
    """Planned against actual, one row per item: planned bar above, actual bar below."""
    if not session.items:
        return ""
    # Rehearsals run on other days than planned: line the actual run up at the planned start.
    shift = (_ms(session.actual_start) - _ms(session.planned_start)) if session.actual_start else 0.0
    spans = [(_ms(i.planned_start), _ms(i.planned_start) + i.planned_duration_s) for i in session.items]
    spans += [(_ms(i.actual_start) - shift, _ms(i.actual_start) - shift + i.actual_duration_s)
              for i in session.items if i.actual_start]
    t0 = min(a for a, _ in spans)
    t1 = max(b for _, b in spans)
    label_w, row_h = 220, 26
    span = max(1.0, t1 - t0)
    scale = (width - label_w - 10) / span
    height = row_h * len(session.items) + 30
    label = html.escape(f"Planned against actual timeline for {session.title}")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="{label}">']
    for index, item in enumerate(session.items):
        y = 10 + index * row_h
        label = html.escape(item.title if len(item.title) <= 32 else item.title[:31] + "…")
        parts.append(f'<text x="0" y="{y + 14}" font-size="11">{label}</text>')
        px = label_w + (_ms(item.planned_start) - t0) * scale
        parts.append(f'<rect x="{px:.1f}" y="{y}" width="{max(1.0, item.planned_duration_s * scale):.1f}" '
                     f'height="9" fill="#9db4d6"><title>planned {dur(item.planned_duration_s)}</title></rect>')
        if item.actual_start:
            ax = label_w + (_ms(item.actual_start) - shift - t0) * scale
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
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{esc(report.title)}: report</title><style>{_CSS}</style></head><body>",
           f"<h1>{esc(report.title)}</h1>",
           f"<p>Report of the timing log ({esc(report.scope)}), as of {esc(report.as_of)}, {esc(report.timezone)}; "
           f"{report.log_entries} log entries.</p>"]
    if report.rehearsal:
        out.append('<p class="rehearsal">Rehearsal clock: the figures are on the event clock.</p>')
    t = report.totals
    out.append(f"<p>Planned {dur(t.planned_duration_s)}, ran {dur(t.actual_duration_s)}, overrun "
               f"{signed(t.overrun_s)} ({t.overrun_pct:+.1f} %); extended on purpose {dur(t.extended_s)}, unplanned "
               f"{signed(t.unplanned_overrun_s)}; {t.turns} turns, {dur(t.speaking_s)} of speaking.</p>")
    for session in report.sessions:
        out.append(f"<h2>{esc(session.title)} <small>({esc(session.id)}, {esc(session.day)})</small></h2>")
        out += [f"<p>{esc(line)}</p>" for line in _why(session)]
        if session.overrun_explained:
            out.append("<ul>" + "".join(f"<li>{esc(p.what)}: {signed(p.seconds)}</li>"
                                        for p in session.overrun_explained) + "</ul>")
        out.append(timeline_svg(session))
        out.append("<table><tr><th>item</th><th>planned</th><th>actual</th><th>±</th><th>planned start</th>"
                   "<th>actual start</th><th>pauses</th><th>added</th></tr>")
        for item in session.items:
            out.append(f"<tr><td>{esc(item.title)}{' (skipped)' if item.skipped else ''}</td>"
                       f'<td class="n">{dur(item.planned_duration_s)}</td>'
                       f'<td class="n">{dur(item.actual_duration_s) if item.actual_start else "—"}</td>'
                       f'<td class="n">{signed(item.over_under_s) if item.actual_start else ""}</td>'
                       f'<td class="n">{hhmm(item.planned_start)}</td><td class="n">{hhmm(item.actual_start)}</td>'
                       f'<td class="n">{item.pauses}</td><td class="n">{signed(item.added_s)}</td></tr>')
        out.append("</table>")
    if report.people:
        out.append("<h2>Speakers</h2><table><tr><th>person</th><th>turns</th><th>speaking</th><th>longest</th>"
                   "<th>over limit</th><th>waited</th><th>hands not given the floor</th></tr>")
        for p in report.people:
            out.append(f"<tr><td>{esc(p.name)}</td><td class='n'>{p.turns}</td><td class='n'>{dur(p.speaking_s)}</td>"
                       f"<td class='n'>{dur(p.longest_s)}</td><td class='n'>{p.turns_over_limit}</td>"
                       f"<td class='n'>{dur(p.waited_s)}</td><td class='n'>{p.hands_never_given_floor}</td></tr>")
        out.append("</table>")
    for key, shares in report.shares.items():
        if len(shares) < 2 and key not in ("gender", "country"):
            continue
        out.append(f"<h3>Speaking time by {esc(key)}</h3><table><tr><th>{esc(key)}</th><th>speaking</th>"
                   "<th>share</th></tr>")
        out += [f"<tr><td>{esc(s.value)}</td><td class='n'>{dur(s.speaking_s)}</td>"
                f"<td class='n'>{s.share_pct:.1f} %</td></tr>" for s in shares]
        out.append("</table>")
    if report.audit:
        out.append("<h2>Audit: undone actions</h2><table><tr><th>seq</th><th>action</th><th>by</th>"
                   "<th>undone by</th></tr>")
        out += [f"<tr><td>{a.seq}</td><td>{esc(a.type)}</td><td>{esc(a.by)}</td><td>{esc(a.undone_by)}</td></tr>"
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
