"""Fan-out (1) and memory per idle client (5): N display clients held by worker processes.

The server runs in its own process (``modconsole-server serve``, the real command line). Before
the N clients connect, 16 warm-up connections are made and the server's RSS is read; after, it is
read again: the growth divided by N is the memory per idle client. Then a moderator (in this
process) sends ``extend`` commands, alternately +60 s and -60 s; the trigger time is taken just
before each is sent, and every worker timestamps the frame's receipt on each of its connections
with time.time() (one wall clock for every process of the machine).

The baseline is ``serve_plain`` below: a plain websockets server (same library, same options) that
answers the hello with a short welcome and broadcasts every frame a client sends it, as it came,
with ``websockets.broadcast``; its trigger frame has the size of the modconsole server's events frame.

Both servers hold their N clients at the same time and their rounds alternate, the order swapping
every round, so that other work on the machine weighs on both alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, broadcast, serve

from .common import (
    HOST,
    ClientPool,
    ClientSpec,
    ServerProcess,
    bearer,
    create_event_db,
    figure,
    modconsole_server_argv,
    percentile,
    row,
    spread,
    within,
)

WARMUP_CONNECTIONS = 16
ROUND_GAP_S = 0.1  # between commands: the server allows a client 20 frames a second


# --- the baseline: a plain websockets broadcast server ------------------------------------------


async def serve_plain(port: int = 0) -> None:
    clients: set[ServerConnection] = set()

    async def handler(ws: ServerConnection) -> None:
        await ws.recv()  # the hello
        await ws.send('{"type":"welcome"}')
        clients.add(ws)
        try:
            async for frame in ws:  # a trigger: to everyone as it came, then an ack to its sender
                broadcast(clients, frame)
                await ws.send('{"type":"ack"}')
        finally:
            clients.discard(ws)

    async with serve(
        handler, HOST, port, compression=None, max_size=64 * 1024, ping_interval=20, ping_timeout=20
    ) as server:
        print(f"listening on ws://{HOST}:{next(iter(server.sockets)).getsockname()[1]}", flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()


def events_frame_size() -> int:
    """The size of the modconsole server's frame for one ``extend`` (what the baseline broadcasts)."""
    from modconsole.core.commands import Actor
    from modconsole.core.events import SessionExtended
    from modconsole.server.service import entries_frame
    from modconsole.server.store import Entry

    now = int(time.time() * 1000)
    event = SessionExtended(session="call", at=now, delta_s=-60)
    return len(entries_frame([Entry.make(10, now, Actor(role="moderator", client="bench-moderator"), event)]))


def plain_server_argv() -> list[str]:
    return [sys.executable, "-m", "bench.bench_fanout", "serve-plain"]


# --- one server under N clients -------------------------------------------------------------------


class Target:
    """A server process and how to drive it: its clients' hello, and a trigger that makes one frame."""

    kind = ""

    def __init__(self, frame_size: int = 0) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="modconsole-bench-")
        self.frame_size = frame_size
        self.server: ServerProcess
        self.spec: ClientSpec
        self.pool: ClientPool | None = None
        self.warm: list[Any] = []

    async def open_trigger(self) -> None: ...
    async def trigger(self, index: int) -> None: ...
    async def close_trigger(self) -> None: ...

    def cleanup(self) -> None:
        self.tmp.cleanup()


class ModconsoleTarget(Target):
    kind = "modconsole"

    def __init__(self) -> None:
        super().__init__()
        db = Path(self.tmp.name) / "fanout.db"
        self.tokens = create_event_db(db)["tokens"]
        self.server = ServerProcess(modconsole_server_argv(db)).start()
        display = self.tokens["display"]
        self.spec = ClientSpec(self.server.url, json.dumps({"type": "hello", "client": "bench"}), bearer(display))
        self.moderator: Any = None

    async def open_trigger(self) -> None:
        from modconsole.client import MeetingClient

        self.moderator = MeetingClient(self.server.url, self.tokens["moderator"], client="bench-moderator")
        await self.moderator.connect()

    async def trigger(self, index: int) -> None:
        from modconsole.core.commands import Extend

        await self.moderator.command(Extend(delta_s=60 if index % 2 == 0 else -60))

    async def close_trigger(self) -> None:
        if self.moderator is not None:
            await self.moderator.close()


class PlainTarget(Target):
    kind = "plain websockets"

    def __init__(self, frame_size: int) -> None:
        super().__init__(frame_size)
        self.server = ServerProcess(plain_server_argv()).start()
        self.spec = ClientSpec(self.server.url, '{"type":"hello"}')
        self.ws: Any = None

    async def open_trigger(self) -> None:
        self.ws = await connect(self.server.url, compression=None, max_size=None)
        await self.ws.send('{"type":"hello"}')
        await self.ws.recv()

    async def trigger(self, index: int) -> None:
        head = f'{{"type":"events","seq":{index},"pad":"'
        frame = head + "x" * max(0, self.frame_size - len(head) - 2) + '"}'
        await self.ws.send(frame)
        while await self.ws.recv() != '{"type":"ack"}':  # its own copy of the broadcast comes first
            pass

    async def close_trigger(self) -> None:
        if self.ws is not None:
            await self.ws.close()


async def _warm_up(spec: ClientSpec, count: int) -> list[Any]:
    sockets = []
    for _ in range(count):
        ws = await connect(spec.url, additional_headers=spec.headers, compression=None, max_size=None)
        await ws.send(spec.hello)
        await ws.recv()
        sockets.append(ws)
    return sockets


async def _settled_rss(server: ServerProcess) -> int:
    """The server's RSS once it has stopped moving (read every 0.25 s, at most 3 s)."""
    last = server.rss_kib()
    for _ in range(12):
        await asyncio.sleep(0.25)
        now = server.rss_kib()
        if abs(now - last) < 64:
            return now
        last = now
    return last


async def connect_all(target: Target, clients: int, workers: int) -> dict[str, Any]:
    """Connect ``clients`` to ``target`` and read the memory they take on its server."""
    target.warm = await _warm_up(target.spec, WARMUP_CONNECTIONS)
    target.pool = ClientPool(target.spec, clients, workers)
    rss_before = await _settled_rss(target.server)
    await target.pool.start()
    rss_after = await _settled_rss(target.server)
    return {
        "rss_before_kib": rss_before,
        "rss_after_kib": rss_after,
        "per_client_kib": (rss_after - rss_before) / clients,
        "connect_s": round(target.pool.connect_s, 2),
        "latencies_s": [],
        "all_held_s": [],
        "frame_bytes": 0,
    }


async def one_round(target: Target, index: int, result: dict[str, Any], counted: bool) -> None:
    sent = time.time()  # the trigger time, just before the command is sent
    await target.trigger(index)
    assert target.pool is not None
    times, result["frame_bytes"] = await target.pool.round(index)
    if counted:
        spent = [t - sent for t in times]
        result["latencies_s"].extend(spent)
        result["all_held_s"].append(max(spent))
    await asyncio.sleep(ROUND_GAP_S)


async def disconnect(target: Target) -> None:
    if target.pool is not None:
        await target.pool.close()
    await asyncio.gather(*(ws.close() for ws in target.warm), return_exceptions=True)
    await target.close_trigger()
    target.server.stop()
    target.cleanup()


async def run(
    clients: list[int], *, workers: int, rounds: int, warmup_rounds: int, fanout: bool, memory: bool
) -> dict[str, list[dict[str, Any]]]:
    """Both servers hold their N clients at once, and their rounds alternate (which one goes first
    alternates too), so that whatever else the machine does falls on both alike."""
    out: dict[str, list[dict[str, Any]]] = {"fanout": [], "memory": []}
    for n in clients:
        targets: list[Target] = []
        measured: dict[str, dict[str, Any]] = {}
        try:
            targets.append(ModconsoleTarget())
            targets.append(PlainTarget(events_frame_size()))
            for target in targets:
                measured[target.kind] = await connect_all(target, n, workers)
            if fanout:
                for target in targets:
                    await target.open_trigger()
                for index in range(warmup_rounds + rounds):
                    for target in targets if index % 2 == 0 else targets[::-1]:
                        await one_round(target, index, measured[target.kind], index >= warmup_rounds)
        finally:
            for target in targets:
                await disconnect(target)
        ours, plain = measured["modconsole"], measured["plain websockets"]
        if fanout:
            figures = spread(ours["latencies_s"], plain["latencies_s"], "ms", scale=1000)
            figures["all_held_p50"] = figure(
                percentile(ours["all_held_s"], 50) * 1000, percentile(plain["all_held_s"], 50) * 1000, "ms"
            )
            p99 = figures["p99"]
            goal, met = "", None
            if n == 1000:
                goal, met = "p99 <= 1.25 x baseline", within(p99, 1.25)
            elif n >= 5000:  # every client connected and got every frame, or the pool would have raised
                goal, met = "held by one server process", True
            out["fanout"].append(
                row(
                    f"{n:,} clients",
                    figures,
                    target=goal,
                    met=met,
                    clients=n,
                    rounds=rounds,
                    workers=workers,
                    frame_bytes=ours["frame_bytes"],
                    connect_s={"modconsole": ours["connect_s"], "baseline": plain["connect_s"]},
                    all_held_ms_by_round={
                        "modconsole": [round(t * 1000, 1) for t in ours["all_held_s"]],
                        "baseline": [round(t * 1000, 1) for t in plain["all_held_s"]],
                    },
                )
            )
        if memory:
            per_client = figure(ours["per_client_kib"], plain["per_client_kib"], "KiB")
            counted = n >= 1000  # the target is set at 1,000 and 5,000 clients; fewer are noise
            out["memory"].append(
                row(
                    f"{n:,} idle clients",
                    {"per_client": per_client},
                    target="<= 1.3 x baseline" if counted else "",
                    met=within(per_client, 1.3) if counted else None,
                    clients=n,
                    rss_kib={
                        "modconsole": [ours["rss_before_kib"], ours["rss_after_kib"]],
                        "baseline": [plain["rss_before_kib"], plain["rss_after_kib"]],
                    },
                )
            )
    return out


if __name__ == "__main__":
    if sys.argv[1:] == ["serve-plain"]:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_plain())
    else:
        print("usage: python -m bench.bench_fanout serve-plain", file=sys.stderr)
        sys.exit(2)
