"""The console's link to the meeting: live (a server) or canned (tests, snapshots).

The App runs a link, sends the screens' commands through ``send`` and closes it; the screens read its
``state``, ``now()`` and ``report()``, and never know which kind of link they hold. A link knows nothing of
Textual: it must never import a widget, a screen or the App.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from typing import Literal, Protocol

from ..client import ClientError, MeetingClient
from ..core.agenda import Person
from ..core.commands import Command, Role
from ..core.state import State

LinkStatus = Literal["connecting", "connected", "reconnecting", "refused"]

# Connection failures that trying again cannot mend: the token, the name, the server's address (a port
# like "8765x"). A certificate this client cannot trust is one too when it comes at the start (a setup
# mistake); after having been connected it may be a server changing its certificate, and the link keeps
# trying.
REFUSALS = ("unauthorized", "bad_frame", "bad_url", "invalid", "forbidden")  # invalid: a name; forbidden: full
PING_EVERY_S = 5.0
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 10.0


class Link(Protocol):
    role: Role
    person: Person | None
    status: LinkStatus
    detail: str  # why the status is what it is, in words
    rtt_ms: float | None
    offset_ms: int | None

    @property
    def online(self) -> set[str] | None:
        """People connected now, when the server tells (moderators only); read-only to the console."""
        ...

    @property
    def state(self) -> State | None: ...

    def now(self) -> int: ...

    async def send(self, command: Command) -> int: ...

    async def report(self, session: str | None) -> str: ...

    async def run(self, changed: Callable[[], None]) -> None: ...

    async def close(self) -> None: ...


class LiveLink:
    """A MeetingClient kept connected: reconnects with backoff and resumes from its last sequence.

    A command given while disconnected is refused at once (ClientError "disconnected"),
    never queued to be sent later.
    """

    def __init__(self, client: MeetingClient) -> None:
        self.client = client
        self.role: Role = "display"
        self.person: Person | None = None
        self.status: LinkStatus = "connecting"
        self.detail = ""
        self.refusal: str | None = None  # the code of the refusal that ended it (e.g. "unauthorized")
        self.rtt_ms: float | None = None
        self.offset_ms: int | None = None
        self.reconnects = 0
        self.ever_connected = False  # False to the end: `modconsole join` says so, with the last reason
        self._stop = asyncio.Event()

    @property
    def state(self) -> State | None:
        return self.client.state

    @property
    def online(self) -> set[str] | None:
        return self.client.online

    def now(self) -> int:
        return self.client.server_now()

    async def send(self, command: Command) -> int:
        ack = await self.client.command(command)
        return ack.seq

    async def report(self, session: str | None) -> str:
        return await self.client.report(session)

    async def connect_once(self) -> None:
        welcome = await self.client.connect()
        self.role = welcome.role
        self.person = welcome.person
        self.status = "connected"
        self.detail = ""
        self.ever_connected = True

    async def run(self, changed: Callable[[], None]) -> None:
        self.client.listeners.append(changed)
        delay = BACKOFF_FIRST_S
        while not self._stop.is_set():
            if not self.client.connected:
                try:
                    await self.connect_once()
                    delay = BACKOFF_FIRST_S
                except ClientError as exc:
                    if exc.code in REFUSALS or (exc.code == "tls" and self.client.state is None):
                        self.status, self.detail, self.refusal = "refused", exc.message, exc.code
                        changed()
                        return
                    self.status = "reconnecting" if self.client.state is not None else "connecting"
                    self.detail = exc.message
                    changed()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), delay * random.uniform(0.8, 1.2))
                    delay = min(BACKOFF_MAX_S, delay * 2)
                    continue
                changed()
            await self._ping()
            changed()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.client.closed.wait(), PING_EVERY_S)
            if self.client.closed.is_set() and not self._stop.is_set():
                self.reconnects += 1
                self.status = "reconnecting"
                self.detail = f"connection closed ({self.client.close_code})"
                changed()

    async def _ping(self) -> None:
        try:
            rtt = await self.client.ping()
        except (ClientError, TimeoutError):
            return
        self.rtt_ms = rtt * 1000
        self.offset_ms = self.client.clock.offset_ms()

    async def close(self) -> None:
        self._stop.set()
        await self.client.close()


class CannedLink:
    """A fixed state at a fixed time: for snapshot tests and previews. Commands are refused."""

    def __init__(
        self,
        state: State,
        now_ms: int,
        *,
        role: Role = "moderator",
        person: Person | None = None,
        status: LinkStatus = "connected",
        rtt_ms: float | None = 12.0,
        offset_ms: int | None = 0,
    ) -> None:
        self._state = state
        self._now = now_ms
        self.role = role
        self.person = person
        self.status = status
        self.detail = "" if status == "connected" else "server unreachable"
        self.rtt_ms = rtt_ms
        self.offset_ms = offset_ms
        self.sent: list[Command] = []
        self.report_text = "# Report\n\nA canned link has no log to report on.\n"
        self.online: set[str] | None = set()

    @property
    def state(self) -> State | None:
        return self._state

    def now(self) -> int:
        return self._now

    async def send(self, command: Command) -> int:
        self.sent.append(command)
        if self.status != "connected":
            raise ClientError("disconnected", "not connected to the server; the command was not sent")
        return self._state.seq

    async def report(self, session: str | None) -> str:
        if self.status != "connected":
            raise ClientError("disconnected", "not connected to the server")
        return self.report_text

    async def run(self, changed: Callable[[], None]) -> None:
        changed()

    async def close(self) -> None:
        return None
