"""Agendas from schedules (frab/pretalx JSON, frab/pentabarf XML), calendars and spreadsheets, checked item by
item against what each fixture says; every problem in a file listed in one pass; hostile files refused; and
export then import is the identity on the plan."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from modconsole.agenda_files import (
    AgendaError,
    load_agenda,
    parse_csv_agenda,
    parse_ics,
    parse_schedule_json,
    parse_schedule_xml,
    parse_toml_agenda,
    readable_id,
    to_csv,
    to_ics,
    to_toml,
)
from modconsole.core.agenda import Agenda, ItemKind, ItemPlan, Person, SessionPlan

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "agendas"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def rows(agenda: Agenda) -> list[tuple[str, str, str, int, time | None, tuple[str, ...]]]:
    return [
        (s.id, i.title, i.kind.value, i.duration_s, i.fixed_start, i.speakers) for s in agenda.sessions for i in s.items
    ]


# ---------------------------------------------------------------- ids


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ольга Гранатович", "olga-granatovich"),
        ("День первый", "den-pervyi"),
        ("Юрий Щукин", "iurii-shchukin"),
        ("Claudia López", "claudia-lopez"),
        ("서울", "seoul"),
        ("!!!", "item"),
    ],
)
def test_readable_ids(text: str, expected: str) -> None:
    assert readable_id(text) == expected


def test_an_id_written_in_a_file_may_use_any_script() -> None:
    text = '[event]\ntitle="T"\ntimezone="UTC"\n[[sessions]]\nid="день-1"\ntitle="Д"\nstart=2024-01-01T09:00:00\n'
    text += '[[sessions.items]]\nid="доклад"\ntitle="Доклад"\nduration="5m"\n'
    agenda = parse_toml_agenda(text, "t.toml")
    assert agenda.sessions[0].id == "день-1" and agenda.sessions[0].items[0].id == "доклад"


# ---------------------------------------------------------------- the fixtures, item by item


def test_pretalx_json_multi_day_multi_room_past_midnight() -> None:
    agenda = load_agenda(FIXTURES / "camp-schedule.json")
    assert (agenda.title, agenda.timezone) == ("Night Camp 2024", "Europe/Berlin")
    assert [(s.id, s.room, s.start) for s in agenda.sessions] == [
        ("2024-08-09-main-stage", "Main Stage", datetime(2024, 8, 9, 20, 0)),
        ("2024-08-09-workshop-tent", "Workshop Tent", datetime(2024, 8, 9, 21, 0)),
        ("2024-08-10-main-stage", "Main Stage", datetime(2024, 8, 10, 19, 0)),
    ]
    olga, kim, jose = "olga-granatovich", "kim-ji-woo", "jose-muller"
    assert rows(agenda) == [
        ("2024-08-09-main-stage", "Opening", "opening", 900, None, (olga,)),
        ("2024-08-09-main-stage", "Keynote: sleeping under the stars", "talk", 3600, time(20, 30), (kim,)),
        ("2024-08-09-main-stage", "Late panel on light pollution", "panel", 3600, time(23, 30), (kim, jose)),
        # 00:30 on the 10th continues the 9th's programme in the same room: no gap, no fixed start
        ("2024-08-09-main-stage", "Midnight lightning talks", "talk", 5400, None, ()),
        ("2024-08-09-workshop-tent", "Build a star tracker", "other", 7200, None, (jose,)),
        ("2024-08-09-workshop-tent", "Q&A with the night shift", "qa", 2700, time(3, 0), ()),
        ("2024-08-10-main-stage", "Dinner break", "break", 1800, None, ()),
        ("2024-08-10-main-stage", "Closing", "closing", 1200, None, (olga,)),
    ]
    assert agenda.sessions[0].items[1].tags == {"type": "Talk", "track": "Science"}
    assert [(p.id, p.name, p.tags) for p in agenda.people] == [
        (olga, "Ольга Гранатович", {"guid": "QWERTY"}),
        (kim, "Kim Ji-woo", {"guid": "ASDFGH"}),
        (jose, "José Müller", {"guid": "ZXCVBN"}),
    ]


def test_pretalx_json_gaps_as_breaks() -> None:
    agenda = load_agenda(FIXTURES / "camp-schedule.json", gaps="breaks")
    main = agenda.sessions[0]
    assert [(i.title, i.kind.value, i.duration_s, i.fixed_start) for i in main.items[:3]] == [
        ("Opening", "opening", 900, None),
        ("Break", "break", 900, None),
        ("Keynote: sleeping under the stars", "talk", 3600, None),
    ]


def test_pentabarf_xml_without_guids() -> None:
    agenda = load_agenda(FIXTURES / "pentabarf-no-guid.xml")
    assert (agenda.title, agenda.timezone) == ("Open Source Day", "Europe/Brussels")
    # No <date> on the Janson events: the day's date and <start> say when, in the conference's zone.
    assert agenda.sessions[0].start == datetime(2023, 2, 4, 9, 30)
    assert rows(agenda) == [
        ("2023-02-04-janson", "Welcome to Open Source Day", "talk", 1500, None, ("richard-roe",)),
        (
            "2023-02-04-janson",
            "Twenty years of free software in schools",
            "talk",
            3000,
            time(10, 0),
            ("anna-papadopoyloy", "richard-roe"),
        ),
        ("2023-02-04-janson", "Panel: who maintains the maintainers?", "panel", 3600, time(11, 0), ("mary-major",)),
        ("2023-02-04-k-1-105", "Packaging workshop", "other", 5400, None, ("mary-major",)),
    ]
    # people keyed by the schedule's id where there is no guid: Mary is one person in two rooms
    assert [p.tags for p in agenda.people] == [{"schedule_id": "501"}, {"schedule_id": "502"}, {"schedule_id": "503"}]


def test_calendar_recurring_and_zones_across_a_dst_change() -> None:
    agenda = load_agenda(FIXTURES / "seminar-dst.ics")
    assert (agenda.title, agenda.timezone) == ("Transatlantic seminar", "Europe/Berlin")
    # The weekly briefing is expanded to three sessions; on 21 October New York's 10:00 is Berlin's 16:00,
    # on 28 October (Europe has left summer time, America not yet) its 10:30 is Berlin's 15:30.
    assert [(s.start, len(s.items)) for s in agenda.sessions] == [
        (datetime(2024, 10, 21, 15, 0), 2),
        (datetime(2024, 10, 28, 15, 0), 3),
        (datetime(2024, 11, 4, 15, 0), 1),
    ]
    assert rows(agenda) == [
        ("2024-10-21-room-1", "Weekly briefing", "talk", 1800, None, ()),
        ("2024-10-21-room-1", "Panel from New York", "panel", 2700, time(16, 0), ()),
        ("2024-10-28-room-1", "Weekly briefing", "talk", 1800, None, ()),
        ("2024-10-28-room-1", "Panel from New York", "panel", 2700, None, ()),
        ("2024-10-28-room-1", "Coffee", "break", 900, time(16, 45), ()),  # 15:45Z
        ("2024-11-04-room-1", "Weekly briefing", "talk", 1800, None, ()),
    ]


def test_calendar_clash_that_the_dst_change_makes_is_refused() -> None:
    text = (FIXTURES / "seminar-dst.ics").read_text().replace("20241028T103000", "20241028T100000")
    with pytest.raises(AgendaError, match=r"ny-panel-2@example.org.*\(start\): overlaps 'Weekly briefing'"):
        parse_ics(text, "s.ics")


def test_russian_csv_with_semicolons_and_clock_durations() -> None:
    agenda = load_agenda(FIXTURES / "seminar-ru.csv")
    assert (agenda.title, agenda.timezone) == ("Семинар «Здоровые города»", "Europe/Moscow")
    olga, yuri = "olga-granatovich", "iurii-shchukin"
    assert rows(agenda) == [
        ("den-pervyi", "Приветственное слово", "opening", 600, None, (olga,)),
        ("den-pervyi", "Доклад о городской дипломатии", "talk", 5400, None, (yuri,)),
        ("den-pervyi", "Кофе-брейк", "break", 1200, None, ()),
        ("den-pervyi", "Дискуссия; вопросы", "discussion", 3600, time(12, 30), (olga, yuri)),
        ("den-vtoroi", "Итоги семинара", "closing", 7200, None, (yuri,)),
    ]
    assert agenda.sessions[0].room == "Пленарный зал" and agenda.sessions[0].start == datetime(2018, 11, 20, 10)
    assert agenda.sessions[0].items[3].turn_limit_s == 180
    assert [(p.name, p.affiliation) for p in agenda.people] == [
        ("Ольга Гранатович", "Администрация Санкт-Петербурга"),
        ("Юрий Щукин", "Минздрав России"),
    ]


def test_csv_options_override_the_directives(tmp_path: Path) -> None:
    agenda = load_agenda(FIXTURES / "seminar-ru.csv", title="Другое", timezone="Asia/Seoul")
    assert (agenda.title, agenda.timezone) == ("Другое", "Asia/Seoul")


def test_csv_people_file(tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text("name;id;affiliation;country;email\nЮрий Щукин;shchukin;Минздрав России;RU;y@example.org\n")
    agenda = load_agenda(FIXTURES / "seminar-ru.csv", people=people)
    yuri = agenda.person("shchukin")
    assert yuri is not None and yuri.tags == {"country": "RU", "email": "y@example.org"}
    assert agenda.sessions[1].items[0].speakers == ("shchukin",)


def test_tab_separated_csv() -> None:
    text = "session\tdate\tstart\tduration\ttitle\tkind\tspeakers\tturn_limit\nS\t2024-01-01\t09:00\t1:30\tA\t\t\t\n"
    assert parse_csv_agenda(text, "t.csv").sessions[0].items[0].duration_s == 5400


# ---------------------------------------------------------------- one pass over every problem

CSV_HEADER = "session,date,start,duration,title,kind,speakers,turn_limit\n"


def test_every_csv_problem_in_one_pass() -> None:
    text = CSV_HEADER + "S,2024-01-01,09:00,5m,A,,,\nS,,,abc,B,,,\nS,,,5m,C,keynote,,\nS,,,5m,,,,\nS,,09:02,5m,E,,,\n"
    with pytest.raises(AgendaError) as caught:
        parse_csv_agenda(text, "x.csv")
    found = [(p.location, p.field) for p in caught.value.problems]
    assert found == [("row 3", "duration"), ("row 4", "kind"), ("row 5", "title"), ("row 6", "start")]
    assert str(caught.value).count("\n") == 3


def test_problems_are_capped() -> None:
    text = CSV_HEADER + "S,2024-01-01,09:00,5m,A,,,\n" + "S,,,abc,B,,,\n" * 80
    with pytest.raises(AgendaError) as caught:
        parse_csv_agenda(text, "x.csv")
    assert len(caught.value.problems) == 50 and caught.value.more == 30
    assert str(caught.value).endswith("... and 30 more problem(s)")


def test_every_toml_problem_in_one_pass() -> None:
    text = '[event]\ntitle="T"\ntimezone="UTC"\n[[sessions]]\nid="s"\ntitle="S"\nstart=2024-01-01T09:00:00\n'
    text += '[[sessions.items]]\ntitle="A"\nduration="abc"\n[[sessions.items]]\ntitle="B"\nduration="5m"\nkind="x"\n'
    with pytest.raises(AgendaError) as caught:
        parse_toml_agenda(text, "t.toml")
    assert [(p.location, p.field) for p in caught.value.problems] == [
        ("sessions[0].items[0]", "duration"),
        ("sessions[0].items[1]", "kind"),
    ]


def test_toml_fixed_start_that_cannot_be_met_is_refused_as_in_csv() -> None:
    toml = '[event]\ntitle="T"\ntimezone="UTC"\n[[sessions]]\nid="s"\ntitle="S"\nstart=2024-05-02T09:00:00\n'
    toml += '[[sessions.items]]\ntitle="A"\nduration="1h"\n[[sessions.items]]\ntitle="B"\nduration="5m"\n'
    toml += "fixed_start=09:30:00\n"
    with pytest.raises(AgendaError) as from_toml:
        parse_toml_agenda(toml, "x.toml")
    csv = CSV_HEADER + "S,2024-05-02,09:00,1h,A,,,\nS,,09:30,5m,B,,,\n"
    with pytest.raises(AgendaError) as from_csv:
        parse_csv_agenda(csv, "x.csv")
    expected = "starts at 09:30 but the items before it run until 10:00"
    assert from_toml.value.message == from_csv.value.message == expected
    assert (from_toml.value.field, from_csv.value.field) == ("fixed_start", "start")


def test_every_schedule_problem_in_one_pass() -> None:
    text = (FIXTURES / "camp-schedule.json").read_text()
    text = text.replace('"duration": "00:15"', '"duration": "99:99"').replace('"title": "Closing"', '"title": 5.5')
    with pytest.raises(AgendaError) as caught:
        parse_schedule_json(text, "s.json")
    assert [p.field for p in caught.value.problems] == ["duration", "title"]
    assert "1b7e0c1e-5d0a-5d4e-9f37-0a6f0c9e0101" in caught.value.problems[0].location


# ---------------------------------------------------------------- hostile files

HOSTILE = {
    "billion laughs": (
        parse_schedule_xml,
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        "<schedule><conference><title>&lol2;</title></conference></schedule>",
        "refused",
    ),
    "external entity": (
        parse_schedule_xml,
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><schedule>&e;</schedule>',
        "refused",
    ),
    "deep xml": (parse_schedule_xml, "<a>" * 100_000 + "</a>" * 100_000, "schedule"),
    "deep json": (parse_schedule_json, "[" * 100_000 + "]" * 100_000, ""),
    "huge int json": (parse_schedule_json, '{"schedule": ' + "9" * 5000 + "}", ""),
    "json wrong types": (parse_schedule_json, '{"schedule": {"conference": {"title": "T", "days": 3}}}', "days"),
    "absurd duration": (
        parse_schedule_json,
        '{"schedule": {"conference": {"title": "T", "days": [{"date": "2024-01-01", "rooms": {"R": [{"title": "x",'
        ' "date": "2024-01-01T10:00:00+00:00", "duration": "999:00"}]}}]}}}',
        "too long",
    ),
    "deep ics": (parse_ics, "BEGIN:VCALENDAR\n" + "BEGIN:VEVENT\n" * 20_000 + "END:VEVENT\n" * 20_000, ""),
    "ics forever": (
        parse_ics,
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nSUMMARY:x\nDTSTART:20240101T100000Z\nDURATION:PT1H\n"
        "RRULE:FREQ=DAILY\nEND:VEVENT\nEND:VCALENDAR\n",
        "give each repeating event an end",
    ),
    "ics absurd": (
        parse_ics,
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nSUMMARY:x\nDTSTART:20240101T100000Z\nDURATION:P400D\n"
        "END:VEVENT\nEND:VCALENDAR\n",
        "two weeks",
    ),
    "ics all day": (
        parse_ics,
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nSUMMARY:x\nDTSTART;VALUE=DATE:20240101\nEND:VEVENT\nEND:VCALENDAR\n",
        "all-day",
    ),
}


@pytest.mark.parametrize(("parse", "text", "expected"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_files_give_agenda_errors(parse, text: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AgendaError) as caught:
        parse(text, "hostile")
    assert expected in str(caught.value)


# ---------------------------------------------------------------- the examples in other formats


@pytest.mark.parametrize(
    ("first", "second", "people"),
    [
        ("mayors-call.toml", "mayors-call.ics", None),
        ("who-city-diplomacy.toml", "who-city-diplomacy.csv", "who-city-diplomacy.people.csv"),
        ("geti-programme.toml", "geti-programme.json", None),
    ],
)
def test_each_real_event_from_two_formats(first: str, second: str, people: str | None) -> None:
    a = load_agenda(EXAMPLES / first)
    b = load_agenda(EXAMPLES / second, people=EXAMPLES / people if people else None)
    assert [(s.start, s.room, len(s.items)) for s in a.sessions] == [
        (s.start, s.room, len(s.items)) for s in b.sessions
    ]
    assert [(i.title, i.duration_s, i.kind) for s in a.sessions for i in s.items] == [
        (i.title, i.duration_s, i.kind) for s in b.sessions for i in s.items
    ]


# ---------------------------------------------------------------- export then import is the identity

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=20)
_words = _text.map(str.strip).filter(lambda t: bool(t) and not t.startswith("#") and ";" not in t and "=" not in t)
_ids = st.from_regex(r"[a-zа-я][a-z0-9а-я-]{0,10}", fullmatch=True)


def _exists(value: datetime, zone: str) -> bool:
    tz = ZoneInfo(zone)
    there = value.replace(tzinfo=tz)
    return (
        there.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == value
        and there.utcoffset() == value.replace(tzinfo=tz, fold=1).utcoffset()
    )


def _same_offset(value: datetime, zone: str) -> bool:
    tz = ZoneInfo(zone)
    return value.replace(tzinfo=tz).utcoffset() == (value + timedelta(days=1)).replace(tzinfo=tz).utcoffset()


@st.composite
def agendas(draw: st.DrawFn) -> Agenda:
    people = draw(st.lists(_ids, max_size=4, unique=True))
    roster = [
        Person(
            id=pid,
            name=draw(_words),
            affiliation=draw(st.sampled_from(["", "WHO", "Минздрав"])),
            tags=draw(st.dictionaries(st.sampled_from(["country", "guid"]), _words, max_size=2)),
        )
        for pid in people
    ]
    sessions = []
    for sid in draw(st.lists(_ids, min_size=1, max_size=3, unique=True)):
        start = datetime(2024, 3, 30, 8, 0) + timedelta(minutes=draw(st.integers(0, 4 * 24 * 60)))
        items, elapsed = [], 0
        for iid in draw(st.lists(_ids, min_size=1, max_size=4, unique=True)):
            fixed = None
            if draw(st.booleans()):
                elapsed += draw(st.integers(0, 90)) * 60
                fixed = (start + timedelta(seconds=elapsed)).time()
            duration = draw(st.integers(0, 180)) * 60 + draw(st.sampled_from([0, 30]))
            elapsed += duration
            items.append(
                ItemPlan(
                    id=iid,
                    title=draw(_words),
                    kind=draw(st.sampled_from(list(ItemKind))),
                    duration_s=duration,
                    fixed_start=fixed,
                    speakers=tuple(draw(st.lists(st.sampled_from(people), unique=True, max_size=2)) if people else []),
                    turn_limit_s=draw(st.none() | st.integers(1, 600)),
                    warning_s=draw(st.sampled_from([120, 60])),
                    danger_s=draw(st.sampled_from([30, 20])),
                    turn_hard_stop_s=draw(st.none() | st.sampled_from([0, 15])),
                    tags=draw(st.dictionaries(st.sampled_from(["track", "type"]), _words, max_size=2)),
                )
            )
        if elapsed < 20 * 3600:  # a session within a day (a CSV row's start is a time of day)
            room = draw(st.sampled_from(["", "Hall A", "Зал Б"]))
            sessions.append(SessionPlan(id=sid, title=draw(_words), start=start, room=room, items=tuple(items)))
    if not sessions:
        sessions.append(
            SessionPlan(
                id="s", title="S", start=datetime(2024, 1, 1, 9), items=(ItemPlan(id="a", title="A", duration_s=60),)
            )
        )
    zone = draw(st.sampled_from(["Europe/Berlin", "America/New_York", "Asia/Seoul", "UTC"]))
    # A local time that a change of clocks skips or repeats names no one instant: no calendar can hold it. And
    # a session across a change of clocks has its times in a calendar at the instants the clocks show, which a
    # plan of local times (a fixed start 85 minutes after 02:00 that night) may not mean.
    assume(all(_exists(s.start, zone) and _same_offset(s.start, zone) for s in sessions))
    return Agenda(title=draw(_words), timezone=zone, people=tuple(roster), sessions=tuple(sessions))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(agenda=agendas())
def test_export_then_import_is_the_identity(tmp_path_factory: pytest.TempPathFactory, agenda: Agenda) -> None:
    folder = tmp_path_factory.mktemp("export")
    (folder / "plan.toml").write_text(to_toml(agenda), encoding="utf-8")
    (folder / "plan.ics").write_text(to_ics(agenda), encoding="utf-8")
    written = to_csv(agenda)
    (folder / "plan.csv").write_text(written.agenda, encoding="utf-8")
    (folder / "plan.people.csv").write_text(written.people, encoding="utf-8")
    for name, people in (("plan.toml", None), ("plan.ics", None), ("plan.csv", folder / "plan.people.csv")):
        back = load_agenda(folder / name, people=people)
        assert back.model_dump() == agenda.model_dump(), name


def test_export_of_the_examples_reads_back(tmp_path: Path) -> None:
    for path in sorted(EXAMPLES.glob("*.toml")):
        agenda = load_agenda(path)
        (tmp_path / "x.ics").write_text(to_ics(agenda), encoding="utf-8")
        assert load_agenda(tmp_path / "x.ics") == agenda, path.name


def test_a_start_read_as_the_next_morning_is_refused_in_toml_and_csv_alike() -> None:
    toml = '[event]\ntitle="T"\ntimezone="UTC"\n[[sessions]]\nid="s"\ntitle="S"\nstart=2024-05-02T09:00:00\n'
    toml += '[[sessions.items]]\ntitle="A"\nduration="1h"\n[[sessions.items]]\ntitle="B"\nduration="5m"\n'
    toml += "fixed_start=08:00:00\n"
    csv = CSV_HEADER + "S,2024-05-02,09:00,1h,A,,,\nS,,08:00,5m,B,,,\n"
    errors = []
    for parse, text in ((parse_toml_agenda, toml), (parse_csv_agenda, csv)):
        with pytest.raises(AgendaError) as caught:
            parse(text, "x")
        errors.append(caught.value.message)
    assert errors[0] == errors[1] and "22 hours after the items before it end (10:00)" in errors[0]
    # an evening session running past midnight keeps its fixed start after midnight
    late = toml.replace("09:00:00\n", "22:00:00\n", 1).replace("fixed_start=08:00:00", "fixed_start=00:30:00")
    assert parse_toml_agenda(late, "x").sessions[0].items[1].fixed_start == time(0, 30)


def test_format_overrides_the_extension(tmp_path: Path) -> None:
    path = tmp_path / "schedule.txt"
    path.write_text((FIXTURES / "pentabarf-no-guid.xml").read_text(), encoding="utf-8")
    assert load_agenda(path, fmt="xml") == load_agenda(FIXTURES / "pentabarf-no-guid.xml")
    with pytest.raises(AgendaError, match="unsupported file type"):
        load_agenda(path)
