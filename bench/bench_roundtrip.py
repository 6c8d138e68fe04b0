"""Command round trip (2): from sending a command to holding its ack, the durable log write included.

The modconsole server runs in its own process (``modconsole-server serve``); three moderator
MeetingClients in this process take turns sending ``extend`` commands (+60 s, then -60 s), one
every 25 ms in all (each client stays under the server's 20 frames a second), and time each
``await client.command(...)``: serialising the command, the server's decide, the SQLite append
(WAL, synchronous=FULL, in the writer thread), apply, broadcast, the ack, and the client reading
the events frame and the ack.

Baseline (``serve_echo`` below, in its own process): a plain websockets server that, for every
frame, inserts it into SQLite (WAL, synchronous=FULL) and commits, then echoes it; three plain
websockets clients, the same pacing, a frame of the same size as the command.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from .common import HOST, ServerProcess, create_event_db, modconsole_server_argv, row, spread, within

CLIENTS = 3
GAP_S = 0.025  # between command starts, over all clients


async def serve_echo(db: str, port: int = 0) -> None:
    log = sqlite3.connect(db, isolation_level=None)
    log.execute("PRAGMA journal_mode=WAL")
    log.execute("PRAGMA synchronous=FULL")
    log.execute("CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)")

    async def handler(ws: ServerConnection) -> None:
        async for frame in ws:
            log.execute("BEGIN IMMEDIATE")
            log.execute("INSERT INTO log (body) VALUES (?)", (frame,))
            log.execute("COMMIT")
            await ws.send(frame)

    async with serve(handler, HOST, port, compression=None, max_size=64 * 1024, ping_interval=20,
                     ping_timeout=20) as server:
        print(f"listening on ws://{HOST}:{next(iter(server.sockets)).getsockname()[1]}", flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
    log.close()


async def _paced(senders: list[Any], duration: float, warmup: int) -> list[float]:
    """Call the senders in turn, one every GAP_S, for ``duration`` seconds; their round trips in s."""
    times: list[float] = []
    index = 0
    deadline = None
    while deadline is None or time.monotonic() < deadline:
        started = time.perf_counter()
        await senders[index % len(senders)](index)
        spent = time.perf_counter() - started
        index += 1
        if index == warmup:
            deadline = time.monotonic() + duration
        elif index > warmup:
            times.append(spent)
        await asyncio.sleep(max(0.0, GAP_S - spent))
    return times


async def _modconsole(duration: float, warmup: int) -> tuple[list[float], int]:
    from modconsole.client import MeetingClient
    from modconsole.core.commands import Extend

    with tempfile.TemporaryDirectory(prefix="modconsole-bench-") as tmp:
        db = Path(tmp) / "roundtrip.db"
        tokens = create_event_db(db)["tokens"]
        with ServerProcess(modconsole_server_argv(db)) as server:
            clients = [MeetingClient(server.url, tokens["moderator"], client=f"bench-{i}") for i in range(CLIENTS)]
            for client in clients:
                await client.connect()
            size = len(Extend(id="bench-1-100", delta_s=-60).model_dump_json(exclude_none=True))

            def sender(client: MeetingClient) -> Any:
                async def send(index: int) -> None:
                    await client.command(Extend(delta_s=60 if index % 2 == 0 else -60))
                return send

            try:
                return await _paced([sender(c) for c in clients], duration, warmup), size
            finally:
                await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)


async def _baseline(duration: float, warmup: int, size: int) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="modconsole-bench-") as tmp:
        argv = [sys.executable, "-m", "bench.bench_roundtrip", "serve-echo", str(Path(tmp) / "echo.db")]
        with ServerProcess(argv) as server:
            sockets = [await connect(server.url, compression=None, max_size=None) for _ in range(CLIENTS)]

            def sender(ws: Any) -> Any:
                async def send(index: int) -> None:
                    head = f'{{"type":"extend","id":"bench-{index}","pad":"'
                    await ws.send(head + "x" * max(0, size - len(head) - 2) + '"}')
                    await ws.recv()
                return send

            try:
                return await _paced([sender(ws) for ws in sockets], duration, warmup)
            finally:
                await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


async def run(duration: float, warmup: int = 20) -> dict[str, list[dict[str, Any]]]:
    ours, size = await _modconsole(duration, warmup)
    plain = await _baseline(duration, warmup, size)
    figures = spread(ours, plain, "ms", scale=1000, qs=(("p50", 50), ("p99", 99)))
    return {"roundtrip": [row(
        "moderator command to ack", figures,
        target="p50 <= 1.5 x baseline", met=within(figures["p50"], 1.5),
        samples={"modconsole": len(ours), "baseline": len(plain)}, command_bytes=size, clients=CLIENTS,
        gap_ms=GAP_S * 1000,
    )]}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve-echo":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_echo(sys.argv[2]))
    else:
        print("usage: python -m bench.bench_roundtrip serve-echo DB", file=sys.stderr)
        sys.exit(2)
