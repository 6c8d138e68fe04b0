"""`modconsole-server` as people run it: create-event, schema, and serve's refusals."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest
from support.servers import script

from modconsole.server.events_admin import create_event
from modconsole.server.store import SqliteStore

ROOT = Path(__file__).resolve().parents[2]
MAYORS_CALL = ROOT / "examples" / "mayors-call.toml"


def _events(db: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM events")]


def test_create_event_prints_the_tokens_as_json(cli, tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    result = cli("modconsole-server", "create-event", MAYORS_CALL, "--db", db, "--json")
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert set(created) == {"event_id", "tokens", "names"}
    assert set(created["tokens"]) == {"moderator", "display", "participant", "people"}
    people = created["tokens"]["people"]
    assert len(people) == 45 and "garcetti" in people and "park-won-soon" in people
    tokens = [created["tokens"][k] for k in ("moderator", "display", "participant")] + list(people.values())
    assert all(isinstance(t, str) and len(t) >= 32 for t in tokens)
    assert len(set(tokens)) == len(tokens)
    assert _events(db) == [created["event_id"]]
    assert created["event_id"].startswith("covid-19-cooperative-countermeas")

    # A second event on the same database gets its own id and tokens.
    again = json.loads(cli("modconsole-server", "create-event", MAYORS_CALL, "--db", db, "--json").stdout)
    assert again["event_id"] != created["event_id"]
    assert set(_events(db)) == {created["event_id"], again["event_id"]}
    assert not set(again["tokens"]["people"].values()) & set(people.values())


def test_create_event_without_json_shows_the_tokens_once(cli, tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    result = cli("modconsole-server", "create-event", MAYORS_CALL, "--db", db)
    assert result.returncode == 0, result.stderr
    (event_id,) = _events(db)
    assert f"event {event_id}:" in result.stdout
    assert "shown once" in result.stdout
    lines = [line.split() for line in result.stdout.splitlines() if line.startswith("  ")]
    assert {line[0] for line in lines} >= {"moderator", "display", "participant", "garcetti", "lopez"}
    assert len(lines) == 3 + 45


def test_create_event_lines_the_tokens_up_whatever_the_ids_length(cli, tmp_path: Path) -> None:
    result = cli("modconsole-server", "create-event", MAYORS_CALL, "--db", tmp_path / "events.db")
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("  ")]
    assert any(line.startswith("  dar-es-salaam ") for line in rows)  # 13 characters, the longest id
    # Every token starts in the same column, one space at least after the longest label.
    columns = {line.index("mc_") for line in rows}
    assert len(columns) == 1, rows
    assert columns == {2 + len("dar-es-salaam") + 2}
    # Each person's name follows their token; the event's own tokens have none.
    assert all(re.fullmatch(r"  [a-z-]+ +mc_\S+(  \S.*)?", line) for line in rows)
    assert any(line.startswith("  garcetti ") and line.endswith("  Eric Garcetti") for line in rows)


def _create_event_into_a_closed_pipe(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`create-event ... | head` when head has already gone: the first write finds no reader."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [script("modconsole-server"), "create-event", str(MAYORS_CALL), "--db", str(tmp_path / "events.db"), *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=30,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize("args", [[], ["--json"]])
def test_create_event_says_so_when_its_output_is_cut(tmp_path: Path, args: list[str]) -> None:
    # Before: a BrokenPipeError traceback, after the event was committed and its tokens were gone.
    result = _create_event_into_a_closed_pipe(tmp_path, *args)
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr, result.stderr
    assert result.returncode == 1
    (event_id,) = _events(tmp_path / "events.db")
    (line,) = result.stderr.splitlines()
    assert line.startswith("modconsole-server: the output was cut off")
    assert f"Event {event_id} is in {tmp_path / 'events.db'}" in line
    assert "cannot be shown again" in line and "--json > tokens.json" in line


def test_schema_and_report_end_quietly_when_their_output_is_cut(tmp_path: Path, mayors_agenda) -> None:
    db = tmp_path / "events.db"
    store = SqliteStore(db)
    create_event(store, mayors_agenda)
    store.close()
    for args in (["schema"], ["report", "--db", str(db)]):
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            result = subprocess.run(
                [script("modconsole-server"), *args], stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=30
            )
        finally:
            os.close(write_end)
        assert (result.returncode, result.stderr) == (0, ""), args


def test_create_event_reads_the_csv_agenda_too(cli, tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    result = cli("modconsole-server", "create-event", ROOT / "examples" / "mayors-call.csv", "--db", db, "--json")
    assert result.returncode == 0, result.stderr
    assert len(_events(db)) == 1


BROKEN = {
    "broken.toml": '[event]\ntitle = "Broken"\ntimezone = "Asia/Seoul"\n[[sessions]\n',
    "no-zone.toml": '[event]\ntitle = "No zone"\ntimezone = "Mars/Olympus"\n',
    "bad-duration.toml": MAYORS_CALL.read_text(encoding="utf-8").replace('duration = "10m"', 'duration = "ten"'),
    "agenda.txt": "not an agenda",
    "missing.toml": None,
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_broken_agenda_creates_nothing(cli, tmp_path: Path, name: str) -> None:
    agenda = tmp_path / name
    if BROKEN[name] is not None:
        agenda.write_text(BROKEN[name], encoding="utf-8")
    fresh = tmp_path / "new-folder" / "fresh.db"
    result = cli("modconsole-server", "create-event", agenda, "--db", fresh, "--json")
    assert result.returncode == 2
    assert name in result.stderr
    assert result.stdout == ""
    assert not fresh.parent.exists()


def test_a_broken_agenda_leaves_a_used_database_alone(cli, tmp_path: Path, mayors_agenda) -> None:
    used = tmp_path / "used.db"
    store = SqliteStore(used)
    create_event(store, mayors_agenda)
    store.close()
    before = _events(used)
    agenda = tmp_path / "broken.toml"
    agenda.write_text(BROKEN["bad-duration.toml"], encoding="utf-8")
    result = cli("modconsole-server", "create-event", agenda, "--db", used, "--json")
    assert result.returncode == 2
    assert f"{agenda}:" in result.stderr and "duration" in result.stderr
    assert _events(used) == before


def test_schema_prints_valid_json(cli) -> None:
    result = cli("modconsole-server", "schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert {"client_to_server", "server_to_client"} <= set(schema)
    text = json.dumps(schema)
    for frame in ("hello", "ping", "next", "add_time", "welcome", "events", "reset", "ack", "error", "pong"):
        assert f'"{frame}"' in text, frame


def test_serve_refuses_a_missing_database(cli, tmp_path: Path) -> None:
    db = tmp_path / "nothing-here.db"
    result = cli("modconsole-server", "serve", "--db", db, "--port", "0")
    assert result.returncode == 2
    assert str(db) in result.stderr and "create-event" in result.stderr
    assert not db.exists()


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["--time-scale", "0"], "--time-scale must be positive"),
        (["--time-scale", "-5"], "--time-scale must be positive"),
        (["--certfile", "cert.pem"], "--certfile and --keyfile go together"),
    ],
)
def test_serve_refuses_bad_options(cli, tmp_path: Path, mayors_agenda, args: list[str], why: str) -> None:
    db = tmp_path / "events.db"
    store = SqliteStore(db)
    create_event(store, mayors_agenda)
    store.close()
    result = cli("modconsole-server", "serve", "--db", db, "--port", "0", *args)
    assert result.returncode == 2
    assert why in result.stderr


def test_serve_refuses_a_port_in_use(cli, cli_server) -> None:
    result = cli("modconsole-server", "serve", "--db", cli_server.db, "--port", str(cli_server.port))
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{cli_server.port}" in result.stderr


def test_serve_names_the_events_it_serves(cli_server) -> None:
    """After "listening on", a line for each event: which one a token belongs to is not a guess."""
    assert cli_server.process.stdout is not None
    line = cli_server.process.stdout.readline()
    event_id = cli_server.event_id
    assert line == (
        f"  event {event_id}: COVID-19 cooperative countermeasures: C40 mayors' video conference (2 log entries)\n"
    ), line
