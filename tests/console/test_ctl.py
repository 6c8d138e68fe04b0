"""`modconsole ctl` against a `modconsole-server serve` process, both as subprocesses."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.servers import read_log


def _iso_with_offset(value: Any) -> bool:
    return isinstance(value, str) and datetime.fromisoformat(value).utcoffset() is not None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _session(srv) -> dict[str, Any]:
    result = srv.ctl("state", "--json", token=srv.tokens["tokens"]["moderator"])
    assert result.returncode == 0, result.stderr
    view = json.loads(result.stdout)
    assert view["event_id"] == srv.event_id
    return view["sessions"][0]


def _ok(result) -> dict[str, Any]:
    """The session view a successful `--json` command prints."""
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["ok"] is True and isinstance(answer["seq"], int)
    return answer["session"]


def test_a_moderator_runs_the_call(cli_server) -> None:
    srv = cli_server
    moderator = srv.tokens["tokens"]["moderator"]

    result = srv.ctl("start", token=moderator)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok (start, seq ")
    assert "session call: running, item opening" in result.stdout

    assert _ok(srv.ctl("next", "--json", token=moderator))["current_item"] == "seoul-briefing"

    # A negative duration is not an option; a positive one may carry its sign.
    session = _ok(srv.ctl("add-time", "-1m", "--json", token=moderator))
    assert session["items"][1]["duration_s"] == 9 * 60
    session = _ok(srv.ctl("add-time", "+90s", "--json", token=moderator))
    assert session["items"][1]["duration_s"] == 9 * 60 + 90
    assert session["items"][1]["added_s"] == 30

    session = _ok(srv.ctl("extend", "25m", "--json", token=moderator))
    assert session["extended_s"] == 1500

    result = srv.ctl("goto", "nope", token=moderator)
    assert result.returncode == 1
    assert result.stderr.startswith("refused (not_found): no item 'nope'")
    assert result.stdout == ""

    speaker = srv.tokens["tokens"]["people"]["sala"]
    result = srv.ctl("next", "--json", token=speaker)
    assert result.returncode == 1
    assert "refused (forbidden)" in result.stderr
    refusal = json.loads(result.stdout)
    assert (refusal["ok"], refusal["code"]) == (False, "forbidden")

    session = _ok(srv.ctl("raise", "--kind", "question", "--json", token=speaker))
    assert session["current_item"] == "seoul-briefing"  # the speaker's "next" changed nothing
    assert [(h["person"], h["kind"]) for h in session["queue"]] == [("sala", "question")]


def test_state_json_has_the_figures(cli_server) -> None:
    srv = cli_server
    moderator = srv.tokens["tokens"]["moderator"]
    for args in (
        ["start"],
        ["turn-limit", "2m"],
        ["queue-add", "sala"],
        ["queue-add", "breed", "--kind", "reply"],
        ["floor"],
        ["add-time", "--turn", "-30s"],  # the turn's limit, down to 90 s
    ):
        result = srv.ctl(*args, token=moderator)
        assert result.returncode == 0, (args, result.stderr)
    session = _session(srv)

    assert isinstance(session["id"], str) and session["id"] == "call"
    assert session["status"] == "running"
    assert session["current_item"] == "opening"
    assert session["planned_duration_s"] == 2700 and isinstance(session["planned_duration_s"], int)
    assert session["extended_s"] == 0 and isinstance(session["extended_s"], int)
    for key in ("elapsed_s", "over_under_s"):
        assert _number(session[key]), key
    assert _iso_with_offset(session["projected_end"])

    assert [item["id"] for item in session["items"]] == [
        "opening",
        "seoul-briefing",
        "cities-share",
        "discussion",
        "closing",
    ]
    for item in session["items"]:
        assert isinstance(item["id"], str)
        assert _iso_with_offset(item["planned_start"])
        assert isinstance(item["planned_duration_s"], int)
        running = item["id"] == "opening"
        assert _iso_with_offset(item["actual_start"]) if running else item["actual_start"] is None
        assert _number(item["actual_duration_s"]) if running else item["actual_duration_s"] is None
        assert _iso_with_offset(item["projected_start"])
    assert [i["planned_duration_s"] for i in session["items"]] == [180, 600, 720, 900, 300]

    (hand,) = session["queue"]
    assert hand["position"] == 1 and isinstance(hand["position"], int)
    assert hand["person"] == "breed" and hand["kind"] == "reply"
    assert isinstance(hand["estimated_wait_s"], int)
    assert 0 < hand["estimated_wait_s"] <= 90  # what is left of Sala's turn

    floor = session["floor"]
    assert floor["person"] == "sala"
    assert _number(floor["elapsed_s"])
    assert floor["limit_s"] == 90  # two minutes, less thirty seconds


def test_state_in_words(cli_server) -> None:
    srv = cli_server
    moderator = srv.tokens["tokens"]["moderator"]
    assert srv.ctl("start", token=moderator).returncode == 0
    result = srv.ctl("state", token=moderator)
    assert result.returncode == 0, result.stderr
    assert "session call: running, item opening" in result.stdout
    assert "> opening" in result.stdout and "closing" in result.stdout


def test_the_token_may_come_from_the_environment(cli_server) -> None:
    srv = cli_server
    env = {"MODCONSOLE_TOKEN": srv.tokens["tokens"]["moderator"]}
    assert _ok(srv.ctl("start", "--json", env=env))["status"] == "running"

    # --token wins over the environment.
    result = srv.ctl("next", token=srv.tokens["tokens"]["display"], env=env)
    assert result.returncode == 1 and "forbidden" in result.stderr

    result = srv.ctl("state")
    assert result.returncode == 2
    assert "a token is needed" in result.stderr


def test_plan_proposes_and_applies(cli_server) -> None:
    srv = cli_server
    moderator = srv.tokens["tokens"]["moderator"]
    assert srv.ctl("start", token=moderator).returncode == 0
    before = _ok(srv.ctl("add-time", "30m", "--json", token=moderator))  # the opening will run long
    assert before["over_under_s"] >= 29 * 60  # half an hour behind

    result = srv.ctl("plan", token=moderator)
    assert result.returncode == 0, result.stderr
    assert "Apply with: plan --apply" in result.stdout
    proposals = [line.split() for line in result.stdout.splitlines() if "->" in line]
    assert proposals and {line[0] for line in proposals} <= {i["id"] for i in before["items"]}

    result = srv.ctl("plan", "--json", token=moderator)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["durations"] and plan["trimmed_s"] > 0
    assert {line[0] for line in proposals} == set(plan["durations"])

    after = _ok(srv.ctl("plan", "--apply", "--json", token=moderator))
    durations = {i["id"]: i["duration_s"] for i in after["items"]}
    # Proposing changed nothing; applying changed what was proposed (the clock ran a little between).
    assert set(plan["durations"]) <= set(durations)
    assert all(durations[k] < i["duration_s"] for i in before["items"] for k in plan["durations"] if k == i["id"])
    assert after["over_under_s"] < before["over_under_s"]


def test_a_participant_needs_a_name(cli_server) -> None:
    srv = cli_server
    participant = srv.tokens["tokens"]["participant"]
    assert srv.ctl("start", token=srv.tokens["tokens"]["moderator"]).returncode == 0
    result = srv.ctl("raise", token=participant)
    assert result.returncode == 1
    assert "a name is needed with the participant token (--name)" in result.stderr
    (hand,) = _ok(srv.ctl("raise", "--name", "Ana Lima", "--json", token=participant))["queue"]
    assert hand["person"].startswith("p-") and hand["name"] == "Ana Lima"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])  # localhost: often ::1 and 127.0.0.1, both refused
def test_ctl_against_a_closed_port(cli, host: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens there now.
    result = cli("modconsole", "ctl", f"ws://{host}:{port}", "--token", "mc_whatever", "state")
    assert result.returncode == 1
    assert result.stderr == (
        f"modconsole ctl: cannot reach ws://{host}:{port}: nothing is listening there "
        "(connection refused); is the server running, on that port?\n"
    ), result.stderr


def test_ctl_command_line_errors(cli, cli_server) -> None:
    moderator = cli_server.tokens["tokens"]["moderator"]
    result = cli_server.ctl("add-time", token=moderator)
    assert result.returncode == 2 and "needs a duration" in result.stderr
    result = cli_server.ctl("add-time", "soon", token=moderator)
    assert result.returncode == 2 and "not a duration" in result.stderr
    result = cli_server.ctl("dance", token=moderator)
    assert result.returncode == 2
    result = cli("modconsole", "ctl", cli_server.url, "--token", "mc_" + "x" * 32, "state")
    assert result.returncode == 1 and "refused" not in result.stdout
    assert "not accepted" in result.stderr


async def test_ctl_against_something_else_than_a_modconsole_server(cli) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    tcp = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = tcp.sockets[0].getsockname()[1]
    try:
        # The command line runs in a thread so that this loop can keep serving.
        result = await asyncio.to_thread(cli, "modconsole", "ctl", f"ws://127.0.0.1:{port}", "--token", "x", "state")
    finally:
        tcp.close()
        await tcp.wait_closed()
    assert result.returncode == 1
    assert result.stderr.startswith(f"modconsole ctl: cannot connect to ws://127.0.0.1:{port}")
    assert "Traceback" not in result.stderr

    # An address that is not a ws:// one is a usage error, said before any connection.
    result = cli("modconsole", "ctl", "http://127.0.0.1:1", "--token", "x", "state")
    assert result.returncode == 2
    assert result.stderr == (
        "modconsole ctl: http://127.0.0.1:1 isn't a valid server address: "
        "scheme isn't ws or wss (e.g. ws://127.0.0.1:8765)\n"
    )


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ws://127.0.0.1:8799x", "the port '8799x' isn't a number from 1 to 65535"),
        ("ws://127.0.0.1:70000", "the port '70000' isn't a number from 1 to 65535"),
        ("ws://[::1:8799", "an IPv6 address goes whole in brackets, e.g. ws://[::1]:8765"),
    ],
)
def test_ctl_refuses_a_mistyped_address_in_one_line(cli, url: str, why: str) -> None:
    # Before: a traceback ending in "ValueError: Port could not be cast to integer value as '8799x'".
    for args in (["state"], ["start", "--json"]):
        result = cli("modconsole", "ctl", url, "--token", "mc_x", *args)
        assert result.returncode == 2, result.stderr
        assert result.stderr == f"modconsole ctl: {url} isn't a valid server address: {why}\n"
        assert result.stdout == ""


def test_out_of_range_values_and_unknown_sessions_are_refused_plainly(cli_server) -> None:
    srv = cli_server
    moderator = srv.tokens["tokens"]["moderator"]
    result = srv.ctl("add-time", "25h", token=moderator)
    assert result.returncode == 2
    assert "add-time: delta_s:" in result.stderr and "pydantic" not in result.stderr
    result = srv.ctl("state", "--session", "nosuch", token=moderator)
    assert result.returncode == 1
    assert "no session 'nosuch'" in result.stderr
    result = srv.ctl("state", "--session", "call", "--json", token=moderator)
    assert result.returncode == 0, result.stderr
    assert [s["id"] for s in json.loads(result.stdout)["sessions"]] == ["call"]


def test_a_stray_goto_to_the_closing_then_prev_loses_no_item(cli_server) -> None:
    """goto closing by mistake, prev: back where the chair was, nothing dropped from what is to come."""
    srv = cli_server
    moderator = srv.tokens["tokens"]["moderator"]
    for args in (["start"], ["next"], ["goto", "closing"]):
        assert srv.ctl(*args, token=moderator).returncode == 0
    assert _ok(srv.ctl("prev", "--json", token=moderator))["current_item"] == "seoul-briefing"

    result = srv.ctl("state", "--json", token=moderator)
    assert result.returncode == 0, result.stderr
    view = json.loads(result.stdout)
    now = datetime.fromisoformat(view["now"])
    session = view["sessions"][0]
    items = {item["id"]: item for item in session["items"]}
    closing = items["closing"]
    assert closing["status"] == "done" and closing["projected_start"] is None
    assert closing["actual_duration_s"] < 60 and datetime.fromisoformat(closing["actual_start"]) <= now
    assert [items[i]["status"] for i in ("cities-share", "discussion")] == ["pending", "pending"]
    assert session["next_item"] == "cities-share"
    # What is left of the briefing (at least 9 minutes), the cities, the discussion, the closing.
    assert datetime.fromisoformat(session["projected_end"]) - now >= timedelta(minutes=9 + 12 + 15 + 4)

    # The plain listing shows the closing's real start, not one in the future.
    result = srv.ctl("state", token=moderator)
    line = next(line for line in result.stdout.splitlines() if line.split()[:2] == ["closing", "done"])
    assert line.split()[-1] == closing["actual_start"], line


def test_undo_says_what_it_took_back(cli_server) -> None:
    srv = cli_server
    moderator = srv.tokens["tokens"]["moderator"]
    for args in (["start"], ["extend", "5m"], ["message", "Please keep to time", "--to", "all"]):
        assert srv.ctl(*args, token=moderator).returncode == 0
    # The message is no timing action: the undo takes back the extension, and says so.
    result = srv.ctl("undo", token=moderator)
    assert result.returncode == 0, result.stderr
    extension_seq = next(e.seq for e in read_log(srv.db, srv.event_id) if e.event.type == "session_extended")
    took_back = f"ok (undo, seq {extension_seq + 2}) took back the extension (seq {extension_seq}): "
    assert result.stdout.startswith(took_back), result.stdout
    # Next back: the start.
    started_seq = next(e.seq for e in read_log(srv.db, srv.event_id) if e.event.type == "session_started")
    result = srv.ctl("undo", "--json", token=moderator)
    assert _ok(result)["status"] == "not_started"
    undone = json.loads(result.stdout)["undone"]
    assert undone == {"seq": started_seq, "type": "session_started", "what": "the start of the session"}


CTL_STATE_GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "ctl-state.json"


def _running_call_with_a_queue_and_the_floor():  # type: ignore[no-untyped-def]
    """The mayors' call on a fake clock: started late, an item done, a queue of a speaker and a participant,
    a turn on the floor with its limit cut, the session extended."""
    from support.harness import Harness, mayors_agenda, participant

    from modconsole.core import commands as c

    h = Harness(mayors_agenda())
    h.advance(90)  # a minute and a half late
    h.ok(c.Start())
    h.advance(200)  # the opening overruns by twenty seconds
    h.ok(c.Next())
    h.advance(30)
    h.ok(c.Extend(delta_s=300))
    h.ok(c.AddTime(delta_s=-60))
    h.advance(500)
    h.ok(c.Next())  # the cities share, two minutes a turn
    h.ok(c.QueueAdd(person="sala"))
    h.advance(3)
    h.ok(c.QueueAdd(person="breed", kind="reply"))
    h.advance(4)
    h.ok(c.Raise(kind="question"), participant("p-ana", "Ana Lima"))
    h.advance(5)
    h.ok(c.Floor())
    h.advance(45)
    h.ok(c.AddTime(delta_s=-30, turn=True))
    h.advance(12.5)
    return h


def test_state_json_is_pinned_byte_for_byte(capsys: pytest.CaptureFixture[str]) -> None:
    """What `ctl state --json` prints for a running session with a queue and the floor, key order included.

    After a deliberate change to the read model, write the file anew with UPDATE_GOLDEN=1 and read the diff."""
    from modconsole.ctl import _print_state

    h = _running_call_with_a_queue_and_the_floor()
    assert _print_state(h.state, h.now, True, None) == 0
    printed = capsys.readouterr().out
    session = json.loads(printed)["sessions"][0]
    assert session["status"] == "running" and session["current_item"] == "cities-share"
    assert [hand["person"] for hand in session["queue"]] == ["breed", "p-ana"]
    assert session["floor"]["person"] == "sala" and session["floor"]["limit_s"] == 90
    if os.environ.get("UPDATE_GOLDEN") == "1":
        CTL_STATE_GOLDEN.write_text(printed, encoding="utf-8")
    assert printed == CTL_STATE_GOLDEN.read_text(encoding="utf-8")


def test_queue_order_changes_the_speaking_order_live(cli_server) -> None:
    srv = cli_server
    moderator = srv.tokens["tokens"]["moderator"]
    for args in (["start"], ["floor", "sala"], ["end-turn"], ["queue-add", "breed"], ["queue-add", "sala"]):
        assert srv.ctl(*args, token=moderator).returncode == 0, args
    assert srv.ctl("queue-add", "lopez", token=moderator).returncode == 0
    session = _ok(srv.ctl("queue-order", "first_time_first", "--json", token=moderator))
    # Breed is next up and stays; Lopez has not spoken yet and goes ahead of Sala, who has.
    assert [h["person"] for h in session["queue"]] == ["breed", "lopez", "sala"]
    bad = srv.ctl("queue-order", "loudest_first", token=moderator)
    assert bad.returncode == 2 and "unknown queue order" in bad.stderr
