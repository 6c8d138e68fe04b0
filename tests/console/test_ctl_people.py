"""`modconsole ctl` takes people by a name only one person has (folded: case and accents aside), refuses a name
several people share with the candidates, and shows the ids beside the names in plain `state`."""

from __future__ import annotations

import asyncio
import json

import pytest
from support.servers import replay_log

from modconsole.client import MeetingClient
from modconsole.core import commands as c
from modconsole.core.names import PARTICIPANT_MARK
from modconsole.ctl import AmbiguousPerson, resolve_person
from modconsole.server.events_admin import SYSTEM
from modconsole.server.store import Entry


def _queue(srv) -> list[str]:  # type: ignore[no-untyped-def]
    result = srv.ctl("state", "--json", token=srv.tokens["tokens"]["moderator"])
    assert result.returncode == 0, result.stderr
    return [hand["person"] for hand in json.loads(result.stdout)["sessions"][0]["queue"]]


def test_resolve_person_by_id_whole_name_or_one_word(mayors_agenda) -> None:  # type: ignore[no-untyped-def]
    from modconsole.core.events import EventCreated

    state = replay_log([Entry.make(1, 0, SYSTEM, EventCreated(event_id="e", agenda=mayors_agenda))])
    assert resolve_person(state, "garcetti") == "garcetti"
    assert resolve_person(state, "ÉRIC  garcetti") == "garcetti"
    assert resolve_person(state, "Garcetti") == "garcetti"  # one word of the name, only one person's
    assert resolve_person(state, "claudia lopez") == "lopez"  # the accent aside
    with pytest.raises(AmbiguousPerson) as several:
        resolve_person(state, "mayor")
    assert "Mayor of Delhi [delhi]" in str(several.value) and "give one by its id" in str(several.value)
    assert resolve_person(state, "nobody at all") == "nobody at all"  # the server says it knows no one so


async def test_ctl_takes_a_unique_name_refuses_a_shared_one_and_shows_ids(cli_server) -> None:  # type: ignore[no-untyped-def]
    srv = cli_server
    moderator = srv.tokens["tokens"]["moderator"]
    assert srv.ctl("start", token=moderator).returncode == 0
    result = await asyncio.to_thread(srv.ctl, "queue-add", "Claudia LOPEZ", token=moderator)
    assert result.returncode == 0, result.stderr
    assert _queue(srv) == ["lopez"]

    shared = await asyncio.to_thread(srv.ctl, "queue-add", "Mayor", token=moderator)
    assert shared.returncode == 2 and "names" in shared.stderr and "[delhi]" in shared.stderr
    assert _queue(srv) == ["lopez"]  # nothing sent

    participant = MeetingClient(srv.url, srv.tokens["tokens"]["participant"], name="Ana Lima", client="ana")
    welcome = await participant.connect()
    try:
        assert welcome.person is not None
        await participant.command(c.Raise())
        plain = await asyncio.to_thread(srv.ctl, "state", token=moderator)
        assert plain.returncode == 0, plain.stderr
        assert "Claudia López [lopez]" in plain.stdout
        assert f"Ana Lima [{welcome.person.id}]" in plain.stdout  # the opaque id, to type
        result = await asyncio.to_thread(srv.ctl, "floor", "ana lima", token=moderator)
        assert result.returncode == 0, result.stderr
        assert f"floor: {PARTICIPANT_MARK} Ana Lima [{welcome.person.id}]" in result.stdout
        message = await asyncio.to_thread(srv.ctl, "message", "Thanks", "--to", "Ana Lima", "--json", token=moderator)
        assert message.returncode == 0, message.stderr
        await participant.wait_for(lambda s: any(m.text == "Thanks" and m.to == welcome.person.id for m in s.messages))
    finally:
        await participant.close()
