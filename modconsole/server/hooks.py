"""Automations: what to call when something happens in a served event: the floor given, a turn ended, an item
started, a timer reaching its warning or running over, a session ended. Each hook is an HTTP POST of a JSON
body to a URL (aiohttp's client) or an OSC message over UDP (python-osc builds it), so that a video
platform's bridge can spotlight whoever has the floor, or a lighting desk fire a cue.

The hooks are read from the ``[hooks]`` table of a TOML file (``modconsole-server serve --hooks FILE``; an
agenda file with such a table will do): one array of tables per trigger (docs/http.md). A call never blocks
the event loop: each hook has its own bounded queue and one task sending from it, in order, with a timeout
and retries with backoff; when a receiver is so slow that its queue is full, the newest calls are dropped
and counted. A failing hook is logged, never fatal, and never holds up a command.

This module owns the hooks' configuration, what each trigger's body holds and the sending. It must never
change a state or the log: it reads the entries the service settled (``MeetingServer.listeners``) and the
state's figures (``core.read_model``) to see the timers' phases change.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import string
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
from pythonosc.osc_message_builder import OscMessageBuilder

from modconsole.core.agenda import ms_to_local
from modconsole.core.events import ItemChanged, QuestionLive, SessionEnded, SessionStarted, TurnEnded, TurnStarted
from modconsole.core.log import Entry
from modconsole.core.read_model import session_view
from modconsole.core.state import State

from .runtime import EventRuntime

if TYPE_CHECKING:
    from .service import MeetingServer

log = logging.getLogger("modconsole.server.hooks")

TRIGGERS = (
    "floor_given",
    "turn_ended",
    "item_started",
    "phase_warning",
    "phase_overtime",
    "session_ended",
    "question_live",
)
# The body's fields; an OSC hook's arguments may name them as {field}.
FIELDS = (
    "trigger",
    "event_id",
    "seq",
    "at",
    "at_local",
    "session",
    "item",
    "item_title",
    "person",
    "person_name",
    "timer",
    "phase",
    "question",
    "question_text",
)
MAX_HOOKS = 64
MAX_FILE_BYTES = 256 * 1024
QUEUE_LIMIT = 100  # calls waiting for one hook; more are dropped (and counted) while its receiver lags
ATTEMPTS = 4  # the first call and three retries
BACKOFF_S = 0.5  # before the first retry; doubled each time
TIMEOUT_S = 5.0  # one HTTP call, connecting and answering
TICK_S = 0.5  # how often the timers' phases are looked at (only with a phase hook)


class HooksError(ValueError):
    """A hooks file that cannot be used, and where."""


@dataclass(frozen=True)
class Hook:
    trigger: str
    url: str | None = None  # an HTTP POST of the JSON body
    headers: tuple[tuple[str, str], ...] = ()
    osc: tuple[str, int] | None = None  # host and UDP port of an OSC message
    address: str = ""  # the OSC address, e.g. /cue/12/go
    args: tuple[str | int | float, ...] = ()  # the OSC arguments; strings may hold {field}
    event: str | None = None  # only this event's; None for every event served

    def describe(self) -> str:
        where = self.url if self.url else f"osc {self.osc[0]}:{self.osc[1]}{self.address}" if self.osc else "?"
        return f"{self.trigger} → {where}"


def _fields_in(text: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]


def parse_hooks(doc: dict[str, Any], where: str = "hooks") -> list[Hook]:
    """The hooks of a ``[hooks]`` table, or HooksError naming what is wrong."""
    if not isinstance(doc, dict):
        raise HooksError(f"{where}: expected a table of triggers")
    hooks: list[Hook] = []
    for trigger, entries in doc.items():
        if trigger not in TRIGGERS:
            raise HooksError(f"{where}: unknown trigger {trigger[:40]!r}; expected one of {', '.join(TRIGGERS)}")
        if isinstance(entries, dict):
            entries = [entries]
        if not isinstance(entries, list):
            raise HooksError(f"{where}.{trigger}: expected [[{where}.{trigger}]] tables")
        for index, entry in enumerate(entries, 1):
            hooks.append(_hook(trigger, entry, f"{where}.{trigger} #{index}"))
            if len(hooks) > MAX_HOOKS:
                raise HooksError(f"{where}: more than {MAX_HOOKS} hooks")
    return hooks


def _hook(trigger: str, entry: object, where: str) -> Hook:
    if not isinstance(entry, dict):
        raise HooksError(f"{where}: expected a table with 'post' or 'osc'")
    allowed = {"post", "headers", "osc", "address", "args", "event"}
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise HooksError(f"{where}: unknown key {unknown[0][:40]!r}; expected {', '.join(sorted(allowed))}")
    if ("post" in entry) == ("osc" in entry):
        raise HooksError(f"{where}: give one of 'post' (a URL) or 'osc' (HOST:PORT)")
    event = entry.get("event")
    if event is not None and not isinstance(event, str):
        raise HooksError(f"{where}: 'event' is an event id")
    if "post" in entry:
        url = entry["post"]
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise HooksError(f"{where}: 'post' must be an http:// or https:// URL, got {str(url)[:80]!r}")
        headers = entry.get("headers", {})
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and "\n" not in k + v for k, v in headers.items()
        ):
            raise HooksError(f"{where}: 'headers' is a table of strings")
        if "address" in entry or "args" in entry:
            raise HooksError(f"{where}: 'address' and 'args' are for an OSC hook")
        return Hook(trigger, url=url, headers=tuple(headers.items()), event=event)
    target = entry["osc"]
    host, _, port = target.rpartition(":") if isinstance(target, str) else ("", "", "")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise HooksError(f"{where}: 'osc' must be HOST:PORT, got {str(target)[:80]!r}")
    address = entry.get("address", f"/modconsole/{trigger}")
    if not isinstance(address, str) or not address.startswith("/") or " " in address:
        raise HooksError(f"{where}: 'address' must be an OSC address such as /cue/12/go")
    args = entry.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str | int | float) for a in args):
        raise HooksError(f"{where}: 'args' is a list of strings and numbers")
    for arg in args:
        if isinstance(arg, str):
            try:
                names = _fields_in(arg)
            except ValueError as exc:
                raise HooksError(f"{where}: argument {arg[:40]!r}: {exc}") from None
            bad = [n for n in names if n not in FIELDS]
            if bad:
                raise HooksError(f"{where}: argument {arg[:40]!r} names {bad[0][:40]!r}; fields: {', '.join(FIELDS)}")
    return Hook(trigger, osc=(host.strip("[]"), int(port)), address=address, args=tuple(args), event=event)


def load_hooks(path: str | Path) -> list[Hook]:
    """The ``[hooks]`` table of a TOML file (a hooks file, or an agenda with one)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise HooksError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise HooksError(f"{path}: larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        doc = tomllib.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
        raise HooksError(f"{path}: not a TOML file: {exc}") from None
    if "hooks" not in doc:
        raise HooksError(f"{path}: no [hooks] table")
    try:
        return parse_hooks(doc["hooks"])
    except HooksError as exc:
        raise HooksError(f"{path}: {exc}") from None


# --- what happened ------------------------------------------------------------------------------


def _body(
    trigger: str,
    state: State,
    event_id: str,
    at: int,
    *,
    seq: int | None = None,
    session: str | None = None,
    item: str | None = None,
    person: str | None = None,
    timer: str | None = None,
    phase: str | None = None,
    question: str | None = None,
) -> dict[str, Any]:
    zone = state.agenda.zone if state.agenda is not None else None
    title = None
    if session is not None and item is not None and state.session(session) is not None:
        plan = state.plan(session)
        index = plan.item_index(item)
        title = plan.items[index].title if index is not None else None
    someone = state.person(person) if person is not None else None
    return {
        "trigger": trigger,
        "event_id": event_id,
        "seq": seq,
        "at": at,
        "at_local": ms_to_local(at, zone).isoformat(timespec="seconds") if zone is not None else None,
        "session": session,
        "item": item,
        "item_title": title,
        "person": person,
        "person_name": someone.name if someone is not None else person,
        "timer": timer,
        "phase": phase,
        "question": question,
        # An anonymous question's asker is never named (``person`` is null then).
        "question_text": state.questions[question].text if question in state.questions else None,
    }


@dataclass
class _Target:
    hook: Hook
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))
    task: asyncio.Task[None] | None = None
    dropped: int = 0
    sent: int = 0
    failed: int = 0


class Hooks:
    """The hooks of one server: told of every settled entry, watching the timers' phases, calling out."""

    def __init__(
        self,
        hooks: list[Hook],
        *,
        attempts: int = ATTEMPTS,
        backoff_s: float = BACKOFF_S,
        timeout_s: float = TIMEOUT_S,
        tick_s: float = TICK_S,
    ) -> None:
        self.targets = [_Target(hook) for hook in hooks]
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.tick_s = tick_s
        self._server: MeetingServer | None = None
        self._http: aiohttp.ClientSession | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._floor: dict[tuple[str, str], tuple[str, str | None]] = {}  # (event, session) -> (person, item)
        self._phases: dict[tuple[str, ...], str] | None = None  # None until the first look

    def attach(self, server: MeetingServer) -> None:
        """Listen to ``server``'s settled entries and start sending; call with the loop running."""
        self._server = server
        server.listeners.append(self.on_entries)
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        for target in self.targets:
            target.task = asyncio.get_running_loop().create_task(self._send_from(target))
        for runtime in server.events.values():
            self._seed_floors(runtime)
        if any(t.hook.trigger.startswith("phase_") for t in self.targets):
            self._ticker = asyncio.get_running_loop().create_task(self._watch_phases())

    async def stop(self) -> None:
        if self._server is not None and self.on_entries in self._server.listeners:
            self._server.listeners.remove(self.on_entries)
        tasks = [t.task for t in self.targets if t.task is not None]
        if self._ticker is not None:
            tasks.append(self._ticker)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._http is not None:
            await self._http.close()

    # --- triggers -----------------------------------------------------------------------------

    def _seed_floors(self, runtime: EventRuntime) -> None:
        for session in runtime.state.sessions:
            item = session.current_item
            if item is not None and item.floor is not None:
                self._floor[(runtime.event_id, session.id)] = (item.floor.person, item.id)

    def on_entries(self, runtime: EventRuntime, entries: list[Entry]) -> None:
        state, event_id = runtime.state, runtime.event_id
        for entry in entries:
            event = entry.event
            if isinstance(event, TurnStarted):
                item = state.session(event.session)
                current = item.current_item.id if item is not None and item.current_item is not None else None
                self._floor[(event_id, event.session)] = (event.person, current)
                self.fire(
                    _body("floor_given", state, event_id, event.at, seq=entry.seq, session=event.session,
                          item=current, person=event.person)
                )  # fmt: skip
            elif isinstance(event, TurnEnded):
                person, item_id = self._floor.pop((event_id, event.session), (None, None))
                self.fire(
                    _body("turn_ended", state, event_id, event.at, seq=entry.seq, session=event.session,
                          item=item_id, person=person)
                )  # fmt: skip
            elif isinstance(event, ItemChanged | SessionStarted):
                session = state.session(event.session)
                item_id = event.item if isinstance(event, ItemChanged) else None
                if item_id is None and session is not None and session.current_item is not None:
                    item_id = session.current_item.id
                self.fire(
                    _body("item_started", state, event_id, event.at, seq=entry.seq, session=event.session,
                          item=item_id)
                )  # fmt: skip
            elif isinstance(event, QuestionLive):
                question = state.questions.get(event.question)
                asker = None if question is None or question.anonymous else question.asker
                self.fire(
                    _body("question_live", state, event_id, event.at, seq=entry.seq, session=event.session,
                          person=asker, question=event.question)
                )  # fmt: skip
            elif isinstance(event, SessionEnded):
                self._floor.pop((event_id, event.session), None)
                self.fire(_body("session_ended", state, event_id, event.at, seq=entry.seq, session=event.session))

    def fire(self, body: dict[str, Any]) -> None:
        """Queue ``body`` for every hook of its trigger; never waits."""
        for target in self.targets:
            hook = target.hook
            if hook.trigger != body["trigger"] or (hook.event is not None and hook.event != body["event_id"]):
                continue
            try:
                target.queue.put_nowait(body)
            except asyncio.QueueFull:
                target.dropped += 1
                if target.dropped == 1 or target.dropped % 100 == 0:
                    log.warning("hook %s lags: %d calls dropped so far", hook.describe(), target.dropped)

    def look_at_phases(self) -> None:
        """Fire phase_warning when a running item's or turn's timer enters its warning (or danger) phase, and
        phase_overtime when it runs over; once per timer and phase. The first look only takes note."""
        assert self._server is not None
        seen: dict[tuple[str, ...], str] = {}
        first = self._phases is None
        before = self._phases or {}
        for runtime in list(self._server.events.values()):
            state = runtime.state
            if state.agenda is None:
                continue
            now = runtime.now(self._server.clock())
            for session in state.sessions:
                if session.status != "running" or session.current_item is None:
                    continue
                view = session_view(state, session, now)
                item = session.current_item
                timers: list[tuple[tuple[str, ...], str, str | None]] = []
                item_phase = next((i["phase"] for i in view["items"] if i["id"] == item.id), None)
                started = str(item.timer.first_start)
                if item_phase is not None:
                    timers.append(((runtime.event_id, session.id, "item", item.id, started), item_phase, None))
                floor = view["floor"]
                if floor is not None and not floor["paused"]:
                    turn = (runtime.event_id, session.id, "turn", item.id, floor["person"], started)
                    timers.append((turn, floor["phase"], floor["person"]))
                for key, phase, person in timers:
                    seen[key] = phase
                    was = before.get(key, "normal")
                    if first or phase == was:
                        continue
                    trigger = (
                        "phase_overtime"
                        if phase == "overtime"
                        else "phase_warning"
                        if phase in ("warning", "danger") and was == "normal"
                        else None
                    )
                    if trigger is not None:
                        self.fire(
                            _body(trigger, state, runtime.event_id, now, session=session.id, item=item.id,
                                  person=person, timer=key[2], phase=phase)
                        )  # fmt: skip
        self._phases = seen  # only the timers running now: what ended is forgotten

    async def _watch_phases(self) -> None:
        while True:
            try:
                self.look_at_phases()
            except Exception:
                log.exception("hooks: looking at the timers failed")
            await asyncio.sleep(self.tick_s)

    # --- sending ------------------------------------------------------------------------------

    async def _send_from(self, target: _Target) -> None:
        while True:
            body = await target.queue.get()
            hook = target.hook
            for attempt in range(self.attempts):
                try:
                    await self._call(hook, body)
                except Exception as exc:
                    problem = str(exc) or type(exc).__name__
                    if attempt + 1 < self.attempts and not isinstance(exc, _Final):
                        delay = self.backoff_s * 2**attempt
                        log.info("hook %s failed (%s); again in %.1f s", hook.describe(), problem, delay)
                        await asyncio.sleep(delay)
                        continue
                    target.failed += 1
                    log.warning("hook %s failed on %s: %s", hook.describe(), body["trigger"], problem)
                else:
                    target.sent += 1
                break

    async def _call(self, hook: Hook, body: dict[str, Any]) -> None:
        if hook.url is not None:
            assert self._http is not None
            data = json.dumps(body, ensure_ascii=False).encode()
            headers = {"Content-Type": "application/json", **dict(hook.headers)}
            async with self._http.post(hook.url, data=data, headers=headers) as response:
                if response.status >= 500 or response.status == 429:
                    raise RuntimeError(f"HTTP {response.status}")
                if response.status >= 400:
                    raise _Final(f"HTTP {response.status}")
            return
        assert hook.osc is not None
        builder = OscMessageBuilder(address=hook.address)
        for arg in hook.args:
            if isinstance(arg, str):
                arg = arg.format_map({k: "" if v is None else v for k, v in body.items()})
            builder.add_arg(arg)
        datagram = builder.build().dgram
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, remote_addr=hook.osc)
        try:
            transport.sendto(datagram)
        finally:
            transport.close()


class _Final(RuntimeError):
    """A refusal that trying again will not change (an HTTP 4xx)."""
