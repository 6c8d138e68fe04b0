"""The wire protocol: JSON text frames, one pydantic model per frame type.

Server and clients both import this module; ``modconsole-server schema`` prints
its JSON Schema and docs/protocol.md is generated from it.

A connection goes: the client sends ``hello`` (with its token when it could not
put it in the Authorization header, and the last sequence it saw when it
reconnects); the server answers ``welcome`` with a snapshot (or, on a resume,
only the ``events`` missed); then commands flow up and ``events`` flow down,
each command answered by an ``ack`` or an ``error`` carrying the command's id.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from .core.agenda import Person
from .core.commands import Actor, Command, Role
from .core.events import Event
from .core.names import MAX_NAME as MAX_NAME  # re-exported: the clients read the limits here
from .core.names import NAME_NEEDED as NAME_NEEDED
from .core.names import clean_name
from .core.state import State

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 64 * 1024
HEALTH_PATH = "/healthz"

ErrorCode = Literal[
    "bad_frame",  # not JSON, not a known frame, wrong fields or types
    "unauthorized",  # no token, or a token that opens nothing
    "forbidden",  # the role may not do this
    "not_found",  # no such session, item, person or message
    "invalid_state",  # not possible now (e.g. "next" on the last item)
    "invalid",  # a value out of range
    "stale",  # expected_seq no longer current
    "unconfirmed",  # asks to be confirmed: an undo of an action older than ten minutes needs force
    "rate_limited",  # too many frames; slow down
    "storage",  # the log could not be written; nothing was done
    "unavailable",  # the server is shutting down
]

# Close codes, beside websockets' own 1009 (frame too big).
CLOSE_POLICY = 1008  # unauthorized, or kept flooding after rate-limit errors
CLOSE_GOING_AWAY = 1001  # server shutting down
CLOSE_RESTART = 1012  # service restart
CLOSE_TRY_AGAIN = 1013  # this client fell too far behind; reconnect and resume


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # validators built on first use


# --- client to server -------------------------------------------------------------------------


class Hello(_Frame):
    type: Literal["hello"] = "hello"
    token: str | None = Field(
        default=None, max_length=200, description="only when the Authorization header could not carry it"
    )
    name: str | None = Field(default=None, max_length=200, description="a participant's name")
    last_seq: int | None = Field(default=None, ge=0, description="set on reconnect: send only what I missed")
    client: str = Field(default="", max_length=64, description="a label for this client, kept in the log")
    protocol: int = PROTOCOL_VERSION
    country: str | None = Field(
        default=None,
        max_length=60,
        description="a participant joining with the event-wide token may say where they are from (a country's "
        'name or ISO code), or "prefer not to say"; kept for the attendance report',
    )
    gender: str | None = Field(
        default=None,
        max_length=40,
        description='the same for their gender, in their own words, or "prefer not to say"',
    )
    views: bool = Field(
        default=False,
        description="send derived views (view frames, docs/view-feed.md) in place of the snapshot and the events: "
        "for the browser pages, which run no copy of the core",
    )


class Ping(_Frame):
    type: Literal["ping"] = "ping"
    id: str = Field(default="", max_length=64)


class ReportRequest(_Frame):
    """A moderator asks for the report of the log so far (computed on the server, never in a client)."""

    type: Literal["report"] = "report"
    id: str = Field(default="", max_length=64)
    session: str | None = Field(default=None, max_length=64)
    format: Literal["md", "json"] = "md"


ClientFrame = Annotated[Hello | Ping | ReportRequest | Command, Field(discriminator="type")]
# Built on first use, like the models: a client never reads what clients send, a server what servers send.
CLIENT_ADAPTER: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame, config=ConfigDict(defer_build=True))


# --- server to client -------------------------------------------------------------------------


class LogEntry(_Frame):
    seq: int
    ts: int = Field(description="server UTC time in ms when it was logged")
    actor: Actor
    event: Event


class Welcome(_Frame):
    type: Literal["welcome"] = "welcome"
    protocol: int = PROTOCOL_VERSION
    event_id: str
    role: Role
    person: Person | None = None
    server_time: int = Field(description="the event clock, ms since the epoch")
    wall_time: int = Field(default=0, description="the server's wall clock, ms since the epoch")
    time_scale: float = 1.0
    seq: int
    snapshot: State | None = Field(default=None, description="absent on a resume: the missed events follow")
    credential: str | None = Field(
        default=None,
        description="a participant's personal token, issued at the first join with the event-wide token and a "
        "name: the client keeps it and joins with it from then on (it is shown only this once)",
    )


class Events(_Frame):
    type: Literal["events"] = "events"
    events: list[LogEntry]


class Reset(_Frame):
    """A fresh snapshot replacing the replica: after an undo, or a resume from too far back."""

    type: Literal["reset"] = "reset"
    seq: int
    reason: str
    snapshot: State


class View(_Frame):
    """The derived view of a client that asked for views in its hello: after its welcome (which then has no
    snapshot), and again after every change it may see. Its fields are a ``PageView``, docs/view-feed.md."""

    type: Literal["view"] = "view"
    seq: int = Field(description="the log sequence the view was made at")
    view: dict[str, Any] = Field(description="a PageView (docs/view-feed.md)")


class Ack(_Frame):
    type: Literal["ack"] = "ack"
    id: str
    seq: int = Field(description="the sequence of the last event the command produced")
    person: str | None = Field(default=None, description="person_add: the id of the person added")
    token: str | None = Field(
        default=None,
        description="person_add: the speaker token of the person added, shown only this once and only to the "
        "moderator who added them (the server keeps its hash)",
    )


class Error(_Frame):
    type: Literal["error"] = "error"
    id: str | None = None
    code: ErrorCode
    message: str


class Pong(_Frame):
    type: Literal["pong"] = "pong"
    id: str = ""
    server_time: int = Field(description="the event clock, ms since the epoch")
    wall_time: int = Field(default=0, description="the server's wall clock, ms since the epoch")
    time_scale: float = 1.0
    online: int | None = Field(
        default=None,
        ge=0,
        description="how many speakers and participants are connected now: a count for every viewer (the "
        "list is the moderators', in presence), answered with each ping so that a join costs the others nothing",
    )


class Presence(_Frame):
    """Who is connected right now (moderators only; not logged: it is not a timing fact)."""

    type: Literal["presence"] = "presence"
    people: list[str] = Field(description="ids of the speakers and participants with a live connection")


class ReportReady(_Frame):
    type: Literal["report"] = "report"
    id: str = ""
    format: Literal["md", "json"] = "md"
    text: str


class QuestionVotes(_Frame):
    """The written questions' vote counts that changed, to viewers other than moderators: coalesced by the
    server to at most one frame a second per event (the votes themselves go only to moderators and the voter,
    each acknowledged at once). Not logged: the counts follow from the log."""

    type: Literal["question_votes"] = "question_votes"
    seq: int = Field(description="the log sequence the counts are as of")
    votes: dict[str, int] = Field(description="question id -> its number of votes")


ServerFrame = Annotated[
    Welcome | Events | Reset | View | Ack | Error | Pong | Presence | ReportReady | QuestionVotes,
    Field(discriminator="type"),
]
SERVER_ADAPTER: TypeAdapter[ServerFrame] = TypeAdapter(ServerFrame, config=ConfigDict(defer_build=True))


def check_name(raw: str | None) -> str:
    """A participant's name as the server takes it, or ValueError saying why not (``core.names.clean_name``).
    The server checks it at hello; clients check it first so a bad name is refused before connecting."""
    return clean_name(raw)


def dump(frame: _Frame) -> str:
    return frame.model_dump_json(exclude_none=False)


def schema() -> dict[str, Any]:
    """One JSON Schema document holding both directions."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "modconsole protocol",
        "version": PROTOCOL_VERSION,
        "client_to_server": CLIENT_ADAPTER.json_schema(),
        "server_to_client": SERVER_ADAPTER.json_schema(),
    }


def schema_json() -> str:
    return json.dumps(schema(), indent=2, ensure_ascii=False, sort_keys=True)
