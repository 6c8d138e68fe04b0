"""Reports of the three real events, from logs made by driving the real core (scenarios/logs.py).

Every format (Markdown, CSV for each table, JSON, HTML) is compared with a file under tests/golden/.
After a deliberate change to the reports, the generators or the example agendas, write them anew with

    UPDATE_GOLDEN=1 python -m pytest tests/server/test_reports_golden.py -p no:cacheprovider

and read the diff before committing it. Beyond the files: the same log gives the same bytes (two
builds, and a second interpreter with another hash seed), and targeted checks on the figures of the
mayors' call (planned 45:00, ran 70:00, extended 25:00) and the WHO seminar's per-day reports.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from modconsole.server.reports import TABLES, Report, build_report, render
from modconsole.server.store import Entry
from scenarios.logs import geti_programme, mayors_call, who_seminar

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parents[1] / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

WHO_ENTRIES = 5_000  # the seminar at a tenth of the benchmark's size: the same outline, a quicker test
WHO_DAY_TWO = date(2018, 11, 21)

SCENARIOS = {
    "mayors-call": lambda: mayors_call(seed=0),
    "geti-programme": lambda: geti_programme(seed=0, participants=1800),
    "who-seminar": lambda: who_seminar(seed=0, target_entries=WHO_ENTRIES),
}


def _renders(entries: list[Entry]) -> dict[str, str]:
    report = build_report(entries)
    out = {"md": render(report, "md"), "json": render(report, "json"), "html": render(report, "html")}
    out.update({f"{table}.csv": render(report, "csv", table) for table in TABLES})
    return out


@pytest.fixture(scope="module")
def logs() -> dict[str, list[Entry]]:
    return {name: make() for name, make in SCENARIOS.items()}


@pytest.fixture(scope="module")
def mayors_report(logs: dict[str, list[Entry]]) -> Report:
    return build_report(logs["mayors-call"])


def _compare(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
        return
    assert path.exists(), f"no golden file {path}; write it with UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True), str(path), "now", n=2))
        pytest.fail(f"{name} differs from its golden file (UPDATE_GOLDEN=1 rewrites it):\n{diff[:6000]}")


# --------------------------------------------------------------------------- golden files


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_golden(scenario: str, logs: dict[str, list[Entry]]) -> None:
    for suffix, text in _renders(logs[scenario]).items():
        _compare(f"{scenario}.{suffix}", text)


def test_golden_who_day_two(logs: dict[str, list[Entry]]) -> None:
    report = build_report(logs["who-seminar"], day=WHO_DAY_TWO)
    _compare(f"who-seminar.day-{WHO_DAY_TWO}.md", render(report, "md"))


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_same_log_same_bytes(scenario: str, logs: dict[str, list[Entry]]) -> None:
    again = SCENARIOS[scenario]()  # a second run of the generator, then a second build of every format
    assert [(e.seq, e.ts, e.actor, e.event_json) for e in again] == [
        (e.seq, e.ts, e.actor, e.event_json) for e in logs[scenario]
    ]
    assert _renders(again) == _renders(logs[scenario])


def test_same_bytes_in_another_interpreter(logs: dict[str, list[Entry]]) -> None:
    """Nothing depends on set or dict order that the hash seed changes, nor on the local time zone."""
    code = (
        "import sys; from scenarios.logs import mayors_call; "
        "from modconsole.server.reports import build_report, render; "
        "r = build_report(mayors_call(seed=0)); "
        "sys.stdout.buffer.write((render(r, 'md') + render(r, 'json') + render(r, 'html')).encode())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "TZ": "America/Los_Angeles"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    report = build_report(logs["mayors-call"])
    assert done.stdout.decode() == render(report, "md") + render(report, "json") + render(report, "html")


# --------------------------------------------------------------------------- the mayors' call


def test_mayors_call_figures(mayors_report: Report) -> None:
    data = json.loads(render(mayors_report, "json"))
    assert data["rehearsal"] is False
    assert data["time_scales"] == [1.0]
    [session] = data["sessions"]
    assert session["planned_duration_s"] == 2700
    assert session["actual_duration_s"] == 4200
    assert session["overrun_s"] == 1500
    assert session["extended_s"] == 1500
    assert session["unplanned_overrun_s"] == 0
    assert session["start_delay_s"] == 0
    assert session["planned_start"] == "2020-03-27T23:15:00+09:00"
    assert session["actual_end"] == "2020-03-28T00:25:00+09:00"
    assert [e["delta_s"] for e in session["extensions"]] == [1500]
    # The overrun is explained: the plan changed live (the 15 minutes added to the discussion), then item by
    # item against the plan in force; nothing is left unexplained.
    live = [p for p in session["overrun_explained"] if p["live"]]
    assert [(p["what"], p["seconds"]) for p in live] == [
        ("time added on purpose at 23:46 by moderator [chair-desk]: Open discussion", 900)
    ]
    parts = {p["what"]: p["seconds"] for p in session["overrun_explained"] if not p["live"]}
    assert all(what.startswith("item ") for what in parts)
    assert sum(parts.values()) + 900 == pytest.approx(1500, abs=0.05)
    assert session["live_changes_s"] == 900
    items = {i["id"]: i for i in session["items"]}
    assert items["discussion"]["added_s"] == 900
    # Graded against its plan in force (15 planned + 15 added): 34:02 ran, 4:02 over.
    assert items["discussion"]["final_planned_s"] == 1800 and items["discussion"]["over_under_s"] == 242
    assert parts["item discussion: Open discussion"] == max(parts.values())
    assert sum(i["actual_duration_s"] for i in items.values()) == pytest.approx(4200, abs=0.05)


def test_mayors_call_people_agree_with_turns(mayors_report: Report) -> None:
    data = json.loads(render(mayors_report, "json"))
    turns = data["turns"]
    assert len(turns) == data["totals"]["turns"] == sum(i["turns"] for i in data["sessions"][0]["items"])
    assert {t["item"] for t in turns} == {"opening", "seoul-briefing", "cities-share", "discussion", "closing"}
    people = {p["person"]: p for p in data["people"]}
    for person in data["people"]:
        assert {"person", "turns", "speaking_s", "waited_s"} <= person.keys()
        mine = [t for t in turns if t["person"] == person["person"]]
        assert person["turns"] == len(mine)
        assert person["speaking_s"] == pytest.approx(sum(t["speaking_s"] for t in mine), abs=0.05)
        assert person["waited_s"] == pytest.approx(sum(t["waited_s"] or 0 for t in mine), abs=0.05)
        assert person["longest_s"] == max((t["speaking_s"] for t in mine), default=0.0)
        assert person["turns_over_limit"] == sum(1 for t in mine if t["over_limit_s"] > 0)
    assert set(people) == {t["person"] for t in turns} | {p for p, v in people.items() if v["hands_raised"]}
    # The chair opens and closes; the six cities speak unqueued; discussion turns come from the queue.
    assert people["garcetti"]["turns"] == 2
    cities = [t for t in turns if t["item"] == "cities-share"]
    assert [t["person"] for t in cities] == ["sala", "aki-sawyerr", "baswedan", "breed", "delhi", "lopez"]
    assert all(t["waited_s"] is None and t["limit_s"] == 120 for t in cities)
    discussion = [t for t in turns if t["item"] == "discussion"]
    assert len(discussion) >= 15 and all(t["waited_s"] is not None for t in discussion)
    assert [t["kind"] for t in discussion[:3]] == ["point_of_order"] * 3  # points of order go first
    assert sum(p["hands_never_given_floor"] for p in data["people"]) > 0  # more hands than time
    # Speaking time adds up the same way in every table.
    assert data["totals"]["speaking_s"] == pytest.approx(sum(t["speaking_s"] for t in turns), abs=0.05)
    for shares in data["shares"].values():
        assert sum(s["speaking_s"] for s in shares) == pytest.approx(data["totals"]["speaking_s"], abs=0.5)


def test_mayors_call_undone_next_is_audited_not_counted(logs: dict[str, list[Entry]], mayors_report: Report) -> None:
    entries = logs["mayors-call"]
    undos = [e for e in entries if e.event.type == "undone"]
    assert len(undos) == 1
    [voided_seq] = undos[0].event.seqs  # type: ignore[union-attr]
    voided = next(e for e in entries if e.seq == voided_seq)
    assert voided.event.type == "item_changed" and voided.event.how == "next"  # type: ignore[union-attr]
    [audit] = mayors_report.audit
    assert (audit.seq, audit.type, audit.session) == (voided_seq, "item_changed", "call")
    assert audit.what == "next: Open discussion"
    # Not in the figures: the cities' item ran through the mistake, the discussion opened once.
    items = {i.id: i for i in mayors_report.sessions[0].items}
    assert items["cities-share"].reopened == 0 and items["discussion"].reopened == 0
    discussion_start = mayors_report.sessions[0].items[3].actual_start
    changes = [e for e in entries if e.event.type == "item_changed" and e.seq != voided_seq]
    assert discussion_start is not None and len(changes) == 4
    text = render(mayors_report, "md")
    assert f"| {voided_seq} | call | next: Open discussion |" in text


def test_mayors_call_reads_as_a_user_expects(mayors_report: Report) -> None:
    text = render(mayors_report, "md")
    assert "Planned 45:00, ran 70:00: 25:00 over plan (+55.6 %)." in text
    assert "Extended on purpose by 25:00" in text
    assert "no unplanned overrun" in text
    assert "Why 45:00 became 70:00:" in text
    assert (
        "- Time added on purpose at 23:46 by moderator \\[chair-desk\\]: Open discussion 15:00 → 30:00: +15:00" in text
    )
    assert "- Open discussion: +4:02 (against 30:00 in force, 15:00 planned;" in text
    assert "Together: +25:00" in text
    assert "over the 2:00 limit" in text  # the turns that ran long are part of the explanation
    assert "raised a hand but never had the floor" in text
    page = render(mayors_report, "html")
    assert "ran 70:00" in page and "<svg" in page


# --------------------------------------------------------------------------- the WHO seminar by day


def test_who_seminar_has_what_the_seminar_had(logs: dict[str, list[Entry]]) -> None:
    entries = logs["who-seminar"]
    assert len(entries) >= WHO_ENTRIES
    report = build_report(entries)
    sessions = {s.id: s for s in report.sessions}
    day1 = sessions["day1-introduction"]
    items = {i.id: i for i in day1.items}
    assert items["cities-experience"].actual_start == "2018-11-20T14:00:00+03:00"  # the fixed start is kept
    assert day1.pauses == 1 and day1.paused_s == 240
    assert items["cities-experience"].added_s == 300
    assert [p.target for p in day1.plans_applied] == ["2018-11-20T16:15:00+03:00"]
    assert [a.session for a in report.audit] == ["day1-introduction"]
    assert sessions["day2-multilevel"].items[2].skipped
    # Sessions side by side in two halls.
    assert sessions["day2-within-city"].actual_start[:13] == sessions["day2-bilateral"].actual_start[:13]
    assert any(p.participant and any("А" <= ch <= "я" for ch in p.name) for p in report.people)


@pytest.mark.parametrize("day", [date(2018, 11, 20), WHO_DAY_TWO, date(2018, 11, 22)])
def test_who_seminar_report_per_day(logs: dict[str, list[Entry]], day: date) -> None:
    entries = logs["who-seminar"]
    whole = build_report(entries)
    report = build_report(entries, day=day)
    expected = [s.id for s in whole.sessions if s.day == day.isoformat()]
    assert [s.id for s in report.sessions] == expected and expected
    assert report.scope == f"day {day}"
    assert [d.day for d in report.days] == [day.isoformat()]
    assert {t.session for t in report.turns} <= set(expected)
    assert report.turns == [t for t in whole.turns if t.session in expected]
    assert {a.session for a in report.audit} <= set(expected)
    # People: the whole roster (with zeros for those not heard), and the participants who spoke or raised a hand
    # that day, with that day's figures.
    raised = {
        e.event.person
        for e in entries  # type: ignore[union-attr]
        if e.event.type == "hand_raised" and e.event.session in expected
    }  # type: ignore[union-attr]
    roster = {p.id for p in entries[0].event.agenda.people}  # type: ignore[union-attr]
    assert {p.person for p in report.people} == {t.person for t in report.turns} | raised | roster
    for person in report.people:
        mine = [t for t in report.turns if t.person == person.person]
        assert person.turns == len(mine)
        hands = sum(
            1
            for e in entries
            if e.event.type == "hand_raised"
            and e.event.session in expected  # type: ignore[union-attr]
            and e.event.person == person.person
        )  # type: ignore[union-attr]
        assert person.hands_raised == hands
    assert report.totals.planned_duration_s == sum(s.planned_duration_s for s in report.sessions)
    assert report.totals.speaking_s == pytest.approx(sum(t.speaking_s for t in report.turns), abs=0.05)


def test_an_extension_larger_than_the_overrun_is_said_as_unused_not_as_a_negative_overrun() -> None:
    from modconsole.server.reports.prose import _unplanned

    assert _unplanned(90) == "unplanned overrun +1:30"
    assert _unplanned(0.4) == "no unplanned overrun"
    assert _unplanned(-1283) == "no unplanned overrun (21:23 of the extension not used)"
