"""Agenda files read into :class:`modconsole.core.agenda.Agenda`, and plans written back out.

Formats, by extension or named with ``fmt``: ``.toml`` (modconsole's own), ``.csv`` (a spreadsheet, with
an optional people file), ``.json`` (a frab / c3voc schedule as pretalx exports it), ``.xml`` (frab and
pentabarf ``schedule.xml``) and ``.ics`` (iCalendar). Every problem in a file becomes part of one
:class:`AgendaError` naming the file, the place in it and the field, so the organiser can fix the file
before the meeting starts. Nothing partial is returned.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from modconsole.core.agenda import Agenda

from ._base import MAX_FILE_BYTES, MAX_PROBLEMS, TOO_BIG, AgendaError, Problem, latin, readable_id
from .csv_agenda import CSV_COLUMNS, OPTIONAL_COLUMNS, parse_csv_agenda
from .export import EXPORT_FORMATS, CsvExport, ExportFormat, to_csv, to_ics, to_toml
from .frab import parse_schedule_json, parse_schedule_xml
from .ical import parse_ics
from .schedule import GAPS, Gaps
from .toml_agenda import parse_toml_agenda

Format = Literal["toml", "csv", "json", "xml", "ics"]
FORMATS: tuple[Format, ...] = ("toml", "csv", "json", "xml", "ics")
_SUFFIX: dict[str, Format] = {".toml": "toml", ".csv": "csv", ".tsv": "csv", ".json": "json", ".xml": "xml"}
_SUFFIX[".ics"] = _SUFFIX[".ical"] = "ics"


def read_text(path: str | Path) -> str:
    """A file's text, read no further than the size limit, as UTF-8 (a byte-order mark is fine)."""
    name = str(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)  # never read more than the limit, however big the file
    except OSError as exc:
        raise AgendaError(name, "file", None, f"cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise AgendaError(name, "file", None, TOO_BIG)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise AgendaError(name, f"line {line}", None, "not UTF-8 text (save the file as UTF-8)") from None


def load_agenda(
    path: str | Path,
    *,
    fmt: Format | None = None,
    title: str | None = None,
    timezone: str | None = None,
    people: str | Path | None = None,
    gaps: Gaps = "fixed",
) -> Agenda:
    """Read an agenda file. ``title`` and ``timezone`` override what the file says (CSV, schedules, calendars);
    ``people`` is a people CSV for a CSV agenda; ``gaps`` says whether a gap in a schedule is a fixed start or
    a break item."""
    name = str(path)
    suffix = Path(path).suffix.casefold()
    kind = fmt or _SUFFIX.get(suffix)
    if kind is None:
        listing = ", ".join(sorted(_SUFFIX))
        raise AgendaError(name, "file", None, f"unsupported file type {suffix or '(none)'!r}; use {listing}")
    if people is not None and kind != "csv":
        raise AgendaError(name, "file", None, "a people file goes with a CSV agenda only")
    text = read_text(path)
    if kind == "toml":
        if title is not None or timezone is not None:
            raise AgendaError(name, "file", None, "a TOML agenda gives its title and timezone in [event]")
        return parse_toml_agenda(text, name)
    if kind == "csv":
        people_text = read_text(people) if people is not None else None
        return parse_csv_agenda(
            text,
            name,
            title=title,
            timezone=timezone,
            people=people_text,
            people_path=str(people),
        )
    parse = {"json": parse_schedule_json, "xml": parse_schedule_xml, "ics": parse_ics}[kind]
    return parse(text, name, gaps=gaps, title=title, timezone=timezone)


__all__ = [
    "CSV_COLUMNS",
    "EXPORT_FORMATS",
    "FORMATS",
    "GAPS",
    "MAX_FILE_BYTES",
    "MAX_PROBLEMS",
    "OPTIONAL_COLUMNS",
    "AgendaError",
    "CsvExport",
    "ExportFormat",
    "Format",
    "Gaps",
    "Problem",
    "latin",
    "load_agenda",
    "parse_csv_agenda",
    "parse_ics",
    "parse_schedule_json",
    "parse_schedule_xml",
    "parse_toml_agenda",
    "read_text",
    "readable_id",
    "to_csv",
    "to_ics",
    "to_toml",
]
