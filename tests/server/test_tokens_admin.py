"""`modconsole-server tokens` and `copy-event`: who holds which token, reissue and revoke against a server
running in another process, named moderators (limited to sessions, named in the log), and a rehearsal on a
copy that leaves the original's log untouched."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.processes import stop_server
from support.servers import MAYORS_CALL, CliServer, log_rows, read_log, run_cli, script

from modconsole.client import ClientError, CommandRefused, MeetingClient
from modconsole.core import commands as c
from modconsole.server.reports import build_report, render


def _tokens(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("modconsole-server", "tokens", *args, "--db", db)


def _json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


async def _closed(client: MeetingClient, timeout: float = 5.0) -> int | None:
    await asyncio.wait_for(client.closed.wait(), timeout)
    return client.close_code


def _serve(db: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [script("modconsole-server"), "serve", "--db", str(db), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.fullmatch(r"listening on (ws://127\.0\.0\.1:\d+)\s*", line)
    assert match, f"the server did not start: {line!r}"
    return process, match.group(1)


# --- list --------------------------------------------------------------------------------------------


def test_tokens_list_names_the_holders_and_never_shows_a_token(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    created = _json(run_cli("modconsole-server", "create-event", MAYORS_CALL, "--db", db, "--json"))
    listed = _json(_tokens(db, "list", "--json"))
    assert listed["event_id"] == created["event_id"]
    holders = {(t["role"], t["person"]): t for t in listed["tokens"]}
    assert {("moderator", None), ("display", None), ("participant", None), ("speaker", "garcetti")} <= set(holders)
    assert holders["speaker", "garcetti"]["name"] == "Eric Garcetti"
    assert len(listed["tokens"]) == 3 + 45
    text = _tokens(db, "list").stdout
    secrets = [created["tokens"][k] for k in ("moderator", "display", "participant")]
    secrets += created["tokens"]["people"].values()
    for secret in secrets:
        assert secret not in text and secret not in json.dumps(listed)
    assert "Eric Garcetti" in text


def test_create_event_names_each_person_beside_their_token(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    created = _json(run_cli("modconsole-server", "create-event", MAYORS_CALL, "--db", db, "--json"))
    assert set(created) == {"event_id", "tokens", "names"}
    assert created["names"]["garcetti"] == "Eric Garcetti" and set(created["names"]) == set(created["tokens"]["people"])
    text = run_cli("modconsole-server", "create-event", MAYORS_CALL, "--db", tmp_path / "f.db").stdout
    (line,) = [line for line in text.splitlines() if line.split()[:1] == ["garcetti"]]
    assert line.split()[1].startswith("mc_") and line.split()[2:] == ["Eric", "Garcetti"]


# --- reissue and revoke against a running server ----------------------------------------------------------


async def test_a_reissued_token_refuses_the_old_one_and_closes_its_connections(cli_server: CliServer) -> None:
    tokens = cli_server.tokens["tokens"]
    old_display = MeetingClient(cli_server.url, tokens["display"], client="stage")
    old_speaker = MeetingClient(cli_server.url, tokens["people"]["garcetti"], client="garcetti")
    moderator = MeetingClient(cli_server.url, tokens["moderator"], client="chair")
    for client in (old_display, old_speaker, moderator):
        await client.connect()
    try:
        display = _json(_tokens(cli_server.db, "reissue", "display", "--json"))
        assert display["role"] == "display" and display["person"] is None and display["token"] != tokens["display"]
        speaker = _json(_tokens(cli_server.db, "reissue", "Eric Garcetti", "--json"))  # by name, folded
        assert (speaker["person"], speaker["role"]) == ("garcetti", "speaker")
        assert set(speaker) == {"person", "role", "token"}
        # The open connections of the old tokens close with 1008 (the server polls the store); the others stay.
        assert await _closed(old_display) == 1008
        assert await _closed(old_speaker) == 1008
        for old in (tokens["display"], tokens["people"]["garcetti"]):
            with pytest.raises(ClientError) as refused:
                await MeetingClient(cli_server.url, old).connect()
            assert refused.value.code == "unauthorized"
        fresh = MeetingClient(cli_server.url, speaker["token"])
        welcome = await fresh.connect()
        assert welcome.role == "speaker" and welcome.person is not None and welcome.person.id == "garcetti"
        await fresh.close()
        assert moderator.connected
        await moderator.command(c.Start())
    finally:
        for client in (old_display, old_speaker, moderator):
            await client.close()


async def test_a_revoked_token_stops_at_once(cli_server: CliServer) -> None:
    tokens = cli_server.tokens["tokens"]
    participant = MeetingClient(cli_server.url, tokens["participant"], name="Ana Lima")
    welcome = await participant.connect()
    assert welcome.person is not None
    try:
        result = _tokens(cli_server.db, "revoke", "participant")
        assert result.returncode == 0, result.stderr
        # The event-wide token no longer lets anyone join; Ana joined already and holds a credential of her own.
        with pytest.raises(ClientError) as refused:
            await MeetingClient(cli_server.url, tokens["participant"], name="Bo Chen").connect()
        assert refused.value.code == "unauthorized"
        await asyncio.sleep(1.0)  # two polls of the server's
        assert participant.connected
        # Her own credential, revoked by her id: her connection closes with 1008.
        result = _tokens(cli_server.db, "revoke", welcome.person.id)
        assert result.returncode == 0, result.stderr
        assert await _closed(participant) == 1008
    finally:
        await participant.close()


def test_revoke_and_reissue_refuse_what_is_not_there(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    _json(run_cli("modconsole-server", "create-event", MAYORS_CALL, "--db", db, "--json"))
    unknown = _tokens(db, "reissue", "nobody")
    assert unknown.returncode == 2 and "no token held by 'nobody'" in unknown.stderr
    assert _tokens(db, "revoke", "display").returncode == 0
    again = _tokens(db, "revoke", "display")
    assert again.returncode == 2 and "revoked already" in again.stderr
    # A revoked kind may be issued again.
    assert _json(_tokens(db, "reissue", "display", "--json"))["role"] == "display"
    listed = _json(_tokens(db, "list", "--json"))["tokens"]
    assert sum(1 for t in listed if t["role"] == "display") == 1


# --- named moderators ---------------------------------------------------------------------------------------


async def test_a_named_moderator_limited_to_a_session_is_named_in_the_log_and_the_report(tmp_path: Path) -> None:
    db = tmp_path / "halls.db"
    agenda = tmp_path / "halls.toml"
    agenda.write_text(
        """
[event]
title = "Two halls"
timezone = "Europe/Berlin"

[[people]]
id = "ada"
name = "Ada Lovelace"

[[sessions]]
id = "hall-a"
title = "Hall A"
start = 2030-05-04T09:00:00

[[sessions.items]]
title = "Opening A"
duration = "10m"

[[sessions]]
id = "hall-b"
title = "Hall B"
start = 2030-05-04T09:00:00

[[sessions.items]]
title = "Opening B"
duration = "10m"
""",
        encoding="utf-8",
    )
    created = _json(run_cli("modconsole-server", "create-event", agenda, "--db", db, "--json"))
    anna = _json(_tokens(db, "add-moderator", "Anna Berg", "--session", "hall-a", "--json"))
    assert (anna["person"], anna["role"]) == ("mod-anna-berg", "moderator")
    bea = _json(_tokens(db, "add-moderator", "Bea Kurz", "--id", "bea", "--session", "hall-b", "--json"))
    bad = _tokens(db, "add-moderator", "Cleo", "--session", "hall-z")
    assert bad.returncode == 2 and "no session 'hall-z'" in bad.stderr
    twice = _tokens(db, "add-moderator", "Bea Again", "--id", "bea")
    assert twice.returncode == 2 and "moderator already" in twice.stderr
    listed = {t["person"]: t for t in _json(_tokens(db, "list", "--json"))["tokens"]}
    assert listed["mod-anna-berg"]["sessions"] == ["hall-a"] and listed["mod-anna-berg"]["name"] == "Anna Berg"

    process, url = _serve(db)
    a = MeetingClient(url, anna["token"], client="hall-a-console")
    b = MeetingClient(url, bea["token"], client="hall-b-console")
    try:
        await a.connect()
        await b.connect()
        await a.command(c.Start())  # no session named: hall A, Anna's own
        await b.command(c.Start())  # hall B, Bea's
        with pytest.raises(CommandRefused) as refused:
            await a.command(c.Next(session="hall-b"))
        assert refused.value.code == "forbidden" and "hall-a" in str(refused.value)
        await a.command(c.Extend(delta_s=300))  # hall A's session, by Anna
        await a.wait_for(lambda s: all(x.status == "running" for x in s.sessions))
    finally:
        await a.close()
        await b.close()
        stop_server(process)
    started = {e.event.session: e.actor for e in read_log(db, created["event_id"]) if e.event.type == "session_started"}
    assert (started["hall-a"].role, started["hall-a"].person) == ("moderator", "mod-anna-berg")
    assert started["hall-b"].person == "bea"
    report = render(build_report(read_log(db, created["event_id"])), "md")
    assert "mod-anna-berg (moderator)" in report  # who extended hall A


# --- copy-event: rehearse on a copy ------------------------------------------------------------------------


async def test_a_rehearsal_on_a_copy_leaves_the_original_untouched_and_the_tokens_work_on_both(
    tmp_path: Path,
) -> None:
    db, copy = tmp_path / "event.db", tmp_path / "rehearsal.db"
    created = _json(run_cli("modconsole-server", "create-event", MAYORS_CALL, "--db", db, "--json"))
    event_id = created["event_id"]
    result = run_cli("modconsole-server", "copy-event", "--db", db, "--to", copy)
    assert result.returncode == 0, result.stderr
    assert "the same tokens work on the copy" in result.stdout
    again = run_cli("modconsole-server", "copy-event", "--db", db, "--to", copy)
    assert again.returncode == 2 and "exists" in again.stderr
    before = [e.event_json for e in read_log(db, event_id)]
    assert log_rows(copy) == 1

    process, url = _serve(copy)
    try:
        moderator = MeetingClient(url, created["tokens"]["moderator"], client="rehearsal")
        speaker = MeetingClient(url, created["tokens"]["people"]["garcetti"], client="garcetti")
        await moderator.connect()
        await speaker.connect()
        await moderator.command(c.Start())
        await speaker.command(c.Raise())
        await moderator.command(c.Floor())
        await moderator.command(c.End())
        await moderator.close()
        await speaker.close()
    finally:
        stop_server(process)
    rehearsed = read_log(copy, event_id)
    assert [e.event.type for e in rehearsed][:1] == ["event_created"]
    assert {"session_started", "session_ended"} <= {e.event.type for e in rehearsed}
    assert [e.event_json for e in read_log(db, event_id)] == before  # the original: not one entry more

    process, url = _serve(db)  # and the real event can still start, with the same tokens
    try:
        moderator = MeetingClient(url, created["tokens"]["moderator"], client="chair")
        await moderator.connect()
        await moderator.command(c.Start())
        await moderator.close()
    finally:
        stop_server(process)


def test_copy_event_refuses_an_unknown_event_and_leaves_no_file(tmp_path: Path) -> None:
    db, copy = tmp_path / "event.db", tmp_path / "rehearsal.db"
    _json(run_cli("modconsole-server", "create-event", MAYORS_CALL, "--db", db, "--json"))
    result = run_cli("modconsole-server", "copy-event", "--db", db, "--to", copy, "--event", "nope")
    assert result.returncode == 2 and "no event 'nope'" in result.stderr
    assert not copy.exists()


def test_a_name_with_control_characters_is_printed_escaped(tmp_path: Path) -> None:
    agenda = tmp_path / "hostile.toml"
    agenda.write_text(
        MAYORS_CALL.read_text(encoding="utf-8").replace('name = "Eric Garcetti"', 'name = "Eric\\u001b[2JGarcetti"'),
        encoding="utf-8",
    )
    db = tmp_path / "e.db"
    created = run_cli("modconsole-server", "create-event", agenda, "--db", db)
    assert created.returncode == 0, created.stderr
    listed = _tokens(db, "list")
    for output in (created.stdout, listed.stdout):
        assert "\x1b" not in output and "Eric\\x1b[2JGarcetti" in output
