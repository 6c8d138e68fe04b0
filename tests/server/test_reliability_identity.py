"""A participant is someone, not a name: the first join with the event-wide token issues a personal
credential; the same name typed again is another person, shown apart; a name that reads like a listed
person's or a role's is refused; the audience is bounded per event and per address; snapshots carry only
the participants the state speaks of, and no roster tags to the audience; actors never carry addresses.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from support.servers import run_cli

from modconsole.client import ClientError, CommandRefused, MeetingClient
from modconsole.core import commands as c
from modconsole.core.names import PARTICIPANT_MARK, clean_name, fold_name, numbered, shown_name
from modconsole.credentials import Credentials

# --- names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "\u3164",  # HANGUL FILLER: looks like nothing, is a letter
        "Ana\u3164Lima",
        "\u2800\u2800",  # braille blanks
        "A" + "\u0301" * 8,  # a combining-mark flood
        "Ana\u200dLima",  # zero-width joiner
        "Ana\u2066Lima",  # an isolate that reorders what follows
        "...",  # no letter at all
    ],
)
def test_invisible_and_flooded_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        clean_name(name)


@pytest.mark.parametrize(
    ("raw", "taken"),
    [
        ("Ana   Lima", "Ana Lima"),  # runs of spaces collapse
        ("Ana\u3000Lima", "Ana Lima"),  # ideographic space
        ("Nguyễn Thị Minh Khai", "Nguyễn Thị Minh Khai"),
        ("مُحَمَّد", "مُحَمَّد"),  # Arabic with its harakat
        ("王伟", "王伟"),
    ],
)
def test_real_names_of_every_script_are_taken(raw: str, taken: str) -> None:
    assert clean_name(raw) == taken


@pytest.mark.parametrize(
    "lookalike",
    [
        "Eric Garcetti",
        "eric garcetti",
        "ERIC  GARCETTI",
        "Еric Garcetti",  # Cyrillic Е
        "Erіc Garcetti",  # Cyrillic і
        "Éric Garcetti",
        "Eric-Garcetti",
        "Ｅｒｉｃ Ｇａｒｃｅｔｔｉ",  # full-width
    ],
)
def test_lookalikes_fold_to_one_key(lookalike: str) -> None:
    assert fold_name(lookalike) == fold_name("Eric Garcetti") == "ericgarcetti"


def test_numbering_skips_names_already_taken() -> None:
    taken = {fold_name("Wang Wei"), fold_name("Wang Wei (2)")}
    assert numbered("Wang Wei", taken) == "Wang Wei (3)"
    assert numbered("Li Na", taken) == "Li Na"
    assert shown_name("Wang Wei (3)", True) == f"{PARTICIPANT_MARK} Wang Wei (3)"
    assert shown_name("Eric Garcetti", False) == "Eric Garcetti"


# --- the same name is two people ---------------------------------------------------------------------


async def test_the_same_name_is_two_participants_and_messages_reach_one(server, connect) -> None:
    moderator = await connect(server.url, server.tokens.moderator, label="moderator")
    alice = await connect(server.url, server.tokens.participant, name="Alice Tester", label="alice")
    other = await connect(server.url, server.tokens.participant, name="ALICE TESTER", label="other")
    assert alice.welcome is not None and other.welcome is not None
    assert alice.welcome.person is not None and other.welcome.person is not None
    alice_id, other_id = alice.welcome.person.id, other.welcome.person.id
    assert alice_id != other_id
    assert (alice.welcome.person.name, other.welcome.person.name) == ("Alice Tester", "ALICE TESTER (2)")

    await moderator.command(c.Start())
    await alice.command(c.Raise(kind="question"))
    await moderator.command(c.SendMessage(text="Alice, you are next", to=alice_id))
    await alice.wait_for(lambda s: any(m.to == alice_id for m in s.messages))
    await other.ping()  # the server has sent other everything before its pong
    assert other.state is not None and not [m for m in other.state.messages if m.to == alice_id]
    # The namesake can neither acknowledge Alice's message nor lower her hand.
    with pytest.raises(CommandRefused):
        await other.command(c.Ack())
    with pytest.raises(CommandRefused):
        await other.command(c.Lower())
    session = server.state.sessions[0]
    assert [h.person for h in session.items[session.current].queue] == [alice_id]  # type: ignore[index]
    assert not server.state.messages[0].acknowledged

    # Each keeps their own credential: a reconnect is the same person, without a name.
    again = MeetingClient(server.url, alice.token, client="alice-again")
    async with again:
        assert again.welcome is not None and again.welcome.person is not None
        assert again.welcome.person.id == alice_id
        assert again.state is not None and [m.to for m in again.state.messages] == [alice_id]
    for client in (moderator, alice):
        await server.settled(client)


@pytest.mark.parametrize(
    "name", ["Eric Garcetti", "eric  GARCETTI", "Еric Garcetti", "Erіc Garcetti", "Moderator", "CHAIR"]
)
async def test_a_name_that_reads_like_a_listed_person_or_a_role_is_refused(server, name: str) -> None:
    rows = server.log_rows()
    with pytest.raises(ClientError) as refused:
        await MeetingClient(server.url, server.tokens.participant, name=name).connect()
    assert refused.value.code == "invalid"
    assert "your own name" in refused.value.message
    assert server.log_rows() == rows
    assert server.store.participant_names(server.event_id) == []


# --- bounds --------------------------------------------------------------------------------------------


async def test_participants_past_the_cap_are_refused_and_those_in_still_join(start_server, connect) -> None:
    srv = await start_server(max_participants=3)
    joined = [await connect(srv.url, srv.tokens.participant, name=f"Guest {n}") for n in range(3)]
    with pytest.raises(ClientError) as refused:
        await MeetingClient(srv.url, srv.tokens.participant, name="Guest 3").connect()
    assert refused.value.code == "forbidden" and "3 participants" in refused.value.message
    assert len(srv.store.participant_names(srv.event_id)) == 3
    # Those already in come back with their credentials.
    back = await connect(srv.url, joined[0].token)
    assert back.welcome is not None and back.welcome.person == joined[0].welcome.person  # type: ignore[union-attr]


async def test_registrations_from_one_address_are_paced(start_server) -> None:
    srv = await start_server(registrations_per_minute=2)
    for n in range(2):
        async with MeetingClient(srv.url, srv.tokens.participant, name=f"Venue guest {n}"):
            pass
    with pytest.raises(ClientError) as refused:
        await MeetingClient(srv.url, srv.tokens.participant, name="Venue guest 2").connect()
    assert refused.value.code == "rate_limited"
    assert len(srv.store.participant_names(srv.event_id)) == 2


# --- snapshots ----------------------------------------------------------------------------------------


async def test_snapshots_carry_only_participants_spoken_of_and_no_tags_for_the_audience(server, connect) -> None:
    moderator = await connect(server.url, server.tokens.moderator, label="moderator")
    await moderator.command(c.Start())
    ana = await connect(server.url, server.tokens.participant, name="Ana Lima", label="ana")
    bo = await connect(server.url, server.tokens.participant, name="Bo Chen", label="bo")
    await ana.command(c.Raise())
    await bo.command(c.Raise())
    await bo.command(c.Lower())
    assert set(server.state.participants) == {ana.welcome.person.id, bo.welcome.person.id}  # type: ignore[union-attr]

    late = await connect(server.url, server.tokens.participant, name="Late Comer", label="late")
    assert late.state is not None and set(late.state.participants) == {ana.welcome.person.id}  # type: ignore[union-attr]
    assert late.state.agenda is not None and all(not p.tags for p in late.state.agenda.people)
    # The moderator's snapshot keeps the tags (for the shares by gender and country) but not Bo either.
    mod2 = await connect(server.url, server.tokens.moderator, label="moderator-2")
    assert mod2.state is not None and set(mod2.state.participants) == {ana.welcome.person.id}  # type: ignore[union-attr]
    assert mod2.state.agenda is not None and any(p.tags for p in mod2.state.agenda.people)

    # Bo raising again registers again, so the late comer learns the name the hand belongs to.
    await bo.command(c.Raise())
    bo_id = bo.welcome.person.id  # type: ignore[union-attr]
    state = await late.wait_for(lambda s: bo_id in s.participants)
    assert state.participants[bo_id].name == "Bo Chen"
    for client in (moderator, ana, bo, late, mod2):
        await server.settled(client)


async def test_an_unlabelled_client_is_not_shown_by_its_address(server, connect) -> None:
    moderator = await connect(server.url, server.tokens.moderator, label="moderator")
    await moderator.command(c.Start())
    bare = MeetingClient(server.url, server.tokens.participant, name="Ana Lima", client="")
    async with bare:
        await bare.command(c.Raise())
    assert all("127.0.0.1" not in e.actor.client and ":" not in e.actor.client for e in server.read_log())
    assert {e.actor.client for e in server.read_log() if e.actor.role == "participant"} == {"unlabelled"}


# --- the credential is kept ---------------------------------------------------------------------------


def test_ctl_keeps_the_credential_and_asks_the_name_only_once(cli_server, tmp_path: Path) -> None:
    kept = tmp_path / "home" / "credentials.json"
    env = {"MODCONSOLE_CREDENTIALS": str(kept)}
    token = cli_server.tokens["tokens"]["participant"]
    assert cli_server.ctl("start", token=cli_server.tokens["tokens"]["moderator"]).returncode == 0
    first = cli_server.ctl("raise", "--name", "Amina Diallo", token=token, env=env)
    assert first.returncode == 0, first.stderr
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o600
    assert token not in kept.read_text()  # only a hash of the event-wide token is kept
    # Without --name: the same person (their hand is lowered, nobody else's can be).
    second = cli_server.ctl("lower", "--json", token=token, env=env)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["ok"] is True
    with sqlite3.connect(cli_server.db) as db:
        people = {row[0] for row in db.execute("SELECT person FROM log WHERE type IN ('hand_raised','hand_lowered')")}
        issued = db.execute("SELECT count(*) FROM tokens WHERE role='participant' AND person IS NOT NULL").fetchone()
    assert len(people) == 1 and issued == (1,)
    assert Credentials(kept).name(cli_server.url, token) == "Amina Diallo"
    # A namesake on another machine is someone else.
    other = run_cli(
        "modconsole",
        "ctl",
        cli_server.url,
        "--token",
        token,
        "--name",
        "Amina Diallo",
        "raise",
        env={"MODCONSOLE_CREDENTIALS": str(tmp_path / "other" / "credentials.json")},
    )
    assert other.returncode == 0, other.stderr
    with sqlite3.connect(cli_server.db) as db:
        raisers = {row[0] for row in db.execute("SELECT person FROM log WHERE type='hand_raised'")}
    assert len(raisers) == 2


# --- tokens off the command line ----------------------------------------------------------------------


def test_ctl_reads_the_token_from_a_file_and_refuses_an_empty_one(cli_server, tmp_path: Path) -> None:
    token_file = tmp_path / "moderator.token"
    token_file.write_text(cli_server.tokens["tokens"]["moderator"] + "\n")
    token_file.chmod(0o600)
    state = cli_server.ctl("state", "--json", "--token-file", str(token_file))
    assert state.returncode == 0, state.stderr
    assert json.loads(state.stdout)["event_id"] == cli_server.event_id

    empty = tmp_path / "empty.token"
    empty.write_text("\n  \n")
    refused = cli_server.ctl("state", "--token-file", str(empty))
    assert refused.returncode == 2 and "is empty" in refused.stderr
    both = cli_server.ctl("state", "--token-file", str(token_file), token="mc_x")
    assert both.returncode == 2 and "not both" in both.stderr
    missing = cli_server.ctl("state", "--token-file", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "cannot read the token file" in missing.stderr
