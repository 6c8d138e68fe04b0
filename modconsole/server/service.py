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
from modconsole.core.events import ClockSet
from modconsole.core.fold import replay
from modconsole.core.log import Entry, number, record, settle
from modconsole.core.names import fold_name
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

from .connection import RATE_STRIKES, Client, send_all
from .events_admin import SYSTEM
from .gate import Gate, deepen_accept_queue
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
from .runtime import EventRuntime, Work
from .store import StorageError, Store, TokenGrant, UnreadableEntry
from .tokens import new_token, token_hash

log = logging.getLogger("modconsole.server")

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
        self.broken: dict[str, str] = {}  # events whose log cannot be read, and why: not served

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
        loop = asyncio.get_running_loop()
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
        sockets = list(self._server.sockets)
        deepen_accept_queue(sockets)
        return int(sockets[0].getsockname()[1])

    async def stop(self, code: int = CLOSE_GOING_AWAY) -> None:
        """Close every connection with ``code`` (1001, or 1012 for a restart) and let writes finish."""
        self._closing = True
        if self._server is not None:
            self._server.close(close_connections=True, code=code, reason="server shutting down")
            await self._server.wait_closed()
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

    # --- HTTP ---------------------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path == HEALTH_PATH:
            return Response(http.HTTPStatus.OK, "OK", Headers([("Content-Type", "text/plain")]), b"ok\n")
        return None

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
        async with runtime.lock:  # never between a group commit's settling and its durable write
            self._welcome(admitted, hello.last_seq)
            self._joined(admitted)
        # What the welcome was made of is not kept for the life of the connection.
        del hello, admitted
        try:
            await self._read(runtime, client)
        finally:
            runtime.clients.discard(client)
            runtime.moderators.discard(client)
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
        # In a worker thread: the lookup waits for the store's lock, which a write holds for as long as
        # the database is locked by someone else (seconds); the event loop must go on serving the others.
        grant = await asyncio.to_thread(self.store.grant, token_hash(token)) if token else None
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
        actor = Actor(
            role=grant.role,
            person=person.id if person else None,
            name=name,
            # A label the client chose, never its address: the actor goes to every viewer with the event.
            client=hello.client or "unlabelled",
        )
        return Admitted(runtime, Client(connection, actor), person, credential)

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
        return runtime

    def _welcome(self, admitted: Admitted, last_seq: int | None) -> None:
        """Send the welcome (a snapshot, or the entries missed since ``last_seq``) and register the client.
        Not a coroutine: with no await between them, no event can fall between the snapshot and the first
        broadcast this client receives."""
        runtime, client = admitted.runtime, admitted.client
        actor = client.actor
        missed = runtime.missed(last_seq, actor) if last_seq is not None else None
        wall = self.clock()
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

    async def _report(self, runtime: EventRuntime, request: ReportRequest, client: Client) -> None:
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

    async def execute(self, runtime: EventRuntime, command: Command, client: Client) -> None:
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
                finally:
                    for work in batch:
                        if not work.done.done():
                            work.done.set_result(None)
        finally:
            runtime.flusher = None

    async def _commit(self, runtime: EventRuntime, batch: list[Work], marks: list[Mark] | None = None) -> None:
        """One group commit. Each command is decided on the state after the ones before it (a rejection
        leaves the others as they are); all their entries are appended in one durable transaction; nothing
        is acknowledged before it commits; then every client gets one frame with what it may see of the
        whole batch, and each sender its acks and errors. A storage error undoes the whole batch in memory
        and answers each of its commands so. Attendance marks go to their own table in the same turn of the
        writer thread."""
        wall = self.clock()
        now = runtime.now(wall)
        before = len(runtime.entries)
        state = runtime.state
        outcomes: list[Rejected | list[Entry]] = []
        new: list[Entry] = []
        replayed = False
        for work in batch:
            result = record(state, work.command, work.client.actor, now, wall)
            outcomes.append(result)
            if isinstance(result, Rejected):
                continue
            state, again = settle(state, runtime.entries, result)
            replayed = replayed or again
            new.extend(result)
        if marks:
            # Attendance goes in the writer thread before the entries: a failure there costs no command.
            try:
                await asyncio.get_running_loop().run_in_executor(
                    self._writer, self.store.append_attendance, runtime.event_id, marks
                )
            except StorageError as exc:
                log.error("attendance not written: %s", exc)
        if new:
            try:
                await asyncio.get_running_loop().run_in_executor(self._writer, self.store.append, runtime.event_id, new)
            except StorageError as exc:
                log.error("log write failed: %s", exc)
                del runtime.entries[before:]
                runtime.state = replay([(e.seq, e.event) for e in runtime.entries])
                for work, outcome in zip(batch, outcomes, strict=True):
                    if isinstance(outcome, Rejected):
                        work.client.send(error_frame(outcome.code, outcome.message, work.command.id))
                    else:
                        work.client.send(error_frame("storage", f"not done: {exc}", work.command.id))
                return
        runtime.state = state
        answers: dict[Client, list[str]] = {}
        for work, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Rejected):
                answer = error_frame(outcome.code, outcome.message, work.command.id)
            else:
                answer = Ack(id=work.command.id, seq=outcome[-1].seq).model_dump_json()
            answers.setdefault(work.client, []).append(answer)
        if replayed:
            self._broadcast_reset(runtime, "undo")
            for sender, frames in answers.items():
                for frame in frames:
                    sender.send(frame)
        elif new or answers:
            self._broadcast(runtime, new, answers)

    def _broadcast(self, runtime: EventRuntime, entries: list[Entry], answers: dict[Client, list[str]]) -> None:
        """Every client gets one frame with the entries of the batch it may see. The senders' frames and
        then their acks go first: frames are written at once, and a round trip need not wait for everyone
        else's."""
        state = runtime.state
        shared = all(visible_to(state, e.event, "display", None) for e in entries)
        everything = entries_frame(entries) if entries else ""
        frames: dict[tuple[str, str | None], str] = {}

        def frame_for(client: Client) -> str:
            if shared:
                return everything  # serialised once for every client
            key = (client.actor.role, client.actor.person)
            if key not in frames:
                mine = [e for e in entries if visible_to(state, e.event, *key)]
                frames[key] = entries_frame(mine) if mine else ""
            return frames[key]

        for sender, acks in answers.items():
            frame = frame_for(sender)
            if frame:
                sender.send(frame)
            for ack in acks:
                sender.send(ack)
        if not entries:
            return
        if shared:
            send_all((client for client in runtime.clients if client not in answers), everything)
            return
        for client in runtime.clients:
            if client not in answers:
                frame = frame_for(client)
                if frame:
                    client.send(frame)

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


def _command_id(raw: str | bytes) -> str | None:
    """The id of a frame that failed validation, when it has a readable one, to echo back."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if isinstance(data, dict) and isinstance(data.get("id"), str) and len(data["id"]) <= 64:
        return data["id"]
    return None
