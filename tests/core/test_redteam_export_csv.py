"""`export --format csv` is meant to be opened in a spreadsheet and read back: a title, a name or an
affiliation a spreadsheet would run as a formula is written behind a single quote, and read back without it."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from modconsole.agenda_files import load_agenda, to_csv

AGENDA = """
[event]
title = "=HYPERLINK(\\"http://evil\\",\\"x\\")"
timezone = "Europe/Paris"

[[sessions]]
id = "s"
title = "=cmd|' /C calc'!A0"
start = 2020-03-27T09:00:00
room = "@SUM(1+1)"

[[sessions.items]]
id = "a"
title = "+1+1"
duration = "3m"
speakers = ["x"]

[[sessions.items]]
id = "b"
title = "'=already quoted"
duration = "3m"

[[people]]
id = "x"
name = "-2+3 Bob"
affiliation = "=1+1"
"""

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def test_no_exported_cell_runs_as_a_formula_and_the_export_reads_back(tmp_path: Path) -> None:
    source = tmp_path / "hostile.toml"
    source.write_text(AGENDA, encoding="utf-8")
    agenda = load_agenda(source)
    written = to_csv(agenda)
    for text in (written.agenda, written.people):
        for row in csv.reader(io.StringIO(text)):
            for cell in row:
                assert not cell.startswith(FORMULA_START), (cell, row)
    (tmp_path / "plan.csv").write_text(written.agenda, encoding="utf-8")
    (tmp_path / "plan.people.csv").write_text(written.people, encoding="utf-8")
    back = load_agenda(tmp_path / "plan.csv", people=tmp_path / "plan.people.csv")
    assert back.model_dump() == agenda.model_dump()
