"""Post-event reports of a timing log: built once, rendered as Markdown, HTML, CSV or JSON.

The package's parts, each in its module:

- ``model``: the report's data (pydantic models), which is also the JSON's schema and the CSV's columns;
- ``build``: the one fold over the log that makes a report (``build_report``), and all of its figures;
- ``prose``: what the Markdown and the HTML report say alike, in the same words;
- ``markdown``, ``html``, ``csv_format``, ``json_format``: one format each, and how it quotes outside text.

The same log gives the same report, byte for byte, in every format: nothing here reads the clock, and
nothing here writes to the log. Callers import from this package, not from its modules.
"""

from __future__ import annotations

from .build import build_report
from .csv_format import TABLES, csv_cell, render_csv
from .html import render_html
from .json_format import render_json
from .markdown import md_text, one_line, render_markdown
from .model import Report, SessionReport

FORMATS = ("md", "csv", "json", "html")


def render(report: Report, fmt: str, table: str = "sessions") -> str:
    """The report in a format of ``FORMATS``; for CSV, the one table of ``TABLES`` asked for."""
    if fmt == "json":
        return render_json(report)
    if fmt == "csv":
        return render_csv(report, table)
    if fmt == "html":
        return render_html(report)
    if fmt == "md":
        return render_markdown(report)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


__all__ = ["FORMATS", "TABLES", "Report", "SessionReport", "build_report", "csv_cell", "md_text", "one_line", "render"]
