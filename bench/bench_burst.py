"""Bursts (8): 1,800 connected participants, 300 of them raise a hand within one second ("Any questions?").

The server runs in its own process (``modconsole-server serve``, the real command line) on an event whose
session is running, with 1,800 participants registered from a list (each with a personal token); the
participants connect from worker processes, one websocket each. At a start time every worker knows, 300
of them (spread over the workers) send ``raise`` at moments spread evenly over one second. Each raiser
records when its ack came; every connection records when it holds the final queue (it has received all
300 hands). Times are ``time.time()``, one wall clock for every process of the machine.

Figures, from the moment the last raise was sent: the time to the last ack, and the time until every
client holds the final queue; and the memory per idle participant (the server's RSS growth over the
connections, divided by their number).

The baseline is ``serve_plain`` below, in the same run: a plain websockets server (same library, same
options) doing what the naive design does, one command at a time: one SQLite insert committed with
``synchronous=FULL`` and one broadcast of a small events frame to every client per command, then the ack.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import sqlite3
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from .common import HOST, ServerProcess, figure, modconsole_server_argv, raise_nofile, row, within

GENEVA = Path(__file__).resolve().parents[1] / "examples" / "geti-programme.toml"
BURST_S = 1.0


# --- the baseline --------------------------------------------------------------------------------


async def serve_plain(db: str, port: int = 0) -> None:
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    clients: set[ServerConnection] = set()
    sql = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    sql.execute("PRAGMA journal_mode=WAL")
    sql.execute("PRAGMA synchronous=FULL")
    sql.execute("CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    writer = ThreadPoolExecutor(max_workers=1)
    lock = asyncio.Lock()
    seq = 0

    def insert(n: int, body: str) -> None:
        sql.execute("BEGIN IMMEDIATE")
        sql.execute("INSERT INTO log (seq, body) VALUES (?, ?)", (n, body))
        sql.execute("COMMIT")

    backlog: dict[ServerConnection, list[str]] = {}

    async def drain(ws: ServerConnection) -> None:
        with contextlib.suppress(Exception):
            while backlog.get(ws):
                await ws.send(backlog[ws].pop(0))
        backlog.pop(ws, None)

    def send(ws: ServerConnection, frame: str) -> None:
        # As modconsole's own outbox does: written at once, or queued in order while the socket is backed up
        # (websockets' broadcast alone would drop the frame for a client that is behind).
        transport = ws.transport
        if ws not in backlog and transport.get_write_buffer_size() <= transport.get_write_buffer_limits()[1]:
            broadcast((ws,), frame)
            return
        if ws not in backlog:
            backlog[ws] = []
            asyncio.get_running_loop().create_task(drain(ws))
        backlog[ws].append(frame)

    async def handler(ws: ServerConnection) -> None:
        nonlocal seq
        await ws.recv()  # the hello
        await ws.send('{"type":"welcome"}')
        clients.add(ws)
        try:
            async for raw in ws:
                frame = json.loads(raw)
                async with lock:  # one command at a time, as the naive design does
                    seq += 1
                    event = json.dumps(
                        {"type": "hand_raised", "person": frame.get("person", "?"), "at": seq}, separators=(",", ":")
                    )
                    await asyncio.get_running_loop().run_in_executor(writer, insert, seq, event)
                    events = f'{{"type":"events","events":[{{"seq":{seq},"event":{event}}}]}}'
                    for client in clients:
                        send(client, events)
                    send(ws, json.dumps({"type": "ack", "id": frame.get("id", ""), "seq": seq}, separators=(",", ":")))
        except Exception:
            pass
        finally:
            clients.discard(ws)

    async with serve(handler, HOST, port, compression=None, max_size=2**20, backlog=4096) as server:
        print(f"listening on ws://{HOST}:{server.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.Future()


# --- the participants, in worker processes -------------------------------------------------------


def _worker_main(conn: Connection, url: str, tokens: list[str], raisers: list[int], plain: bool) -> None:
    raise_nofile(len(tokens) + 256)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_worker(conn, url, tokens, raisers, plain))


async def _worker(conn: Connection, url: str, tokens: list[str], raisers: list[int], plain: bool) -> None:
    from websockets.asyncio.client import connect

    gate = asyncio.Semaphore(48)
    sockets: list[Any] = [None] * len(tokens)
    errors: list[str] = []

    async def open_one(index: int) -> None:
        async with gate:
            for attempt in range(8):
                try:
                    ws = await connect(url, compression=None, max_size=None, open_timeout=60)
                    await ws.send(json.dumps({"type": "hello", "token": tokens[index], "client": "bench"}))
                    await asyncio.wait_for(ws.recv(), 60)
                    sockets[index] = ws
                    return
                except Exception as exc:
                    if attempt == 7:
                        errors.append(repr(exc))
                    await asyncio.sleep(0.1 * (attempt + 1))

    await asyncio.gather(*(open_one(i) for i in range(len(tokens))))
    conn.send(("ready", sum(1 for s in sockets if s is not None), errors[:3]))
    loop = asyncio.get_running_loop()
    message = await loop.run_in_executor(None, conn.recv)
    start, expected, slots = message[1], message[2], message[3]
    held: list[float] = []
    acks: dict[int, float] = {}
    sent: dict[int, float] = {}
    done = asyncio.Event()
    waiting = [len([s for s in sockets if s is not None])]

    async def listen(index: int, ws: Any) -> None:
        hands = 0
        try:
            async for raw in ws:
                now = time.time()
                if '"ack"' in raw and f'"id":"r{index}"' in raw:
                    acks[index] = now
                counted = raw.count('"hand_raised"')
                hands += counted
                if counted and hands >= expected:
                    held.append(now)
                if hands >= expected and (index not in mine or index in acks):
                    break
        except Exception:
            pass
        waiting[0] -= 1
        if waiting[0] == 0:
            done.set()

    mine = set(raisers)
    readers = [asyncio.create_task(listen(i, ws)) for i, ws in enumerate(sockets) if ws is not None]

    async def raise_one(index: int, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.time()))
        sent[index] = time.time()
        frame = {"type": "raise", "id": f"r{index}", "kind": "question"}
        if plain:
            frame["person"] = f"p{index}"
        await sockets[index].send(json.dumps(frame))

    await asyncio.gather(*(raise_one(i, start + slot) for i, slot in zip(raisers, slots, strict=True)))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), 900)
    conn.send(("done", list(sent.values()), list(acks.values()), held, len(raisers) - len(acks)))
    await loop.run_in_executor(None, conn.recv)  # "close"
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets if ws is not None), return_exceptions=True)
    conn.send(("closed",))


async def _recv(pipe: Connection, timeout: float = 1000) -> Any:
    def wait() -> Any:
        if not pipe.poll(timeout):
            raise TimeoutError("a participant worker did not answer")
        return pipe.recv()

    return await asyncio.to_thread(wait)


async def _settled_rss(server: ServerProcess) -> int:
    last = server.rss_kib()
    for _ in range(12):
        await asyncio.sleep(0.25)
        now = server.rss_kib()
        if abs(now - last) < 64:
            return now
        last = now
    return last


async def burst(
    url: str, server: ServerProcess, tokens: list[str], raisers: int, workers: int, plain: bool
) -> dict[str, Any]:
    """Connect everyone, then the burst; the figures of one server."""
    context = multiprocessing.get_context("spawn")
    shares = [tokens[i::workers] for i in range(workers)]
    picked = [
        list(range(0, len(share), max(1, len(share) // (raisers // workers))))[: raisers // workers] for share in shares
    ]
    rss_before = await _settled_rss(server)
    processes, pipes = [], []
    started = time.monotonic()
    for share, mine in zip(shares, picked, strict=True):
        ours, theirs = context.Pipe()
        process = context.Process(target=_worker_main, args=(theirs, url, share, mine, plain), daemon=True)
        process.start()
        theirs.close()
        processes.append(process)
        pipes.append(ours)
    try:
        ready = [await _recv(pipe) for pipe in pipes]
        connected = sum(r[1] for r in ready)
        if connected != len(tokens):
            raise RuntimeError(f"only {connected} of {len(tokens)} participants connected: {[r[2] for r in ready]}")
        connect_s = time.monotonic() - started
        rss_after = await _settled_rss(server)
        total = sum(len(m) for m in picked)
        start = time.time() + 1.0
        for slot, (pipe, mine) in enumerate(zip(pipes, picked, strict=True)):
            slots = [(slot + k * len(pipes)) * BURST_S / total for k in range(len(mine))]
            pipe.send(("go", start, total, slots))
        results = [await _recv(pipe) for pipe in pipes]
        sent = [t for r in results for t in r[1]]
        acks = [t for r in results for t in r[2]]
        held = [t for r in results for t in r[3]]
        missing = sum(r[4] for r in results)
        for pipe in pipes:
            pipe.send("close")
        for pipe in pipes:
            with contextlib.suppress(Exception):
                await _recv(pipe, 60)
    finally:
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.terminate()
        for pipe in pipes:
            pipe.close()
    if missing or len(held) != len(tokens):
        raise RuntimeError(
            f"{missing} raises not acknowledged, {len(tokens) - len(held)} clients without the final queue"
        )
    last_sent = max(sent)
    return {
        "raises": total,
        "burst_s": round(last_sent - min(sent), 3),
        "last_ack_s": max(acks) - last_sent,
        "all_hold_s": max(held) - last_sent,
        "last_ack_from_first_s": max(acks) - min(sent),
        "per_client_kib": (rss_after - rss_before) / len(tokens),
        "connect_s": round(connect_s, 1),
    }


def _prepare(db: Path, participants: int) -> list[str]:
    """An event with ``participants`` registered, its session running: their tokens, and the moderator's."""
    from modconsole.agenda_files import load_agenda
    from modconsole.core.agenda import Person
    from modconsole.server.events_admin import create_event
    from modconsole.server.store import SqliteStore
    from modconsole.server.tokens import new_token, token_hash

    store = SqliteStore(db)
    try:
        created = create_event(store, load_agenda(GENEVA))
        people = [
            (f"p{i}@example.org", Person(id=f"r-{i:06d}", name=f"Participant {i}", participant=True))
            for i in range(participants)
        ]
        tokens = [new_token() for _ in people]
        store.register_people(
            created.event_id, people, [(p.id, p.name, token_hash(t)) for (_e, p), t in zip(people, tokens, strict=True)]
        )
    finally:
        store.close()
    return [created.moderator, *tokens]


async def _start_session(url: str, moderator: str) -> None:
    from modconsole.client import MeetingClient
    from modconsole.core.commands import Start

    client = MeetingClient(url, moderator, client="bench-moderator")
    await client.connect()
    await client.command(Start(session="session-4"))
    await client.close()


async def run(participants: int, raisers: int, workers: int) -> dict[str, list[dict[str, Any]]]:
    with tempfile.TemporaryDirectory(prefix="modconsole-bench-") as tmp:
        db = Path(tmp) / "burst.db"
        moderator, *tokens = _prepare(db, participants)
        argv = modconsole_server_argv(db, "--max-waiting-per-address", "4096")
        with ServerProcess(argv) as server:
            await _start_session(server.url, moderator)
            ours = await burst(server.url, server, tokens, raisers, workers, plain=False)
        print(f"modconsole: {ours}", file=sys.stderr, flush=True)
        plain_db = Path(tmp) / "plain.db"
        with ServerProcess([sys.executable, "-m", "bench.bench_burst", "serve-plain", str(plain_db)]) as server:
            plain = await burst(
                server.url, server, [f"t{i}" for i in range(participants)], raisers, workers, plain=True
            )
    figures = {
        "last_ack": figure(ours["last_ack_s"] * 1000, plain["last_ack_s"] * 1000, "ms"),
        "all_hold": figure(ours["all_hold_s"] * 1000, plain["all_hold_s"] * 1000, "ms"),
        "per_client": figure(ours["per_client_kib"], plain["per_client_kib"], "KiB"),
    }
    met = within(figures["last_ack"], 0.1) and ours["last_ack_s"] <= 0.5 and within(figures["per_client"], 1.3)
    return {
        "burst": [
            row(
                f"{participants:,} participants, {ours['raises']} raise in {BURST_S:g} s",
                figures,
                target="last ack <= 0.1 x baseline and <= 0.5 s; memory <= 1.3 x baseline",
                met=met,
                participants=participants,
                raises=ours["raises"],
                workers=workers,
                burst_s={"modconsole": ours["burst_s"], "baseline": plain["burst_s"]},
                last_ack_from_first_raise_ms={
                    "modconsole": round(ours["last_ack_from_first_s"] * 1000, 1),
                    "baseline": round(plain["last_ack_from_first_s"] * 1000, 1),
                },
                connect_s={"modconsole": ours["connect_s"], "baseline": plain["connect_s"]},
            )
        ]
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve-plain"] and len(sys.argv) == 3:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_plain(sys.argv[2]))
    else:
        print("usage: python -m bench.bench_burst serve-plain DB", file=sys.stderr)
        sys.exit(2)
