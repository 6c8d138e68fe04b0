"""Connections that never say hello cannot starve the server: a moderator still connects at once.

A real `modconsole-server serve` runs under a lowered file-descriptor limit (soft = hard, so that serve's
raise of its soft limit to the hard one does not lift it); a separate process (tests/support/flood_load.py) holds
more idle connections than that limit allows, raw TCP and websocket-handshaken ones that never send
hello, from other loopback addresses, and opens each again as soon as the server closes it. Meanwhile the
test connects a moderator with the real MeetingClient again and again: each must be welcomed within 2 s;
the server's standard error must stay small (no traceback per accept) and name the refusals.

    python -m pytest tests/server/test_reliability_flood.py -s                 # 600 connections, 512 fds, 5 s
    python -m pytest -m slow tests/server/test_reliability_flood.py -s         # 2,000 connections, 1,024 fds, 30 s

The gate itself (modconsole/server/gate.py) is checked in this process too: the per-address and total caps, the
place a newcomer from a quieter address takes, and the accept failures counted rather than logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from support.processes import stop_server
from support.servers import MAYORS_CALL, run_cli, script

from modconsole.client import ClientError, MeetingClient
from modconsole.core.agenda import Agenda
from modconsole.server.events_admin import create_event
from modconsole.server.gate import ACCEPT_OUT_OF_RESOURCE, Gate, Reporter
from modconsole.server.service import MeetingServer
from modconsole.server.store import SqliteStore

FLOOD = Path(__file__).resolve().parents[1] / "support" / "flood_load.py"
CONNECT_WITHIN_S = 2.0


def _limit_fds(limit: int):  # type: ignore[no-untyped-def]
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    return apply


@dataclass
class FloodRun:
    connects_s: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    flood: dict[str, Any] = field(default_factory=dict)
    startup: list[str] = field(default_factory=list)
    stderr: str = ""


async def _flood(tmp_path: Path, *, fds: int, connections: int, addresses: int, seconds: float) -> FloodRun:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < connections + 200:
        pytest.skip(f"the flood needs {connections + 200} file descriptors; the hard limit here is {hard}")
    db = tmp_path / "flood.db"
    created = run_cli("modconsole-server", "create-event", MAYORS_CALL, "--db", db, "--json")
    assert created.returncode == 0, created.stderr
    moderator_token = json.loads(created.stdout)["tokens"]["moderator"]
    err_path = tmp_path / "serve.err"
    run = FloodRun()
    with err_path.open("w") as err:  # a file: a flood of tracebacks in a pipe nobody reads would block it
        server = subprocess.Popen(
            [script("modconsole-server"), "serve", "--db", str(db), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            preexec_fn=_limit_fds(fds),
        )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        match = re.fullmatch(r"listening on ws://127\.0\.0\.1:(\d+)\s*", line)
        assert match, f"the server did not start: {line!r}"
        port = int(match.group(1))
        url = f"ws://127.0.0.1:{port}"
        flood = await asyncio.create_subprocess_exec(
            sys.executable,
            str(FLOOD),
            str(port),
            "--connections",
            str(connections),
            "--addresses",
            str(addresses),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        lines: list[dict[str, Any]] = []

        async def read_flood() -> None:
            assert flood.stdout is not None
            async for raw in flood.stdout:
                lines.append(json.loads(raw))

        reader = asyncio.create_task(read_flood())
        try:
            # The flood presses first: the server holds all it may and refuses the rest.
            started = time.monotonic()
            while time.monotonic() - started < 10 and not (lines and lines[-1].get("connects", 0) >= connections):
                await asyncio.sleep(0.2)
            until = time.monotonic() + seconds
            while time.monotonic() < until:
                client = MeetingClient(url, moderator_token, client="moderator under the flood")
                began = time.monotonic()
                try:
                    await asyncio.wait_for(client.connect(), 10)
                    run.connects_s.append(time.monotonic() - began)
                except (ClientError, TimeoutError) as exc:
                    run.failures.append(f"{time.monotonic() - began:.1f} s: {exc!r}")
                finally:
                    with contextlib.suppress(Exception):
                        await client.close()
                await asyncio.sleep(0.25)
        finally:
            assert flood.stdin is not None
            flood.stdin.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(flood.wait(), 30)
            if flood.returncode is None:
                flood.kill()
                await flood.wait()
            await asyncio.wait_for(reader, 5)
        run.flood = lines[-1] if lines else {}
        server.terminate()
        server.wait(timeout=30)
        # The lines after "listening on", read through the same buffer as that first line: communicate() would
        # read the pipe beneath it and miss whatever the first readline() had already buffered.
        run.startup = server.stdout.read().splitlines()
    finally:
        stop_server(server)
    run.stderr = err_path.read_text(errors="replace")
    return run


def _report(run: FloodRun, connections: int, fds: int) -> dict[str, Any]:
    times = sorted(run.connects_s)
    figures = {
        "server file-descriptor limit": fds,
        "flood connections kept open (from the flood's side), most at once": run.flood.get("most_open"),
        "flood websockets past their handshake, most at once": run.flood.get("most_upgraded"),
        "flood connects": run.flood.get("connects"),
        "moderator connects": len(times),
        "moderator connect p50 ms": round(statistics.median(times) * 1000, 1) if times else None,
        "moderator connect max ms": round(times[-1] * 1000, 1) if times else None,
        "moderator connects failed": len(run.failures),
        "server stderr bytes": len(run.stderr.encode()),
        "refusals logged": [line for line in run.stderr.splitlines() if "refused" in line],
    }
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    return figures


def _check(run: FloodRun, connections: int, fds: int) -> None:
    figures = _report(run, connections, fds)
    # The flood really pressed: it kept the server busy with more connections than the limit holds.
    assert (run.flood.get("connects") or 0) > connections, run.flood
    assert (run.flood.get("most_open") or 0) >= fds // 4, run.flood
    assert not run.failures, run.failures[:5]
    assert len(run.connects_s) >= 5
    assert max(run.connects_s) < CONNECT_WITHIN_S, sorted(run.connects_s)[-5:]
    # No traceback per accept; the refusals are named, with their counts.
    assert "Traceback" not in run.stderr and "out of system resource" not in run.stderr, run.stderr[:2000]
    assert figures["server stderr bytes"] < 20_000, run.stderr[:2000]
    assert re.search(r"refused [\d,]+ connections in the last \d+ s: [\d,]+ too many", run.stderr), run.stderr
    assert any(line.startswith(f"  file descriptors: {fds:,} ") for line in run.startup), run.startup


async def test_a_moderator_connects_through_a_flood_of_idle_connections(tmp_path: Path) -> None:
    """600 idle connections from 3 addresses against 512 file descriptors, for 5 s."""
    run = await _flood(tmp_path, fds=512, connections=600, addresses=3, seconds=5)
    _check(run, 600, 512)


@pytest.mark.slow
async def test_a_moderator_connects_through_a_long_flood(tmp_path: Path) -> None:
    """2,000 idle connections from 8 addresses (250 each, past the per-address cap) against 1,024 file
    descriptors, for 30 s."""
    run = await _flood(tmp_path, fds=1024, connections=2000, addresses=8, seconds=30)
    _check(run, 2000, 1024)
    assert "too many waiting for hello from one address" in run.stderr
    assert "accepts failed" not in run.stderr  # the reserve kept accept itself from running out


# --- the gate, in this process ----------------------------------------------------------------------


@pytest.fixture
async def gated(tmp_path: Path, mayors_agenda: Agenda) -> AsyncIterator[tuple[MeetingServer, int, str]]:
    store = SqliteStore(tmp_path / "gate.db")
    created = create_event(store, mayors_agenda)
    server = MeetingServer(store)
    server.gate = Gate(max_waiting=12, max_per_address=4)
    port = await server.start("127.0.0.1", 0)
    yield server, port, created.moderator
    await server.stop()
    store.close()


async def _idle(port: int, source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


async def _closed(reader: asyncio.StreamReader, within: float) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1), within) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


async def test_the_gate_caps_waiting_connections_per_address_and_in_total(
    gated: tuple[MeetingServer, int, str], caplog: pytest.LogCaptureFixture
) -> None:
    server, port, moderator = gated
    held = [await _idle(port, "127.0.0.2") for _ in range(4)]
    await asyncio.sleep(0.1)
    assert server.gate.waiting_count == 4
    fifth, _ = await _idle(port, "127.0.0.2")  # one more from the same address: refused at once
    assert await _closed(fifth, 1.0)
    assert not any([await _closed(r, 0.05) for r, _ in held])
    held += [await _idle(port, f"127.0.0.{a}") for a in (3, 4) for _ in range(4)]
    await asyncio.sleep(0.1)
    assert server.gate.waiting_count == 12  # full: 3 addresses × 4
    # A newcomer from a quiet address takes the place of the busiest address's oldest: the first one held.
    newcomer = await _idle(port, "127.0.0.5")
    assert await _closed(held[0][0], 1.0)
    assert not await _closed(newcomer[0], 0.1)
    assert server.gate.waiting_count == 12
    # Two more from there still leave it with fewer than the busiest (4): they take places too, one from
    # each of the two other addresses. Then every address has 3: the next is refused, no one is closed.
    held += [newcomer, await _idle(port, "127.0.0.5"), await _idle(port, "127.0.0.5")]
    refused = await _idle(port, "127.0.0.5")
    assert await _closed(refused[0], 1.0)
    await asyncio.sleep(0.1)
    closed = [await _closed(r, 0.05) for r, _ in held]
    evicted = [i for i, gone in enumerate(closed) if gone]
    assert evicted == [0, 4, 8], closed  # the oldest from .2, then from .3 and from .4
    assert server.gate.waiting_count == 12
    # The moderator, from yet another address, gets in while it is full; once welcomed, it does not count.
    client = MeetingClient(f"ws://127.0.0.1:{port}", moderator, client="moderator")
    await asyncio.wait_for(client.connect(), CONNECT_WITHIN_S)
    assert server.gate.waiting_count == 11 and server.gate.open == 12  # it took the place of a fourth
    await client.close()
    for _, writer in held:
        writer.close()
    await asyncio.sleep(0.3)
    assert server.gate.open == 0 and server.gate.waiting_count == 0 and not server.gate.waiting
    assert server.gate.sockets == 0
    with caplog.at_level(logging.WARNING, logger="modconsole.server"):
        server.gate.reporter.flush()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1, lines
    assert re.fullmatch(
        r"refused 2 connections in the last \d+ s: 1 too many waiting for hello from one address, "
        r"1 too many waiting for hello; closed 4 waiting for hello to make room for other addresses",
        lines[0],
    ), lines


async def test_accept_failures_are_counted_not_logged_one_by_one(caplog: pytest.LogCaptureFixture) -> None:
    loop = asyncio.get_running_loop()
    reporter = Reporter(every_s=0.2)
    seen: list[dict[str, Any]] = []
    handler = reporter.exception_handler(lambda _loop, context: seen.append(context))
    before = loop.get_exception_handler()
    loop.set_exception_handler(handler)
    try:
        with caplog.at_level(logging.WARNING, logger="modconsole.server"):
            for _ in range(1_000):
                loop.call_exception_handler(
                    {
                        "message": ACCEPT_OUT_OF_RESOURCE,
                        "exception": OSError(errno.EMFILE, "Too many open files"),
                    }
                )
            loop.call_exception_handler({"message": "something else"})
            assert not caplog.records  # nothing yet: one line at the interval's end
            await asyncio.sleep(0.4)
    finally:
        loop.set_exception_handler(before)
    assert [context["message"] for context in seen] == ["something else"]  # passed on, as it was
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1, lines
    assert re.fullmatch(r"1,000 accepts failed in the last 0 s: 1,000 Too many open files \(EMFILE\)", lines[0]), lines
