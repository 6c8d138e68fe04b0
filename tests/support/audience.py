"""Helpers for the large-audience tests: a registrants CSV of N people across C countries, the invitations
read back, and participant connections held by worker processes (tests/server/test_audience_*.py)."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import multiprocessing
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

GENDERS = ("female", "male")


def country_codes(count: int) -> list[str]:
    import pycountry

    return sorted(str(c.alpha_2) for c in pycountry.countries)[:count]


def write_registrants(path: Path, people: int, countries: int) -> list[dict[str, str]]:
    """A CSV of ``people`` across ``countries`` countries (each at least once), half female, one in twenty
    who prefer not to say their gender, and a ``sector`` tag column; its rows as dicts."""
    codes = country_codes(countries)
    rows = []
    for i in range(people):
        gender = "prefer not to say" if i % 20 == 19 else GENDERS[i % 2]
        rows.append(
            {
                "name": f"Person {i:05d}",
                "email": f"person{i}@example.org",
                "affiliation": f"City {i % 37}",
                "country": codes[i % len(codes)],
                "gender": gender,
                "sector": ("health", "planning", "")[i % 3],
            }
        )
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def read_invitations(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _worker_main(conn: Connection, url: str, tokens: list[str], raisers: list[int]) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_worker(conn, url, tokens, raisers))


async def _worker(conn: Connection, url: str, tokens: list[str], raisers: list[int]) -> None:
    """Hold one connection per token; on "raise", the raisers raise a hand at once; then report, per
    connection, the queue it holds (folded from the frames by the real client's fold)."""
    from modconsole.client import MeetingClient
    from modconsole.core.commands import Raise

    gate = asyncio.Semaphore(32)
    clients: list[MeetingClient] = []

    async def open_one(token: str) -> None:
        async with gate:
            client = MeetingClient(url, token, client="acceptance", open_timeout=60)
            for attempt in range(8):
                try:
                    await client.connect()
                    clients.append(client)
                    return
                except Exception:
                    await asyncio.sleep(0.2 * (attempt + 1))

    await asyncio.gather(*(open_one(t) for t in tokens))
    conn.send(("ready", len(clients)))
    loop = asyncio.get_running_loop()
    while True:
        message = await loop.run_in_executor(None, conn.recv)
        if message[0] == "raise":
            acks = await asyncio.gather(
                *(clients[i].command(Raise(kind="question"), timeout=60) for i in raisers), return_exceptions=True
            )
            conn.send(("raised", sum(1 for a in acks if not isinstance(a, BaseException))))
        elif message[0] == "queues":
            expected = message[1]
            deadline = time.monotonic() + 60

            def queue_of(client: MeetingClient) -> list[str]:
                state = client.state
                if state is None:
                    return []
                session = next((s for s in state.sessions if s.status == "running"), None)
                item = session.current_item if session is not None else None
                return [h.person for h in item.queue] if item is not None else []

            while time.monotonic() < deadline and any(queue_of(c) != expected for c in clients):
                await asyncio.sleep(0.1)
            conn.send(
                (
                    "queues",
                    [queue_of(c) for c in clients],
                    [c.welcome.person.id for c in clients if c.welcome and c.welcome.person],
                )
            )
        else:
            break
    await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    conn.send(("closed",))


class Audience:
    """Participant connections spread over worker processes."""

    def __init__(self, url: str, tokens: list[str], raisers: set[int], workers: int = 2) -> None:
        self.url = url
        self.shares = [tokens[i::workers] for i in range(workers)]
        offsets = [[j for j in range(len(share)) if i + j * workers in raisers] for i, share in enumerate(self.shares)]
        self.raisers = offsets
        self.pipes: list[Connection] = []
        self.processes: list[Any] = []

    async def _recv(self, pipe: Connection, timeout: float = 300) -> Any:
        def wait() -> Any:
            if not pipe.poll(timeout):
                raise TimeoutError("an audience worker did not answer")
            return pipe.recv()

        return await asyncio.to_thread(wait)

    async def start(self) -> int:
        context = multiprocessing.get_context("spawn")
        for share, mine in zip(self.shares, self.raisers, strict=True):
            ours, theirs = context.Pipe()
            process = context.Process(target=_worker_main, args=(theirs, self.url, share, mine), daemon=True)
            process.start()
            theirs.close()
            self.pipes.append(ours)
            self.processes.append(process)
        return sum([(await self._recv(p))[1] for p in self.pipes])

    async def raise_hands(self) -> int:
        for pipe in self.pipes:
            pipe.send(("raise",))
        return sum([(await self._recv(p))[1] for p in self.pipes])

    async def queues(self, expected: list[str]) -> tuple[list[list[str]], list[str]]:
        for pipe in self.pipes:
            pipe.send(("queues", expected))
        replies = [await self._recv(p) for p in self.pipes]
        return [q for r in replies for q in r[1]], [p for r in replies for p in r[2]]

    async def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(("close",))
        for pipe in self.pipes:
            with contextlib.suppress(Exception):
                await self._recv(pipe, 60)
        for process in self.processes:
            process.join(10)
            if process.is_alive():
                process.terminate()


def hello_json(token: str, **fields: Any) -> str:
    return json.dumps({"type": "hello", "token": token, **fields})
