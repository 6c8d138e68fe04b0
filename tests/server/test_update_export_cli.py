"""``modconsole-server update-event`` and ``export`` as a user runs them: real subprocesses, a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from support.servers import run_cli

from modconsole.agenda_files import load_agenda
from modconsole.core.agenda import ItemPlan
from modconsole.core.events import ItemAdded, SessionStarted
from modconsole.server.events_admin import SYSTEM
from modconsole.server.store import Entry, SqliteStore
from modconsole.server.tokens import token_hash

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "agendas"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _create(agenda: Path, db: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    done = run_cli("modconsole-server", "create-event", agenda, "--db", db, "--json", *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _speaker_grants(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as con:
        return dict(
            con.execute("SELECT token_hash, person FROM tokens WHERE role='speaker' AND revoked IS NULL").fetchall()
        )


def test_create_event_from_a_schedule_and_a_russian_csv(tmp_path: Path) -> None:
    made = _create(FIXTURES / "camp-schedule.json", tmp_path / "a.db")
    assert set(made["tokens"]["people"]) == {"olga-granatovich", "kim-ji-woo", "jose-muller"}
    made = _create(FIXTURES / "seminar-ru.csv", tmp_path / "b.db", "--timezone", "Asia/Seoul", "--title", "T")
    assert set(made["tokens"]["people"]) == {"olga-granatovich", "iurii-shchukin"}


def test_create_event_lists_every_problem_and_creates_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "session,date,start,duration,title,kind,speakers,turn_limit\nS,2024-01-01,09:00,x,A,,,\nS,,,5m,B,z,,\n"
    )
    done = run_cli("modconsole-server", "create-event", bad, "--db", tmp_path / "x.db")
    assert done.returncode == 2
    assert "row 2 (duration)" in done.stderr and "row 3 (kind)" in done.stderr
    assert not (tmp_path / "x.db").exists() or not SqliteStore(tmp_path / "x.db").event_ids()


def test_update_event_keeps_tokens_and_is_refused_once_a_session_started(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    made = _create(FIXTURES / "camp-schedule.json", db)
    event, tokens = made["event_id"], made["tokens"]["people"]
    # The organiser fixes the schedule: Kim's name is now written in Korean letters (same guid), José leaves,
    # a new speaker comes.
    changed = (FIXTURES / "camp-schedule.json").read_text()
    changed = changed.replace('"Kim Ji-woo"', '"김지우"').replace('"José Müller"', '"Mary Major"')
    changed = changed.replace('"ZXCVBN"', '"NEW123"')
    path = tmp_path / "camp.json"
    path.write_text(changed)
    done = run_cli("modconsole-server", "update-event", path, "--db", db, "--event", event, "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["kept"] == {"olga-granatovich": "olga-granatovich", "gimjiu": "kim-ji-woo"}
    assert set(result["tokens"]["people"]) == {"mary-major"} and result["removed"] == ["jose-muller"]
    grants = _speaker_grants(db)
    assert grants[token_hash(tokens["kim-ji-woo"])] == "gimjiu"  # the same token, now Kim's new id
    assert grants[token_hash(tokens["olga-granatovich"])] == "olga-granatovich"
    assert token_hash(tokens["jose-muller"]) not in grants
    # The plan in force is the new one: exported, it reads back as the file does.
    out = tmp_path / "plan.toml"
    done = run_cli("modconsole-server", "export", "--db", db, "--format", "toml", "-o", out)
    assert done.returncode == 0, done.stderr
    assert load_agenda(out) == load_agenda(path)
    # Once a session has started, the plan is no longer replaced from a file.
    store = SqliteStore(db)
    last = list(store.read(event))[-1].seq
    store.append(event, [Entry.make(last + 1, 0, SYSTEM, SessionStarted(session="2024-08-09-main-stage", at=1))])
    store.close()
    done = run_cli("modconsole-server", "update-event", FIXTURES / "camp-schedule.json", "--db", db, "--event", event)
    assert done.returncode == 2
    assert "'2024-08-09-main-stage' has started" in done.stderr
    assert _speaker_grants(db) == grants


def test_export_each_format_reads_back_as_the_plan(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    _create(EXAMPLES / "who-city-diplomacy.toml", db)
    plan = load_agenda(EXAMPLES / "who-city-diplomacy.toml")
    for fmt in ("ics", "csv", "toml"):
        out = tmp_path / f"plan.{fmt}"
        done = run_cli("modconsole-server", "export", "--db", db, "--format", fmt, "-o", out)
        assert done.returncode == 0, done.stderr
        people = tmp_path / "plan.people.csv" if fmt == "csv" else None
        assert load_agenda(out, people=people) == plan, fmt
    done = run_cli("modconsole-server", "export", "--db", db, "--format", "ics")
    assert done.stdout.startswith("BEGIN:VCALENDAR") and "X-WR-TIMEZONE:Europe/Moscow" in done.stdout


def test_export_gives_the_plan_edited_live(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    made = _create(EXAMPLES / "mayors-call.toml", db)
    store = SqliteStore(db)
    last = list(store.read(made["event_id"]))[-1].seq
    added = ItemPlan(id="aob", title="Any other business", duration_s=300)
    store.append(
        made["event_id"], [Entry.make(last + 1, 0, SYSTEM, ItemAdded(session="call", at=1, item=added, index=4))]
    )
    store.close()
    out = tmp_path / "plan.ics"
    done = run_cli("modconsole-server", "export", "--db", db, "--format", "ics", "-o", out)
    assert done.returncode == 0, done.stderr
    items = load_agenda(out).sessions[0].items
    assert [i.id for i in items] == ["opening", "seoul-briefing", "cities-share", "discussion", "aob", "closing"]
