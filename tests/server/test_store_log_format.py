"""The log's format: a schema version checked at open, old logs migrated and replayed, unreadable rows named.

A log written by commit 8f1e309 (the first schema: no version, no event versions) is kept in
tests/fixtures/ with what that code made of it (tests/fixtures/make_log_v1.py wrote it): today's
code must read it, bring it up to date in place, and replay it to the same state and report. A
row the code cannot read stops only its own event, with a StorageError naming the event, the
entry's seq and its type; a database written by a newer schema is refused at open.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import get_args

import pytest
from support.processes import stop_server
from support.servers import MAYORS_CALL, replay_log, run_cli, script

from modconsole.agenda_files import load_agenda
from modconsole.core import events as ev
from modconsole.server.events_admin import create_event
from modconsole.server.reports import build_report, render
from modconsole.server.service import MeetingServer
from modconsole.server.store import SCHEMA_VERSION, SqliteStore, StorageError, UnreadableEntry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
V1_DB = FIXTURES / "mayors-call-v1.db"
V1_EVENT = "covid-19-cooperative-countermeas-49d059"


def _summary():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_log_v1", FIXTURES / "make_log_v1.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.summary


def _user_version(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _columns(db: Path, table: str) -> list[str]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def _tables(db: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


@pytest.fixture
def v1_db(tmp_path: Path) -> Path:
    db = tmp_path / "v1.db"
    shutil.copyfile(V1_DB, db)
    return db


# --- an old log ------------------------------------------------------------------------------------------


def test_the_fixture_is_a_first_schema_log() -> None:
    assert V1_DB.stat().st_size < 200_000
    assert _user_version(V1_DB) == 0
    assert "name" not in _columns(V1_DB, "tokens") and "v" not in _columns(V1_DB, "log")


def test_a_log_of_the_first_schema_is_migrated_in_place_and_replays_to_the_same_state_and_report(
    v1_db: Path,
) -> None:
    store = SqliteStore(v1_db)
    try:
        assert store.event_ids() == [V1_EVENT]
        entries = list(store.read(V1_EVENT))
    finally:
        store.close()
    assert _user_version(v1_db) == SCHEMA_VERSION == 4
    assert {"registrants", "attendance"} <= _tables(v1_db)
    assert "name" in _columns(v1_db, "tokens") and "v" in _columns(v1_db, "log")
    assert len(entries) == 22 and [e.seq for e in entries] == list(range(1, 23))

    expected_state = json.loads((FIXTURES / "mayors-call-v1.state.json").read_text(encoding="utf-8"))
    assert _summary()(replay_log(entries)) == expected_state
    report = build_report(entries)
    assert render(report, "md") == (FIXTURES / "mayors-call-v1.report.md").read_text(encoding="utf-8")
    assert render(report, "json") == (FIXTURES / "mayors-call-v1.report.json").read_text(encoding="utf-8")

    # Opened again: already at the current version, nothing to do, the same entries.
    again = SqliteStore(v1_db)
    try:
        assert [e.event_json for e in again.read(V1_EVENT)] == [e.event_json for e in entries]
    finally:
        again.close()


def test_the_report_command_reads_a_first_schema_log(v1_db: Path) -> None:
    result = run_cli("modconsole-server", "report", "--db", v1_db)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (FIXTURES / "mayors-call-v1.report.md").read_text(encoding="utf-8")


async def test_a_first_schema_log_is_served_and_takes_new_entries(v1_db: Path, fake_clock) -> None:  # type: ignore[no-untyped-def]
    store = SqliteStore(v1_db)
    server = MeetingServer(store, clock=fake_clock)
    server.load()
    assert server.broken == {}
    runtime = server.events[V1_EVENT]
    assert runtime.state.sessions[0].status == "ended"
    store.close()
    with contextlib.closing(sqlite3.connect(v1_db)) as conn:
        versions = set(conn.execute("SELECT v FROM log").fetchall())
    assert versions == {(1,)}  # the old rows were version 1 of their types, and so is anything new


# --- the schema version --------------------------------------------------------------------------------


def test_a_database_of_a_newer_schema_is_refused_with_the_reason(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "newer.db"
    store = SqliteStore(db)
    create_event(store, load_agenda(MAYORS_CALL))
    store.close()
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA user_version=7")
    before = db.read_bytes()
    with pytest.raises(
        StorageError,
        match=re.escape(
            f"this database was written by a newer modconsole (schema 7; this one reads up to {SCHEMA_VERSION})"
        ),
    ):
        SqliteStore(db)
    for args in (("report",), ("serve", "--port", "0"), ("create-event", MAYORS_CALL)):
        result = cli("modconsole-server", *args, "--db", db)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert f"schema 7; this one reads up to {SCHEMA_VERSION}" in result.stderr and "Traceback" not in result.stderr
    assert db.read_bytes() == before  # left as it was


def test_a_database_of_another_program_is_not_taken_over(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE TABLE recipes (name TEXT)")
        conn.commit()
    with pytest.raises(StorageError, match="not a modconsole database"):
        SqliteStore(db)
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["recipes"]


# --- rows the code cannot read ---------------------------------------------------------------------------

BAD_ROWS = {
    "a newer event type": ("vote_called", 1, '{"type":"vote_called","session":"call","at":1}', "not one this"),
    "damaged JSON": ("hand_raised", 1, '{"type":"hand_raised","session":"call","at":1,"pers', "Invalid JSON"),
    "a missing field": (
        "hand_raised",
        1,
        '{"type":"hand_raised","session":"call","person":"sala","kind":"question"}',
        "at: Field required",
    ),
    "a newer version of a known type": ("hand_raised", 9, '{"type":"hand_raised"}', "at version 9"),
    "a body of another type": (
        "turn_ended",
        1,
        '{"type":"queue_closed","session":"call","at":1}',
        "holds a 'queue_closed' event",
    ),
}


def _event_with_bad_row(db: Path, kind: str, version: int, body: str) -> tuple[str, int]:
    store = SqliteStore(db)
    created = create_event(store, load_agenda(MAYORS_CALL))
    store.close()
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute(
            "INSERT INTO log (event_id, seq, ts, role, person, client, type, v, body) VALUES (?,?,?,?,?,?,?,?,?)",
            (created.event_id, 2, 1, "moderator", None, "x", kind, version, body),
        )
        conn.commit()
    return created.event_id, 2


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_a_row_the_code_cannot_read_is_a_storage_error_naming_event_seq_and_type(tmp_path: Path, case: str) -> None:
    kind, version, body, why = BAD_ROWS[case]
    db = tmp_path / "bad.db"
    event_id, seq = _event_with_bad_row(db, kind, version, body)
    store = SqliteStore(db)
    try:
        with pytest.raises(UnreadableEntry) as caught:
            list(store.read(event_id))
    finally:
        store.close()
    message = str(caught.value)
    assert message.startswith(f"event {event_id}: log entry seq {seq} (type {kind!r}) cannot be read: ")
    assert why in message
    assert isinstance(caught.value, StorageError) and caught.value.seq == seq and caught.value.kind == kind


def test_serve_leaves_out_the_broken_event_and_serves_the_others_report_names_it(tmp_path: Path) -> None:
    db = tmp_path / "two.db"
    kind, version, body, _ = BAD_ROWS["a newer event type"]
    broken, _seq = _event_with_bad_row(db, kind, version, body)
    good = json.loads(run_cli("modconsole-server", "create-event", MAYORS_CALL, "--db", db, "--json").stdout)

    process = subprocess.Popen(
        [script("modconsole-server"), "serve", "--db", str(db), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        port = re.fullmatch(r"listening on ws://127\.0\.0\.1:(\d+)\s*", first)
        assert port, first
        lines = []  # what serve says after where it listens: its events, its pages, its limits
        while not (line := process.stdout.readline()).lstrip().startswith("file descriptors") and line:
            lines.append(line)
        assert any(f"event {good['event_id']}: COVID-19" in line for line in lines), lines
        (named,) = [line for line in lines if broken in line]
        assert "NOT SERVED" in named and "seq 2" in named and "'vote_called'" in named
        url = f"ws://127.0.0.1:{port.group(1)}"
        state = run_cli("modconsole", "ctl", url, "--token", good["tokens"]["moderator"], "state", "--json")
        assert state.returncode == 0, state.stderr
        assert json.loads(state.stdout)["event_id"] == good["event_id"]
        process.terminate()
        _, err = process.communicate(timeout=10)
    finally:
        stop_server(process)
    # And the server's log says it in one line, naming the event, the seq and the type.
    (logged,) = [line for line in err.splitlines() if broken in line]
    assert "ERROR" in logged and "seq 2 (type 'vote_called')" in logged

    report = run_cli("modconsole-server", "report", "--db", db, "--event", broken)
    assert report.returncode == 2 and report.stdout == ""
    assert f"event {broken}: log entry seq 2 (type 'vote_called') cannot be read" in report.stderr
    assert "Traceback" not in report.stderr and len(report.stderr.splitlines()) == 1
    assert run_cli("modconsole-server", "report", "--db", db, "--event", good["event_id"]).returncode == 0


def test_the_server_logs_a_broken_event_in_one_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "bad.db"
    kind, version, body, _ = BAD_ROWS["damaged JSON"]
    event_id, _seq = _event_with_bad_row(db, kind, version, body)
    store = SqliteStore(db)
    try:
        server = MeetingServer(store)
        with caplog.at_level("ERROR", logger="modconsole.server"):
            server.load()
    finally:
        store.close()
    assert server.events == {} and list(server.broken) == [event_id]
    (record,) = caplog.records
    line = record.getMessage()
    assert "\n" not in line and f"event {event_id}: log entry seq 2 (type 'hand_raised')" in line


# --- event versions and upcasting ---------------------------------------------------------------------------


def test_every_event_type_has_a_version_and_entries_are_stored_with_it(tmp_path: Path) -> None:
    assert set(ev.EVENT_VERSIONS) == {cls.model_fields["type"].default for cls in get_args(get_args(ev.Event)[0])}
    db = tmp_path / "v.db"
    store = SqliteStore(db)
    create_event(store, load_agenda(MAYORS_CALL))
    store.close()
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT type, v FROM log").fetchall() == [("event_created", 1)]


def test_an_entry_of_an_older_version_is_upcast_before_validation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As if hand_raised were now at version 2, whose step from version 1 renames the kind "speak"."""
    db = tmp_path / "old.db"
    event_id, _seq = _event_with_bad_row(
        db, "hand_raised", 1, '{"type":"hand_raised","session":"call","at":5,"person":"sala","kind":"speak"}'
    )
    store = SqliteStore(db)
    try:
        with pytest.raises(UnreadableEntry, match="kind"):  # as version 1 of today's shape, it is not valid
            list(store.read(event_id))

        monkeypatch.setitem(ev.EVENT_VERSIONS, "hand_raised", 2)
        with pytest.raises(UnreadableEntry, match=r"no upcaster to version 2"):
            list(store.read(event_id))

        @ev.upcaster("hand_raised", 1)
        def speak_is_contribution(body: dict) -> dict:  # type: ignore[type-arg]
            return {**body, "kind": "contribution" if body["kind"] == "speak" else body["kind"]}

        try:
            entries = list(store.read(event_id))
        finally:
            del ev.UPCASTERS["hand_raised", 1]
    finally:
        store.close()
    event = entries[1].event
    assert isinstance(event, ev.HandRaised) and event.kind == "contribution" and event.person == "sala"
    assert json.loads(entries[1].event_json)["kind"] == "contribution"  # sent to clients as today's event
