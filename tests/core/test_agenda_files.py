from __future__ import annotations

import json
import re
from datetime import date, time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modconsole.agenda_files import (
    MAX_FILE_BYTES,
    AgendaError,
    load_agenda,
    parse_csv_agenda,
    parse_toml_agenda,
)
from modconsole.core.agenda import Agenda

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

MINIMAL = """\
[event]
title = "Test event"
timezone = "UTC"

[[people]]
id = "ann"
name = "Ann"

[[sessions]]
id = "main"
title = "Main"
start = 2024-01-01T09:00:00

[[sessions.items]]
id = "a"
title = "First"
duration = "5m"
speakers = ["ann"]
"""

EXTRA_ITEM = """
[[sessions.items]]
id = "b"
title = "Second"
duration = "5m"
"""

CSV_HEADER = "session,date,start,duration,title,kind,speakers,turn_limit\n"


def all_items(agenda: Agenda):
    return [item for session in agenda.sessions for item in session.items]


# ---------------------------------------------------------------- the examples


@pytest.mark.parametrize(
    "path",
    [
        p
        for p in sorted(EXAMPLES.iterdir())
        if p.suffix in (".toml", ".csv", ".json", ".ics", ".xml") and not p.name.endswith(".people.csv")
    ],
    ids=str,
)
def test_every_example_loads(path: Path) -> None:
    agenda = load_agenda(path)
    assert agenda.sessions and all(session.items for session in agenda.sessions)


def test_examples_are_all_there() -> None:
    names = {path.name for path in EXAMPLES.iterdir()}
    assert {
        "mayors-call.toml",
        "mayors-call.csv",
        "geti-session4.toml",
        "geti-programme.toml",
        "who-city-diplomacy.toml",
    } <= names


def test_mayors_call() -> None:
    agenda = load_agenda(EXAMPLES / "mayors-call.toml")
    assert len(agenda.people) == 45
    assert sum(item.duration_s for item in all_items(agenda)) == 2700
    assert agenda.timezone == "Asia/Seoul"
    assert agenda.person("garcetti").tags["role"] == "chair"
    assert agenda.sessions[0].items[0].speakers == ("garcetti",)
    assert agenda.sessions[0].items[1].speakers == ("park-won-soon",)
    # Gender is tagged only for the mayors the reports name.
    assert all("gender" not in p.tags for p in agenda.people if p.name.startswith("Mayor of "))


def test_mayors_call_csv_matches_the_toml() -> None:
    from_csv = load_agenda(EXAMPLES / "mayors-call.csv")
    from_toml = load_agenda(EXAMPLES / "mayors-call.toml")
    assert from_csv.title == "mayors-call"
    assert [i.duration_s for i in all_items(from_csv)] == [i.duration_s for i in all_items(from_toml)]
    assert from_csv.sessions[0].start == from_toml.sessions[0].start
    share = from_csv.sessions[0].items[2]
    names = [from_csv.person(pid).name for pid in share.speakers]
    assert names[0] == "Giuseppe Sala" and names[-1] == "Claudia López"
    assert share.speakers[-1] == "claudia-lopez"  # accents dropped from generated ids
    assert all(item.fixed_start is None for item in all_items(from_csv))  # its start times just agree


def test_who_city_diplomacy() -> None:
    agenda = load_agenda(EXAMPLES / "who-city-diplomacy.toml")
    assert len({session.start.date() for session in agenda.sessions}) == 3
    assert any(item.fixed_start == time(14, 0) for item in all_items(agenda))
    assert any(re.search("[\u0400-\u04ff]", person.name) for person in agenda.people)
    assert any(re.fullmatch("[ -~]+", person.name) for person in agenda.people)
    assert any(item.kind == "break" for item in all_items(agenda))
    assert agenda.sessions[0].id.startswith("day1-")
    day_two = [s for s in agenda.sessions if s.start.date() == date(2018, 11, 21)]
    assert len({(s.start, s.room) for s in day_two}) == len(day_two) == 4  # side by side, in two halls


def test_geti_programme_and_session_four() -> None:
    programme = load_agenda(EXAMPLES / "geti-programme.toml")
    assert len(programme.sessions) == 4
    assert [s.start.date().day for s in programme.sessions] == [8, 15, 22, 29]
    session4 = load_agenda(EXAMPLES / "geti-session4.toml").sessions[0]
    assert [i.kind for i in session4.items].count("talk") == 6
    assert {i.turn_limit_s for i in session4.items if i.kind == "qa"} == {60}
    assert all(i.warning_s == 60 and i.danger_s == 20 for i in session4.items)  # [event] defaults


# ---------------------------------------------------------------- TOML details


@pytest.mark.parametrize(("written", "seconds"), [('"90s"', 90), ('"5m"', 300), ('"1h30m"', 5400), ("5", 300)])
def test_durations(written: str, seconds: int) -> None:
    agenda = parse_toml_agenda(MINIMAL.replace('duration = "5m"', f"duration = {written}"), "t.toml")
    assert agenda.sessions[0].items[0].duration_s == seconds


def test_generated_ids_are_unique() -> None:
    items = "".join(
        f'\n[[sessions.items]]\n{line}title = "{title}"\nduration = "1m"\n'
        for line, title in [("", "Talk"), ("", "Talk"), ('id = "talk"\n', "Written id"), ("", "Talk")]
    )
    text = MINIMAL[: MINIMAL.index("[[sessions.items]]")] + items
    ids = [item.id for item in parse_toml_agenda(text, "t.toml").sessions[0].items]
    assert ids == ["talk-2", "talk-3", "talk", "talk-4"]  # written ids are claimed before any are made
    assert len(set(ids)) == len(ids)


def test_optional_item_fields() -> None:
    text = MINIMAL + (
        '\n[[sessions.items]]\ntitle = "Q&A"\nkind = "qa"\nduration = "20m"\nturn_limit = "1m"\n'
        'warning = "1m"\ndanger = "15s"\nfixed_start = 13:30:00\n'
    )
    text = text.replace("\n[[people]]", 'danger = "10s"\n\n[[people]]', 1)  # an [event] default
    first, qa = parse_toml_agenda(text, "t.toml").sessions[0].items
    assert qa.id == "q-a" and qa.kind == "qa" and qa.fixed_start == time(13, 30)
    assert (qa.turn_limit_s, qa.warning_s, qa.danger_s) == (60, 60, 15)
    assert (first.turn_limit_s, first.warning_s, first.danger_s) == (None, 120, 10)


@pytest.mark.parametrize("start", ['"2024-01-01T09:00:00"', '"2024-01-01 09:00"'])
def test_start_as_string(start: str) -> None:
    agenda = parse_toml_agenda(MINIMAL.replace("start = 2024-01-01T09:00:00", f"start = {start}"), "t.toml")
    assert agenda.sessions[0].start.hour == 9


# ---------------------------------------------------------------- CSV details


def test_csv_fixed_start_from_a_later_start() -> None:
    text = CSV_HEADER + (
        "Morning,2024-05-02,09:00,30m,Welcome,opening,Ann Lee; Bo Chen,\n"
        "Morning,,,1h,Panel,panel,Bo Chen;Ann Lee;Ann Lee,3m\n"
        "Morning,,11:00,15m,After the break,,Chen Bo,\n"
        "Afternoon,2024-05-02,14:00,5m,Welcome,,Ann Lee,\n"
    )
    agenda = parse_csv_agenda(text, "programme.csv", title="Day", timezone="Europe/Paris")
    assert (agenda.title, agenda.timezone) == ("Day", "Europe/Paris")
    morning, afternoon = agenda.sessions
    assert (morning.id, afternoon.id) == ("morning", "afternoon")
    assert [i.speakers for i in morning.items] == [
        ("ann-lee", "bo-chen"),
        ("bo-chen", "ann-lee"),
        ("chen-bo",),
    ]
    assert [i.fixed_start for i in morning.items] == [None, None, time(11, 0)]
    assert morning.items[1].turn_limit_s == 180 and morning.items[2].kind == "other"
    assert afternoon.items[0].speakers == ("ann-lee",)
    assert [p.name for p in agenda.people] == ["Ann Lee", "Bo Chen", "Chen Bo"]


def test_csv_start_before_the_running_time_is_an_error() -> None:
    text = CSV_HEADER + "S,2024-05-02,09:00,1h,A,,,\nS,,09:30,5m,B,,,\n"
    with pytest.raises(AgendaError, match=r"x\.csv: row 3 \(start\)"):
        parse_csv_agenda(text, "x.csv")


# ---------------------------------------------------------------- broken inputs

BROKEN_TOML = {
    "syntax": (MINIMAL.replace('title = "Test event"', 'title = "Test event'), "line 2"),
    "bad duration": (MINIMAL.replace('"5m"', '"abc"'), "sessions[0].items[0] (duration): not a duration"),
    "unknown kind": (MINIMAL.replace('duration = "5m"', 'duration = "5m"\nkind = "keynote"'), "(kind)"),
    "unknown speaker": (MINIMAL.replace('["ann"]', '["ann", "bob"]'), "sessions[0].items[0] (speakers)"),
    "duplicate item": (MINIMAL + EXTRA_ITEM.replace('"b"', '"a"'), "sessions[0].items[1] (id): duplicate"),
    "duplicate person": (MINIMAL + '[[people]]\nid = "ann"\nname = "Ann B"\n', "people[1] (id): duplicate"),
    "duplicate session": (
        MINIMAL + MINIMAL[MINIMAL.index("[[sessions]]") :],
        "sessions[1] (id): duplicate session id 'main'",
    ),
    "typo": (MINIMAL.replace("duration =", "durration ="), "(durration): unknown key 'durration'"),
    "typo in event": (MINIMAL.replace("timezone =", "time_zone ="), "event (time_zone)"),
    "bad zone": (MINIMAL.replace('"UTC"', '"Mars/Olympus"'), "event (timezone): unknown time zone"),
    "zone that is a directory": (MINIMAL.replace('"UTC"', '"America"'), "event (timezone)"),
    "missing title": (MINIMAL.replace('title = "Test event"\n', ""), "event (title): missing"),
    "missing item title": (MINIMAL.replace('title = "First"\n', ""), "sessions[0].items[0] (title)"),
    "empty title": (MINIMAL.replace('"Test event"', '""'), "event (title)"),
    "bad person id": (MINIMAL.replace('id = "ann"', 'id = "ann lee"'), "people[0] (id)"),
    "tag not a string": (MINIMAL.replace('name = "Ann"', 'name = "Ann"\ntags = { age = 3 }'), "(tags.age)"),
    "offset start": (MINIMAL.replace("09:00:00", "09:00:00+02:00"), "sessions[0] (start)"),
    "no sessions": (MINIMAL[: MINIMAL.index("[[sessions]]")], "sessions"),
    "no items": (MINIMAL[: MINIMAL.index("[[sessions.items]]")], "sessions[0] (items)"),
    "speakers not a list": (MINIMAL.replace('["ann"]', '"ann"'), "(speakers)"),
    "fixed start as text": (
        MINIMAL.replace('duration = "5m"', 'duration = "5m"\nfixed_start = "x"'),
        "fixed_start",
    ),
}


@pytest.mark.parametrize(("text", "expected"), BROKEN_TOML.values(), ids=BROKEN_TOML.keys())
def test_broken_toml(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AgendaError) as caught:
        load_agenda(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert caught.value.path == str(path)


def test_error_attributes() -> None:
    with pytest.raises(AgendaError) as caught:
        parse_toml_agenda(MINIMAL.replace('"5m"', '"abc"'), "examples/x.toml")
    err = caught.value
    assert (err.path, err.location, err.field) == ("examples/x.toml", "sessions[0].items[0]", "duration")
    assert str(err).startswith("examples/x.toml: sessions[0].items[0] (duration): not a duration: 'abc'")
    assert isinstance(err, ValueError)


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(AgendaError) as caught:
        parse_toml_agenda(MINIMAL.replace('id = "main"', "id = main"), "x.toml")
    assert caught.value.location == "line 10"


BROKEN_CSV = {
    "missing column": (
        "session,date,start,duration,title,speakers\nS,2024-01-01,09:00,5m,A,\n",
        "row 1: missing column(s): kind, turn_limit",
    ),
    "bad duration": (CSV_HEADER + "S,2024-01-01,09:00,5m,A,,,\nS,,,5 minutes,B,,,\n", "row 3 (duration)"),
    "missing duration": (CSV_HEADER + "S,2024-01-01,09:00,,A,,,\n", "row 2 (duration)"),
    "bad kind": (CSV_HEADER + "S,2024-01-01,09:00,5m,A,keynote,,\n", "row 2 (kind)"),
    "no date": (CSV_HEADER + "S,,09:00,5m,A,,,\n", "row 2 (date)"),
    "bad time": (CSV_HEADER + "S,2024-01-01,9h,5m,A,,,\n", "row 2 (start)"),
    "no title": (CSV_HEADER + "S,2024-01-01,09:00,5m,,,,\n", "row 2 (title)"),
    "bad turn limit": (CSV_HEADER + "S,2024-01-01,09:00,5m,A,,,0\n", "row 2 (turn_limit)"),
    "unknown column": (CSV_HEADER.replace("\n", ",rooom\n") + "S,2024-01-01,09:00,5m,A,,,,x\n", "rooom"),
    "too many fields": (CSV_HEADER + "S,2024-01-01,09:00,5m,A,,,,x\n", "row 2"),
    "repeated column": (CSV_HEADER.replace("\n", ",title\n") + "S,2024-01-01,09:00,5m,A,,,,B\n", "repeated"),
    "header only": (CSV_HEADER, "no items"),
    "past the year 9999": (CSV_HEADER + "S,9999-12-31,23:00,300h,A,,,\n", "row 2 (duration)"),
}


@pytest.mark.parametrize(("text", "expected"), BROKEN_CSV.values(), ids=BROKEN_CSV.keys())
def test_broken_csv(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "broken.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AgendaError) as caught:
        load_agenda(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert expected in str(caught.value)


def test_csv_bad_zone() -> None:
    with pytest.raises(AgendaError, match="timezone"):
        parse_csv_agenda(CSV_HEADER + "S,2024-01-01,09:00,5m,A,,,\n", "x.csv", timezone="Nowhere/Land")


@pytest.mark.parametrize("suffix", [".toml", ".csv"])
def test_empty_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"empty{suffix}"
    path.write_text("  \n\n", encoding="utf-8")
    with pytest.raises(AgendaError, match=rf"^{re.escape(str(path))}: file: the file is empty$"):
        load_agenda(path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(MINIMAL.replace("Ann", "Ann Müller").encode("latin-1"))
    with pytest.raises(AgendaError, match=r"latin1\.toml: line 7: not UTF-8"):
        load_agenda(path)


def test_bom_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeff".encode() + (CSV_HEADER + "S,2024-01-01,09:00,5m,A,,,\n").encode())
    assert load_agenda(path).sessions[0].items[0].title == "A"
    assert parse_toml_agenda("\ufeff" + MINIMAL, "x.toml").title == "Test event"


def test_oversized_file(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    path.write_bytes(MINIMAL.encode() + b"#" * MAX_FILE_BYTES)
    with pytest.raises(AgendaError, match=r"huge\.toml: file: file larger than 5 MiB"):
        load_agenda(path)


@pytest.mark.parametrize("name", ["agenda.yaml", "agenda.txt", "agenda"])
def test_unsupported_extension(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(MINIMAL, encoding="utf-8")
    with pytest.raises(AgendaError, match=rf"{name}: file: unsupported file type"):
        load_agenda(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AgendaError, match="cannot read"):
        load_agenda(tmp_path / "nowhere.toml")


# ---------------------------------------------------------------- never another exception

TOML_VALUES = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(max_size=30).map(json.dumps),
    st.sampled_from(
        [
            "true",
            "[]",
            "{}",
            '["ann", 3]',
            "{ a = 1 }",
            "2024-01-01",
            "09:00:00",
            "2024-01-01T09:00:00Z",
            '"America"',
            '"1h 30m"',
            '"-5m"',
            '"break"',
            '"ann"',
            '"9999999999m"',
        ]
    ),
)
FIELDS = ["title", "timezone", "id", "name", "start", "duration", "speakers"]


def _only_agenda_errors(parse, text: str) -> None:
    try:
        result = parse(text)
    except AgendaError as err:
        assert str(err).startswith(f"{err.path}: ") and err.message
    else:
        assert isinstance(result, Agenda)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_random_text_gives_only_agenda_errors(text: str) -> None:
    _only_agenda_errors(lambda t: parse_toml_agenda(t, "f.toml"), text)
    _only_agenda_errors(lambda t: parse_csv_agenda(t, "f.csv"), text)
    _only_agenda_errors(lambda t: parse_csv_agenda(CSV_HEADER + t, "f.csv"), text)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(FIELDS), TOML_VALUES, st.integers(0, 3))
def test_random_values_give_only_agenda_errors(field: str, value: str, occurrence: int) -> None:
    lines = MINIMAL.splitlines()
    matches = [n for n, line in enumerate(lines) if line.startswith(f"{field} =")]
    lines[matches[occurrence % len(matches)]] = f"{field} = {value}"
    _only_agenda_errors(lambda t: parse_toml_agenda(t, "f.toml"), "\n".join(lines))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(
            st.text(alphabet=st.characters(blacklist_characters='"\r\n,'), max_size=12),
            min_size=8,
            max_size=8,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_random_csv_cells_give_only_agenda_errors(rows: list[list[str]]) -> None:
    rows[0][:4] = ["S", "2024-01-01", "09:00", rows[0][3] or "5m"]
    text = CSV_HEADER + "".join(",".join(row) + "\n" for row in rows)
    _only_agenda_errors(lambda t: parse_csv_agenda(t, "f.csv"), text)


MUTABLE_EXAMPLES = ["mayors-call.toml", "who-city-diplomacy.toml", "mayors-call.csv"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(MUTABLE_EXAMPLES), st.integers(0, 10**6), st.integers(0, 40), st.text(max_size=10))
def test_mutated_examples_give_only_agenda_errors(name: str, at: int, cut: int, insert: str) -> None:
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    at %= len(text)
    text = text[:at] + insert + text[at + cut :]
    if name.endswith(".csv"):
        _only_agenda_errors(lambda t: parse_csv_agenda(t, "f.csv"), text)
    else:
        _only_agenda_errors(lambda t: parse_toml_agenda(t, "f.toml"), text)
