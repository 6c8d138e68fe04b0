"""The HTTP API for control desks, scripts and bridges (Bitfocus Companion, a video platform's bot): read the
state and a session's figures, send any command the websocket takes, with ``Authorization: Bearer TOKEN``.

Served by aiohttp on a port of its own (``modconsole-server serve --http-port``): websockets' HTTP serving
refuses request bodies, and a command is a POST with a JSON body (docs/http.md says more). Every command
goes through the websocket's one write path, ``MeetingServer.execute``: decided, written durably, settled
and broadcast before the answer, which is the ``ack`` frame or the typed ``error`` frame with a fitting
HTTP status. A token has the same rights and the same rate limit as a websocket client of that token.

This module owns the HTTP surface and its bounds (body size, open connections, requests per token). It
must never decide a command, write the log or change a state: the service does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import ssl as tls
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from modconsole.core.commands import Actor
from modconsole.core.projection import default_session
from modconsole.core.read_model import session_view, state_view_of
from modconsole.protocol import CLIENT_ADAPTER, MAX_FRAME_BYTES, ErrorCode, Hello, Ping, ReportRequest

from .connection import RATE_BURST, RATE_PER_S
from .runtime import EventRuntime
from .service import MeetingServer, _describe, error_frame
from .store import StorageError, TokenGrant
from .tokens import token_hash

DEFAULT_MAX_CONNECTIONS = 256  # open HTTP connections at once; more are answered 503 and closed
KEEPALIVE_S = 15.0  # an idle kept-alive connection is closed after this
MAX_TOKENS_TRACKED = 10_000  # the rate buckets kept, the least recently used dropped first

# The typed error's HTTP status.
STATUS: dict[ErrorCode, int] = {
    "bad_frame": 400,
    "invalid": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "invalid_state": 409,
    "stale": 409,
    "rate_limited": 429,
    "storage": 503,
    "unavailable": 503,
}

_REFUSED = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\nRetry-After: 1\r\n\r\n"


@dataclass
class _Bucket:
    """The same token bucket as a websocket client's (connection.Client.allow)."""

    tokens: float = RATE_BURST
    refilled: float = field(default_factory=time.monotonic)

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(RATE_BURST, self.tokens + (now - self.refilled) * RATE_PER_S)
        self.refilled = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class _Answer:
    """A request's side of the write path: the frames the service sends back to it (``connection.Sender``).
    The entries frame is the websocket client's to fold; the request keeps its answer, the last frame."""

    def __init__(self, actor: Actor, sessions: tuple[str, ...] | None) -> None:
        self._actor = actor
        self._sessions = sessions
        self.frame: dict[str, Any] | None = None

    @property
    def actor(self) -> Actor:
        return self._actor

    @property
    def sessions(self) -> tuple[str, ...] | None:
        """A named moderator's sessions, the only ones they may act on; None for every session."""
        return self._sessions

    def send(self, frame: str) -> None:
        if not frame.startswith('{"type":"events"'):
            self.frame = json.loads(frame)


class _Refuse(asyncio.Protocol):
    """A connection over the limit: a fixed 503 and the connection closed, nothing read."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(_REFUSED)
        transport.close()


def _json(status: int, body: object, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body, ensure_ascii=False),
        content_type="application/json",
        headers=headers,
    )


def _error(code: ErrorCode, message: str, command_id: str | None = None) -> web.Response:
    headers = {"WWW-Authenticate": "Bearer"} if code == "unauthorized" else {}
    if code == "rate_limited":
        headers["Retry-After"] = "1"
    return web.Response(
        status=STATUS[code],
        text=error_frame(code, message, command_id),
        content_type="application/json",
        headers=headers,
    )


_PATHS = "GET /api/state, GET /api/session, GET /api/sessions/ID, POST /api/command"


@web.middleware
async def _typed_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """An unknown path or a wrong method answered as the typed error frame, like every other refusal."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except web.HTTPMethodNotAllowed as exc:
        allowed = ", ".join(sorted(exc.allowed_methods))
        return _json(
            405,
            {
                "type": "error",
                "id": None,
                "code": "bad_frame",
                "message": f"{request.method[:16]} is not answered here; {request.path[:100]} takes {allowed}",
            },
            headers={"Allow": ",".join(sorted(exc.allowed_methods))},
        )
    except web.HTTPNotFound:
        return _error("not_found", f"no such path {request.path[:100]!r}; the API answers {_PATHS}")


class HttpApi:
    """The API of one MeetingServer, on its own port."""

    def __init__(
        self,
        server: MeetingServer,
        *,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        max_body: int = MAX_FRAME_BYTES,
    ) -> None:
        self.server = server
        self.max_connections = max_connections
        self.refused = 0  # connections turned away over the limit
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._ids = itertools.count(1)
        self.app = web.Application(client_max_size=max_body, middlewares=[_typed_errors])
        self.app.add_routes(
            [
                web.get("/api/state", self._state),
                web.get("/api/session", self._session),
                web.get("/api/sessions/{session}", self._session),
                web.post("/api/command", self._command),
            ]
        )
        self._runner: web.AppRunner | None = None
        self._listening: asyncio.Server | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0, ssl: tls.SSLContext | None = None) -> int:
        runner = web.AppRunner(self.app, access_log=None, keepalive_timeout=KEEPALIVE_S, handle_signals=False)
        await runner.setup()
        self._runner = runner
        http = runner.server
        assert http is not None

        def protocol() -> asyncio.BaseProtocol:
            if len(http.connections) >= self.max_connections:
                self.refused += 1
                return _Refuse()
            return http()

        loop = asyncio.get_running_loop()
        self._listening = await loop.create_server(protocol, host, port, ssl=ssl)
        return int(self._listening.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._listening is not None:
            self._listening.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._listening is not None:
            await self._listening.wait_closed()

    # --- who asks ------------------------------------------------------------------------------

    async def _who(self, request: web.Request) -> tuple[EventRuntime, _Answer] | web.Response:
        """The event and the actor of the request's token, or the error to answer."""
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("bearer ") or not header[7:].strip():
            return _error("unauthorized", "send the token as 'Authorization: Bearer TOKEN'")
        hashed = token_hash(header[7:].strip())
        try:
            grant: TokenGrant | None = await asyncio.to_thread(self.server.store.grant, hashed)
        except StorageError as exc:
            return _error("storage", f"the token could not be checked: {exc}")
        if grant is None:
            return _error("unauthorized", "the token was not accepted")
        if grant.role == "participant" and grant.person is None:
            return _error(
                "forbidden",
                "the event-wide participant token registers a person on the websocket; use a personal token",
            )
        if not self._allow(hashed):
            return _error("rate_limited", "too many requests; slow down")
        try:
            runtime = await self.server._runtime(grant.event_id)
        except StorageError as exc:
            return _error("storage", f"the event could not be loaded: {exc}")
        # Who the log names, as for a websocket client of this token (MeetingServer._authenticate).
        person: str | None
        name: str | None = None
        if grant.role == "participant":
            person, name = grant.person, grant.name or grant.person
        elif grant.role == "moderator" and grant.person is not None:
            person, name = grant.person, grant.name  # a named moderator
        else:
            known = runtime.state.person(grant.person) if grant.person is not None else None
            person = known.id if known is not None else None
        actor = Actor(role=grant.role, person=person, name=name, client="http")
        return runtime, _Answer(actor, grant.sessions if grant.role == "moderator" else None)

    def _allow(self, hashed: str) -> bool:
        bucket = self._buckets.get(hashed)
        if bucket is None:
            bucket = self._buckets[hashed] = _Bucket()
            if len(self._buckets) > MAX_TOKENS_TRACKED:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(hashed)
        return bucket.allow()

    # --- routes --------------------------------------------------------------------------------

    async def _state(self, request: web.Request) -> web.Response:
        """``GET /api/state[?session=ID]``: what ``modconsole ctl state --json`` prints."""
        who = await self._who(request)
        if isinstance(who, web.Response):
            return who
        runtime, answer = who
        state = runtime.snapshot_for(answer.actor)
        session_id = request.query.get("session")
        if session_id is not None and state.session(session_id) is None:
            return _error("not_found", f"no session {session_id[:64]!r}")
        if state.agenda is None:
            return _error("invalid_state", "the event has no agenda")
        return _json(200, state_view_of(state, runtime.now(self.server.clock()), session_id))

    async def _session(self, request: web.Request) -> web.Response:
        """``GET /api/sessions/ID``, or ``GET /api/session`` for the running one (else the first not ended)."""
        who = await self._who(request)
        if isinstance(who, web.Response):
            return who
        runtime, answer = who
        state = runtime.snapshot_for(answer.actor)
        session_id = request.match_info.get("session")
        session = state.session(session_id) if session_id is not None else default_session(state)
        if session is None:
            return _error("not_found", f"no session {session_id[:64]!r}" if session_id else "no session")
        return _json(200, session_view(state, session, runtime.now(self.server.clock())))

    async def _command(self, request: web.Request) -> web.Response:
        """``POST /api/command`` with a command frame as the body: its ack, or its typed error."""
        who = await self._who(request)
        if isinstance(who, web.Response):
            return who
        runtime, answer = who
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.Response(
                status=413,
                text=error_frame("bad_frame", f"the body is larger than {self.app._client_max_size:,} bytes"),
                content_type="application/json",
            )
        try:
            frame = CLIENT_ADAPTER.validate_json(body)
        except ValidationError as exc:
            return _error("bad_frame", _describe(exc))
        if isinstance(frame, Hello | Ping):
            return _error("bad_frame", f"a {frame.type} frame is for the websocket; send a command")
        if not frame.id:
            frame = frame.model_copy(update={"id": f"http-{next(self._ids)}"})
        if isinstance(frame, ReportRequest):
            await self.server._report(runtime, frame, answer)
        else:
            await self.server.execute(runtime, frame, answer)
        result = answer.frame
        if result is None:  # the write path always answers; should it not, the request is not left hanging
            return _error("unavailable", "no answer from the service", frame.id)
        if result.get("type") == "error":
            code: ErrorCode = result["code"]
            return _error(code, result["message"], result.get("id"))
        return _json(200, result)
