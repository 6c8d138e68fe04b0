"""Admission of connections that have not said hello yet, so that idle ones cannot starve the server.

Anyone can open a TCP connection, or a websocket, and never say hello: no token is needed for that. Each
such connection holds a file descriptor until a timeout, so enough of them would use up the process's
limit, and then every accept fails (EMFILE) and asyncio stops accepting for a second at a time: the
moderator could not connect. The gate counts the connections not yet past hello (from the TCP connection
to the welcome) and refuses a newcomer beyond a cap, in total and per address, by closing its transport at
``connection_made``: before any HTTP is read, without a task, for the price of the accept. A 503 from
``process_request`` would come only once the request had been read, i.e. not at all for a connection that
sends nothing, which is the cheap attack.

A refusal must not lock out a newcomer from another address: when every slot is taken, a newcomer whose
address holds fewer waiting connections than the busiest address (by two or more) takes the place of the
busiest address's oldest waiting connection, which is closed. One address, or a hundred, holding every
slot cannot keep a moderator at another address out; addresses that share the slots evenly are refused
as they come and churn nothing.

Every connection, past hello or not, is also kept within the file-descriptor limit minus a reserve (the
log, the listening sockets, the accepts of one loop tick), so that accept itself does not fail.

Refusals and accept failures are logged once per interval with their counts, never once per connection.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import os
import resource
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, cast

from websockets.asyncio.server import ServerConnection

DEFAULT_MAX_WAITING = 1_000
DEFAULT_MAX_WAITING_PER_ADDRESS = 100
BACKLOG = 100  # asyncio's default: the most accepted in one loop tick (and, as asyncio sets it, the accept queue)
ACCEPT_QUEUE = 4_096  # the kernel's queue of connections not yet accepted (at most net.core.somaxconn)
# Descriptors kept for the rest: the log, the listeners, and the sockets accepted but not yet seen by the
# gate: asyncio accepts up to a burst (at most BACKLOG) in one tick, makes their transports in the next and
# calls their connection_made in the one after, where the gate first counts them (the refused ones until
# they are closed, a tick later), while it goes on accepting a burst a tick.


def fd_reserve(burst: int) -> int:
    return 64 + 3 * burst


REPORT_EVERY_S = 10.0
ACCEPT_OUT_OF_RESOURCE = "socket.accept() out of system resource"  # asyncio's message

WAITING = "too many waiting for hello"
WAITING_HERE = "too many waiting for hello from one address"
DESCRIPTORS = "too many connections for the file-descriptor limit"

log = logging.getLogger("modconsole.server")


def raise_fd_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit; return the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):  # not permitted here: serve with what there is
            return soft
        return hard
    return soft


def deepen_accept_queue(sockets: Iterable[Any], depth: int = ACCEPT_QUEUE) -> None:
    """Let the kernel queue ``depth`` connections for each listening socket. asyncio gives the queue the depth
    of its accepts per tick (BACKLOG); while a flood is refused, that queue fills between two ticks and the
    kernel drops the next SYN: a moderator's connect then waits for its retry, a second or more later.
    Queued connections are no descriptors of this process until accepted."""
    for listening in sockets:
        with socket.socket(fileno=os.dup(listening.fileno())) as same:  # listen() again on the same socket
            same.listen(depth)


def fd_limit() -> int:
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def address_of(peername: object) -> str:
    """Whom a peer counts as: its IPv4 address, or its IPv6 /64 (one host or network holds a whole /64)."""
    if not isinstance(peername, tuple) or not peername:
        return ""  # a Unix socket: one local peer
    try:
        address = ipaddress.ip_address(peername[0])
    except ValueError:
        return str(peername[0])
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class Reporter:
    """Counts what went wrong with accepting connections, and logs it once per interval."""

    def __init__(self, every_s: float = REPORT_EVERY_S, logger: logging.Logger = log) -> None:
        self.every_s = every_s
        self.logger = logger
        self.refused: Counter[str] = Counter()
        self.evicted = 0
        self.accept_errors: Counter[str] = Counter()
        self.totals: Counter[str] = Counter()  # since the start, for the figures
        self._since = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def _note(self) -> None:
        if self._timer is None:
            self._since = time.monotonic()
            self._timer = asyncio.get_running_loop().call_later(self.every_s, self.flush)

    def refuse(self, reason: str) -> None:
        self.refused[reason] += 1
        self.totals["refused"] += 1
        self._note()

    def evict(self) -> None:
        self.evicted += 1
        self.totals["evicted"] += 1
        self._note()

    def accept_failed(self, exc: BaseException | None) -> None:
        code = getattr(exc, "errno", None)
        name = errno.errorcode.get(code, "error") if isinstance(code, int) else type(exc).__name__
        self.accept_errors[f"{getattr(exc, 'strerror', None) or exc} ({name})"] += 1
        self.totals["accept errors"] += 1
        self._note()

    def flush(self) -> None:
        """Log the counts since the last line (at the interval's end, and at stop), if there are any."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        seconds = time.monotonic() - self._since
        parts = []
        refused = sum(self.refused.values())
        if refused:
            reasons = ", ".join(f"{n:,} {reason}" for reason, n in self.refused.most_common())
            parts.append(f"refused {refused:,} connections in the last {seconds:.0f} s: {reasons}")
        if self.evicted:
            parts.append(f"closed {self.evicted:,} waiting for hello to make room for other addresses")
        failed = sum(self.accept_errors.values())
        if failed:
            errors = ", ".join(f"{n:,} {what}" for what, n in self.accept_errors.most_common())
            parts.append(f"{failed:,} accepts failed in the last {seconds:.0f} s: {errors}")
        if parts:
            self.logger.warning("; ".join(parts))
        self.refused.clear()
        self.accept_errors.clear()
        self.evicted = 0

    def exception_handler(
        self, previous: Callable[[asyncio.AbstractEventLoop, dict[str, Any]], object] | None
    ) -> Callable[[asyncio.AbstractEventLoop, dict[str, Any]], None]:
        """A loop exception handler that counts asyncio's accept failures (EMFILE, ENFILE, ...) instead of
        logging a traceback for each, and passes anything else on."""

        def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            if context.get("message") == ACCEPT_OUT_OF_RESOURCE:
                self.accept_failed(context.get("exception"))
            elif previous is not None:
                previous(loop, context)
            else:
                loop.default_exception_handler(context)

        return handle


class Gate:
    """The connections open and those not yet past hello, by address; who may come in."""

    def __init__(
        self,
        max_waiting: int = DEFAULT_MAX_WAITING,
        max_per_address: int = DEFAULT_MAX_WAITING_PER_ADDRESS,
        *,
        descriptors: int | None = None,
        reserve: int | None = None,
        reporter: Reporter | None = None,
    ) -> None:
        if max_waiting < 1 or max_per_address < 1:
            raise ValueError("the caps on connections waiting for hello must be at least 1")
        self.descriptors = descriptors if descriptors is not None else fd_limit()
        # The accepts of one loop tick are descriptors before the gate sees them: under a low limit fewer are
        # accepted a tick, so that the whole reserve still fits in half the limit and accept itself does not
        # fail (asyncio would then wait a second before accepting again, a moderator's connect with it).
        self.accept_burst = max(8, min(BACKLOG, (self.descriptors // 2 - 64) // 3))
        if reserve is None:
            reserve = fd_reserve(self.accept_burst)
        self.max_open = max(1, self.descriptors - min(reserve, self.descriptors // 2))
        self.max_waiting = min(max_waiting, self.max_open)
        self.max_per_address = min(max_per_address, self.max_waiting)
        self.reporter = reporter or Reporter()
        self.open = 0  # admitted and not yet closed
        self.sockets = 0  # every connection the gate has seen and not yet seen closed, refused ones too
        # Per address, its connections waiting for hello, oldest first (a dict is an ordered set).
        self.waiting: dict[str, dict[GatedConnection, None]] = {}
        self.waiting_count = 0
        # Addresses by how many they have waiting, for the busiest at once: by_count[n] holds those with n.
        self._by_count: list[dict[str, None]] = [{} for _ in range(self.max_per_address + 1)]
        self._top = 0

    def connection_class(self) -> type[ServerConnection]:
        """The ServerConnection subclass for websockets' ``serve(create_connection=...)`` that asks this gate."""
        return cast(type[ServerConnection], type("GatedServerConnection", (GatedConnection,), {"gate": self}))

    def _move(self, address: str, before: int, after: int) -> None:
        if before:
            del self._by_count[before][address]
        if after:
            self._by_count[after][address] = None
        if after > self._top:
            self._top = after
        while self._top and not self._by_count[self._top]:
            self._top -= 1

    def arrive(self, connection: GatedConnection, address: str) -> bool:
        """A new connection: let it wait for its hello, or refuse it (False) and count the refusal."""
        self.sockets += 1
        mine = self.waiting.get(address)
        have = len(mine) if mine else 0
        if have >= self.max_per_address:
            self.reporter.refuse(WAITING_HERE)
            return False
        full = ""
        if self.waiting_count >= self.max_waiting:
            full = WAITING
        elif self.sockets > self.max_open:
            full = DESCRIPTORS
        if full:
            if self._top <= have + 1:  # nobody holds more than this address would: refuse, evict no one
                self.reporter.refuse(full)
                return False
            busiest = next(iter(self._by_count[self._top]))
            oldest = next(iter(self.waiting[busiest]))
            self._leave_waiting(oldest)
            oldest.evict()
            self.reporter.evict()
        if mine is None:
            mine = self.waiting[address] = {}
        mine[connection] = None
        self._move(address, have, have + 1)
        self.waiting_count += 1
        self.open += 1
        connection.address = address
        return True

    def _leave_waiting(self, connection: GatedConnection) -> None:
        mine = self.waiting.get(connection.address)
        if mine is None or connection not in mine:
            return
        del mine[connection]
        self._move(connection.address, len(mine) + 1, len(mine))
        if not mine:
            del self.waiting[connection.address]
        self.waiting_count -= 1

    def passed(self, connection: object) -> None:
        """Its hello was accepted: it no longer counts as waiting (it still counts as open)."""
        if isinstance(connection, GatedConnection):
            self._leave_waiting(connection)

    def left(self, connection: GatedConnection, admitted: bool) -> None:
        """A connection closed (one refused, too)."""
        self.sockets -= 1
        if admitted:
            self._leave_waiting(connection)
            self.open -= 1

    def describe(self) -> str:
        return (
            f"file descriptors: {self.descriptors:,} (connections: at most {self.max_open:,}; "
            f"waiting for hello: at most {self.max_waiting:,}, {self.max_per_address:,} from one address)"
        )


class GatedConnection(ServerConnection):
    """A websockets server connection that asks the gate at ``connection_made`` whether it may wait for
    its hello; refused, it closes its transport there and then, and websockets never sees it."""

    gate: ClassVar[Gate]
    address = ""
    _admitted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self.gate.arrive(self, address_of(transport.get_extra_info("peername"))):
            cast(asyncio.Transport, transport).abort()  # no handler task, no HTTP read: the descriptor is freed at once
            return
        self._admitted = True
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.gate.left(self, self._admitted)
        if self._admitted:  # refused at connection_made, nothing was set up
            super().connection_lost(exc)

    def evict(self) -> None:
        self.transport.abort()
