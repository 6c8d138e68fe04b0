"""Votes (9): 1,000 votes within 5 s on written questions, and the time until every watching client shows the
final order.

The load runs in its own process: W watchers (display connections, the real ``MeetingClient``, which folds
the events and the coalesced ``question_votes`` frames) and V voters (participants, each voting for some of
the Q questions, 1,000 votes in all, sent evenly over 5 s). The server is ``MeetingServer`` on a SQLite file
in this process. Figures: the time from the first vote until every watcher's replica has the final counts
(so the final order), the time after the last ack, the slowest ack, and the frames each watcher received.

The baseline is ``NaiveServer`` below, in the same run with the same load: a plain websockets server doing
what the naive design does, one ``synchronous=FULL`` insert and a re-sort of the questions broadcast to
every watcher per vote, then the ack.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import sqlite3
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve

from .common import HOST, figure, row

WINDOW_S = 5.0


# --- the plan: who votes for what ---------------------------------------------------------------


def plan(votes: int, questions: int, voters: int) -> list[tuple[int, int]]:
    """(voter, question) pairs, each once, spread over the questions unevenly (a few popular ones)."""
    pairs: list[tuple[int, int]] = []
    per = -(-votes // voters)
    for voter in range(voters):
        for k in range(per):
            if len(pairs) == votes:
                return pairs
            pairs.append((voter, (voter * 7 + k * k) % questions))
    return pairs


def final_counts(pairs: list[tuple[int, int]], questions: int) -> list[int]:
    counts = [0] * questions
    for _voter, question in pairs:
        counts[question] += 1
    return counts


# --- the load, in its own process ----------------------------------------------------------------


def _load_main(conn: Connection, job: dict[str, Any]) -> None:
    conn.send(asyncio.run(_load(job)))


async def _load(job: dict[str, Any]) -> dict[str, Any]:
    pairs = [tuple(p) for p in job["pairs"]]
    final = job["final"]
    if job["kind"] == "modconsole":
        return await _load_modconsole(job, pairs, final)
    return await _load_naive(job, pairs, final)


async def _spaced(count: int, send: Any) -> tuple[float, float, list[float]]:
    """Call ``send(i)`` for i in range(count), evenly over the window; (first sent, last acked, ack latencies)."""
    latencies: list[float] = []
    start = time.perf_counter()

    async def one(i: int) -> None:
        await asyncio.sleep(max(0.0, start + i * WINDOW_S / count - time.perf_counter()))
        sent = time.perf_counter()
        await send(i)
        latencies.append(time.perf_counter() - sent)

    await asyncio.gather(*(one(i) for i in range(count)))
    return start, time.perf_counter(), latencies


async def _load_modconsole(job: dict[str, Any], pairs: list[Any], final: list[int]) -> dict[str, Any]:
    from modconsole.client import MeetingClient
    from modconsole.core import commands as c
    from modconsole.protocol import Events, QuestionVotes

    class Counting(MeetingClient):
        """Counts the frames that can move its question order: coalesced counts, and events."""

        moved = 0

        def _handle(self, frame: object) -> None:
            if isinstance(frame, QuestionVotes | Events):
                self.moved += 1
            super()._handle(frame)

    gate = asyncio.Semaphore(64)

    async def opened(token: str, name: str | None) -> Counting:
        async with gate:
            client = Counting(job["url"], token, name=name, client="bench")
            await client.connect()
            return client

    watchers = await asyncio.gather(*(opened(job["display"], None) for _ in range(job["watchers"])))
    voters = await asyncio.gather(
        *(opened(job["participant"], f"Voter {i}") for i in range(max(v for v, _q in pairs) + 1))
    )
    ids = job["ids"]
    done_at: list[float] = []

    def final_seen(state: Any) -> bool:
        return all(state.questions[q].votes == n for q, n in zip(ids, final, strict=True) if q in state.questions)

    async def watch(client: MeetingClient) -> None:
        await client.wait_for(final_seen, timeout=120)
        done_at.append(time.perf_counter())

    watching = [asyncio.ensure_future(watch(w)) for w in watchers]
    frames_before = [w.moved for w in watchers]

    async def vote(i: int) -> None:
        voter, question = pairs[i]
        await voters[voter].command(c.Vote(question=ids[question]))

    start, last_ack, latencies = await _spaced(len(pairs), vote)
    await asyncio.gather(*watching)
    for client in [*watchers, *voters]:
        await client.close()
    return {
        "all_final_s": max(done_at) - start,
        "after_last_ack_s": max(0.0, max(done_at) - last_ack),
        "ack_max_s": max(latencies),
        "frames": [sum(w.moved for w in watchers) / len(watchers) - sum(frames_before) / len(watchers)],
    }


async def _load_naive(job: dict[str, Any], pairs: list[Any], final: list[int]) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    want = sorted(range(len(final)), key=lambda q: (-final[q], q))
    done_at: list[float] = []
    frames = [0]

    async def watch() -> None:
        async with connect(job["url"], max_size=None) as ws:
            await ws.send('{"type":"hello","role":"watcher"}')
            ready.release()
            async for raw in ws:
                frames[0] += 1
                frame = json.loads(raw)
                if frame["votes"] == final and frame["order"] == want:  # the final counts, so the final order
                    done_at.append(time.perf_counter())
                    return

    ready = asyncio.Semaphore(0)
    watching = [asyncio.ensure_future(watch()) for _ in range(job["watchers"])]
    for _ in watching:
        await ready.acquire()
    voters = []
    for _ in range(max(v for v, _q in pairs) + 1):
        ws = await connect(job["url"], max_size=None)
        await ws.send('{"type":"hello","role":"voter"}')
        voters.append((ws, asyncio.Lock()))

    async def vote(i: int) -> None:
        voter, question = pairs[i]
        ws, lock = voters[voter]
        async with lock:
            await ws.send(json.dumps({"type": "vote", "voter": voter, "question": question}))
            await ws.recv()

    start, last_ack, latencies = await _spaced(len(pairs), vote)
    await asyncio.gather(*watching)
    for ws, _lock in voters:
        await ws.close()
    return {
        "all_final_s": max(done_at) - start,
        "after_last_ack_s": max(0.0, max(done_at) - last_ack),
        "ack_max_s": max(latencies),
        "frames": [frames[0] / max(1, job["watchers"])],
    }


# --- the baseline: the naive server --------------------------------------------------------------


class NaiveServer:
    """One synchronous=FULL insert, one re-sort and one broadcast of the whole order to every watcher per vote."""

    def __init__(self, db: Path, questions: int) -> None:
        self.db = sqlite3.connect(db)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE votes (voter INTEGER, question INTEGER, UNIQUE (voter, question))")
        self.counts = [0] * questions
        self.watchers: set[ServerConnection] = set()

    async def handler(self, ws: ServerConnection) -> None:
        hello = json.loads(await ws.recv())
        if hello["role"] == "watcher":
            self.watchers.add(ws)
            try:
                await ws.wait_closed()
            finally:
                self.watchers.discard(ws)
            return
        async for raw in ws:
            vote = json.loads(raw)
            with self.db:
                self.db.execute("INSERT INTO votes VALUES (?, ?)", (vote["voter"], vote["question"]))
            self.counts[vote["question"]] += 1
            order = sorted(range(len(self.counts)), key=lambda q: (-self.counts[q], q))
            broadcast(self.watchers, json.dumps({"type": "order", "order": order, "votes": self.counts}))
            await ws.send('{"type":"ack"}')


# --- the run --------------------------------------------------------------------------------------


async def _in_worker(job: dict[str, Any]) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_load_main, args=(child, job), daemon=True)
    process.start()
    try:
        while not parent.poll():
            await asyncio.sleep(0.05)
        result: dict[str, Any] = parent.recv()
        return result
    finally:
        process.join(10)


async def run(votes: int = 1000, questions: int = 150, voters: int = 200, watchers: int = 300) -> dict[str, Any]:
    from modconsole.agenda_files import load_agenda
    from modconsole.core import commands as c
    from modconsole.server.events_admin import create_event
    from modconsole.server.service import MeetingServer
    from modconsole.server.store import SqliteStore

    from .common import MAYORS_CALL

    pairs = plan(votes, questions, voters)
    final = final_counts(pairs, questions)
    with tempfile.TemporaryDirectory(prefix="modconsole-bench-votes-") as tmp:
        store = SqliteStore(Path(tmp) / "votes.db")
        tokens = create_event(store, load_agenda(MAYORS_CALL))
        server = MeetingServer(store, registrations_per_minute=1_000_000, max_participants=100_000)
        port = await server.start(HOST, 0)
        url = f"ws://{HOST}:{port}"
        from modconsole.client import MeetingClient

        askers = [MeetingClient(url, token, client="bench") for token in tokens.people.values()]
        for asker in askers:
            await asker.connect()

        async def ask(index: int, asker: MeetingClient) -> None:
            for i in range(index, questions, len(askers)):
                await asker.command(c.Ask(text=f"Question {i}: what about it?"))
                await asyncio.sleep(0.06)  # within a client's frame rate

        await asyncio.gather(*(ask(index, asker) for index, asker in enumerate(askers)))
        ids = sorted(server.events[tokens.event_id].state.questions, key=lambda q: int(q[1:]))
        for asker in askers:
            await asker.close()
        job = {"pairs": pairs, "final": final, "watchers": watchers, "ids": ids}
        ours = await _in_worker(
            job | {"kind": "modconsole", "url": url, "display": tokens.display, "participant": tokens.participant}
        )
        await server.stop()
        store.close()

        naive = NaiveServer(Path(tmp) / "naive.db", questions)
        async with serve(naive.handler, HOST, 0, compression=None, max_size=None) as plain:
            plain_url = f"ws://{HOST}:{next(iter(plain.sockets)).getsockname()[1]}"
            theirs = await _in_worker(job | {"kind": "naive", "url": plain_url})
    case = f"{votes} votes in {WINDOW_S:g} s, {questions} questions, {watchers} watchers"
    figures = {
        "all final": figure(ours["all_final_s"], theirs["all_final_s"], "s"),
        "after last": figure(ours["after_last_ack_s"], theirs["after_last_ack_s"], "s"),
        "ack max": figure(ours["ack_max_s"], theirs["ack_max_s"], "s"),
        "frames/watch": figure(float(ours["frames"][0]), float(theirs["frames"][0]), "n"),
    }
    met = ours["all_final_s"] <= WINDOW_S + 1.5 and ours["frames"][0] <= WINDOW_S + 2
    target = "every watcher final within 1.5 s of the window, ≤ 1 order frame a second"
    return {"votes": [row(case, figures, target=target, met=met)]}
