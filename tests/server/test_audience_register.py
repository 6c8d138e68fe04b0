"""Registrations from a CSV, the invitations, self-registration's country and gender, and attendance as
the server records it (tests/server/test_audience_acceptance.py runs the whole session)."""

from __future__ import annotations

import asyncio
import csv
import json
import time
from pathlib import Path
from typing import Any

import pytest
from support.audience import hello_json, read_invitations
from support.servers import read_log, run_cli
from websockets.asyncio.client import connect as ws_connect

from modconsole.core import commands as c
from modconsole.server.registrants import RegistrantsError, parse_registrants
from modconsole.server.reports import build_report
from modconsole.server.store import SqliteStore

HEADER = "name,email,affiliation,country,gender,sector\n"


def _register(db: Path, csv_path: Path, *extra: str | Path) -> Any:
    return run_cli("modconsole-server", "register", csv_path, "--db", db, *extra)


async def test_register_invites_updates_and_reports_every_bad_row(server: Any, tmp_path: Path, connect: Any) -> None:
    people = tmp_path / "people.csv"
    people.write_text(
        HEADER + "Ana Lima,ana@example.org,City of Rio,Brazil,female,health\n"
        '"=HYPERLINK(""http://x"")",eve@example.org,,CH,prefer not to say,\n',
        encoding="utf-8",
    )
    out = tmp_path / "invitations.csv"
    done = _register(server.db, people, "--invitations", out, "--host", "meet.example.org", "--port", "443")
    assert done.returncode == 0, done.stderr
    assert "2 added, 0 updated" in done.stdout
    assert out.stat().st_mode & 0o777 == 0o600
    rows = read_invitations(out)
    assert [r["email"] for r in rows] == ["ana@example.org", "eve@example.org"]
    assert rows[1]["name"].startswith("'=")  # a spreadsheet does not run it
    token = rows[0]["token"]
    assert rows[0]["link"] == f"http://meet.example.org:443/join#token={token}"
    assert rows[0]["join_command"] == f"modconsole join ws://meet.example.org:443 --token {token}"
    # The token opens the event as that person, with the tags of the list.
    ana = await connect(server.url, token, label="ana")
    assert ana.welcome.role == "participant" and ana.welcome.person.name == "Ana Lima"
    assert ana.welcome.person.tags == {"country": "BR", "gender": "female", "sector": "health"}

    # Again, with Ana's row changed and a new person: one added, one updated, nobody twice.
    people.write_text(
        HEADER + "Ana Lima,ANA@example.org,City of Recife,BR,female,planning\nBo Chen,bo@example.org,,China,male,\n",
        encoding="utf-8",
    )
    again = _register(server.db, people, "--invitations", tmp_path / "more.csv")
    assert again.returncode == 0, again.stderr
    assert "1 added, 1 updated, 0 unchanged" in again.stdout
    assert [r["email"] for r in read_invitations(tmp_path / "more.csv")] == ["bo@example.org"]
    listed = dict(server.store.registrants(server.event_id))
    assert len(listed) == 3 and listed["ana@example.org"].affiliation == "City of Recife"

    # Every bad row in one pass, and nothing imported.
    people.write_text(
        HEADER + "Cy,cy@example.org,,Atlantis,male,\n,nobody,,,,\nDee,ana@example.org,,FR,female,\n"
        "Eli,eli@example.org,,FR,x" + "y" * 50 + ",\n",
        encoding="utf-8",
    )
    bad = _register(server.db, people, "--invitations", tmp_path / "none.csv")
    assert bad.returncode == 2
    for where in ("row 2, column country", "row 3, column name", "row 3, column email", "row 5, column gender"):
        assert where in bad.stderr, bad.stderr
    assert "nothing was imported" in bad.stderr
    assert len(server.store.registrants(server.event_id)) == 3 and not (tmp_path / "none.csv").exists()


def test_a_new_person_without_an_invitations_file_imports_nothing(tmp_path: Path) -> None:
    from support.servers import MAYORS_CALL

    db = tmp_path / "m.db"
    assert run_cli("modconsole-server", "create-event", MAYORS_CALL, "--db", db).returncode == 0
    people = tmp_path / "p.csv"
    people.write_text(HEADER + "Ana Lima,ana@example.org,,BR,,\n", encoding="utf-8")
    done = _register(db, people)
    assert done.returncode == 2 and "--invitations" in done.stderr
    store = SqliteStore(db)
    try:
        assert store.registrants(store.event_ids()[0]) == []
    finally:
        store.close()


def test_the_header_is_checked_before_any_row() -> None:
    with pytest.raises(RegistrantsError) as caught:
        parse_registrants("name,mail,country\nA,a@b.c,CH\n", "e")
    assert "email" in str(caught.value) and "row 1" in str(caught.value)


def test_tokens_invitations_for_the_listed_speakers_and_moderators(server: Any, tmp_path: Path) -> None:
    out = tmp_path / "speakers.csv"
    done = run_cli(
        "modconsole-server", "tokens", "invitations", "--db", server.db, "--moderator", "Chair:chair@c40.org", "-o", out
    )
    assert done.returncode == 0, done.stderr
    rows = read_invitations(out)
    assert rows[0]["role"] == "moderator" and rows[0]["email"] == "chair@c40.org"
    speakers = [r for r in rows if r["role"] == "speaker"]
    assert len(speakers) == len(server.state.agenda.people)
    from modconsole.server.tokens import token_hash

    grant = server.store.grant(token_hash(speakers[0]["token"]))
    assert grant is not None and grant.role == "speaker" and grant.person == server.state.agenda.people[0].id


async def test_self_registration_may_give_a_country_and_a_gender(server: Any) -> None:
    async with ws_connect(server.url) as ws:
        await ws.send(
            hello_json(
                server.tokens.participant, name="Zoe Park", country="Korea, Republic of", gender="Prefer not to say"
            )
        )
        welcome = json.loads(await ws.recv())
    assert welcome["type"] == "welcome" and welcome["person"]["tags"] == {"country": "KR"}
    async with ws_connect(server.url) as ws:
        await ws.send(hello_json(server.tokens.participant, name="Yan Li", country="Narnia"))
        refused = json.loads(await ws.recv())
    assert refused["type"] == "error" and refused["code"] == "bad_frame" and "country" in refused["message"]
    await asyncio.sleep(0.2)
    marks = server.store.attendance(server.event_id)
    assert [(m.kind, m.who.tags if m.who else None) for m in marks if m.kind == "joined"] == [
        ("joined", {"country": "KR"})
    ]


async def test_attendance_survives_a_reconnect_and_counts_in_every_pong(start_server: Any, connect: Any) -> None:
    srv = await start_server(leave_grace_s=0.3)
    sala = await connect(srv.url, srv.tokens.people["sala"], label="sala")
    display = await connect(srv.url, srv.tokens.display, label="wall")
    await display.ping()
    assert display.online_count == 1
    await sala.close()
    await sala.connect()  # back within the grace: no leave, no second join
    await asyncio.sleep(0.5)
    await sala.close()
    deadline = time.monotonic() + 5
    while len(srv.store.attendance(srv.event_id)) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await display.ping()
    marks = srv.store.attendance(srv.event_id)
    assert [(m.kind, m.person) for m in marks] == [("joined", "sala"), ("left", "sala")]
    assert display.online_count == 0
    assert srv.state.seq == display.state.seq  # attendance took no place in the timing log


async def test_a_crash_leaves_nobody_present_at_the_next_start(start_server: Any, tmp_path: Path, connect: Any) -> None:
    srv = await start_server()
    await connect(srv.url, srv.tokens.people["sala"], label="sala")
    await asyncio.sleep(0.2)
    assert [m.kind for m in srv.store.attendance(srv.event_id)] == ["joined"]
    # Another server on the same file, as after a crash: it closes what was left open.
    from modconsole.server.service import MeetingServer

    other = SqliteStore(srv.db)
    try:
        MeetingServer(other).load()
        assert [m.kind for m in other.attendance(srv.event_id)] == ["joined", "left"]
    finally:
        other.close()


async def test_the_live_report_has_the_attendance(server: Any, connect: Any) -> None:
    moderator = await connect(server.url, server.tokens.moderator, label="desk")
    await moderator.command(c.Start())
    await connect(server.url, server.tokens.people["breed"], label="breed")
    await asyncio.sleep(0.2)
    await moderator.command(c.AddTime(delta_s=60))
    text = await moderator.report(fmt="json")
    figures = json.loads(text)["attendance"]
    assert figures["attended"] == 1 and figures["speakers"] == 1
    for key in ("registered", "attended", "peak", "peak_at", "median_present_s", "countries", "by_tag"):
        assert key in figures and key in json.loads(text)["sessions"][0]["attendance"]
    assert build_report(read_log(server.db, server.event_id)).attendance.attended == 0  # the marks are apart


def test_the_invitations_csv_is_plain(tmp_path: Path) -> None:
    from modconsole.server.registrants import Invitation, write_invitations

    text = write_invitations(None, [Invitation("@SUM(A1)", "a@b.c", "participant", "mc_x")], "h", 1)
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == ["name", "email", "role", "token", "join_command", "link"]
    assert rows[1][0] == "'@SUM(A1)" and rows[1][5] == "http://h:1/join#token=mc_x"


def test_the_postgresql_store_keeps_registrants_and_attendance(pg_url: str) -> None:
    from support.shared_servers import create_event

    from modconsole.core.agenda import Person
    from modconsole.core.attendance import joined, left
    from modconsole.server.store_pg import PostgresStore

    event_id = create_event(pg_url)["event_id"]
    store = PostgresStore(pg_url)
    try:
        ana = Person(id="r-1", name="Ana Lima", tags={"country": "BR"}, participant=True)
        store.register_people(event_id, [("Ana@example.org", ana)], [("r-1", "Ana Lima", "h" * 64)])
        store.register_people(event_id, [("ana@example.org", ana.model_copy(update={"affiliation": "Rio"}))], [])
        assert store.registrants(event_id) == [("ana@example.org", ana.model_copy(update={"affiliation": "Rio"}))]
        assert store.registrant(event_id, "r-1") is not None and store.participant_names(event_id) == []
        store.append_attendance(event_id, [joined(1, "r-1", "participant", ana), left(5, "r-1")])
        assert [(m.kind, m.at, m.who) for m in store.attendance(event_id)] == [("joined", 1, ana), ("left", 5, None)]
    finally:
        store.close()
