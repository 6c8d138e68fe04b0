"""Reports of an event whose agenda, people and clients carry syntax of every format a report is in.

Names, titles, rooms, affiliations, tags, ids and client labels hold Markdown links, raw HTML, code
fences, table pipes, line breaks, bare addresses, and the formula starts a spreadsheet runs (``=``,
``+``, ``-``, ``@``, tab, CR). Each format must show them as text and interpret none of them:

- Markdown, rendered by markdown-it with the parser the console's report screen uses ("gfm-like", which
  turns bare addresses into links) and with plain CommonMark: no link, image, raw HTML, emphasis,
  heading, list or table cell comes from outside text, and the literal text is shown;
- HTML, parsed with html.parser: no element or attribute comes from outside text, and the text and the
  timeline's labels read as given;
- CSV, every table: outside text that starts with a formula character is prefixed with ``'``; figures
  (a start 2:00 early is -120.0) stay numbers;
- JSON keeps the text as it is.

The same through ``modconsole-server report`` on a SQLite store. And a property: for any text,
``md_text`` rendered gives back the text (on one line), in a paragraph, a heading, a list item and a
table cell.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from modconsole.agenda_files import load_agenda
from modconsole.core import commands as c
from modconsole.core.agenda import local_to_ms
from modconsole.server.reports import TABLES, Report, build_report, csv_cell, md_text, one_line, render
from modconsole.server.store import Entry
from scenarios.logs import Sim, write_store

ROOT = Path(__file__).resolve().parents[2]

HOSTILE = {
    "link": "[click me](https://evil.example)",
    "img": "<img src=x onerror=alert(1)>",
    "hyperlink": '=HYPERLINK("https://evil.example","Details")',
    "cmd": "+cmd|' /C calc'!A0",
    "sum": "@SUM(1+9)*cmd|' /C calc'!A0",
    "minus": "-2+3",
    "tab": "\t=1+2",
    "cr": "\r=1+2",
    "pipe": "Left | Right",
    "newline": "First line\nSecond line",
    "backticks": "``` `rm -rf` ```",
    "bare": "www.evil.example",
    "emph": "**bold** _em_ ~~gone~~",
    "heading": "# Big",
    "list": "1. listed",
    "entity": "&lt;b&gt; &amp; &copy;",
    "script": "<script>alert(1)</script>",
    "quote": '" onmouseover="alert(1)',
    "autolink": "<https://evil.example>",
    "mail": "mailto:evil@evil.example",
}
FORMULA = ("=", "+", "-", "@", "\t", "\r")
SESSION = "www.evil.example"  # ids allow dots and colons: a bare address, or a scheme
CLIENT = "desk](https://evil.example) <img src=x>"  # a client's label, kept in the log
PARTICIPANT = "[me](https://evil.example)<b>x</b>"  # a participant's self-declared name
ROOM = "@room " + "<script>alert(1)</script>"
START = datetime(2024, 5, 6, 9, 0)


def _toml(value: str) -> str:
    return json.dumps(value)  # a JSON string (ASCII, \n \r \t \uXXXX) is a TOML basic string


def _agenda_file(path: Path) -> Path:
    keys = list(HOSTILE)
    lines = ["[event]", f"title = {_toml(HOSTILE['link'])}", 'timezone = "Europe/Zurich"', ""]
    for n, key in enumerate(keys):
        lines += [
            "[[people]]",
            f'id = "p-{key}"',
            f"name = {_toml(HOSTILE[key])}",
            f"affiliation = {_toml(HOSTILE[keys[(n + 1) % len(keys)]])}",
            f"tags = {{ gender = {_toml(HOSTILE[keys[(n + 2) % len(keys)]])}, "
            f"{_toml(HOSTILE['img'])} = {_toml(HOSTILE[keys[(n + 3) % len(keys)]])} }}",
            "",
        ]
    lines += [
        "[[sessions]]",
        f'id = "{SESSION}"',
        f"title = {_toml(HOSTILE['img'])}",
        f"start = {START.isoformat()}",
        f"room = {_toml(ROOM)}",
        "",
    ]
    items = [(f"i-{key}", HOSTILE[key]) for key in keys] + [("see:__bold__", HOSTILE["emph"])]
    for item_id, title in items:
        lines += [
            "[[sessions.items]]",
            f'id = "{item_id}"',
            f"title = {_toml(title)}",
            'duration = "2m"',
            'turn_limit = "1m"',
            "",
        ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _hostile_log(tmp: Path) -> list[Entry]:
    """The session run through: started 2:00 early; on each item one person speaks (1:30, so over the
    1:00 limit); a "next" given by mistake and undone; time added and the session extended by a client
    with a hostile label; a recovery plan; a participant's hand that never gets the floor."""
    agenda = load_agenda(_agenda_file(tmp / "hostile.toml"))
    start = local_to_ms(START, agenda.zone)
    sim = Sim(agenda, "hostile", start - 600_000)
    desk = c.Actor(role="moderator", client=CLIENT)
    sim.now = start - 120_000
    sim.do(c.Start(), desk)
    keys = list(HOSTILE)
    for n in range(len(agenda.sessions[0].items)):
        person = f"p-{keys[n % len(keys)]}"
        if n == 1:
            sim.do(c.Raise(), c.Actor(role="participant", person="part-1", name=PARTICIPANT))
            sim.do(c.Raise(), c.Actor(role="speaker", person=f"p-{keys[-1]}"))
            # Written questions whose text and asker's name a spreadsheet or a Markdown reader would take
            # for a formula or a link.
            sim.do(c.Ask(text=HOSTILE["sum"]), c.Actor(role="participant", person="part-1", name=PARTICIPANT))
            sim.do(c.Ask(text=HOSTILE["link"]), c.Actor(role="speaker", person=f"p-{keys[-1]}"))
        sim.do(c.Floor(person=person), desk)
        sim.now += 90_000
        sim.do(c.EndTurn(), desk)
        if n == 2:
            sim.do(c.AddTime(delta_s=60), desk)
            sim.do(c.Extend(delta_s=300), desk)
        if n == 3:
            sim.do(c.Next(), desk)
            sim.do(c.Undo(), desk)
        if n == 5:
            sim.now += 900_000
            sim.do(c.ApplyPlan(), desk)
        if n < len(agenda.sessions[0].items) - 1:
            sim.do(c.Next(), desk)
    sim.do(c.End(), desk)
    return sim.entries


@pytest.fixture(scope="module")
def entries(tmp_path_factory: pytest.TempPathFactory) -> list[Entry]:
    return _hostile_log(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def report(entries: list[Entry]) -> Report:
    built = build_report(entries)
    # The report holds what was asked: every outside string is in it, as given.
    session = built.sessions[0]
    assert session.id == SESSION and session.title == HOSTILE["img"] and session.room == ROOM
    assert session.start_delay_s == -120.0 and session.plans_applied and session.extensions and built.audit
    assert {p.name for p in built.people} >= set(HOSTILE.values()) | {PARTICIPANT}
    assert any(p.hands_never_given_floor for p in built.people)
    assert CLIENT in built.audit[0].by
    return built


def _share_rows(report: Report) -> list[int]:
    """The rows of each table of speaking time by a tag (values that had some speaking time)."""
    return [
        len([s for s in shares if s.speaking_s > 0 or s.turns])
        for key, shares in report.shares.items()
        if len(shares) >= 2 or key in ("gender", "country")
    ]


def _outside(report: Report) -> list[str]:
    """Every outside string of the report, as a report line shows it."""
    texts = [report.title, *HOSTILE.values(), PARTICIPANT, SESSION, "see:__bold__", ROOM]
    return [one_line(t) for t in texts]


# --------------------------------------------------------------------------- parsed HTML


class _Page(HTMLParser):
    """Elements, attributes and text of a page, and the text inside each element."""

    VOID = frozenset({"meta", "img", "br", "hr", "input", "link"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.open: list[int] = []  # indices into blocks of the elements open now
        self.blocks: list[tuple[str, str]] = []  # (tag, all the text inside it), in document order

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs
        if tag not in self.VOID:
            self.open.append(len(self.blocks))
            self.blocks.append((tag, ""))

    def handle_endtag(self, tag: str) -> None:
        while self.open:
            if self.blocks[self.open.pop()][0] == tag:
                break

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        for index in self.open:
            tag, text = self.blocks[index]
            self.blocks[index] = (tag, text + data)


def _page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def _block_texts(page: _Page, *tags: str) -> list[str]:
    return [" ".join(text.split()) for tag, text in page.blocks if tag in tags]


# --------------------------------------------------------------------------- Markdown

PARSERS = {
    "gfm-like": lambda: MarkdownIt("gfm-like"),  # what Textual's Markdown widget (the console's `r`) uses
    "commonmark": lambda: MarkdownIt("commonmark"),
}
# The report's own formatting: headings, paragraphs, lists, tables, the timeline's code block, bold.
MD_TAGS = {"h1", "h2", "h3", "p", "ul", "li", "table", "thead", "tbody", "tr", "th", "td", "pre", "code", "strong"}


@pytest.mark.parametrize("parser", list(PARSERS))
def test_markdown_shows_outside_text_and_makes_nothing_of_it(report: Report, parser: str) -> None:
    text = render(report, "md")
    page = _page(PARSERS[parser]().render(text))
    # No element from outside text: no link, image, script, emphasis, strikethrough, quote, ordered list.
    assert set(page.tags) <= MD_TAGS, sorted(set(page.tags) - MD_TAGS)
    assert not page.attrs or {name for name, _ in page.attrs} <= {"style", "class"}, page.attrs
    assert page.tags.count("strong") == 0  # not a rehearsal: the report itself writes no bold here
    shown = " ".join(" ".join(page.text).split())
    for outside in _outside(report):
        assert " ".join(outside.split()) in shown, outside
    # The report's own formatting is intact: its headings, its code block, its paragraphs and tables.
    assert _block_texts(page, "h1") == [" ".join(one_line(report.title).split())]
    h2 = _block_texts(page, "h2")
    assert h2[:2] == ["Summary", f"{one_line(HOSTILE['img'])} ({SESSION})"] and "Speakers" in h2
    assert set(_block_texts(page, "h3")) == {
        f"Speaking time by {k}" for k in ("affiliation", "gender", one_line(HOSTILE["img"]), "participant")
    }
    # The timeline is one code block, whatever backticks the titles hold, and keeps the titles literally.
    [pre] = _block_texts(page, "pre")
    assert "planned ░" in pre and "``` `rm -rf` ```" in pre
    # The participant never given the floor is named in the sentence that says so.
    [never] = [t for t in _block_texts(page, "p") if "never had the floor" in t]
    assert one_line(PARTICIPANT) in never
    if parser == "commonmark":
        return  # no tables in CommonMark: the rest is about them
    # Every table row is there, none split by a line break nor widened by a "|": items, speakers, audit.
    tables = text.count("\n| --- |") + text.count("\n| ---: |")
    assert page.tags.count("table") == tables
    spoke = [p for p in report.people if p.turns]
    assert page.tags.count("tr") == sum(
        1 + n
        for n in (
            len(report.sessions[0].items),
            len(spoke),
            len(report.audit),
            *_share_rows(report),
            len(report.question_counts),
            len(report.questions),
        )
    )
    # Item titles, people's names and the questions are whole cells, as given.
    cells = _block_texts(page, "td")
    asked = [x.text for x in report.questions] + [x.asker for x in report.questions]
    assert len(report.questions) == 2
    for name in [i.title for i in report.sessions[0].items] + [p.name for p in spoke] + asked:
        assert " ".join(one_line(name).split()) in cells, name


def test_markdown_keeps_a_readable_source(report: Report) -> None:
    """Escaping is by backslash, only where Markdown would read syntax: the source stays legible."""
    text = render(report, "md")
    assert "\\[click me\\](https\\://evil\\.example)" in text  # parentheses left: inert after an escaped ]
    assert "\\<img src=x onerror=alert(1)\\>" in text
    assert "## \\<img src=x onerror=alert(1)\\> (www\\.evil\\.example)" in text
    assert "| Left \\| Right |" in text and "| First line Second line |" in text
    assert "| \\-2+3 |" in text and "| 1\\. listed |" in text  # at a line's start: a list


def test_markdown_report_through_the_console_parser_has_no_link_token(report: Report) -> None:
    """The tokens Textual's Markdown widget builds its blocks from: no link_open, image or html_* token,
    so the `r` screen has nothing to open (its links open a browser)."""
    tokens = MarkdownIt("gfm-like").parse(render(report, "md"))
    kinds: set[str] = set()
    for token in tokens:
        kinds.add(token.type)
        kinds.update(child.type for child in token.children or [])
    assert not kinds & {
        "link_open",
        "image",
        "html_inline",
        "html_block",
        "em_open",
        "s_open",
        "blockquote_open",
        "ordered_list_open",
        "hr",
    }, kinds


# --------------------------------------------------------------------------- HTML

HTML_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "h1",
    "h2",
    "h3",
    "p",
    "ul",
    "li",
    "small",
    "table",
    "tr",
    "th",
    "td",
    "svg",
    "text",
    "rect",
}
HTML_ATTRS = {
    "lang",
    "charset",
    "class",
    "viewbox",
    "width",
    "height",
    "role",
    "aria-label",
    "x",
    "y",
    "font-size",
    "fill",
}


def test_html_escapes_every_outside_string(report: Report) -> None:
    text = render(report, "html")
    page = _page(text)
    assert set(page.tags) <= HTML_TAGS, sorted(set(page.tags) - HTML_TAGS)
    assert {name for name, _ in page.attrs} <= HTML_ATTRS, sorted({n for n, _ in page.attrs} - HTML_ATTRS)
    assert page.tags.count("svg") == 1 and page.tags.count("h1") == 1
    shown = " ".join(" ".join(page.text).split())
    for outside in _outside(report):
        assert " ".join(outside.split()) in shown, outside
    # The timeline's label and item labels read as given (the label is an attribute, quoted and escaped).
    labels = [value for name, value in page.attrs if name == "aria-label"]
    assert labels == [f"Planned against actual timeline for {HOSTILE['img']}"]
    svg_labels = _block_texts(page, "text")
    for key in ("link", "img", "quote", "script"):
        assert HOSTILE[key] in svg_labels, key
    assert _block_texts(page, "title")[0] == f"{HOSTILE['link']}: report"


# --------------------------------------------------------------------------- CSV

# Columns whose text comes from the agenda file, the clients or the participants.
OUTSIDE_COLUMNS = {"id", "title", "room", "session", "item", "person", "name", "affiliation", "text", "asker"}


@pytest.mark.parametrize("table", TABLES)
def test_csv_neutralises_formulas_and_keeps_figures(report: Report, table: str) -> None:
    text = render(report, "csv", table)
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert rows
    data = json.loads(render(report, "json"))
    sources = {
        "sessions": data["sessions"],
        "turns": data["turns"],
        "people": data["people"],
        "items": [{"session": s["id"], **i} for s in data["sessions"] for i in s["items"]],
        "questions": data["questions"],
    }[table]
    assert len(rows) == len(sources)
    prefixed = 0
    for row, source in zip(rows, sources, strict=True):
        for column, cell in row.items():
            if column.startswith("tag_"):
                value: object = source["tags"].get(column[4:], "")
            else:
                value = source[column]
            if isinstance(value, str):
                assert column in OUTSIDE_COLUMNS or column.startswith("tag_") or not value.startswith(FORMULA)
                # A formula start gets a quote; a CR is written as LF, so that the cell is quoted, not split.
                lf = value.replace("\r\n", "\n").replace("\r", "\n")
                if value.startswith(FORMULA):
                    assert cell == "'" + lf, (column, cell)
                    prefixed += 1
                else:
                    assert cell == lf, (column, cell)
            elif isinstance(value, list):
                assert cell == " ".join(value), (column, cell)  # ids, which hold no space
            elif isinstance(value, bool):
                assert cell == str(value)
            elif isinstance(value, int | float):
                assert float(cell) == value, (column, cell)  # a figure, negative ones too, stays a number
            else:
                assert value is None and cell == ""
    # Every formula start of the hostile names and titles is met somewhere in every table.
    if table in ("items", "turns", "people"):
        assert prefixed >= 6
    if table == "questions":
        assert [r["text"] for r in rows] == ["'" + HOSTILE["sum"], HOSTILE["link"]]
        assert rows[0]["asker"] == PARTICIPANT and prefixed == 1
    if table == "sessions":
        assert rows[0]["start_delay_s"] == "-120.0"  # started 2:00 early: a negative figure, not text
        assert float(rows[0]["overrun_s"]) == report.sessions[0].overrun_s
        assert rows[0]["room"] == "'" + ROOM and prefixed == 1
    if table == "items":
        assert rows[0]["over_under_s"] == "-30.0"  # ran 1:30 of its 2:00: a negative figure
        by_id = {r["id"]: r for r in rows}
        assert by_id["i-hyperlink"]["title"] == "'" + HOSTILE["hyperlink"]
        assert by_id["i-minus"]["title"] == "'-2+3" and by_id["i-tab"]["title"] == "'\t=1+2"
        assert by_id["i-cr"]["title"] == "'\n=1+2" and by_id["i-pipe"]["title"] == "Left | Right"


def test_csv_cell_rule() -> None:
    for text in ("=1+1", "+1", "-x", "@SUM(A1)", "\t1"):
        assert csv_cell(text) == "'" + text
    assert csv_cell("\r1") == "'\n1" and csv_cell("a\r\nb\rc") == "a\nb\nc"
    for value in (-120, -0.5, 0, 3.5, True, None, "", "plain", "'=1", " =1", "a=b"):
        assert csv_cell(value) == value


def test_the_timeline_fence_outlasts_any_backticks_in_it() -> None:
    from modconsole.server.reports.markdown import _fence

    assert _fence(["planned", "x"]) == "```"
    assert _fence(["```", "a ```` b"]) == "`````"
    chart = ["`" * 7 + " " * 19]  # a title alone on its line, its bar cut off at the chart's edge
    tokens = MarkdownIt("gfm-like").parse("\n".join([_fence(chart) + "text", *chart, _fence(chart), "after"]))
    assert [t.type for t in tokens][:1] == ["fence"] and tokens[0].content == chart[0] + "\n"


def test_json_keeps_the_text_as_given(report: Report) -> None:
    data = json.loads(render(report, "json"))
    assert data["title"] == HOSTILE["link"]
    assert [i["title"] for i in data["sessions"][0]["items"]][: len(HOSTILE)] == list(HOSTILE.values())
    assert {p["name"] for p in data["people"]} >= set(HOSTILE.values())


# --------------------------------------------------------------------------- through the command line


def _server_cli() -> str:
    beside = Path(sys.executable).parent / "modconsole-server"
    return str(beside) if beside.exists() else shutil.which("modconsole-server") or "modconsole-server"


def test_command_line_report_escapes_the_same(entries: list[Entry], tmp_path: Path, report: Report) -> None:
    db = tmp_path / "hostile.db"
    write_store(entries, db)

    def run(*args: str) -> str:
        done = subprocess.run(
            [_server_cli(), "report", "--db", str(db), *args], capture_output=True, text=True, timeout=60, cwd=ROOT
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    md = run("--format", "md")
    assert md == render(report, "md")
    assert not {"a", "img", "script"} & set(_page(MarkdownIt("gfm-like").render(md)).tags)
    people = list(csv.DictReader(io.StringIO(run("--format", "csv", "--table", "people"), newline="")))
    names = {r["person"]: r["name"] for r in people}
    assert names["p-hyperlink"] == "'" + HOSTILE["hyperlink"] and names["p-sum"] == "'" + HOSTILE["sum"]
    assert names["p-cmd"] == "'" + HOSTILE["cmd"] and names["p-link"] == HOSTILE["link"]


# --------------------------------------------------------------------------- md_text, for any text

# Pieces of syntax, so that the generated text meets links, addresses, entities and markers often.
SYNTAX = [
    "[",
    "]",
    "(",
    ")",
    "](",
    "<",
    ">",
    "*",
    "**",
    "_",
    "__",
    "`",
    "```",
    "~",
    "~~",
    "|",
    "#",
    "- ",
    "+ ",
    "1. ",
    "1) ",
    "=",
    "---",
    "&amp;",
    "&#35;",
    "&",
    ";",
    "!",
    "\\",
    ":",
    "/",
    "//",
    "http",
    "https://",
    "www.",
    ".com",
    ".org",
    "evil",
    "@",
    "mailto:",
    "a",
    "1",
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "\r",
    "\x00",
    "\u00a0",
    "\u3000",
    "пример.рф",
    "xn--p1ai.com",
    "<img src=x>",
    "<!-- c -->",
    "<div>",
    "$",
    "^",
]
TEXTS = st.text() | st.lists(st.sampled_from(SYNTAX) | st.text(max_size=3), max_size=12).map("".join)


def _contexts(escaped: str) -> dict[str, tuple[str, str]]:
    """Markdown with the text in a paragraph, a heading, a list item and a table cell, and the tag whose
    text is the text's."""
    return {
        "paragraph": (escaped, "p"),
        "heading": (f"## {escaped}", "h2"),
        "list item": (f"- {escaped}", "li"),
        "table cell": (f"| head | other |\n| --- | --- |\n| {escaped} | x |", "td"),
    }


@settings(max_examples=300, deadline=None)
@given(TEXTS)
@example("[click me](https://evil.example)")
@example("<img src=x onerror=alert(1)>")
@example("www.evil.example")
@example("mailto:a@b")
@example("http://x")
@example("//evil.com")
@example("1) one")
@example("-2+3")
@example("===")
@example("a | b\nc")
@example("\\|")
@example("&copy;")
@example("x:__bold__")
def test_md_text_renders_as_the_text_itself(text: str) -> None:
    expected = one_line(text)
    assert "\n" not in expected and "\r" not in expected
    escaped = md_text(text)
    for name, make in PARSERS.items():
        parser = make()
        for where, (source, tag) in _contexts(escaped).items():
            if where == "table cell" and name == "commonmark":
                continue  # CommonMark has no tables
            page = _page(parser.render(source))
            allowed = (
                {"p"}
                if where == "paragraph"
                else {"h2"}
                if where == "heading"
                else {"ul", "li"}
                if where == "list item"
                else {"table", "thead", "tbody", "tr", "th", "td"}
            )
            if not expected and where in ("paragraph",):
                assert page.tags == [], (name, where, source)
                continue
            assert set(page.tags) <= allowed, (name, where, source, page.tags)
            texts = [t for g, t in page.blocks if g == tag]
            if where == "table cell":
                assert texts == [expected, "x"], (name, source, texts)
            else:
                assert texts == [expected], (name, where, source, texts)
