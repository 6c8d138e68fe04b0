"""`modconsole ctl` edits the rundown live: item-add, item-edit, item-remove, item-move, session-add,
session-edit and person-add against a `modconsole-server serve` process; `--json` prints what changed, and
a person added live gets a speaker token that opens a speaker's connection."""

from __future__ import annotations

import json
from typing import Any


def _json(result) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["ok"] is True
    return answer


def _items(srv, moderator: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    result = srv.ctl("state", "--json", token=moderator)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["sessions"][0]["items"]


def test_ctl_edits_the_rundown(cli_server) -> None:  # type: ignore[no-untyped-def]
    srv = cli_server
    moderator = srv.tokens["tokens"]["moderator"]
    assert srv.ctl("start", token=moderator).returncode == 0

    added = _json(
        srv.ctl(
            "item-add",
            "Any other business",
            "--duration",
            "5m",
            "--before",
            "closing",
            "--kind",
            "discussion",
            "--turn-limit",
            "1m",
            "--json",
            token=moderator,
        )
    )
    item = added["item"]
    assert (item["id"], item["planned_duration_s"], item["kind"], item["status"]) == (
        "any-other-business",
        300,
        "discussion",
        "pending",
    )
    items = _items(srv, moderator)
    assert [i["id"] for i in items][-2:] == ["any-other-business", "closing"]
    for view in items:  # the plan: every item has its planned duration and start, and a projected start
        assert {"planned_duration_s", "planned_start", "projected_start"} <= set(view)
    aob = items[-2]
    assert aob["projected_start"] is not None and aob["planned_start"] < items[-1]["planned_start"]

    edited = _json(
        srv.ctl(
            "item-edit",
            "any-other-business",
            "--speakers",
            "garcetti",
            "--duration",
            "6m",
            "--turn-limit",
            "none",
            "--json",
            token=moderator,
        )
    )
    assert edited["item"]["speakers"] == ["garcetti"] and edited["item"]["planned_duration_s"] == 360
    moved = _json(srv.ctl("item-move", "any-other-business", "--after", "seoul-briefing", "--json", token=moderator))
    assert moved["item"]["id"] == "any-other-business"
    assert [i["id"] for i in _items(srv, moderator)][:3] == ["opening", "seoul-briefing", "any-other-business"]

    # Refusals: typed, naming what is wrong, exit status 1.
    refused = srv.ctl("item-remove", "opening", token=moderator)
    assert refused.returncode == 1 and "refused (invalid_state)" in refused.stderr and "skip it" in refused.stderr
    refused = srv.ctl("item-move", "closing", "--first", token=moderator)
    assert refused.returncode == 1 and "already run" in refused.stderr
    refused = srv.ctl("item-add", "Dup", "--duration", "1m", "--id", "closing", token=moderator)
    assert refused.returncode == 1 and "duplicate id" in refused.stderr
    bad = srv.ctl("item-add", "Bad", "--duration", "soon", token=moderator)
    assert bad.returncode == 2 and "--duration" in bad.stderr

    removed = _json(srv.ctl("item-remove", "any-other-business", "--json", token=moderator))
    assert removed["removed"] == "any-other-business"
    assert "any-other-business" not in [i["id"] for i in _items(srv, moderator)]


def test_ctl_adds_sessions_and_people(cli_server) -> None:  # type: ignore[no-untyped-def]
    srv = cli_server
    moderator = srv.tokens["tokens"]["moderator"]
    person = _json(
        srv.ctl(
            "person-add",
            "Mayor of Busan",
            "--affiliation",
            "Busan",
            "--tag",
            "country=KR",
            "--json",
            token=moderator,
        )
    )
    assert person["person"] == {
        "id": "mayor-of-busan",
        "name": "Mayor of Busan",
        "affiliation": "Busan",
        "tags": {"country": "KR"},
        "participant": False,
    }
    token = person["token"]
    assert token.startswith("mc_")
    assert token not in srv.db.read_bytes().decode("utf-8", "replace")  # stored as a hash only
    # The new speaker's token opens a speaker's connection.
    as_speaker = srv.ctl("state", token=token)
    assert as_speaker.returncode == 0, as_speaker.stderr

    session = _json(
        srv.ctl(
            "session-add", "debrief", "Debrief", "--start", "2020-03-28T09:00", "--room", "B", "--json", token=moderator
        )
    )
    assert session["session_id"] == "debrief" and session["session"]["id"] == "debrief"
    session = _json(srv.ctl("session-edit", "debrief", "--room", "Hall C", "--json", token=moderator))
    assert session["room"] == "Hall C"
    text = srv.ctl("item-add", "Welcome", "--duration", "5m", "--session", "debrief", token=moderator)
    assert text.returncode == 0 and "item welcome “Welcome”" in text.stdout

    # Undo takes the last edit back.
    assert srv.ctl("undo", "--session", "debrief", token=moderator).returncode == 0
    state = json.loads(srv.ctl("state", "--json", token=moderator).stdout)
    assert state["sessions"][1]["items"] == []
