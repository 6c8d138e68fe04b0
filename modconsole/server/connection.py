"""One welcomed client's connection: its outbox (frames written at once, or queued while it is backed up),
dropping it when it cannot keep up, and the rate limit on what it sends.

This module owns how frames reach one client and how fast it may send. It must never decide, log or read
an event's state: the service (modconsole/server/service.py) does that and hands frames here.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed

from modconsole.core.commands import Actor
from modconsole.protocol import CLOSE_TRY_AGAIN

OUTBOX_LIMIT = 2_000  # frames queued for one client before it is dropped as too slow
RATE_PER_S = 20.0
RATE_BURST = 60.0
RATE_STRIKES = 100  # rate-limit errors before the connection is closed


class Sender(Protocol):
    """Who a command's frames go back to: a websocket client, or an HTTP request waiting for its answer
    (modconsole/server/http_api.py)."""

    @property
    def actor(self) -> Actor: ...

    @property
    def sessions(self) -> tuple[str, ...] | None: ...

    def send(self, frame: str) -> None: ...


@dataclass(eq=False)
class Client:
    connection: ServerConnection
    actor: Actor
    token: str = ""  # the hash of the token it came in with: closed when that token is revoked or reissued
    sessions: tuple[str, ...] | None = None  # a moderator limited to these sessions; None: every session
    # Frames waiting while the connection is backed up; None when none wait. A frame is written at
    # once when nothing waits and the socket's buffer is below its high-water mark, as websockets'
    # broadcast does: an idle client costs no queue and no task, and a broadcast wakes no task.
    outbox: deque[str] | None = None
    writer: asyncio.Task[None] | None = None
    tokens: float = RATE_BURST
    refilled: float = field(default_factory=time.monotonic)
    strikes: int = 0
    dropped: asyncio.Task[None] | None = None

    def send(self, frame: str) -> None:
        if self.dropped is not None:
            return
        if self.outbox is None:
            transport = self.connection.transport
            if transport.get_write_buffer_size() <= transport.get_write_buffer_limits()[1]:
                broadcast((self.connection,), frame)  # nothing if the connection is closing
                return
            self.outbox = deque()
            self.writer = asyncio.get_running_loop().create_task(self._write())
        if len(self.outbox) >= OUTBOX_LIMIT:
            # Too slow to keep up: drop it; it reconnects and resumes from its last sequence.
            self.drop(CLOSE_TRY_AGAIN, "too slow; reconnect to resume")
            return
        self.outbox.append(frame)

    async def _write(self) -> None:
        """Send what waits, in order and with flow control; then frames are written at once again."""
        try:
            while self.outbox:
                await self.connection.send(self.outbox.popleft())
        except ConnectionClosed:
            pass
        finally:
            self.outbox = None
            self.writer = None

    async def stop_writing(self) -> None:
        if self.writer is not None:
            self.writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.writer

    def drop(self, code: int, reason: str) -> None:
        """Start closing without waiting: the read loop goes on draining (and ignoring) what the
        peer already sent, or its close frame, queued behind it, would go unread until the timeout."""
        if self.dropped is None:
            self.dropped = asyncio.get_running_loop().create_task(self.connection.close(code, reason))

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(RATE_BURST, self.tokens + (now - self.refilled) * RATE_PER_S)
        self.refilled = now
        if self.tokens >= 1:
            self.tokens -= 1
            self.strikes = 0  # strikes count a flood, not a day's worth of short bursts
            return True
        self.strikes += 1
        return False


def send_all(clients: Iterable[Client], frame: str) -> None:
    """``frame`` to every client: those keeping up in one ``broadcast`` (the frame encoded once for all),
    the others through their outbox, in order behind what already waits there."""
    ready: list[ServerConnection] = []
    for client in clients:
        if client.dropped is not None:
            continue
        if client.outbox is None:
            transport = client.connection.transport
            if transport.get_write_buffer_size() <= transport.get_write_buffer_limits()[1]:
                ready.append(client.connection)
                continue
        client.send(frame)
    if ready:
        broadcast(ready, frame)
