"""Soak: many clients coming and going for minutes; the server's memory stays level, no task leaks,
nothing is logged as an error, and every client that stays gets every event.

The server runs in this process (so its asyncio tasks can be counted and its memory read from
/proc/self/status); the load comes from separate processes (this file run as a script), each
holding a share of the clients: displays, speakers and participants that connect, ping, now and then
raise or lower a hand, and leave, cleanly or by dropping the TCP connection, then come back (resuming
from their last sequence, or afresh). A moderator here gives a command every second, which every
connected client receives. A load process watches its own event loop: a connect that fails while
that loop was stalled (a machine shared with other work) is reported apart, any other fails the test.

- default suite: 50 clients for 5 s (``test_soak_smoke``);
- ``python -m pytest -m slow tests/server/test_reliability_soak.py -s``: 1,000 clients from 4 processes for
  5 minutes; MODCONSOLE_SOAK_SECONDS and MODCONSOLE_SOAK_CLIENTS change the duration and the count.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

RSS_TOLERANCE = 0.10
STALL_S = 5.0  # a load process whose own loop ran this late could not say hello in time


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


# --- the load, in its own process -------------------------------------------------------------------


async def _load(url: str, tokens: dict[str, Any], first: int, count: int, seconds: float, seed: int) -> dict:
    from modconsole.client import ClientError, CommandRefused, MeetingClient
    from modconsole.core import commands as c

    rng = random.Random(seed)
    deadline = time.monotonic() + seconds
    stats: Counter[str] = Counter()
    unexpected: list[str] = []
    failures: list[str] = []  # connects that failed while this process's own loop ran on time
    stalled: list[str] = []  # connects that failed while this process's own loop was stalled (see below)
    lags: list[tuple[float, float]] = []  # (when, how late) samples of this process's own loop
    people = sorted(tokens["people"])
    short = seconds < 30
    stay = (0.3, 2.5) if short else (3.0, 40.0)

    credentials: dict[int, str] = {}

    def make(slot: int) -> MeetingClient:
        label = f"soak-{slot}"
        if slot % 10 == 0:
            return MeetingClient(url, tokens["display"], client=label, open_timeout=30)
        if slot % 10 == 1:
            return MeetingClient(url, tokens["people"][people[slot % len(people)]], client=label, open_timeout=30)
        # A participant's console keeps the credential its first join was given, and joins with it again.
        kept = credentials.get(slot)
        return MeetingClient(
            url,
            kept or tokens["participant"],
            name=None if kept else f"Soak participant {slot}",
            client=label,
            open_timeout=30,
            keep_credential=lambda _welcome, credential: credentials.__setitem__(slot, credential),
        )

    async def session(client: MeetingClient, until: float) -> None:
        while time.monotonic() < until and client.connected:
            await asyncio.sleep(rng.uniform(0.2, 1.5) if short else rng.uniform(1.0, 6.0))
            if not client.connected:
                return
            try:
                if client.welcome is not None and client.welcome.person is not None and rng.random() < 0.08:
                    me = client.welcome.person.id
                    item = client.state.sessions[0].current_item if client.state else None
                    queued = item is not None and any(h.person == me for h in item.queue)
                    await client.command(c.Lower() if queued else c.Raise(), timeout=30)
                    stats["commands"] += 1
                else:
                    await client.ping(timeout=30)
                    stats["pings"] += 1
            except CommandRefused as exc:
                stats[f"refused {exc.code}"] += 1
            except (ClientError, TimeoutError):
                stats["cut while waiting"] += 1

    async def slot(number: int) -> None:
        client = make(number)
        await asyncio.sleep(rng.uniform(0, min(3.0, seconds / 5)))  # not all at once
        while time.monotonic() < deadline:
            try:
                welcome = await client.connect()
                stats["connects"] += 1
                stats["resumes" if welcome.snapshot is None else "snapshots"] += 1
            except ClientError as exc:
                stats[f"connect failed {exc.code}"] += 1
                now = time.monotonic()
                # Stalled for STALL_S or more in the last 15 s, the load itself may have kept the hello
                # past the server's hello timeout (5 s): the machine was busy, not the server wrong.
                late = max((lag for when, lag in lags if when >= now - 15), default=0.0)
                at = now - deadline + seconds
                line = f"{at:.1f}s slot {number}: {exc.code}: {exc.message} (loop late {late:.1f}s)"
                (stalled if late >= STALL_S else failures).append(line)
                await asyncio.sleep(1.0)
                continue
            await session(client, min(deadline, time.monotonic() + rng.uniform(*stay)))
            if client.connected and rng.random() < 0.3 and client._ws is not None:
                client._ws.transport.abort()  # gone without a word
                stats["aborted"] += 1
            else:
                await client.close()
                stats["closed"] += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(client.closed.wait(), 10)
            if rng.random() < 0.5:
                client = make(number)  # a new client: a fresh snapshot; else it resumes
            await asyncio.sleep(rng.uniform(0.05, 0.5))
        await client.close()

    async def guarded(number: int) -> None:
        try:
            await slot(number)
        except Exception as exc:  # anything but the refusals above is a finding
            unexpected.append(f"slot {number}: {exc!r}")

    async def watch_lag() -> None:
        while time.monotonic() < deadline:
            before = time.monotonic()
            await asyncio.sleep(0.5)
            lags.append((time.monotonic(), time.monotonic() - before - 0.5))

    watcher = asyncio.create_task(watch_lag())
    await asyncio.gather(*(guarded(n) for n in range(first, first + count)))
    await watcher
    return {
        "stats": dict(stats),
        "unexpected": unexpected[:20],
        "unexpected_count": len(unexpected),
        "failures": failures[:20],
        "stalled": stalled[:20],
        "stalled_count": len(stalled),
        "loop lag max s": round(max((lag for _, lag in lags), default=0.0), 3),
    }


def _load_main(argv: list[str]) -> None:
    url, tokens_json, first, count, seconds, seed = argv
    result = asyncio.run(_load(url, json.loads(tokens_json), int(first), int(count), float(seconds), int(seed)))
    print(json.dumps(result), flush=True)


# --- the soak ------------------------------------------------------------------------------------------


async def _soak(start_server, caplog, clients: int, processes: int, seconds: float) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    from modconsole.client import MeetingClient
    from modconsole.core import commands as c

    caplog.set_level(logging.WARNING)
    # Every client is on this machine, like an audience behind one NAT address: let them all register.
    srv = await start_server(registrations_per_minute=100_000)
    runtime = srv.server.events[srv.event_id]
    moderator = MeetingClient(srv.url, srv.tokens.moderator, client="soak-moderator")
    await moderator.connect()
    await moderator.command(c.Start())
    await moderator.ping()
    baseline_tasks = len(asyncio.all_tasks())
    tokens = {
        "display": srv.tokens.display,
        "participant": srv.tokens.participant,
        "people": srv.tokens.people,
    }
    per = clients // processes
    loads = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "load",
            srv.url,
            json.dumps(tokens),
            str(n * per),
            str(per if n < processes - 1 else clients - per * (processes - 1)),
            str(seconds),
            str(n + 1),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for n in range(processes)
    ]
    started = time.monotonic()
    warm_up = max(min(60.0, seconds * 0.2), 1.5)
    samples: list[tuple[float, int, int, int]] = []  # (t, rss KiB, tasks, connected)
    rtts: list[float] = []
    commands = 0
    try:
        while time.monotonic() - started < seconds:
            # The moderator acts once a second; everyone connected gets it.
            delta = 10 if commands % 2 == 0 else -10
            await moderator.command(c.AddTime(delta_s=delta), timeout=30)
            commands += 1
            rtts.append(await moderator.ping(timeout=30))
            samples.append((time.monotonic() - started, rss_kib(), len(asyncio.all_tasks()), len(runtime.clients)))
            await asyncio.sleep(1.0)  # the pace of the moderator's commands
        outputs = [await asyncio.wait_for(load.communicate(), 120) for load in loads]
    finally:
        for load in loads:
            if load.returncode is None:
                load.kill()
                await load.wait()
    results = []
    for load, (out, err) in zip(loads, outputs, strict=True):
        assert load.returncode == 0, err.decode()[-2000:]
        results.append(json.loads(out.decode().strip().splitlines()[-1]))

    # Everyone has gone: the server lets go of them all, and of their tasks.
    for _ in range(200):  # bounded: 10 s
        if len(runtime.clients) == 1:
            break
        await asyncio.sleep(0.05)
    await moderator.ping()
    await asyncio.sleep(0.6)  # the presence frame's coalescing window (0.5 s) runs out
    after_tasks = len(asyncio.all_tasks())
    stats: Counter[str] = Counter()
    for result in results:
        stats.update(result["stats"])
    unexpected = [line for result in results for line in result["unexpected"]]
    failures = [line for result in results for line in result["failures"]]
    stalled = [line for result in results for line in result["stalled"]]
    warm = [s for s in samples if s[0] >= warm_up]
    baseline_rss = warm[0][1] if warm else samples[-1][1]
    peak_rss = max(s[1] for s in warm) if warm else samples[-1][1]
    figures = {
        "clients": clients,
        "processes": processes,
        "seconds": seconds,
        "connects": stats["connects"],
        "connects per second": round(stats["connects"] / seconds, 1),
        "disconnects": stats["closed"] + stats["aborted"],
        "aborted": stats["aborted"],
        "resumes": stats["resumes"],
        "client commands": stats["commands"],
        "pings": stats["pings"],
        "moderator commands": commands,
        "most connected at once": max(s[3] for s in samples),
        "rss after warm-up MiB": round(baseline_rss / 1024, 1),
        "rss peak after warm-up MiB": round(peak_rss / 1024, 1),
        "rss growth %": round(100 * (peak_rss - baseline_rss) / baseline_rss, 1),
        "tasks before / after": (baseline_tasks, after_tasks),
        "most tasks": max(s[2] for s in samples),
        "moderator round trip median ms": round(statistics.median(rtts) * 1000, 1),
        "moderator round trip max ms": round(max(rtts) * 1000, 1),
        "log entries": srv.state.seq,
        "other outcomes": {k: v for k, v in stats.items() if k.startswith(("refused", "connect failed", "cut"))},
        "load processes' loop lag max s": [result["loop lag max s"] for result in results],
        "connects failed while the load itself was stalled": sum(result["stalled_count"] for result in results),
    }
    print("\nsoak: " + json.dumps(figures, indent=1))
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert errors == [], [f"{r.name}: {r.getMessage()}" for r in errors[:10]]
    assert unexpected == [], unexpected
    assert failures == [], failures
    if stalled:
        print("connects that failed while the load process was stalled (a busy machine):", stalled[:5])
    assert after_tasks == baseline_tasks, (baseline_tasks, after_tasks)
    assert len(runtime.clients) == 1  # the moderator, nobody else
    assert peak_rss <= baseline_rss * (1 + RSS_TOLERANCE), figures
    # The moderator, connected throughout, got every event; the log is the state.
    await moderator.wait_for(lambda s: s.seq == srv.state.seq)
    await srv.settled(moderator)
    assert asdict(srv.replayed()) == asdict(srv.state)
    await moderator.close()
    return figures


async def test_soak_smoke(start_server, caplog) -> None:
    figures = await _soak(start_server, caplog, clients=50, processes=2, seconds=5.0)
    assert figures["connects"] >= 50 and figures["disconnects"] >= 25


@pytest.mark.slow
@pytest.mark.timeout(3600)
async def test_soak_a_thousand_clients_with_churn(start_server, caplog) -> None:
    seconds = float(os.environ.get("MODCONSOLE_SOAK_SECONDS", "300"))
    clients = int(os.environ.get("MODCONSOLE_SOAK_CLIENTS", "1000"))
    figures = await _soak(start_server, caplog, clients=clients, processes=4, seconds=seconds)
    assert figures["connects per second"] >= 3  # several connects (and disconnects) a second
    assert figures["most connected at once"] >= clients // 2


if __name__ == "__main__" and sys.argv[1:2] == ["load"]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    _load_main(sys.argv[2:])
