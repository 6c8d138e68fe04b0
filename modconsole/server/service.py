"""The websockets service: a thin shell around the core.

For every command: authenticate (at connect), record it with the core (decide and number its entries),
append them to the log durably, settle them into the state, broadcast, acknowledge, in that order, one
command at a time per event. The log is the truth; the in-memory state is its fold (modconsole/core/log.py
owns that rule).

This module owns the I/O around it: the HTTP and websocket serving, a connection's hello, authentication and
welcome, the per-event lock, the durable write (in the writer thread, before the ack) and the broadcast. A
client's outbox and rate limit are in connection.py, an event's runtime (state, log, clients, clock floor,
roster, roll) in runtime.py; it must never change a state but through ``settle``.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pydantic import ValidationError
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from modconsole.core.agenda import Person
from modconsole.core.attendance import LEAVE_GRACE_MS, Mark, joined, left, still_present
from modconsole.core.commands import Actor, Command
from modconsole.core.decide import Rejected
from modconsole.core.events import ClockSet, PersonAdded
from modconsole.core.fold import replay
from modconsole.core.hard_stop import hard_stop_at, hard_stops
from modconsole.core.log import Entry, number, record, settle
from modconsole.core.names import fold_name
from modconsole.core.scope import scoped
from modconsole.core.visibility import view_for, viewer_key, visible_to
from modconsole.protocol import (
    CLIENT_ADAPTER,
    CLOSE_GOING_AWAY,
    CLOSE_POLICY,
    HEALTH_PATH,
    MAX_FRAME_BYTES,
    Ack,
    Error,
    ErrorCode,
    Hello,
    Ping,
    Pong,
    Presence,
    ReportReady,
    ReportRequest,
    Reset,
    Welcome,
    check_name,
)

from .connection import RATE_STRIKES, Client, Sender, send_all
from .events_admin import SYSTEM
from .gate import Gate, deepen_accept_queue
from .http_i18n import i18n_response
from .http_pages import Routes
from .registrants import participant_tags
from .registrations import (
    DEFAULT_MAX_PARTICIPANTS,
    DEFAULT_REGISTRATIONS_PER_MINUTE,
    AddressRate,
    Refused,
    Roll,
    check_own_name,
    new_participant,
)
from .reports import build_report, render
from .runtime import VOTE_EVENTS, EventRuntime, Work
from .store import SeqTaken, StorageError, Store, TokenGrant, UnreadableEntry
from .tokens import new_token, token_hash
from .view_feed import REFRESH_S as VIEW_REFRESH_S

log = logging.getLogger("modconsole.server")

HARD_STOP_LOOK_S = 1.0  # the longest the server waits before looking again for a turn past its hard stop
# How often a running server asks the store for tokens revoked since it last looked (``tokens reissue`` and
# ``tokens revoke`` run in another process): their connections are closed with 1008 within this much.
REVOCATION_POLL_S = 0.5
SEQ_RETRIES = 5  # a command whose seq another process took is decided again on the caught-up state, this often
HELLO_TIMEOUT_S = 5.0  # a client says hello at once; an idle connection must not hold its place for long
OPEN_TIMEOUT_S = 5.0  # the same for the websocket opening handshake (the HTTP request)


def wall_ms() -> int:
    return int(time.time() * 1000)


class ClockConflict(StorageError):
    """An event cannot be served at this time scale: a session runs (or is paused) on its clock at another.
    A StorageError, so that an event loaded on a first connection is refused like one that cannot be read."""


class Admitted(NamedTuple):
    """A connection past authentication: its event, its client, who it is and, for a first join, the
    credential just issued (sent once, in the welcome)."""

    runtime: EventRuntime
    client: Client
    person: Person | None
    credential: str | None


@dataclass(slots=True)
class _Decided:
    """A batch decided: where the log in memory stood before it, each command's outcome, the entries to
    append, the last accepted command's entries (settled once durable), and whether any were settled
    before the write (a failure then rebuilds the state) or replayed the log (an undo or a redo)."""

    before: int
    outcomes: list[Rejected | list[Entry]]
    new: list[Entry]
    held: list[Entry]
    speculative: bool = False
    replayed: bool = False
    # A person added live gets a speaker token, stored (as its hash) with the entries, shown once in the ack:
    # by the index of the command in the batch, (person, token).
    issued: dict[int, tuple[str, str]] = field(default_factory=dict)

    def grants(self) -> list[tuple[str, str | None, str]]:
        return [("speaker", person, token_hash(token)) for person, token in self.issued.values()]


def entries_frame(entries: list[Entry]) -> str:
    # The events were serialised once when logged; the frame is assembled around them.
    parts = [
        f'{{"seq":{e.seq},"ts":{e.ts},"actor":{e.actor.model_dump_json()},"event":{e.event_json}}}' for e in entries
    ]
    return '{"type":"events","events":[' + ",".join(parts) + "]}"


def error_frame(code: ErrorCode, message: str, command_id: str | None = None) -> str:
    return Error(id=command_id, code=code, message=message).model_dump_json()


def _describe(exc: ValidationError) -> str:
    first = exc.errors(include_url=False, include_input=False)[:3]
    parts = []
    for err in first:
        where = ".".join(str(p) for p in err["loc"]) or "frame"
        if err["type"] == "union_tag_invalid":
            # Not the whole list of frame types, which grows with the protocol: docs/protocol.md has it.
            tag = str(err.get("ctx", {}).get("tag", ""))[:64]
            parts.append(f"{where}: unknown type {tag!r} (the frame types are listed in docs/protocol.md)")
            continue
        parts.append(f"{where}: {err['msg']}")
    more = exc.error_count() - len(first)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


class MeetingServer:
    def __init__(
        self,
        store: Store,
        *,
        time_scale: float = 1.0,
        clock: Callable[[], int] = wall_ms,
        max_participants: int = DEFAULT_MAX_PARTICIPANTS,
        registrations_per_minute: float = DEFAULT_REGISTRATIONS_PER_MINUTE,
        leave_grace_s: float = LEAVE_GRACE_MS / 1000,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("the time scale must be positive")
        # Connections not yet past hello are capped, in total and per address (modconsole/server/gate.py); another
        # gate, with other caps, may be put in its place before start.
        self.gate = Gate()
        self.http = Routes()  # plain GET routes on the websocket's port: the pages (http_pages.py)
        # The pages' catalogues, made from the message catalogue (http_i18n.py), in place of the pages' own files.
        self.http.add_prefix(
            "/i18n/",
            lambda _connection, request: i18n_response(
                request.path.split("?", 1)[0], request.headers.get("If-None-Match")
            ),
        )
        self._loop_handler: Callable[[asyncio.AbstractEventLoop, dict[str, Any]], object] | None = None
        self._loop_handler_before: Callable[[asyncio.AbstractEventLoop, dict[str, Any]], object] | None = None
        self.store = store
        self.max_participants = max_participants
        self.registrations = AddressRate(registrations_per_minute)
        self.time_scale = time_scale
        # A client that reconnects within this has not left: no leave and no join in the log.
        self.leave_grace_s = leave_grace_s
        self.clock = clock
        self.events: dict[str, EventRuntime] = {}
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="modconsole-log")
        self._server: Server | None = None
        self._loading = asyncio.Lock()
        self._closing = False
        self._ticker: asyncio.Task[None] | None = None
        self.broken: dict[str, str] = {}  # events whose log cannot be read, and why: not served
        # Called with an event's runtime and the entries this process just wrote and settled into its state
        # (the automations, modconsole/server/hooks.py; entries another process wrote are that one's to tell):
        # they must not block and must not raise.
        self.listeners: list[Callable[[EventRuntime, list[Entry]], None]] = []
        self._revoked_seen = 0  # the last revocation number the store was asked past
        self._revoked: set[str] = set()  # hashes revoked while this server runs (few: an organiser's doing)
        self._watch: asyncio.Task[None] | None = None
        # A store shared with other server processes (PostgreSQL) tells of their appends; see _heard.
        self._unlisten: Callable[[], None] | None = None
        self._to_catch_up: set[str] = set()

    # --- start and stop -----------------------------------------------------------------------

    def load(self) -> None:
        """Replay every event's log, and set its clock to this server's time scale. An event with an entry
        that cannot be read is left out (in ``broken``, with the reason, and logged); the others are served.
        A ClockConflict stops the load: the event cannot be served at this scale."""
        for event_id in self.store.event_ids():
            try:
                self._load_event(event_id)
            except UnreadableEntry as exc:
                self.broken[event_id] = str(exc)
                log.error("not serving %s", exc)

    def _load_event(self, event_id: str, *, at_start: bool = True) -> EventRuntime:
        for _ in range(SEQ_RETRIES):
            try:
                return self._load_event_once(event_id, at_start=at_start)
            except SeqTaken:
                continue  # another process set the clock meanwhile: read the log again
        raise StorageError(f"event {event_id}: its log kept moving while it was loaded; try again")

    def _load_event_once(self, event_id: str, *, at_start: bool = True) -> EventRuntime:
        runtime = EventRuntime.load(self.store, event_id, at_start=at_start)
        wall = self.clock()
        clock = runtime.state.clock
        had_clock = any(e.event.type == "clock_set" for e in runtime.entries)
        if had_clock and clock.scale != self.time_scale:
            for session in runtime.state.sessions:
                if session.status in ("running", "paused"):
                    # Its timers would change pace in the middle: minutes of rehearsal would become seconds of
                    # the real thing, or the other way round.
                    raise ClockConflict(
                        f"event {event_id}: session {session.id!r} is {session.status} on the event clock at "
                        f"×{clock.scale:g}; it cannot go on at ×{self.time_scale:g}. Serve it with --time-scale "
                        f"{clock.scale:g} (and end the session there before changing the pace)"
                    )
        if not had_clock or clock.scale != self.time_scale:
            # The event clock carries on from where it is, at the new pace: never behind the wall clock, nor
            # behind what it read before (a rehearsal may have run it ahead), nor behind any time in the log.
            virtual = max(wall, clock.now(wall) if had_clock else wall, runtime.clock_floor)
            entries = number(
                runtime.state, [ClockSet(wall_ms=wall, virtual_ms=virtual, scale=self.time_scale)], SYSTEM, wall
            )
            self.store.append(event_id, entries)
            runtime.state = settle(runtime.state, runtime.entries, entries).state
        present = still_present(self.store.attendance(event_id))
        if present:
            # The server stopped without logging who left (a crash): they left by the last time it logged.
            self.store.append_attendance(event_id, [left(runtime.clock_floor, p) for p in present])
        runtime.attendance.grace_ms = int(self.leave_grace_s * 1000 * self.time_scale)
        self.events[event_id] = runtime
        return runtime

    async def start(self, host: str = "127.0.0.1", port: int = 8765, ssl: object = None) -> int:
        self.load()
        self._revoked_seen, _ = self.store.revoked_since(-1)  # revoked before: refused at connect already
        self._watch = asyncio.get_running_loop().create_task(self._watch_revocations())
        loop = asyncio.get_running_loop()
        listen = getattr(self.store, "listen", None)
        if listen is not None:
            self._unlisten = listen(lambda event_id, seq: loop.call_soon_threadsafe(self._heard, event_id, seq))
        # asyncio's accept failures (EMFILE) are counted and logged once per interval, not one traceback each.
        self._loop_handler_before = loop.get_exception_handler()
        self._loop_handler = self.gate.reporter.exception_handler(self._loop_handler_before)
        loop.set_exception_handler(self._loop_handler)
        self._server = await serve(
            self._handle,
            host,
            port,
            max_size=MAX_FRAME_BYTES,
            process_request=self._process_request,
            ping_interval=20,
            ping_timeout=20,
            open_timeout=OPEN_TIMEOUT_S,
            compression=None,
            ssl=ssl,
            create_connection=self.gate.connection_class(),
            backlog=self.gate.accept_burst,  # accepted in one loop tick (the kernel's queue is deepened below)
        )
        self._ticker = loop.create_task(self._refresh_views())
        for runtime in self.events.values():
            self._arm_hard_stop(runtime)
        sockets = list(self._server.sockets)
        deepen_accept_queue(sockets)
        return int(sockets[0].getsockname()[1])

    async def stop(self, code: int = CLOSE_GOING_AWAY) -> None:
        """Close every connection with ``code`` (1001, or 1012 for a restart) and let writes finish."""
        self._closing = True
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        for runtime in self.events.values():
            if runtime.hard_stop is not None:
                runtime.hard_stop.cancel()
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        if self._server is not None:
            self._server.close(close_connections=True, code=code, reason="server shutting down")
            await self._server.wait_closed()
        if self._unlisten is not None:
            await asyncio.to_thread(self._unlisten)
        for runtime in self.events.values():
            if runtime.flusher is not None:
                await runtime.flusher
            gone = runtime.attendance.all_leave(runtime.now(self.clock()))
            marks = runtime.marks + [left(at, p) for p, at in gone]
            runtime.marks = []
            if marks:
                try:
                    await asyncio.get_running_loop().run_in_executor(
                        self._writer, self.store.append_attendance, runtime.event_id, marks
                    )
                except StorageError as exc:
                    log.error("attendance not written: %s", exc)
        self._writer.shutdown(wait=True)
        self.gate.reporter.flush()  # what was refused since the last line
        loop = asyncio.get_running_loop()
        if self._loop_handler is not None and loop.get_exception_handler() is self._loop_handler:
            loop.set_exception_handler(self._loop_handler_before)

    async def _watch_revocations(self) -> None:
        """Close the connections of tokens revoked or reissued by another process (``modconsole-server tokens``).

        The store numbers each revocation; this asks it, every REVOCATION_POLL_S, for those past the last
        number seen: one small indexed query however many clients are connected, where re-checking each
        client's grant would cost one per client, and re-checking at each command would never close a
        display, which sends none. A new connection with a revoked token is refused at once (its grant is
        looked up at connect); an open one is closed with 1008 within the poll interval."""
        while True:
            await asyncio.sleep(REVOCATION_POLL_S)
            try:
                self._revoked_seen, hashes = await asyncio.to_thread(self.store.revoked_since, self._revoked_seen)
            except StorageError as exc:
                log.warning("could not look for revoked tokens: %s", exc)
                continue
            if hashes:
                self.close_revoked(hashes)

    def close_revoked(self, hashes: list[str]) -> int:
        """Close, with 1008, every connection that came in with one of these token hashes; how many were."""
        self._revoked.update(hashes)
        gone = set(hashes)
        closed = 0
        for runtime in self.events.values():
            for client in [*runtime.clients, *runtime.feed.pages]:
                if client.token in gone:
                    client.drop(CLOSE_POLICY, "the token was revoked or reissued")
                    closed += 1
        if closed:
            log.info("closed %d connection(s) of revoked tokens", closed)
        return closed

    # --- HTTP ---------------------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path == HEALTH_PATH:
            return Response(http.HTTPStatus.OK, "OK", Headers([("Content-Type", "text/plain")]), b"ok\n")
        # The browser pages and their assets, the catalogues, and any other plain GET route (http_pages.Routes).
        return self.http.respond(connection, request)

    # --- one connection -----------------------------------------------------------------------

    async def _handle(self, connection: ServerConnection) -> None:
        """One connection: its hello, who it is, its welcome, then its frames until it closes."""
        hello = await self._hello(connection)
        if hello is None:
            return
        admitted = await self._authenticate(connection, hello)
        if admitted is None:
            return
        runtime, client = admitted.runtime, admitted.client
        if self._unlisten is not None and hello.last_seq is not None and hello.last_seq > runtime.state.seq:
            # Resumed here from another process that was further on: this one catches up before it welcomes.
            await self._catch_up(runtime)
        async with runtime.lock:  # never between a group commit's settling and its durable write
            self._welcome(admitted, hello.last_seq, views=hello.views)
            self._joined(admitted)
        # What the welcome was made of is not kept for the life of the connection.
        del hello, admitted
        try:
            await self._read(runtime, client)
        finally:
            runtime.clients.discard(client)
            runtime.moderators.discard(client)
            runtime.feed.pages.discard(client)
            if client.actor.person is not None:
                runtime.presence_changed()
                self._left(runtime, client)
            await client.stop_writing()

    async def _hello(self, connection: ServerConnection) -> Hello | None:
        """The first frame, awaited for a short while: the hello, or None once the connection is refused."""
        try:
            raw = await asyncio.wait_for(connection.recv(), HELLO_TIMEOUT_S)
        except ConnectionClosed:
            return None
        except TimeoutError:
            connection.close_timeout = 1.0  # its place is wanted: wait no longer for a peer that says nothing
            await connection.close(CLOSE_POLICY, f"no hello within {HELLO_TIMEOUT_S:g} s")
            return None
        try:
            hello = CLIENT_ADAPTER.validate_json(raw) if isinstance(raw, str) else None
        except ValidationError as exc:
            await self._refuse(connection, "bad_frame", f"expected a hello frame: {_describe(exc)}")
            return None
        if not isinstance(hello, Hello):
            await self._refuse(connection, "bad_frame", "the first frame must be a hello")
            return None
        return hello

    async def _authenticate(self, connection: ServerConnection, hello: Hello) -> Admitted | None:
        """Who the connection is: its token's grant, the event's runtime (loaded at its first connection) and
        the person (a first join with the event-wide token registers a participant). None once refused."""
        header = connection.request.headers.get("Authorization", "") if connection.request else ""
        token = header[7:].strip() if header.lower().startswith("bearer ") else hello.token
        hashed = token_hash(token) if token else ""
        # In a worker thread: the lookup waits for the store's lock, which a write holds for as long as
        # the database is locked by someone else (seconds); the event loop must go on serving the others.
        grant = await asyncio.to_thread(self.store.grant, hashed) if token else None
        if grant is None:
            # The same answer whether the event exists or not.
            await self._refuse(connection, "unauthorized", "the token was not accepted")
            return None
        try:
            runtime = await self._runtime(grant.event_id)
        except StorageError as exc:
            await self._refuse(connection, "storage", f"the event could not be loaded: {exc}")
            return None
        try:
            person, name, credential = await self._person(runtime, connection, grant, hello)
        except Refused as exc:
            await self._refuse(connection, exc.code, exc.message)
            return None
        if grant.role == "moderator" and grant.person is not None and person is None:
            # A named moderator (``tokens add-moderator``): the log's actor names them.
            actor_person: str | None = grant.person
            name = grant.name
        else:
            actor_person = person.id if person else None
        actor = Actor(
            role=grant.role,
            person=actor_person,
            name=name,
            # A label the client chose, never its address: the actor goes to every viewer with the event.
            client=hello.client or "unlabelled",
            tags=tuple(sorted(person.tags.items())) if person is not None and grant.role == "participant" else (),
        )
        sessions = grant.sessions if grant.role == "moderator" else None
        if credential is not None:
            hashed = token_hash(credential)  # a first join: from now on the connection is that credential's
        return Admitted(runtime, Client(connection, actor, token=hashed, sessions=sessions), person, credential)

    async def _person(
        self, runtime: EventRuntime, connection: ServerConnection, grant: TokenGrant, hello: Hello
    ) -> tuple[Person | None, str | None, str | None]:
        """Who holds the grant, the name shown for a participant, and the credential a first join with the
        event-wide token was just issued; Refused when that registration is refused."""
        raw_name = hello.name
        if grant.role == "participant" and grant.person is None:
            try:
                tags = participant_tags(hello.country, hello.gender)
            except ValueError as exc:
                raise Refused("bad_frame", str(exc)) from None
            # The event-wide token: a first join, which makes the person a participant of their own.
            person, credential = await self._register(runtime, connection, raw_name, tags)
            return person, person.name, credential
        if grant.role == "participant" and grant.person is not None:
            name = grant.name or grant.person
            known = runtime.state.participants.get(grant.person)
            if grant.person.startswith("r-"):
                # Registered from a list: who they are is the registrants table's, updated by a second import.
                listed = await asyncio.to_thread(self.store.registrant, runtime.event_id, grant.person)
                if listed is not None:
                    return listed, listed.name, None
            return known or Person(id=grant.person, name=name, participant=True), name, None
        if grant.person is not None:
            return runtime.state.person(grant.person), None, None
        return None, None, None

    async def _runtime(self, event_id: str) -> EventRuntime:
        """The event's runtime; an event created while the server runs is loaded on its first connection
        (a StorageError when it cannot be)."""
        runtime = self.events.get(event_id)
        if runtime is None:
            async with self._loading:  # one load per event, however many connect at once
                runtime = self.events.get(event_id)
                if runtime is None:
                    runtime = await asyncio.to_thread(self._load_event, event_id, at_start=False)
                    self._arm_hard_stop(runtime)
        return runtime

    def _welcome(self, admitted: Admitted, last_seq: int | None, *, views: bool = False) -> None:
        """Send the welcome (a snapshot, or the entries missed since ``last_seq``; for a page that asked for
        views, none and its view) and register the client. Not a coroutine: with no await between them, no
        event can fall between the snapshot and the first broadcast this client receives."""
        runtime, client = admitted.runtime, admitted.client
        actor = client.actor
        if client.token in self._revoked:  # revoked between its lookup and now: never registered
            client.drop(CLOSE_POLICY, "the token was revoked or reissued")
            return
        wall = self.clock()
        if views:
            now = runtime.now(wall)
            page_welcome = Welcome(
                event_id=runtime.event_id,
                role=actor.role,
                person=admitted.person,
                server_time=now,
                wall_time=wall,
                time_scale=runtime.state.clock.scale,
                seq=runtime.state.seq,
                credential=admitted.credential,
            )
            client.send(page_welcome.model_dump_json())
            client.send(runtime.feed.frame_for(runtime.state, client, now))
            runtime.feed.pages.add(client)
            if actor.person is not None:
                runtime.presence_changed()
            return
        missed = runtime.missed(last_seq, actor) if last_seq is not None else None
        welcome = Welcome(
            event_id=runtime.event_id,
            role=actor.role,
            person=admitted.person,
            server_time=runtime.now(wall),
            wall_time=wall,
            time_scale=runtime.state.clock.scale,
            seq=runtime.state.seq,
            snapshot=None if missed is not None else runtime.snapshot_for(actor),
            credential=admitted.credential,
        )
        client.send(welcome.model_dump_json())
        if missed:
            client.send(entries_frame(missed))
        if missed is not None and actor.role != "moderator" and (votes := runtime.all_votes()) is not None:
            client.send(votes)  # the counts it missed while away
        if actor.role == "moderator":
            client.send(Presence(people=runtime.online()).model_dump_json())
        runtime.clients.add(client)
        if actor.role == "moderator":
            runtime.moderators.add(client)
        if actor.person is not None:
            runtime.presence_changed()

    def _joined(self, admitted: Admitted) -> None:
        """A speaker's or participant's connection is open: the first one of theirs logs that they joined
        (with who they are, the first time a participant the state does not know joins)."""
        runtime, actor = admitted.runtime, admitted.client.actor
        if actor.person is None or actor.role not in ("speaker", "participant"):
            return
        if not runtime.attendance.open(actor.person):
            return
        who = admitted.person if actor.role == "participant" else None
        self._mark(runtime, [joined(runtime.now(self.clock()), actor.person, actor.role, who)])

    def _left(self, runtime: EventRuntime, client: Client) -> None:
        """A connection closed: the person's last one starts the grace period, after which they have left
        (unless they are back by then)."""
        actor = client.actor
        if actor.person is None or actor.role not in ("speaker", "participant"):
            return
        runtime.attendance.close(actor.person, runtime.now(self.clock()))
        if not self._closing:
            asyncio.get_running_loop().call_later(self.leave_grace_s + 0.05, self._leaves_due, runtime)

    def _leaves_due(self, runtime: EventRuntime) -> None:
        if self._closing:
            return
        due = runtime.attendance.due(runtime.now(self.clock()))
        if due:
            self._mark(runtime, [left(at, person) for person, at in due])

    async def _register(
        self,
        runtime: EventRuntime,
        connection: ServerConnection,
        raw_name: str | None,
        tags: dict[str, str] | None = None,
    ) -> tuple[Person, str]:
        """Issue a personal participant credential for a first join with the event-wide token, or raise
        Refused saying why not. The credential is stored durably before it is handed out."""
        try:
            name = check_name(raw_name)
        except ValueError as exc:
            raise Refused("bad_frame", str(exc)) from None
        check_own_name(name, runtime.roster())
        if runtime.roll is None:
            issued = await asyncio.to_thread(self.store.participant_names, runtime.event_id)
            if runtime.roll is None:
                runtime.roll = Roll.of(issued, runtime.state)
        roll = runtime.roll
        address = connection.remote_address[0] if connection.remote_address else "?"
        if not self.registrations.allow(str(address)):
            raise Refused("rate_limited", "too many people joined from your address just now; try again in a minute")
        async with roll.lock:  # one at a time per event: the numbering and the count stay exact
            if roll.count >= self.max_participants:
                raise Refused(
                    "forbidden",
                    f"this event is full: it has its {self.max_participants:,} participants; ask the organisers",
                )
            person = new_participant(name, roll)
            if tags:
                person = person.model_copy(update={"tags": tags})
            token = new_token()
            try:
                await asyncio.to_thread(
                    self.store.issue_participant, runtime.event_id, token_hash(token), person.id, person.name
                )
            except StorageError as exc:
                raise Refused("storage", f"could not register you: {exc}") from None
            roll.taken.add(fold_name(person.name))
            roll.count += 1
        return person, token

    async def _refuse(self, connection: ServerConnection, code: ErrorCode, message: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await connection.send(error_frame(code, message))
            await connection.close(CLOSE_POLICY, message[:120])

    async def _read(self, runtime: EventRuntime, client: Client) -> None:
        connection = client.connection
        self.gate.passed(connection)  # welcomed: it no longer counts as waiting for hello
        try:
            async for raw in connection:
                if client.dropped is not None:
                    continue  # closing: read on until the peer's close frame, act on nothing
                if not client.allow():
                    if client.strikes > RATE_STRIKES:
                        client.drop(CLOSE_POLICY, "too many frames")
                        continue
                    # With the command's id, so the sender's request is answered, not left hanging.
                    client.send(error_frame("rate_limited", "too many frames; slow down", _command_id(raw)))
                    continue
                if isinstance(raw, bytes):
                    client.send(error_frame("bad_frame", "frames are JSON text, not binary"))
                    continue
                try:
                    frame = CLIENT_ADAPTER.validate_json(raw)
                except ValidationError as exc:
                    client.send(error_frame("bad_frame", _describe(exc), _command_id(raw)))
                    continue
                if isinstance(frame, Ping):
                    wall = self.clock()
                    pong = Pong(
                        id=frame.id,
                        server_time=runtime.now(wall),
                        wall_time=wall,
                        time_scale=runtime.state.clock.scale,
                        online=runtime.attendance.online,
                    )
                    client.send(pong.model_dump_json())
                elif isinstance(frame, Hello):
                    client.send(error_frame("bad_frame", "already said hello"))
                elif isinstance(frame, ReportRequest):
                    await self._report(runtime, frame, client)
                else:
                    await self.execute(runtime, frame, client)
        except ConnectionClosed:
            pass

    async def _report(self, runtime: EventRuntime, request: ReportRequest, client: Sender) -> None:
        if client.actor.role != "moderator":
            client.send(error_frame("forbidden", "reports are for moderators", request.id))
            return
        if request.session is not None and runtime.state.session(request.session) is None:
            client.send(error_frame("not_found", f"no session {request.session!r}", request.id))
            return
        async with runtime.lock:  # what is durable: not a group commit's entries still being written
            entries = list(runtime.entries)  # a snapshot: commands append while the report is made
        now = runtime.now(self.clock())  # "so far" means up to now, not up to the last command

        def make() -> str:
            # The store's lock orders these reads after any write in flight: the figures are what is durable.
            registrants = [person for _email, person in self.store.registrants(runtime.event_id)]
            marks = self.store.attendance(runtime.event_id)
            report = build_report(
                entries, session=request.session, now=now, registrants=registrants, attendance_log=marks
            )
            return render(report, request.format)

        text = await asyncio.to_thread(make)
        client.send(ReportReady(id=request.id, format=request.format, text=text).model_dump_json())

    # --- commands -----------------------------------------------------------------------------

    async def execute(self, runtime: EventRuntime, command: Command, client: Sender) -> None:
        """Decide, log durably and broadcast ``command``; answered (ack or error) once that is done. Commands
        that arrive while a commit is under way go together in the next one (``_commit``)."""
        if self._closing:
            client.send(error_frame("unavailable", "the server is shutting down", command.id))
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        runtime.pending.append(Work(command, client, done))
        self._kick(runtime)
        await done

    def _mark(self, runtime: EventRuntime, marks: list[Mark]) -> None:
        """Attendance, written with the next group commit (its own table; nobody waits for it)."""
        runtime.marks.extend(marks)
        self._kick(runtime)

    def _kick(self, runtime: EventRuntime) -> None:
        if runtime.flusher is None:
            runtime.flusher = asyncio.get_running_loop().create_task(self._flush(runtime))

    async def _flush(self, runtime: EventRuntime) -> None:
        """Commit what waits, batch after batch, until nothing does: the first command goes at once, and
        those that arrive during its write go together in the next, in one transaction."""
        try:
            while runtime.pending or runtime.marks:
                batch, runtime.pending = runtime.pending, []
                marks, runtime.marks = runtime.marks, []
                try:
                    async with runtime.lock:
                        await self._commit(runtime, batch, marks)
                        if batch:
                            self._arm_hard_stop(runtime)
                finally:
                    for work in batch:
                        if not work.done.done():
                            work.done.set_result(None)
        finally:
            runtime.flusher = None

    def _decide_batch(self, runtime: EventRuntime, batch: list[Work]) -> _Decided:
        """Each command of the batch decided on the state after the ones before it: an accepted command
        followed by another is settled into the runtime at once (the next is decided on it); the last one is
        settled once durable, so that a batch of one changes nothing before its write."""
        wall = self.clock()
        now = runtime.now(wall)
        decided = _Decided(len(runtime.entries), [], [], [])
        state = runtime.state
        results: list[Rejected | list[Entry]] = []
        for index, work in enumerate(batch):
            if decided.held:  # another command follows the one before: settle it now, to decide on it
                state, again = settle(state, runtime.entries, decided.held)
                decided.replayed = decided.replayed or again
                decided.speculative = True
                decided.held = []
                runtime.state = state
            command = work.command
            if work.client.sessions is not None:
                limited = scoped(state, command, work.client.sessions)
                if isinstance(limited, Rejected):
                    results.append(limited)
                    continue
                command = limited
            result = record(state, command, work.client.actor, now, wall)
            results.append(result)
            if isinstance(result, Rejected):
                continue
            added = next((entry.event.person for entry in result if isinstance(entry.event, PersonAdded)), None)
            if added is not None:
                decided.issued[index] = (added.id, new_token())
            decided.held = result
            decided.new.extend(result)
        decided.outcomes = results
        return decided

    def _roll_back(self, runtime: EventRuntime, decided: _Decided) -> None:
        """Undo a batch's settling in memory: the log cut back, the state its replay."""
        if decided.speculative:
            del runtime.entries[decided.before :]
            runtime.state = replay([(e.seq, e.event) for e in runtime.entries])

    async def _commit(self, runtime: EventRuntime, batch: list[Work], marks: list[Mark] | None = None) -> None:
        """One group commit. Each command is decided on the state after the ones before it (a rejection
        leaves the others as they are); all their entries are appended in one durable transaction; nothing
        is acknowledged before it commits; then every client gets one frame with what it may see of the
        whole batch, and each sender its acks and errors. A storage error undoes the whole batch in memory
        and answers each of its commands so. When another server process appended first (``SeqTaken``), or
        a command was refused on a state another process had moved on from, the batch is decided again on
        the newest log. Attendance marks go to their own table in the same turn of the writer thread."""
        if marks:
            # Attendance goes in the writer thread before the entries: a failure there costs no command.
            try:
                await asyncio.get_running_loop().run_in_executor(
                    self._writer, self.store.append_attendance, runtime.event_id, marks
                )
            except StorageError as exc:
                log.error("attendance not written: %s", exc)
        if not batch:
            return
        checked = False
        for _ in range(SEQ_RETRIES):
            decided = self._decide_batch(runtime, batch)
            refused = any(isinstance(o, Rejected) for o in decided.outcomes)
            if refused and self._unlisten is not None and not checked:
                checked = True
                self._roll_back(runtime, decided)
                newer = await self._caught_up(runtime)
                if newer is None:  # the log could not be read to know whether the refusal stands
                    for work in batch:
                        work.client.send(error_frame("storage", "not done: the log could not be read", work.command.id))
                    return
                if newer:
                    continue  # refused on a state another process had moved on from: decide on the newest
                decided = self._decide_batch(runtime, batch)
            if not decided.new:
                break
            try:
                grants = decided.grants()
                if grants:
                    await asyncio.get_running_loop().run_in_executor(
                        self._writer, self.store.append_granting, runtime.event_id, decided.new, grants
                    )
                else:
                    await asyncio.get_running_loop().run_in_executor(
                        self._writer, self.store.append, runtime.event_id, decided.new
                    )
                break
            except SeqTaken:
                # Another server process appended first: take its entries, then decide again (an expected_seq
                # the other one moved past is refused now, as on one process).
                self._roll_back(runtime, decided)
                if await self._caught_up(runtime) is None:
                    self._refuse_batch(batch, decided, "not done: the log could not be read")
                    return
            except StorageError as exc:
                log.error("log write failed: %s", exc)
                self._roll_back(runtime, decided)
                self._refuse_batch(batch, decided, f"not done: {exc}")
                return
        else:
            self._roll_back(runtime, decided)
            self._refuse_batch(batch, decided, "not done: the log kept moving; try again")
            return
        if decided.held:
            runtime.state, again = settle(runtime.state, runtime.entries, decided.held)
            decided.replayed = decided.replayed or again
        if decided.new:
            self._tell_listeners(runtime, decided.new)
        answers: dict[Sender, list[str]] = {}
        for index, (work, outcome) in enumerate(zip(batch, decided.outcomes, strict=True)):
            if isinstance(outcome, Rejected):
                answer = error_frame(outcome.code, outcome.message, work.command.id)
            else:
                person, token = decided.issued.get(index, (None, None))
                answer = Ack(id=work.command.id, seq=outcome[-1].seq, person=person, token=token).model_dump_json()
            answers.setdefault(work.client, []).append(answer)
        if decided.replayed:
            redone = any(e.event.type == "redone" for e in decided.new)
            self._broadcast_reset(runtime, "redo" if redone else "undo")
            for sender, frames in answers.items():
                for frame in frames:
                    sender.send(frame)
        else:
            self._broadcast(runtime, decided.new, answers)
        runtime.votes_changed(decided.new)  # the audience's counts, coalesced

    @staticmethod
    def _refuse_batch(batch: list[Work], decided: _Decided, message: str) -> None:
        """Answer every command of a batch that could not be made durable (a refusal as it was decided)."""
        for work, outcome in zip(batch, decided.outcomes, strict=True):
            if isinstance(outcome, Rejected):
                work.client.send(error_frame(outcome.code, outcome.message, work.command.id))
            else:
                work.client.send(error_frame("storage", message, work.command.id))

    # --- the clock's own actions --------------------------------------------------------------

    def _arm_hard_stop(self, runtime: EventRuntime) -> None:
        """Look again when the next turn running reaches its hard stop (the core says when), or within a second
        whatever it says: the wall clock, a test's clock or the pace may move in between."""
        if runtime.hard_stop is not None:
            runtime.hard_stop.cancel()
            runtime.hard_stop = None
        if self._closing:
            return
        wall = self.clock()
        now = runtime.now(wall)
        due = hard_stop_at(runtime.state, now)
        if due is None:
            return
        delay = min(HARD_STOP_LOOK_S, max(0.0, (due - now) / 1000 / runtime.state.clock.scale))
        loop = asyncio.get_running_loop()
        runtime.hard_stop = loop.call_later(delay, lambda: loop.create_task(self._end_hard_stopped(runtime)))

    async def _end_hard_stopped(self, runtime: EventRuntime) -> None:
        """Log the turns past their hard stop, ended by the clock (the server's actor), and tell everyone."""
        runtime.hard_stop = None
        if self._closing:
            return
        async with runtime.lock:
            wall = self.clock()
            events = hard_stops(runtime.state, runtime.now(wall))
            if events:
                entries = number(runtime.state, events, SYSTEM, wall)
                try:
                    await asyncio.get_running_loop().run_in_executor(
                        self._writer, self.store.append, runtime.event_id, entries
                    )
                except SeqTaken:
                    # Another server process logged first (maybe this very stop): take its entries; the next look
                    # decides on them.
                    await self._caught_up(runtime)
                except StorageError as exc:
                    log.error("log write failed: %s", exc)
                else:
                    runtime.state = settle(runtime.state, runtime.entries, entries).state
                    self._tell_listeners(runtime, entries)
                    frame = entries_frame(entries)  # a turn's end is for every viewer
                    for client in runtime.clients:
                        client.send(frame)
                    runtime.feed.send_all(runtime.state, runtime.now(wall))  # and the pages their views
            self._arm_hard_stop(runtime)

    def _broadcast(self, runtime: EventRuntime, entries: list[Entry], answers: dict[Sender, list[str]]) -> None:
        """Every client gets one frame with the entries of the batch it may see, and every page its view. The
        senders' frames and then their acks go first: frames are written at once, and a round trip need not
        wait for everyone else's."""
        state = runtime.state
        now = runtime.now(self.clock())
        shared = all(visible_to(state, e.event, "display", None) for e in entries)
        everything = entries_frame(entries) if entries else ""
        frames: dict[tuple[str, str | None], str] = {}

        def frame_for(client: Sender) -> str:
            if shared:
                return everything  # serialised once for every client
            key = (client.actor.role, client.actor.person)
            if key not in frames:
                mine = [e for e in entries if visible_to(state, e.event, *key)]
                frames[key] = entries_frame(mine) if mine else ""
            return frames[key]

        pages = [sender for sender in answers if sender in runtime.feed.pages]
        for sender, acks in answers.items():
            frame = runtime.feed.frame_for(state, sender, now) if sender in runtime.feed.pages else frame_for(sender)
            if frame:
                sender.send(frame)
            for ack in acks:
                sender.send(ack)
        if entries:
            if shared:
                send_all((client for client in runtime.clients if client not in answers), everything)
            else:
                for client in runtime.clients:
                    if client not in answers:
                        frame = frame_for(client)
                        if frame:
                            client.send(frame)
        # Votes change no page's view but the voter's (the pages show no counts yet): 1,000 votes are not 1,000
        # views to every page; the audience's counts go out coalesced (``EventRuntime.votes_changed``).
        if entries and all(e.event.type in VOTE_EVENTS for e in entries):
            return
        # A page that sent a command has its view already (a second page sender gets it twice: the same view).
        runtime.feed.send_all(state, now, skip=pages[0] if len(pages) == 1 else None)

    def _broadcast_reset(self, runtime: EventRuntime, reason: str) -> None:
        # One snapshot per distinct view, not per person: with 1,800 participants most share one.
        frames: dict[tuple[object, ...], str] = {}
        for client in runtime.clients:
            role, person = client.actor.role, client.actor.person
            key = viewer_key(runtime.state, role, person)
            if key not in frames:
                snapshot = view_for(runtime.state, role, person)
                frames[key] = Reset(seq=runtime.state.seq, reason=reason, snapshot=snapshot).model_dump_json()
            client.send(frames[key])
        runtime.feed.send_all(runtime.state, runtime.now(self.clock()))  # a page is sent its view anew

    # --- a log shared with other server processes -------------------------------------------------

    def _heard(self, event_id: str | None, seq: int | None) -> None:
        """The store says another process appended to ``event_id`` up to ``seq`` (both None: anything may
        have been appended, e.g. after the listener reconnected). The entries are read from the log."""
        runtimes = [self.events[event_id]] if event_id in self.events else []
        if event_id is None:
            runtimes = list(self.events.values())
        for runtime in runtimes:
            if seq is not None and seq <= runtime.state.seq:
                continue  # ours, or already read
            if runtime.event_id not in self._to_catch_up:
                self._to_catch_up.add(runtime.event_id)
                asyncio.get_running_loop().create_task(self._catch_up(runtime))

    async def _catch_up(self, runtime: EventRuntime) -> None:
        async with runtime.lock:
            self._to_catch_up.discard(runtime.event_id)
            await self._caught_up(runtime)
            self._arm_hard_stop(runtime)  # a turn given on another process may have a hard stop

    async def _newer(self, runtime: EventRuntime, client: Sender, command_id: str) -> bool | None:
        """Before a refusal, with the lock held: whether other processes appended since (decide again), or None,
        once the sender was told "not done", when the log could not be read to know. Alone on its log: False."""
        if self._unlisten is None:
            return False
        newer = await self._caught_up(runtime)
        if newer is None:
            client.send(error_frame("storage", "not done: the log could not be read", command_id))
            return None
        return newer > 0

    def _tell_listeners(self, runtime: EventRuntime, entries: list[Entry]) -> None:
        for listener in self.listeners:
            try:
                listener(runtime, entries)
            except Exception:  # an automation's fault is logged, never the command's
                log.exception("a listener failed on entries %s-%s", entries[0].seq, entries[-1].seq)

    async def _refresh_views(self) -> None:
        """While a session runs, the pages get their views anew now and then: the projected starts of what is
        to come move while an item runs over, though no event says so."""
        while True:
            await asyncio.sleep(VIEW_REFRESH_S)
            for runtime in list(self.events.values()):
                if runtime.feed.pages and any(s.status == "running" for s in runtime.state.sessions):
                    runtime.feed.send_all(runtime.state, runtime.now(self.clock()), fresh=True)

    async def _caught_up(self, runtime: EventRuntime) -> int | None:
        """With the event's lock held: read what other processes appended after our last seq, settle it and send
        it to our clients. How many entries came (0: none), or None when the log could not be read."""

        def newer() -> list[Entry]:
            return list(self.store.read(runtime.event_id, runtime.state.seq))

        try:
            entries = await asyncio.get_running_loop().run_in_executor(self._writer, newer)
        except (StorageError, RuntimeError) as exc:  # RuntimeError: the writer shut down (stopping)
            log.warning("could not read the log of %s: %s", runtime.event_id, exc)
            return None
        if not entries:
            return 0
        runtime.state, replayed = settle(runtime.state, runtime.entries, entries)
        if replayed:
            self._broadcast_reset(runtime, "redo" if entries[-1].event.type == "redone" else "undo")
            return len(entries)
        frames: dict[tuple[str, str | None], str] = {}
        for client in runtime.clients:
            key = (client.actor.role, client.actor.person)
            if key not in frames:
                mine = [e for e in entries if visible_to(runtime.state, e.event, *key)]
                frames[key] = entries_frame(mine) if mine else ""
            if frames[key]:
                client.send(frames[key])
        runtime.votes_changed(entries)
        runtime.feed.send_all(runtime.state, runtime.now(self.clock()))  # and the pages their views
        return len(entries)


def _command_id(raw: str | bytes) -> str | None:
    """The id of a frame that failed validation, when it has a readable one, to echo back."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if isinstance(data, dict) and isinstance(data.get("id"), str) and len(data["id"]) <= 64:
        return data["id"]
    return None
