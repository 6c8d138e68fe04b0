"""The report as CSV: one tidy table of a report (sessions, items, turns or people), plain seconds.

This module owns the tables' columns, which are the model's fields in their order (never renamed or
reordered here: a new field goes last in ``model``), and the quoting of outside text for a spreadsheet
(``csv_cell``): a cell never runs as a formula and never ends a row.
"""

from __future__ import annotations

import csv
import io

from .model import ItemReport, PersonReport, QuestionReport, Report, SessionReport, TurnReport

TABLES = ("sessions", "items", "turns", "people", "questions")


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


_SESSION_LISTS = ("items", "extensions", "plans_applied", "overrun_explained", "live_changes", "attendance")


def render_csv(report: Report, table: str = "sessions") -> str:
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; choose one of {', '.join(TABLES)}")
    rows: list[dict[str, object]]
    if table == "sessions":
        fields = [k for k in SessionReport.model_fields if k not in _SESSION_LISTS]
        rows = [s.model_dump(exclude=set(_SESSION_LISTS)) for s in report.sessions]
    elif table == "items":
        fields = ["session", *ItemReport.model_fields]
        rows = [
            {"session": s.id, **i.model_dump(), "not_heard": " ".join(i.not_heard)}  # ids never hold a space
            for s in report.sessions
            for i in s.items
        ]
    elif table == "questions":
        fields = list(QuestionReport.model_fields)
        rows = [x.model_dump() for x in report.questions]
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
