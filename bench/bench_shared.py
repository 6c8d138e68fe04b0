"""Servers sharing one log through PostgreSQL (8): fan-out over several processes, a command crossing to another
process, command to ack on PostgreSQL, and failover.

A PostgreSQL cluster of the benchmark's own (bench/pgcluster.py; Debian's package, fsync on) holds the event;
``modconsole-server serve --store postgresql://...`` runs in ``processes`` processes (the real command line).

- shared fan-out: N display clients spread over the processes (held by worker processes of their own, one per
  server); a moderator on the first process sends ``extend`` commands; the figure is the time from the send to
  each client's receipt of the frame. Baseline: one SQLite server process holding N / processes clients, the
  same command, rounds alternating with the shared ones.
- cross-process: one display on the moderator's process and one on another; per command, the other's receipt
  beside the same process's.
- command to ack: a moderator's ``extend`` round trip on a PostgreSQL-backed server beside a SQLite-backed one
  (the calls alternate).
- failover: K consoles' links (modconsole.tui.link.LiveLink, as `modconsole join` runs them), given every
  address, on one process; SIGKILL it; the figure is the time until every one is connected to another process
  again. Baseline: the time those K first connected. Events lost or repeated are counted over the commands sent
  before, during and after.
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

from .common import (
    HOST,
    MAYORS_CALL,
    ClientPool,
    ClientSpec,
    ServerProcess,
    bearer,
    create_event_db,
    figure,
    modconsole_server_argv,
    row,
    spread,
)
from .pgcluster import PgCluster, PgUnavailable

ROUND_GAP_S = 0.1


def _serve_pg(url: str) -> list[str]:
    return [sys.executable, "-m", "modconsole.server", "serve", "--store", url, "--host", HOST, "--port", "0"]


def _create_event_pg(url: str) -> dict[str, Any]:
    from modconsole.agenda_files import load_agenda
    from modconsole.server.events_admin import create_event
    from modconsole.server.store_pg import PostgresStore

    store = PostgresStore(url)
    try:
        return create_event(store, load_agenda(MAYORS_CALL)).as_json()
    finally:
        store.close()


class Extender:
    """A moderator sending ``extend`` commands, +60 s then -60 s."""

    def __init__(self, url: str, token: str) -> None:
        from modconsole.client import MeetingClient

        self.client = MeetingClient(url, token, client="bench-moderator")
        self.index = 0

    async def __call__(self) -> int:
        from modconsole.core.commands import Extend

        self.index += 1
        ack = await self.client.command(Extend(delta_s=60 if self.index % 2 else -60))
        return ack.seq


async def _fanout(
    tokens: dict[str, Any], urls: list[str], local: str, local_tokens: dict[str, Any], clients: int, rounds: int
) -> dict[str, Any]:
    per = max(1, clients // len(urls))
    hello = json.dumps({"type": "hello", "client": "bench"})
    shared = [ClientPool(ClientSpec(u, hello, bearer(tokens["display"])), per, 1) for u in urls]
    alone = ClientPool(ClientSpec(local, hello, bearer(local_tokens["display"])), per, 1)
    shared_mod = Extender(urls[0], tokens["moderator"])
    local_mod = Extender(local, local_tokens["moderator"])
    lat_shared: list[float] = []
    lat_local: list[float] = []
    try:
        await asyncio.gather(*(pool.start() for pool in [*shared, alone]))
        await shared_mod.client.connect()
        await local_mod.client.connect()
        for index in range(rounds + 2):
            for side in (0, 1) if index % 2 == 0 else (1, 0):
                sent = time.time()
                if side == 0:
                    await shared_mod()
                    reports = await asyncio.gather(*(pool.round(index) for pool in shared))
                    times = [t for got, _ in reports for t in got]
                else:
                    await local_mod()
                    times, _ = await alone.round(index)
                if index >= 2:
                    (lat_shared if side == 0 else lat_local).extend(t - sent for t in times)
                await asyncio.sleep(ROUND_GAP_S)
    finally:
        await shared_mod.client.close()
        await local_mod.client.close()
        await asyncio.gather(*(pool.close() for pool in [*shared, alone]), return_exceptions=True)
    return {"shared": lat_shared, "local": lat_local, "per": per}


class _Watcher:
    """A display whose receipt time of each seq is kept."""

    def __init__(self, url: str, token: str) -> None:
        from modconsole.client import MeetingClient

        outer = self

        class Watching(MeetingClient):
            def _handle(self, frame: object) -> None:
                from modconsole.protocol import Events

                if isinstance(frame, Events):
                    now = time.perf_counter()
                    for entry in frame.events:
                        outer.seen.setdefault(entry.seq, now)
                        outer.received += 1
                    outer.arrived.set()
                super()._handle(frame)

        self.seen: dict[int, float] = {}  # seq -> when it first came
        self.received = 0  # entries received, repeats included
        self.arrived = asyncio.Event()
        self.client = Watching(url, token, client="bench-watch")

    async def wait(self, seq: int, timeout: float = 10.0) -> float:
        async with asyncio.timeout(timeout):
            while seq not in self.seen:
                self.arrived.clear()
                await self.arrived.wait()
        return self.seen[seq]


async def _cross(tokens: dict[str, Any], urls: list[str], rounds: int) -> dict[str, list[float]]:
    mod = Extender(urls[0], tokens["moderator"])
    same, other = _Watcher(urls[0], tokens["display"]), _Watcher(urls[1], tokens["display"])
    out: dict[str, list[float]] = {"same": [], "other": []}
    try:
        for client in (mod.client, same.client, other.client):
            await client.connect()
        for index in range(rounds + 2):
            sent = time.perf_counter()
            seq = await mod()
            here, there = await asyncio.gather(same.wait(seq), other.wait(seq))
            if index >= 2:
                out["same"].append(here - sent)
                out["other"].append(there - sent)
            await asyncio.sleep(ROUND_GAP_S)
    finally:
        for client in (mod.client, same.client, other.client):
            await client.close()
    return out


async def _acks(
    tokens: dict[str, Any], pg: str, sqlite: str, local: dict[str, Any], rounds: int
) -> dict[str, list[float]]:
    on_pg, on_sqlite = Extender(pg, tokens["moderator"]), Extender(sqlite, local["moderator"])
    out: dict[str, list[float]] = {"pg": [], "sqlite": []}
    try:
        await on_pg.client.connect()
        await on_sqlite.client.connect()
        for index in range(rounds + 4):
            for name, mod in (("pg", on_pg), ("sqlite", on_sqlite)):
                started = time.perf_counter()
                await mod()
                if index >= 4:
                    out[name].append(time.perf_counter() - started)
                await asyncio.sleep(0.03)
    finally:
        await on_pg.client.close()
        await on_sqlite.client.close()
    return out


async def _failover(tokens: dict[str, Any], servers: list[ServerProcess], consoles: int) -> dict[str, Any]:
    from modconsole.tui.link import LiveLink

    victim = servers[1]
    addresses = ",".join([victim.url, *(s.url for s in servers if s is not victim)])
    watchers = [_Watcher(addresses, tokens["display"]) for _ in range(consoles)]
    links = [LiveLink(w.client) for w in watchers]
    mod = Extender(servers[0].url, tokens["moderator"])
    await mod.client.connect()
    started = time.perf_counter()
    tasks = [asyncio.create_task(link.run(lambda: None)) for link in links]
    try:
        async with asyncio.timeout(60):
            while not all(link.status == "connected" for link in links):
                await asyncio.sleep(0.01)
        first_connect = time.perf_counter() - started
        sent = [await mod() for _ in range(5)]
        await asyncio.gather(*(w.wait(sent[-1]) for w in watchers))
        assert victim.process is not None
        victim.process.send_signal(signal.SIGKILL)
        killed = time.perf_counter()
        victim.process.wait()
        moving = asyncio.create_task(_keep_sending(mod, sent))
        async with asyncio.timeout(60):
            while not all(link.status == "connected" and link.client.url != victim.url for link in links):
                await asyncio.sleep(0.005)
        resumed = time.perf_counter() - killed
        await moving
        sent += [await mod() for _ in range(5)]
        await asyncio.gather(*(w.wait(sent[-1]) for w in watchers))
        # A display sees every extend; the log between holds nothing else it may not see.
        lost = sum(len([s for s in sent if s not in w.seen]) for w in watchers)
        repeated = sum(w.received - len(w.seen) for w in watchers)
        over = len(sent)
        return {
            "first_connect_s": first_connect,
            "resumed_s": resumed,
            "lost": lost,
            "repeated": repeated,
            "commands": over,
        }
    finally:
        for link in links:
            await link.close()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await mod.client.close()


async def _keep_sending(mod: Extender, sent: list[int]) -> None:
    """Commands go on, one every 100 ms, while the clients move: what they miss meanwhile must reach them."""
    for _ in range(10):
        sent.append(await mod())
        await asyncio.sleep(0.1)


async def run(
    *, clients: int, processes: int, rounds: int, consoles: int, duration_rounds: int
) -> dict[str, list[dict[str, Any]]]:
    try:
        cluster = PgCluster(fsync=True)
        cluster.start()
    except PgUnavailable as exc:
        print(f"shared: skipped: {exc}", file=sys.stderr)
        return {"shared": []}
    tmp = tempfile.TemporaryDirectory(prefix="modconsole-bench-")
    servers: list[ServerProcess] = []
    try:
        url = cluster.create_database()
        tokens = _create_event_pg(url)["tokens"]
        db = Path(tmp.name) / "alone.db"
        local_tokens = create_event_db(db)["tokens"]
        for _ in range(processes):
            servers.append(ServerProcess(_serve_pg(url)).start())
        local = ServerProcess(modconsole_server_argv(db)).start()
        servers.append(local)
        urls = [s.url for s in servers[:processes]]
        rows: list[dict[str, Any]] = []

        acks = await _acks(tokens, urls[0], local.url, local_tokens, duration_rounds)
        rows.append(
            row(
                "command to ack: PostgreSQL store (baseline: SQLite)",
                spread(acks["pg"], acks["sqlite"], "ms", 1000, (("p50", 50), ("p99", 99))),
                calls=len(acks["pg"]),
            )
        )
        cross = await _cross(tokens, urls, duration_rounds)
        rows.append(
            row(
                "command reaching another process (baseline: the same one)",
                spread(cross["other"], cross["same"], "ms", 1000, (("p50", 50), ("p99", 99))),
                commands=len(cross["other"]),
            )
        )
        fan = await _fanout(tokens, urls, local.url, local_tokens, clients, rounds)
        rows.append(
            row(
                f"fan-out: {fan['per'] * processes:,} displays on {processes} processes "
                f"(baseline: {fan['per']:,} on one)",
                spread(fan["shared"], fan["local"], "ms", 1000, (("p50", 50), ("p99", 99))),
                clients=fan["per"] * processes,
                processes=processes,
                rounds=rounds,
            )
        )
        over = await _failover(tokens, servers[:processes], consoles)
        rows.append(
            row(
                f"failover: SIGKILL to {consoles} consoles resumed elsewhere (baseline: their first connect)",
                {
                    "resumed": figure(over["resumed_s"], over["first_connect_s"], "s"),
                    "lost": figure(over["lost"], 0, "ev"),
                    "repeated": figure(over["repeated"], 0, "ev"),
                },
                target="under 3 s, 0 lost, 0 repeated",
                met=over["resumed_s"] < 3 and over["lost"] == 0 and over["repeated"] == 0,
                commands=over["commands"],
            )
        )
        return {"shared": rows}
    finally:
        for server in servers:
            server.stop()
        cluster.remove()
        tmp.cleanup()
