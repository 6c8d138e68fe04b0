"""Timer truth (7): the event time a client shows against the server's, with a skewed client clock
and 100 ms of added round-trip latency.

The server runs in its own process (``modconsole-server serve``, real clock, scale 1). A small TCP
proxy (its own process) delays each direction by 50 ms. The client runs in its own process with
``time.time`` shifted by the skew (+5 or -5 minutes) and is the console's own link (``LiveLink``:
connect, then a ping every 5 s, reconnecting if need be). Every 20 ms it reads ``server_now()``
and, at the same instant, the server's event clock: the server computes it as
``virtual_ms + int((wall_ms - clock_wall_ms) * scale)`` from its last ``clock_set`` entry and its
wall clock, the same clock this process reads unskewed (one machine). The figure is the largest
error over the run; the baseline is the same client connected directly, with no skew.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from .common import HOST, ServerProcess, create_event_db, figure, modconsole_server_argv, percentile, row

SAMPLE_EVERY_S = 0.02
TARGET_MS = 50


# --- the delaying proxy ---------------------------------------------------------------------------


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                with contextlib.suppress(OSError):
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    delivering = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(65536)
            queue.put_nowait((loop.time() + delay, data))
            if not data:
                break
        await delivering
    except (ConnectionError, OSError):
        delivering.cancel()
    finally:
        writer.close()


async def _proxy(conn: Connection, target_port: int, up_s: float, down_s: float) -> None:
    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        # Cancelled when the proxy stops with the connection still open: ending quietly then keeps asyncio
        # from printing a traceback for a task that did what it should.
        with contextlib.suppress(asyncio.CancelledError):
            server_reader, server_writer = await asyncio.open_connection(HOST, target_port)
            await asyncio.gather(
                _pump(client_reader, server_writer, up_s),
                _pump(server_reader, client_writer, down_s),
                return_exceptions=True,
            )

    server = await asyncio.start_server(handle, HOST, 0)
    conn.send(server.sockets[0].getsockname()[1])
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # until told to stop
    server.close()


def _proxy_main(conn: Connection, target_port: int, up_s: float, down_s: float) -> None:
    asyncio.run(_proxy(conn, target_port, up_s, down_s))


# --- the skewed client ----------------------------------------------------------------------------


def _client_main(
    conn: Connection, url: str, token: str, skew_s: float, clock: dict[str, float], duration: float
) -> None:
    real = time.time
    time.time = lambda: real() + skew_s  # this process's wall clock is off by the skew
    conn.send(asyncio.run(_client(url, token, clock, duration, real)))


async def _client(url: str, token: str, clock: dict[str, float], duration: float, real: Any) -> dict[str, Any]:
    from modconsole.client import MeetingClient
    from modconsole.tui.link import LiveLink

    link = LiveLink(MeetingClient(url, token, client="bench-timer"))
    running = asyncio.create_task(link.run(lambda: None))
    async with asyncio.timeout(30):
        while link.status != "connected":
            await asyncio.sleep(0.005)
    errors: list[int] = []
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        shown = link.now()
        truth = int(clock["virtual_ms"] + int((int(real() * 1000) - clock["wall_ms"]) * clock["scale"]))
        errors.append(shown - truth)
        await asyncio.sleep(SAMPLE_EVERY_S)
    await link.close()
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await running
    return {"errors": errors, "rtt_ms": link.rtt_ms, "offset_ms": link.offset_ms, "reconnects": link.reconnects}


def _server_clock(db: Path, event_id: str) -> dict[str, float]:
    from modconsole.server.store import SqliteStore

    store = SqliteStore(db)
    try:
        clocks = [e.event for e in store.read(event_id) if e.event.type == "clock_set"]
    finally:
        store.close()
    last = clocks[-1]
    return {"wall_ms": last.wall_ms, "virtual_ms": last.virtual_ms, "scale": last.scale}  # type: ignore[union-attr]


async def _case(
    url: str,
    token: str,
    clock: dict[str, float],
    skew_s: float,
    delays: tuple[float, float] | None,
    duration: float,
    port: int,
) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    proxy = None
    pipe = None
    try:
        if delays is not None:
            pipe, theirs = context.Pipe()
            proxy = context.Process(target=_proxy_main, args=(theirs, port, *delays), daemon=True)
            proxy.start()
            url = f"ws://{HOST}:{await asyncio.to_thread(pipe.recv)}"
        mine, theirs = context.Pipe()
        client = context.Process(target=_client_main, args=(theirs, url, token, skew_s, clock, duration), daemon=True)
        client.start()
        result: dict[str, Any] = await asyncio.to_thread(mine.recv)
        client.join(10)
        return result
    finally:
        if proxy is not None and pipe is not None:
            pipe.send("stop")
            proxy.join(10)
            if proxy.is_alive():
                proxy.terminate()


def _max_abs(errors: list[int]) -> float:
    return float(max(abs(e) for e in errors))


async def run(duration: float) -> dict[str, list[dict[str, Any]]]:
    with tempfile.TemporaryDirectory(prefix="modconsole-bench-") as tmp:
        db = Path(tmp) / "timer.db"
        created = create_event_db(db)
        token = created["tokens"]["display"]
        with ServerProcess(modconsole_server_argv(db)) as server:
            clock = _server_clock(db, created["event_id"])
            port = int(server.url.rsplit(":", 1)[1])
            base = await _case(server.url, token, clock, 0.0, None, duration, port)
            cases = [
                ("skew +5 min, 50 ms each way", 300.0, (0.05, 0.05), True),
                ("skew -5 min, 50 ms each way", -300.0, (0.05, 0.05), True),
                ("skew +5 min, 90 ms up / 10 ms down (asymmetric, for reference)", 300.0, (0.09, 0.01), False),
            ]
            rows = []
            for label, skew, delays, targeted in cases:
                got = await _case(server.url, token, clock, skew, delays, duration, port)
                # server_now() counts whole milliseconds: a baseline of 0 is read as 1 ms, its resolution.
                worst = figure(_max_abs(got["errors"]), max(1.0, _max_abs(base["errors"])), "ms")
                rows.append(
                    row(
                        label,
                        {"max_error": worst},
                        target=f"max error <= {TARGET_MS} ms" if targeted else "",
                        met=worst["value"] <= TARGET_MS if targeted else None,
                        samples=len(got["errors"]),
                        p50_abs_error_ms=percentile([abs(e) for e in got["errors"]], 50),
                        baseline_max_error_ms=_max_abs(base["errors"]),
                        rtt_ms=round(got["rtt_ms"], 1),
                        shown_offset_ms=got["offset_ms"],
                        signed_error_range_ms=[min(got["errors"]), max(got["errors"])],
                        naive_error_ms=abs(skew) * 1000,
                        reconnects=got["reconnects"],
                    )
                )
    return {"timer": rows}
