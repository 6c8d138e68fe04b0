"""Command round trip (2): from sending a command to holding its ack, the durable log write included.

The modconsole server runs in its own process (``modconsole-server serve``) with three moderators
connected: one ``MeetingClient`` in this process sends ``extend`` commands (+60 s, then -60 s) and
times each ``await client.command(...)``: serialising the command, the server's decide, the SQLite
append (WAL, synchronous=FULL, in the writer thread), apply, the broadcast to all three, the ack, and
the client reading the events frame and the ack. The two other moderators are connected from a
separate process (``watch`` below), so the server broadcasts as it would to a team of moderators,
while their consoles' work is not billed to the one being timed.

Baseline (``serve_echo`` below, in its own process): a plain websockets server that, for every
frame, inserts it into SQLite (WAL, synchronous=FULL) and commits, then echoes it; one plain
websockets client and a frame of the same size as the command. Both servers run at once and the
calls alternate between them, one every 30 ms in all (each side's client stays under the server's
20 frames a second): a disk or a machine that slows down for a while slows both sides alike.
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

WATCHERS = 2  # the other moderators, connected from another process
GAP_S = 0.03  # between calls, alternating between the two servers


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

    async with serve(
        handler, HOST, port, compression=None, max_size=64 * 1024, ping_interval=20, ping_timeout=20
    ) as server:
        print(f"listening on ws://{HOST}:{next(iter(server.sockets)).getsockname()[1]}", flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
    log.close()


async def _interleaved(ours: Any, plain: Any, duration: float, warmup: int) -> tuple[list[float], list[float]]:
    """Call the two senders in turn, one call every GAP_S, for ``duration`` seconds after ``warmup`` calls
    of each; the round trips in seconds of each side."""
    times: tuple[list[float], list[float]] = ([], [])
    index = 0
    deadline = None
    while deadline is None or time.monotonic() < deadline:
        side = index % 2
        started = time.perf_counter()
        await (ours if side == 0 else plain)(index // 2)
        spent = time.perf_counter() - started
        index += 1
        if index == 2 * warmup:
            deadline = time.monotonic() + duration
        elif index > 2 * warmup:
            times[side].append(spent)
        await asyncio.sleep(max(0.0, GAP_S - spent))
    return times


async def run(duration: float, warmup: int = 20) -> dict[str, list[dict[str, Any]]]:
    from modconsole.client import MeetingClient
    from modconsole.core.commands import Extend

    with tempfile.TemporaryDirectory(prefix="modconsole-bench-") as tmp:
        db = Path(tmp) / "roundtrip.db"
        moderator = create_event_db(db)["tokens"]["moderator"]
        echo_argv = [sys.executable, "-m", "bench.bench_roundtrip", "serve-echo", str(Path(tmp) / "echo.db")]
        with ServerProcess(modconsole_server_argv(db)) as server, ServerProcess(echo_argv) as echo:
            watch_argv = [sys.executable, "-m", "bench.bench_roundtrip", "watch", server.url, moderator, str(WATCHERS)]
            with ServerProcess(watch_argv, ready=r"(watching)"):
                client = MeetingClient(server.url, moderator, client="bench-timed")
                await client.connect()
                ws = await connect(echo.url, compression=None, max_size=None)
                size = len(Extend(id="bench-timed-100", delta_s=-60).model_dump_json(exclude_none=True))

                async def command(index: int) -> None:
                    await client.command(Extend(delta_s=60 if index % 2 == 0 else -60))

                async def echoed(index: int) -> None:
                    head = f'{{"type":"extend","id":"bench-{index}","pad":"'
                    await ws.send(head + "x" * max(0, size - len(head) - 2) + '"}')
                    await ws.recv()

                try:
                    ours, plain = await _interleaved(command, echoed, duration, warmup)
                finally:
                    await asyncio.gather(client.close(), ws.close(), return_exceptions=True)
    figures = spread(ours, plain, "ms", scale=1000, qs=(("p50", 50), ("p99", 99)))
    return {
        "roundtrip": [
            row(
                "moderator command to ack",
                figures,
                target="p50 <= 1.5 x baseline",
                met=within(figures["p50"], 1.5),
                samples={"modconsole": len(ours), "baseline": len(plain)},
                command_bytes=size,
                moderators_connected=1 + WATCHERS,
                gap_ms=GAP_S * 1000,
                interleaved=True,
            )
        ]
    }


async def watch(url: str, token: str, count: int) -> None:
    """Hold ``count`` more moderator connections, reading what the server broadcasts, until SIGTERM."""
    from modconsole.client import MeetingClient

    clients = [MeetingClient(url, token, client=f"bench-watch-{i}") for i in range(count)]
    for client in clients:
        await client.connect()
    print("watching", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve-echo":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_echo(sys.argv[2]))
    elif len(sys.argv) == 5 and sys.argv[1] == "watch":
        asyncio.run(watch(sys.argv[2], sys.argv[3], int(sys.argv[4])))
    else:
        print("usage: python -m bench.bench_roundtrip serve-echo DB | watch URL TOKEN COUNT", file=sys.stderr)
        sys.exit(2)
