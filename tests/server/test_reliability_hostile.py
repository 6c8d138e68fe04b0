"""Hostile input, generated: every frame gets a typed error or a defined close code, nothing else.

Hypothesis makes the inputs: random bytes (as binary frames and as text frames that are not UTF-8),
random text, broken JSON, deep nesting, huge numbers and strings, unknown types, missing, extra and
mistyped fields, binary frames, frames over 64 KiB, and floods. Each input goes to a real server on
a raw websocket that said hello as a display or a speaker. After each one:

- it was answered: an ``error`` with a code of the protocol, a ``pong`` for a well-formed ping, an
  ``ack`` for a well-formed command the role may give, or the connection closed with 1007 (text that
  is not UTF-8), 1008 (kept flooding) or 1009 (frame too big), and nothing else;
- a rejected input changed neither the log (its row count and the bytes of its last row) nor the state;
- a watcher keeps receiving the moderator's events, and at the end holds the server's state.

The default suite runs a few hundred inputs; ``python -m pytest -m slow tests/server/test_reliability_hostile.py -s``
runs 10,000 and prints the tally (docs/reliability.md).

Agenda files the same way: generated agendas with one defect each (broken TOML and CSV, bad durations
and times, unknown people, duplicate ids, absurd sizes) give an AgendaError and nothing else, and
``modconsole-server create-event`` refuses a handful of them without creating anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import sqlite3
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from modconsole.agenda_files import AgendaError, parse_csv_agenda, parse_toml_agenda
from modconsole.core import commands as c
from modconsole.core.durations import parse_duration
from modconsole.protocol import MAX_FRAME_BYTES, ErrorCode

ERROR_CODES = set(get_args(ErrorCode))
CLOSE_CODES = {1007, 1008, 1009}  # not UTF-8, kept flooding, too big
FRAMES_PER_CONNECTION = 40  # below the rate limit's burst of 60, so single inputs get their real answer
BROADCASTS = {"events", "presence", "reset"}
DEFAULT_EXAMPLES = int(os.environ.get("MODCONSOLE_HOSTILE_EXAMPLES", "300"))
SLOW_EXAMPLES = int(os.environ.get("MODCONSOLE_HOSTILE_SLOW_EXAMPLES", "10000"))

# --- the inputs ------------------------------------------------------------------------------------

# One well-formed frame of every kind, the material the mutations start from.
VALID: list[dict[str, Any]] = [
    {"type": "ping", "id": "p"},
    {"type": "hello", "client": "again"},
    {"type": "report", "id": "r", "format": "md"},
    {"type": "start", "id": "s"},
    {"type": "pause", "id": "s"},
    {"type": "resume", "id": "s"},
    {"type": "next", "id": "s", "expected_seq": 3},
    {"type": "prev", "id": "s", "session": "call"},
    {"type": "goto", "id": "s", "item": "discussion"},
    {"type": "skip", "id": "s", "item": "closing"},
    {"type": "add_time", "id": "s", "delta_s": 60, "turn": False},
    {"type": "extend", "id": "s", "delta_s": 300},
    {"type": "end", "id": "s"},
    {"type": "raise", "id": "s", "kind": "question"},
    {"type": "lower", "id": "s"},
    {"type": "queue_add", "id": "s", "person": "sala", "kind": "contribution"},
    {"type": "queue_remove", "id": "s", "person": "sala"},
    {"type": "queue_move", "id": "s", "person": "sala", "position": 1},
    {"type": "floor", "id": "s", "person": "breed"},
    {"type": "end_turn", "id": "s"},
    {"type": "pause_turn", "id": "s"},
    {"type": "resume_turn", "id": "s"},
    {"type": "set_turn_limit", "id": "s", "limit_s": 90},
    {"type": "clear_queue", "id": "s"},
    {"type": "close_queue", "id": "s"},
    {"type": "open_queue", "id": "s"},
    {"type": "message", "id": "s", "text": "One minute", "to": "all"},
    {"type": "ack", "id": "s", "message_id": "m5"},
    {"type": "apply_plan", "id": "s", "target": "00:25", "include_fixed": True},
    {"type": "set_queue_order", "id": "s", "order": "alternate:gender", "item": "intro"},
    {"type": "undo", "id": "s"},
    {"type": "redo", "id": "s"},
    {"type": "item_add", "id": "s", "title": "Any other business", "duration_s": 300, "after": "discussion"},
    {"type": "item_edit", "id": "s", "item": "discussion", "duration_s": 1200},
    {"type": "item_remove", "id": "s", "item": "closing"},
    {"type": "item_move", "id": "s", "item": "closing", "first": True},
    {"type": "session_add", "id": "s", "session_id": "day2", "title": "Day two", "start": "2020-03-28T09:00"},
    {"type": "session_edit", "id": "s", "session": "call", "room": "Hall B"},
    {"type": "person_add", "id": "s", "name": "Mayor of Busan", "affiliation": "Busan"},
    {"type": "blackout", "id": "s", "on": True},
    {"type": "flash", "id": "s"},
    {"type": "focus", "id": "s", "text": "ON AIR"},
    {"type": "ask", "id": "s", "text": "Who pays?", "anonymous": True},
    {"type": "vote", "id": "s", "question": "q1"},
    {"type": "unvote", "id": "s", "question": "q1"},
    {"type": "question_approve", "id": "s", "question": "q1"},
    {"type": "question_dismiss", "id": "s", "question": "q1"},
    {"type": "question_live", "id": "s"},
    {"type": "question_answered", "id": "s", "question": "q1"},
    {"type": "question_merge", "id": "s", "question": "q2", "into": "q1"},
    {"type": "question_edit", "id": "s", "question": "q1", "text": "Who pays, and how?"},
]
_TYPES = {frame["type"] for frame in VALID}


def _command_types() -> set[str]:
    union = get_args(c.Command)[0]
    return {get_args(member.model_fields["type"].annotation)[0] for member in get_args(union)}


def test_the_valid_frames_cover_every_command() -> None:
    assert _command_types() <= _TYPES


@dataclass(frozen=True)
class Input:
    """One hostile input: its kind (for the tally) and the frames it sends."""

    kind: str
    frames: tuple[str | bytes, ...]  # str: a text frame; bytes: a binary frame
    as_text: bool = False  # send bytes as a text frame (which need not be UTF-8)

    def __repr__(self) -> str:  # hypothesis prints failing examples: keep them readable
        shown = [f[:120] if isinstance(f, str | bytes) else f for f in self.frames[:3]]
        return f"Input({self.kind!r}, {len(self.frames)} frame(s), as_text={self.as_text}, {shown!r})"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=True)


JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
VALID_FRAMES = st.sampled_from(VALID)
FIELD_NAMES = st.one_of(
    st.sampled_from(
        [
            "type",
            "id",
            "session",
            "expected_seq",
            "item",
            "person",
            "delta_s",
            "position",
            "text",
            "to",
            "kind",
            "limit_s",
            "message_id",
            "target",
            "token",
            "last_seq",
            "name",
        ]
    ),
    st.text(max_size=20),
)


def _as_input(kind: str):  # type: ignore[no-untyped-def]
    return lambda frame: Input(kind, (frame,))


@st.composite
def _invalid_json(draw: st.DrawFn) -> Input:
    text = _dumps(draw(VALID_FRAMES))
    how = draw(st.sampled_from(["truncate", "insert", "delete", "trailing", "single quotes", "comment"]))
    at = draw(st.integers(0, len(text) - 1))
    if how == "truncate":
        broken = text[:at]
    elif how == "insert":
        junk = draw(st.sampled_from(["{", "}", "[", "]", ",", ":", '"', "\\", "\x00", "\\u12"]))
        broken = text[:at] + junk + text[at:]
    elif how == "delete":
        broken = text[:at] + text[at + 1 :]
    elif how == "trailing":
        broken = text[:-1] + ",}"
    elif how == "single quotes":
        broken = text.replace('"', "'")
    else:
        broken = "/* hi */" + text
    return Input("invalid JSON", (broken,))


@st.composite
def _deep_nesting(draw: st.DrawFn) -> Input:
    depth = draw(st.integers(1, 30_000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    nested = opener * depth + "1" + closer * depth
    where = draw(st.sampled_from(["whole frame", "a field", "an extra field", "unclosed"]))
    if where == "whole frame":
        frame = nested
    elif where == "unclosed":
        frame = '{"type": "start", "id": "d", "session": ' + opener * depth
    else:
        name = "session" if where == "a field" else "deep"
        frame = '{"type": "start", "id": "d", "' + name + '": ' + nested + "}"
    return Input("deep nesting", (frame,))


@st.composite
def _huge_number(draw: st.DrawFn) -> Input:
    base = dict(
        draw(
            st.sampled_from(
                [f for f in VALID if any(k in f for k in ("delta_s", "position", "limit_s", "expected_seq"))]
            )
        )
    )
    key = next(k for k in ("delta_s", "position", "limit_s", "expected_seq") if k in base)
    number = draw(
        st.one_of(
            st.integers(1, 20_000).map(lambda n: "9" * n),
            st.integers(1, 20_000).map(lambda n: "-1" + "0" * n),
            st.sampled_from(
                [
                    "1e999",
                    "-1e999",
                    "1e-999",
                    "NaN",
                    "Infinity",
                    "-Infinity",
                    "-0",
                    "0.5",
                    "1E400",
                    "123456789012345678901234567890.5",
                    "0x10",
                    "+5",
                    "01",
                    ".5",
                    "5.",
                ]
            ),
            st.floats().map(repr),
        )
    )
    text = _dumps(base)
    frame = text.replace(f'"{key}": {base[key]}', f'"{key}": {number}', 1)
    return Input("huge number", (frame,))


@st.composite
def _huge_string(draw: st.DrawFn) -> Input:
    base = dict(draw(VALID_FRAMES))
    key = draw(st.sampled_from(["id", "session", "item", "person", "text", "to", "token", "name", "client", "kind"]))
    size = draw(st.integers(65, MAX_FRAME_BYTES - 200))
    chunk = draw(st.text(min_size=1, max_size=4, alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"])))
    value = (chunk * (size // len(chunk) + 1))[:size]
    while len(_dumps(base | {key: value}).encode()) > MAX_FRAME_BYTES:
        value = value[: len(value) * 3 // 4]
    base[key] = value
    return Input("huge string", (_dumps(base),))


@st.composite
def _unknown_type(draw: st.DrawFn) -> Input:
    base = dict(draw(VALID_FRAMES))
    base["type"] = draw(
        st.one_of(
            st.text(max_size=30).filter(lambda t: t not in _TYPES),
            st.sampled_from(
                ["START", "Start ", "welcome", "events", "ack", "error", "pong", "self_destruct", "__proto__", ""]
            ),
        )
    )
    return Input("unknown type", (_dumps(base),))


@st.composite
def _missing_field(draw: st.DrawFn) -> Input:
    base = dict(draw(st.sampled_from([f for f in VALID if len(f) > 2])))
    key = draw(st.sampled_from(sorted(base)))
    del base[key]
    return Input("missing field", (_dumps(base),))


@st.composite
def _extra_field(draw: st.DrawFn) -> Input:
    base = dict(draw(VALID_FRAMES))
    key = draw(FIELD_NAMES.filter(lambda k: k not in base))
    base[key] = draw(JSON_VALUES)
    return Input("extra field", (_dumps(base),))


@st.composite
def _wrong_type(draw: st.DrawFn) -> Input:
    base = dict(draw(VALID_FRAMES))
    key = draw(st.sampled_from(sorted(base)))
    original = base[key]
    base[key] = draw(JSON_VALUES.filter(lambda v: type(v) is not type(original)))
    return Input("wrong type", (_dumps(base),))


@st.composite
def _oversized(draw: st.DrawFn) -> Input:
    size = draw(st.integers(MAX_FRAME_BYTES + 1, 4 * MAX_FRAME_BYTES))
    if draw(st.booleans()):
        frame: str | bytes = '{"type": "message", "id": "big", "text": "' + "x" * size + '"}'
    else:
        frame = b"\x00" * size
    return Input("oversized frame", (frame,))


@st.composite
def _flood(draw: st.DrawFn) -> Input:
    count = draw(st.integers(70, 260))
    sample = draw(st.sampled_from(["ping", "garbage", "command"]))
    if sample == "ping":
        frames: tuple[str | bytes, ...] = tuple(_dumps({"type": "ping", "id": f"f{n}"}) for n in range(count))
    elif sample == "garbage":
        frames = tuple("{" for _ in range(count))
    else:
        frames = tuple(_dumps({"type": "next", "id": f"f{n}"}) for n in range(count))
    return Input("flood", frames)


HOSTILE = st.one_of(
    st.binary(max_size=2_000).map(lambda b: Input("random bytes (binary frame)", (b,))),
    st.binary(min_size=1, max_size=300).map(lambda b: Input("random bytes (text frame)", (b,), as_text=True)),
    st.sampled_from(
        [b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b'{"type": "ping", "id": "\xfe"}', b"\xf4\x90\x80\x80"]
    ).map(lambda b: Input("invalid UTF-8", (b,), as_text=True)),
    st.text(max_size=500).map(_as_input("random text")),
    JSON_VALUES.map(_dumps).map(_as_input("random JSON")),
    _invalid_json(),
    _deep_nesting(),
    _huge_number(),
    _huge_string(),
    _unknown_type(),
    _missing_field(),
    _extra_field(),
    _wrong_type(),
    VALID_FRAMES.map(lambda f: Input("binary frame", (_dumps(f).encode(),))),
    _oversized(),
    _flood(),
    VALID_FRAMES.map(lambda f: Input("well-formed frame", (_dumps(f),))),
)

# --- the arena: a server, a moderator who keeps acting, a watcher, hostile connections -------------


@dataclass
class Arena:
    srv: Any
    moderator: Any
    watcher: Any
    tally: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    hostile: ClientConnection | None = None
    role: str = "display"
    used: int = 0
    inputs: int = 0
    legit: int = 0

    def fingerprint(self) -> tuple[int, str, dict[str, object]]:
        """The log's row count and a hash of its last row's bytes, and the state."""
        with contextlib.closing(sqlite3.connect(self.srv.db)) as db:
            rows = db.execute("SELECT count(*) FROM log").fetchone()[0]
            last = db.execute(
                "SELECT event_id, seq, ts, role, person, client, type, body FROM log ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        digest = hashlib.sha256(repr(last).encode()).hexdigest()
        return rows, digest, asdict(self.srv.state)

    async def _open(self, role: str) -> ClientConnection:
        tokens = self.srv.tokens
        token = tokens.display if role == "display" else tokens.people["sala"]
        ws = await ws_connect(self.srv.url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=None)
        await ws.send(_dumps({"type": "hello", "client": f"hostile-{role}"}))
        welcome = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert welcome["type"] == "welcome", welcome
        return ws

    async def connection(self, role: str, fresh: bool) -> ClientConnection:
        if fresh or self.hostile is None or self.role != role or self.used >= FRAMES_PER_CONNECTION:
            await self.drop()
            self.hostile, self.role, self.used = await self._open(role), role, 0
        return self.hostile

    async def drop(self) -> None:
        if self.hostile is not None:
            await self.hostile.close()
            self.hostile = None

    async def answer(self, ws: ClientConnection, timeout: float = 10) -> dict[str, Any] | int:
        """The next frame that answers the hostile connection (broadcasts skipped), or its close code."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    frame = json.loads(await ws.recv())
                    if frame["type"] not in BROADCASTS:
                        return frame
        except ConnectionClosed:
            self.hostile = None
            assert ws.close_code is not None
            return ws.close_code

    async def legit_command(self) -> None:
        """The moderator acts; the watcher sees it."""
        self.legit += 1
        ack = await self.moderator.command(c.AddTime(delta_s=1 if self.legit % 2 else -1))
        await self.watcher.wait_for(lambda s: s.seq >= ack.seq, timeout=10)


def _is_valid_ping(frame: str | bytes) -> bool:
    if not isinstance(frame, str):
        return False
    try:
        data = json.loads(frame)
    except ValueError:
        return False
    return (
        isinstance(data, dict)
        and data.get("type") == "ping"
        and set(data) <= {"type", "id"}
        and (isinstance(data.get("id", ""), str) and len(data.get("id", "")) <= 64)
    )


def _check(arena: Arena, item: Input, answer: dict[str, Any] | int, frame: str | bytes) -> str:
    """Assert an answer is one of the defined ones; return its name for the tally."""
    if isinstance(answer, int):
        assert answer in CLOSE_CODES, (item, answer)
        if answer == 1009:
            size = len(frame.encode() if isinstance(frame, str) else frame)
            assert size > MAX_FRAME_BYTES, (item, size)
        if answer == 1007:
            assert item.as_text, item
        return f"closed {answer}"
    kind = answer["type"]
    if kind == "error":
        assert answer["code"] in ERROR_CODES, (item, answer)
        assert isinstance(answer["message"], str) and answer["message"], (item, answer)
        return f"error {answer['code']}"
    if kind == "pong":
        assert _is_valid_ping(frame), (item, answer)
        return "pong"
    assert kind == "ack", (item, answer)  # a well-formed command the role may give
    return "ack"


async def _run_one(arena: Arena, item: Input) -> None:
    arena.inputs += 1
    arena.tally[item.kind] += 1
    role = "speaker" if arena.inputs % 3 == 0 else "display"
    flood = len(item.frames) > 1
    ws = await arena.connection(role, fresh=flood)
    before = arena.fingerprint()
    names: list[str] = []
    if flood:
        # Sent without waiting, as a flood is; then every frame is answered until the server closes.
        with contextlib.suppress(ConnectionClosed):
            for frame in item.frames:
                await ws.send(frame)
        answers: list[dict[str, Any] | int] = []
        while len(answers) < len(item.frames):
            answers.append(await arena.answer(ws))
            if isinstance(answers[-1], int):
                break
        for answer, frame in zip(answers, item.frames, strict=False):
            names.append(_check(arena, item, answer, frame))
        assert "error rate_limited" in names, (item, Counter(names))
        assert all(
            n in {"error rate_limited", "pong", "error bad_frame", "error forbidden", "closed 1008"} for n in names
        ), (item, Counter(names))
        if isinstance(answers[-1], int):
            assert answers[-1] == 1008 and ws.close_reason == "too many frames", (item, ws.close_reason)
        await arena.drop()
    else:
        frame = item.frames[0]
        # Closed while sending an oversized frame: the close code is the answer.
        with contextlib.suppress(ConnectionClosed):
            await ws.send(frame, text=True) if item.as_text else await ws.send(frame)
        arena.used += 1
        names.append(_check(arena, item, await arena.answer(ws), frame))
    for name in names:
        arena.outcomes[name] += 1
    if "ack" not in names:
        assert arena.fingerprint() == before, item  # rejected: neither the log nor the state changed
    if arena.inputs % 25 == 0:
        await arena.legit_command()


@pytest.fixture
async def arena(start_server, connect, request):
    srv = await start_server()
    moderator = await connect(srv.url, srv.tokens.moderator, label="moderator")
    watcher = await connect(srv.url, srv.tokens.display, label="watcher")
    await moderator.command(c.Start())
    await moderator.command(c.SendMessage(text="Welcome, everyone", to="all"))
    running = Arena(srv, moderator, watcher)
    yield running
    await running.drop()
    # After everything: the server still serves, the watcher holds its state, nothing was logged but
    # the moderator's own commands (and a speaker's well-formed raise, lower or ack).
    await running.legit_command()
    await srv.settled(watcher)
    assert watcher.connected and moderator.connected and watcher.unsolicited_errors == []
    assert asdict(srv.replayed()) == asdict(srv.state)
    print(
        f"\n{request.node.name}: {running.inputs} hostile inputs, {running.legit} moderator commands meanwhile"
        f"\n  inputs by kind: {dict(sorted(running.tally.items()))}"
        f"\n  answers: {dict(sorted(running.outcomes.items()))}"
    )


HYPOTHESIS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
}


@settings(max_examples=DEFAULT_EXAMPLES, **HYPOTHESIS)
@given(item=HOSTILE)
async def test_hostile_inputs_get_typed_errors_and_change_nothing(arena, item: Input) -> None:
    await _run_one(arena, item)


@pytest.mark.slow
@pytest.mark.timeout(1800)
@settings(max_examples=SLOW_EXAMPLES, **HYPOTHESIS)
@given(item=HOSTILE)
async def test_ten_thousand_hostile_inputs(arena, item: Input) -> None:
    await _run_one(arena, item)


# --- agenda files ----------------------------------------------------------------------------------

GOOD_TOML = """\
[event]
title = "Hostile agendas"
timezone = "Europe/Zurich"

[[people]]
id = "ann"
name = "Ann Lee"

[[people]]
id = "bob"
name = "Bob Roy"

[[sessions]]
id = "day1"
title = "Day one"
start = 2024-05-02T09:00:00

[[sessions.items]]
id = "open"
title = "Opening"
duration = "5m"
speakers = ["ann"]

[[sessions.items]]
id = "talk"
title = "A talk"
duration = "20m"
speakers = ["bob"]
turn_limit = "2m"
fixed_start = 09:30:00
"""

GOOD_CSV = """\
session,date,start,duration,title,kind,speakers,turn_limit
Day one,2024-05-02,09:00,5m,Opening,opening,Ann Lee,
Day one,,09:05,20m,A talk,talk,Bob Roy;Ann Lee,2m
"""


def test_the_good_agendas_load() -> None:
    assert parse_toml_agenda(GOOD_TOML, "good.toml").sessions[0].items[1].fixed_start is not None
    assert len(parse_csv_agenda(GOOD_CSV, "good.csv").people) == 2


def _is_duration(text: str) -> bool:
    try:
        parse_duration(text)
    except ValueError:
        return False
    return True


BAD_DURATIONS = st.one_of(
    st.sampled_from(
        [
            '"5x"',
            '"-5m"',
            '""',
            '"5 minutes"',
            '"1h30"',
            '"15d"',
            '"99999999999h"',
            "-1",
            "true",
            "5.5",
            '"∞"',
            '"5m5"',
            "[]",
            "{}",
            '"३m"',
            "1_000_000",
            "1e3",
            '"0x10m"',
        ]
    ),
    st.integers(14 * 24 * 60 + 1, 10**30).map(str),
    st.text(alphabet="0123456789hms -+.", min_size=1, max_size=12)
    .filter(lambda t: not _is_duration(t))
    .map(json.dumps),
)
BAD_STARTS = st.sampled_from(
    [
        "2024-02-30T09:00:00",
        '"tomorrow"',
        "2024-05-02T25:00:00",
        "09:00:00",
        "2024-05-02",
        "2024-05-02T09:00:00Z",
        "2024-05-02T09:00:00+02:00",
        '"2024-13-01 09:00"',
        "0",
        "true",
        '"9999-99-99T00:00"',
        "[]",
    ]
)
BAD_FIXED = st.sampled_from(['"09:30"', "09:30:00Z", "2024-05-02T09:30:00", "25:00:00", "930", '"half past"', "[]"])


@st.composite
def _broken_toml(draw: st.DrawFn) -> tuple[str, str]:
    text = GOOD_TOML
    defect = draw(
        st.sampled_from(
            [
                "duration",
                "turn_limit",
                "start",
                "fixed_start",
                "unknown speaker",
                "duplicate person",
                "duplicate item",
                "duplicate session",
                "syntax",
                "zone",
                "too many items",
                "huge title",
                "bad id",
                "deep nesting",
                "unknown key",
                "no sessions",
                "no items",
                "kind",
            ]
        )
    )
    if defect == "duration":
        text = text.replace('duration = "20m"', f"duration = {draw(BAD_DURATIONS)}")
    elif defect == "turn_limit":
        text = text.replace('turn_limit = "2m"', f"turn_limit = {draw(BAD_DURATIONS)}")
    elif defect == "start":
        text = text.replace("start = 2024-05-02T09:00:00", f"start = {draw(BAD_STARTS)}")
    elif defect == "fixed_start":
        text = text.replace("fixed_start = 09:30:00", f"fixed_start = {draw(BAD_FIXED)}")
    elif defect == "unknown speaker":
        who = draw(st.text(min_size=1, max_size=20).filter(lambda t: t not in ("ann", "bob")))
        text = text.replace('speakers = ["bob"]', f"speakers = [{json.dumps(who)}]")
    elif defect == "duplicate person":
        text = text.replace('id = "bob"', 'id = "ann"')
    elif defect == "duplicate item":
        text = text.replace('id = "talk"', 'id = "open"')
    elif defect == "duplicate session":
        text += (
            '\n[[sessions]]\nid = "day1"\ntitle = "Again"\nstart = 2024-05-03T09:00:00\n'
            '[[sessions.items]]\ntitle = "X"\nduration = "5m"\n'
        )
    elif defect == "syntax":  # at the start of a line, where each of these breaks the file
        lines = text.splitlines(keepends=True)
        at = draw(st.integers(0, len(lines) - 1))
        lines[at] = draw(st.sampled_from(['"', "[[", "= =", "\x00", "}", "[event]\n"])) + lines[at]
        text = "".join(lines)
    elif defect == "zone":
        zone = draw(st.sampled_from(["Mars/Olympus", "", "America", "../../etc/passwd", "UTC+2", "x" * 300]))
        text = text.replace('"Europe/Zurich"', json.dumps(zone))
    elif defect == "too many items":
        count = draw(st.integers(501, 3_000))
        text += "".join(f'\n[[sessions.items]]\ntitle = "Item {n}"\nduration = "1m"\n' for n in range(count))
    elif defect == "huge title":
        text = text.replace('title = "A talk"', f'title = "{"t" * draw(st.integers(301, 100_000))}"')
    elif defect == "bad id":
        bad = draw(st.sampled_from(["", "-x", "a b", "\u202eevil", "x" * 65, "a/b", "../x"]))
        text = text.replace('id = "talk"', f"id = {json.dumps(bad)}")
    elif defect == "deep nesting":
        depth = draw(st.integers(1_000, 50_000))
        text = text.replace('speakers = ["bob"]', "speakers = " + "[" * depth + "]" * depth)
    elif defect == "unknown key":
        text = text.replace('title = "A talk"', 'title = "A talk"\nlength = "20m"')
    elif defect == "no sessions":
        text = text.split("[[sessions]]")[0]
    elif defect == "no items":
        text = text.split("[[sessions.items]]")[0]
    else:
        text = text.replace('duration = "5m"', 'duration = "5m"\nkind = "keynote"')
    return defect, text


@st.composite
def _broken_csv(draw: st.DrawFn) -> tuple[str, str]:
    rows = [line.split(",") for line in GOOD_CSV.splitlines()]
    defect = draw(
        st.sampled_from(
            [
                "duration",
                "turn_limit",
                "date",
                "start",
                "start too early",
                "header",
                "extra cells",
                "too many rows",
                "huge title",
                "no rows",
                "second day",
                "kind",
                "missing session",
            ]
        )
    )
    if defect == "duration":
        rows[2][3] = draw(BAD_DURATIONS).strip('"').replace(",", ";").strip() or "x"  # an empty cell: no limit
    elif defect == "turn_limit":
        rows[2][7] = draw(BAD_DURATIONS).strip('"').replace(",", ";").strip() or "x"
    elif defect == "date":
        rows[1][1] = draw(st.sampled_from(["2024-02-30", "02/05/2024", "tomorrow", "2024-5-2", "99999-01-01"]))
    elif defect == "start":
        rows[1][2] = draw(st.sampled_from(["25:00", "9h", "09:60", "noon", "-1:00", "09:00:00:00"]))
    elif defect == "start too early":
        rows[2][2] = "08:00"
    elif defect == "header":
        rows[0] = draw(st.sampled_from([rows[0][:-1], [*rows[0], "rooom"], [*rows[0][:-1], "session"]]))
    elif defect == "extra cells":
        rows[2] = [*rows[2], "surplus"]
    elif defect == "too many rows":
        rows += [["Day one", "", "", "1m", f"Item {n}", "talk", "", ""] for n in range(draw(st.integers(501, 2_000)))]
    elif defect == "huge title":
        rows[2][4] = "t" * draw(st.integers(301, 50_000))
    elif defect == "no rows":
        rows = rows[:1]
    elif defect == "second day":
        rows[2][1] = "2024-05-03"
    elif defect == "kind":
        rows[2][5] = "keynote"
    else:
        rows[2][0] = ""
    return defect, "\n".join(",".join(row) for row in rows) + "\n"


def _refused(parse, text: str) -> AgendaError:  # type: ignore[no-untyped-def]
    try:
        parse(text)
    except AgendaError as err:
        assert str(err).startswith(f"{err.path}: ") and err.message
        return err
    pytest.fail("a broken agenda was accepted")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=_broken_toml())
def test_broken_toml_agendas_give_agenda_errors(case: tuple[str, str]) -> None:
    _refused(lambda t: parse_toml_agenda(t, "broken.toml"), case[1])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=_broken_csv())
def test_broken_csv_agendas_give_agenda_errors(case: tuple[str, str]) -> None:
    _refused(lambda t: parse_csv_agenda(t, "broken.csv"), case[1])


def test_a_toml_session_past_the_year_9999_is_refused() -> None:
    text = GOOD_TOML.replace("start = 2024-05-02T09:00:00", "start = 9999-12-31T23:50:00").replace(
        "fixed_start = 09:30:00\n", ""
    )
    _refused(lambda t: parse_toml_agenda(t, "late.toml"), text)


def test_an_unterminated_csv_quote_is_refused() -> None:
    text = GOOD_CSV.replace("A talk", '"A talk')
    _refused(lambda t: parse_csv_agenda(t, "quote.csv"), text)


CLI_CASES = {
    "bad-duration.toml": GOOD_TOML.replace('duration = "20m"', 'duration = "20 minutes"'),
    "unknown-person.toml": GOOD_TOML.replace('speakers = ["bob"]', 'speakers = ["carol"]'),
    "duplicate-item.toml": GOOD_TOML.replace('id = "talk"', 'id = "open"'),
    "too-many-items.toml": GOOD_TOML
    + "".join(f'\n[[sessions.items]]\ntitle = "Item {n}"\nduration = "1m"\n' for n in range(600)),
    "bad-time.csv": GOOD_CSV.replace("2024-05-02,09:00", "2024-05-02,25:00"),
    "not-utf8.csv": GOOD_CSV.replace("Ann Lee", "Ann L\udce9e"),
}


@pytest.mark.parametrize("name", sorted(CLI_CASES))
def test_create_event_refuses_broken_agendas_and_creates_nothing(cli, tmp_path: Path, name: str) -> None:
    agenda = tmp_path / name
    agenda.write_bytes(CLI_CASES[name].encode("utf-8", "surrogateescape"))
    db = tmp_path / "events.db"
    result = cli("modconsole-server", "create-event", agenda, "--db", db, "--json")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""  # no tokens printed
    assert result.stderr.startswith(f"modconsole-server: {agenda}: "), result.stderr
    assert "Traceback" not in result.stderr
    if db.exists():
        with contextlib.closing(sqlite3.connect(db)) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            for table in tables & {"events", "tokens", "log"}:
                assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
