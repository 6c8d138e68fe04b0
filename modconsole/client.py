"""A websocket client holding a replica of the server's state.

It applies the server's events with the core's ``apply``, estimates the event
clock from ping/pong (so timers read right whatever the local clock says),
and resumes from its last sequence when it reconnects. ``modconsole ctl``, the
TUI and the tests all use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import re
import ssl as ssl_module
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.uri import parse_uri

from .core.commands import Command
from .core.fold import apply
from .core.questions import apply_votes
from .core.state import State
from .protocol import (
    MAX_FRAME_BYTES,
    SERVER_ADAPTER,
    Ack,
    Error,
    Events,
    Hello,
    Ping,
    Pong,
    Presence,
    QuestionVotes,
    ReportReady,
    ReportRequest,
    Reset,
    Welcome,
)

CLOCK_SAMPLE_MAX_AGE_S = 60.0


class ClientError(Exception):
    """Could not connect, or the connection was refused; ``code`` says how."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class CommandRefused(ClientError):
    """The server answered a command with an error."""


# Failures another server process may not have: a client given several addresses tries the next.
FAILOVER_CODES = ("unreachable", "closed", "http", "storage", "unavailable")


def server_addresses(url: str) -> list[str]:
    """The addresses of ``ws://a:8765,ws://b:8765``: several server processes sharing one log."""
    return [part.strip() for part in url.split(",")] if "," in url else [url]


def check_url(url: str) -> None:
    """``check_address`` for each of the comma-separated addresses ``url`` holds."""
    for address in server_addresses(url):
        check_address(address)


def check_address(url: str) -> None:
    """Raise ClientError "bad_url" unless ``url`` is a server address a connection can be tried on:
    ws:// or wss://, a host (an IPv6 address in brackets) and, if given, a port from 1 to 65535.

    No retry mends a mistyped address, so the command lines check it before anything else, and
    ``connect`` checks it again rather than let a port like "8765x" escape as a ValueError.
    """

    def bad(why: str) -> ClientError:
        shown = url if url and url.isprintable() and url.strip() == url else repr(url)
        return ClientError("bad_url", f"{shown} isn't a valid server address: {why}")

    ipv6 = "an IPv6 address goes whole in brackets, e.g. ws://[::1]:8765"
    try:
        parsed = urllib.parse.urlsplit(url)  # a bracket left open, or not around an address: ValueError
    except ValueError:
        raise bad(ipv6) from None
    if parsed.scheme not in ("ws", "wss"):
        raise bad("scheme isn't ws or wss (e.g. ws://127.0.0.1:8765)")
    if not parsed.hostname:
        raise bad(ipv6 if parsed.netloc.count(":") > 1 else "hostname isn't provided (e.g. ws://127.0.0.1:8765)")
    # What follows the host's last colon (after an IPv6 address's closing bracket): urllib's own
    # reading of it varies with the Python version, so it is read here.
    port = parsed.netloc.rpartition("@")[2].rpartition("]")[2].partition(":")[2]
    if port and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise bad(f"the port {port!r} isn't a number from 1 to 65535")
    try:
        parse_uri(url)  # what websockets itself refuses (a fragment, a user without a password)
    except InvalidURI as exc:
        raise bad(exc.msg) from None


@dataclass
class ClockEstimate:
    """Maps this machine's monotonic clock to the server's event clock."""

    server_ms: int = 0
    local_s: float = 0.0
    scale: float = 1.0
    rtt_s: float = float("inf")
    wall_offset_ms: int = 0  # the server's wall clock minus this machine's

    def now(self) -> int:
        return self.server_ms + int((time.monotonic() - self.local_s) * 1000 * self.scale)

    def offset_ms(self) -> int:
        """How far the server's wall clock is from this machine's (positive: the server is ahead)."""
        return self.wall_offset_ms


class MeetingClient:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        name: str | None = None,
        client: str = "modconsole",
        cafile: str | None = None,
        open_timeout: float = 10.0,
        keep_credential: Callable[[Welcome, str], None] | None = None,
        country: str | None = None,
        gender: str | None = None,
    ) -> None:
        # One address, or several (comma-separated) of server processes sharing the log: a connection tries
        # them in turn from the one that last worked, and a resume on another one carries on from the last seq.
        self.addresses = server_addresses(url)
        self.url = self.addresses[0]  # the one connected to, or tried last
        self.token = token
        self.name = name
        # What a participant joining with the event-wide token may say of themselves (each optional).
        self.country = country
        self.gender = gender
        # Called with the welcome and the personal credential a first join with the event-wide token gets;
        # this client joins with the credential from then on, whatever the callback does with it.
        self.keep_credential = keep_credential
        self.client_label = client
        self.open_timeout = open_timeout
        self.cafile = cafile
        self.ssl: ssl_module.SSLContext | None = None  # made at the first connect, where a bad CA file is a ClientError
        self.state: State | None = None
        self.welcome: Welcome | None = None
        self.last_seq: int | None = None
        self.clock = ClockEstimate()
        self.listeners: list[Callable[[], None]] = []
        self.unsolicited_errors: list[Error] = []
        self.unknown_frames = 0
        self.online: set[str] | None = None  # who is connected; known to moderators only
        self.online_count: int | None = None  # how many speakers and participants are connected, for everyone
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[Ack | Error | Pong | ReportReady]] = {}
        self._ids = itertools.count(1)
        self.closed = asyncio.Event()
        self.close_code: int | None = None

    # --- connection ---------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self.closed.is_set()

    async def connect(self) -> Welcome:
        """Connect (or reconnect, resuming from the last sequence seen) and read the welcome. With several
        addresses, each is tried in turn, from the one last connected to, while the failure is one another
        server process may not have; the last failure is raised when none answers."""
        if self._reader is not None and not self._reader.done():
            # One connection at a time: the old one ends (and its reader with it) before the new one
            # starts, or its ending would mark the new one closed and fail the new one's requests.
            await self.close()
        for address in self.addresses:
            check_address(address)
        start = self.addresses.index(self.url) if self.url in self.addresses else 0
        order = self.addresses[start:] + self.addresses[:start]
        for i, address in enumerate(order):
            self.url = address
            try:
                return await self._connect_to()
            except ClientError as exc:
                if exc.code not in FAILOVER_CODES or i == len(order) - 1:
                    raise
        raise AssertionError("unreachable: the last address's failure is raised")

    async def _connect_to(self) -> Welcome:
        headers = {"Authorization": f"Bearer {self.token}"}
        if self.cafile and self.ssl is None and self.url.lower().startswith("wss://"):  # ws:// has no use for it
            try:
                self.ssl = ssl_module.create_default_context(cafile=self.cafile)
            except OSError as exc:  # ssl.SSLError is an OSError
                raise ClientError("tls", f"cannot use the CA certificate {self.cafile}: {exc.strerror or exc}") from exc
        # Without a CA file, wss:// trusts the system's CAs: websockets refuses an explicit ssl=None for it.
        # ``ssl`` is not one of connect()'s named parameters: it goes through its ``**kwargs: Any`` to the loop.
        tls: dict[str, Any] = {"ssl": self.ssl} if self.ssl is not None else {}
        try:
            ws = await connect(
                self.url,
                additional_headers=headers,
                max_size=None,
                open_timeout=self.open_timeout,
                compression=None,
                **tls,
            )
        except InvalidStatus as exc:
            raise ClientError("http", f"the server answered HTTP {exc.response.status_code}") from exc
        except ssl_module.SSLCertVerificationError as exc:  # reached, but not trusted: say so, not "cannot reach"
            raise ClientError(
                "tls",
                f"the server at {self.url} has a certificate this client does not trust ({exc.verify_message}); "
                "give the CA certificate that signed it with --cafile",
            ) from exc
        except (ssl_module.SSLEOFError, ssl_module.SSLZeroReturnError) as exc:
            # Cut off in the middle of the handshake (a server or proxy starting or stopping): worth another try.
            why = getattr(exc, "reason", None) or exc
            raise ClientError("unreachable", f"TLS with {self.url} was cut off: {why}") from exc
        except ssl_module.SSLError as exc:
            message = f"TLS with {self.url} failed: {getattr(exc, 'reason', None) or exc}; is it a wss:// server?"
            raise ClientError("tls", message) from exc
        except (OSError, TimeoutError) as exc:
            reset = isinstance(exc, ConnectionResetError)
            why = str(exc) or ("the connection was reset" if reset else type(exc).__name__)
            # Refused on every address the name resolved to (localhost: ::1 and 127.0.0.1) comes as one
            # OSError listing them; its errno is not set, its text names each refusal.
            codes = re.findall(r"\[Errno (\d+)\]", str(exc)) if str(exc).startswith("Multiple exceptions") else []
            refused_all = bool(codes) and all(int(code) == errno.ECONNREFUSED for code in codes)
            if isinstance(exc, ConnectionRefusedError) or refused_all:
                why = "nothing is listening there (connection refused); is the server running, on that port?"
            if reset and self.url.startswith("wss://"):
                why += "; is it a wss:// server?"  # a plain server drops a TLS greeting without a word
            raise ClientError("unreachable", f"cannot reach {self.url}: {why}") from exc
        except (InvalidHandshake, InvalidURI) as exc:  # not a websocket server, or not a ws:// address
            raise ClientError("unreachable", f"cannot connect to {self.url}: {exc}") from exc
        hello = Hello(
            name=self.name,
            last_seq=self.last_seq if self.state is not None else None,
            client=self.client_label,
            country=self.country,
            gender=self.gender,
        )
        sent_at = time.monotonic()
        try:
            # Bounded like the opening handshake: a server that never answers must not hang the caller.
            async with asyncio.timeout(self.open_timeout):
                await ws.send(hello.model_dump_json())
                frame = SERVER_ADAPTER.validate_json(await ws.recv())
        except ConnectionClosed as exc:
            raise ClientError("closed", f"the server closed the connection: {exc}") from exc
        except (TimeoutError, ValidationError) as exc:
            await ws.close()
            what = "no welcome" if isinstance(exc, TimeoutError) else "no modconsole welcome"
            raise ClientError("unreachable", f"{what} from {self.url}; is it a modconsole server?") from exc
        if isinstance(frame, Error):
            await ws.close()
            raise ClientError(frame.code, frame.message)
        if not isinstance(frame, Welcome):
            await ws.close()
            raise ClientError("bad_frame", f"expected a welcome, got {frame.type}")
        rtt = time.monotonic() - sent_at
        self._set_clock(frame.server_time, frame.wall_time, frame.time_scale, sent_at, rtt, force=True)
        if frame.credential is not None:
            # A participant of our own now: reconnects use the credential, which needs no name.
            self.token, self.name = frame.credential, None
            if self.keep_credential is not None:
                self.keep_credential(frame, frame.credential)
            frame = frame.model_copy(update={"credential": None})  # not kept where it could be logged
        self.welcome = frame
        if frame.snapshot is not None:
            self.state = frame.snapshot
            self.last_seq = frame.seq
        self._ws = ws
        self.closed = asyncio.Event()
        self.close_code = None
        self._reader = asyncio.create_task(self._read(ws))
        return frame

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def __aenter__(self) -> MeetingClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- reading ------------------------------------------------------------------------------

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                try:
                    frame = SERVER_ADAPTER.validate_json(raw)
                except ValidationError:
                    # A frame this client does not know (a newer server): note it and read on.
                    self.unknown_frames += 1
                    continue
                self._handle(frame)
        except ConnectionClosed:
            pass
        finally:
            self.close_code = ws.close_code
            self.closed.set()
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ClientError("closed", "the connection closed before an answer came"))
            self._pending.clear()
            self._notify()

    def _handle(self, frame: object) -> None:
        if isinstance(frame, Events):
            assert self.state is not None
            for entry in frame.events:
                if self.last_seq is not None and entry.seq <= self.last_seq:
                    continue  # already applied (a resume overlapping what we had)
                apply(self.state, entry.event, entry.seq)
                self.last_seq = entry.seq
            self._notify()
        elif isinstance(frame, Presence):
            self.online = set(frame.people)
            self._notify()
        elif isinstance(frame, QuestionVotes):
            if self.state is not None:
                apply_votes(self.state, frame.votes, frame.seq)
                self._notify()
        elif isinstance(frame, Reset):
            self.state = frame.snapshot
            self.last_seq = frame.seq
            self._notify()
        elif isinstance(frame, (Ack, Pong, ReportReady)) or (isinstance(frame, Error) and frame.id in self._pending):
            if isinstance(frame, Pong) and frame.online is not None:
                self.online_count = frame.online
            future = self._pending.pop(frame.id or "", None)
            if future is not None and not future.done():
                future.set_result(frame)
        elif isinstance(frame, Error):
            self.unsolicited_errors.append(frame)
            self._notify()

    def _notify(self) -> None:
        for listener in list(self.listeners):
            listener()

    # --- requests -----------------------------------------------------------------------------

    def _next_id(self) -> str:
        return f"{self.client_label}-{next(self._ids)}"

    async def _request(self, frame_id: str, raw: str, timeout: float) -> Ack | Error | Pong | ReportReady:
        if not self.connected or self._ws is None:
            raise ClientError("disconnected", "not connected to the server; the command was not sent")
        future: asyncio.Future[Ack | Error | Pong | ReportReady] = asyncio.get_running_loop().create_future()
        self._pending[frame_id] = future
        try:
            await self._ws.send(raw)
        except ConnectionClosed as exc:
            self._pending.pop(frame_id, None)
            raise ClientError("disconnected", "the connection closed; the command was not sent") from exc
        return await asyncio.wait_for(future, timeout)

    async def command(self, command: Command, *, timeout: float = 10.0) -> Ack:
        """Send a command; return its ack or raise CommandRefused with the server's reason."""
        if not command.id:
            command = command.model_copy(update={"id": self._next_id()})
        answer = await self._request(command.id, command.model_dump_json(exclude_none=True), timeout)
        if isinstance(answer, Error):
            raise CommandRefused(answer.code, answer.message)
        assert isinstance(answer, Ack)
        return answer

    async def report(self, session: str | None = None, fmt: str = "md", *, timeout: float = 30.0) -> str:
        """The server's report of the log so far (moderators only)."""
        frame_id = self._next_id()
        request = ReportRequest(id=frame_id, session=session, format=fmt)
        answer = await self._request(frame_id, request.model_dump_json(), timeout)
        if isinstance(answer, Error):
            raise CommandRefused(answer.code, answer.message)
        assert isinstance(answer, ReportReady)
        return answer.text

    async def send_raw(self, raw: str | bytes) -> None:
        """Send a frame as it is (tests of hostile input use this)."""
        assert self._ws is not None
        await self._ws.send(raw)

    async def ping(self, *, timeout: float = 5.0) -> float:
        """Measure the round trip and refine the clock estimate; returns the round trip in seconds."""
        frame_id = self._next_id()
        sent_at = time.monotonic()
        answer = await self._request(frame_id, Ping(id=frame_id).model_dump_json(), timeout)
        rtt = time.monotonic() - sent_at
        assert isinstance(answer, Pong)
        self._set_clock(answer.server_time, answer.wall_time, answer.time_scale, sent_at, rtt)
        return rtt

    def _set_clock(
        self, server_ms: int, wall_ms: int, scale: float, sent_at: float, rtt: float, force: bool = False
    ) -> None:
        # The server read its clock about halfway through the round trip; the sample with the
        # shortest round trip is the most precise, but an old one drifts, so prefer fresh ones
        # unless they are much worse.
        stale = sent_at - self.clock.local_s > CLOCK_SAMPLE_MAX_AGE_S  # clocks drift: renew now and then
        if force or stale or scale != self.clock.scale or rtt <= self.clock.rtt_s * 1.5 + 0.002:
            midpoint = sent_at + rtt / 2
            local_wall_at_midpoint = time.time() - (time.monotonic() - midpoint)
            self.clock = ClockEstimate(server_ms, midpoint, scale, rtt, wall_ms - int(local_wall_at_midpoint * 1000))

    def server_now(self) -> int:
        return self.clock.now()

    # --- waiting ------------------------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[State], bool], timeout: float = 10.0) -> State:
        """Wait until the replica satisfies ``predicate`` (events arrive asynchronously)."""
        if self.state is not None and predicate(self.state):
            return self.state
        changed = asyncio.Event()

        def listener() -> None:
            changed.set()

        self.listeners.append(listener)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    if self.closed.is_set():  # nothing more will come: say so now, not at the timeout
                        raise ClientError("closed", "the connection closed while waiting")
                    await changed.wait()
                    changed.clear()
                    if self.state is not None and predicate(self.state):
                        return self.state
        finally:
            self.listeners.remove(listener)


__all__ = ["MAX_FRAME_BYTES", "ClientError", "CommandRefused", "MeetingClient", "check_url", "server_addresses"]
