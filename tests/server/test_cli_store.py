"""`--store postgresql://...` and $MODCONSOLE_STORE on the commands that take `--db`, and their refusals.

SQLite stays the default: without either, `--db`, $MODCONSOLE_DB or the user data directory's file is used.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest
from support.postgres import free_port
from support.servers import MAYORS_CALL, script
from support.shared_servers import SharedServers

from modconsole.client import MeetingClient
from modconsole.core import commands as c


def test_create_event_and_report_on_postgresql(cli, pg_url: str) -> None:
    created = cli("modconsole-server", "create-event", MAYORS_CALL, "--store", pg_url, "--json")
    assert created.returncode == 0, created.stderr
    event_id = json.loads(created.stdout)["event_id"]
    report = cli("modconsole-server", "report", "--store", pg_url, "--format", "json")
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout)["event_id"] == event_id


def test_the_store_may_come_from_the_environment(cli, pg_url: str, tmp_path: Path) -> None:
    env = {"MODCONSOLE_STORE": pg_url, "MODCONSOLE_DB": str(tmp_path / "unused.db")}
    created = cli("modconsole-server", "create-event", MAYORS_CALL, env=env)
    assert created.returncode == 0, created.stderr
    assert "postgresql://postgres@127.0.0.1" in created.stdout  # where it went, said
    assert not (tmp_path / "unused.db").exists()
    report = cli("modconsole-server", "report", env=env)
    assert report.returncode == 0 and report.stdout.startswith("#"), report.stderr
    # --db on the command line wins over the environment: SQLite as before.
    db = tmp_path / "local.db"
    local = cli("modconsole-server", "create-event", MAYORS_CALL, "--db", db, env=env)
    assert local.returncode == 0 and db.exists(), local.stderr


async def test_serve_with_the_store_from_the_environment(pg_url: str) -> None:
    servers = SharedServers(pg_url)
    from support.shared_servers import create_event

    servers.created = create_event(pg_url)
    process = subprocess.Popen(
        [script("modconsole-server"), "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"MODCONSOLE_STORE": pg_url, "PATH": "/usr/bin:/bin"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        port = int(line.rsplit(":", 1)[1])
        assert "shared with the other servers" in process.stdout.readline()
        async with MeetingClient(f"ws://127.0.0.1:{port}", servers.tokens["moderator"]) as client:
            ack = await client.command(c.Start())
        assert ack.seq in {e.seq for e in servers.log()}
    finally:
        process.terminate()
        process.wait(10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.parametrize("command", [["create-event", str(MAYORS_CALL)], ["serve", "--port", "0"], ["report"]])
def test_refusals_name_what_is_wrong(cli, command: list[str], tmp_path: Path) -> None:
    both = cli("modconsole-server", *command, "--db", tmp_path / "x.db", "--store", "postgresql://h/db")
    assert both.returncode == 2 and "not both" in both.stderr
    sqlite_given = cli("modconsole-server", *command, "--store", str(tmp_path / "x.db"))
    assert sqlite_given.returncode == 2 and "takes a PostgreSQL address" in sqlite_given.stderr
    from_env = cli("modconsole-server", *command, env={"MODCONSOLE_STORE": "mysql://h/db"})
    assert from_env.returncode == 2 and "$MODCONSOLE_STORE takes a PostgreSQL address" in from_env.stderr
    nobody = f"postgresql://postgres:hunter2@127.0.0.1:{free_port()}/none"
    unreachable = cli("modconsole-server", *command, "--store", nobody)
    assert unreachable.returncode == 2 and "cannot reach the database" in unreachable.stderr
    assert "hunter2" not in unreachable.stderr


def test_backup_of_postgresql_points_to_pg_dump(cli) -> None:
    done = cli("modconsole-server", "backup", "--store", "postgresql://postgres@127.0.0.1/x", "--to", "/tmp/never")
    assert done.returncode == 2 and "pg_dump" in done.stderr


@pytest.mark.parametrize("command", ["create-event", "serve", "report", "backup", "copy-event", "tokens list"])
def test_help_tells_of_the_store(cli, command: str) -> None:
    shown = cli("modconsole-server", *command.split(), "--help")
    assert shown.returncode == 0 and "--store URL" in shown.stdout


def test_tokens_and_copy_event_on_postgresql(cli, pg_url: str, tmp_path: Path) -> None:
    created = cli("modconsole-server", "create-event", MAYORS_CALL, "--store", pg_url, "--json")
    assert created.returncode == 0, created.stderr
    listed = cli("modconsole-server", "tokens", "list", "--store", pg_url, "--json")
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)["tokens"]) == 3 + 45
    copy = tmp_path / "rehearsal.db"
    copied = cli("modconsole-server", "copy-event", "--store", pg_url, "--to", copy)
    assert copied.returncode == 0 and copy.exists(), copied.stderr
    again = cli("modconsole-server", "tokens", "list", "--db", copy, "--json")
    assert len(json.loads(again.stdout)["tokens"]) == 3 + 45  # the same tokens work on the copy


async def test_a_token_revoked_on_postgresql_closes_its_connections_on_every_process(cli, pg_url: str) -> None:
    from support.shared_servers import create_event

    servers = SharedServers(pg_url, create_event(pg_url))
    try:
        a, b = servers.start(), servers.start()
        displays = [MeetingClient(url, servers.tokens["display"]) for url in (a.url, b.url)]
        for display in displays:
            await display.connect()
        revoked = cli("modconsole-server", "tokens", "revoke", "display", "--store", pg_url)
        assert revoked.returncode == 0, revoked.stderr
        for display in displays:
            await asyncio.wait_for(display.closed.wait(), 5)
            assert display.close_code == 1008
    finally:
        servers.stop_all()
