"""What the benchmarks share: figures beside their baselines, the machine's description,
server processes, and worker processes that hold many websocket connections.

Every figure is a dict ``{"value", "baseline", "ratio", "unit"}``: the baseline is measured in the
same run, and the ratio is value / baseline (lower is better for every figure here).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import platform
import re
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MAYORS_CALL = ROOT / "examples" / "mayors-call.toml"
HOST = "127.0.0.1"


# --- figures ------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between the closest ranks."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def figure(value: float, baseline: float, unit: str) -> dict[str, Any]:
    """A figure beside its baseline; the ratio is None only when the baseline is zero."""
    ratio = round(value / baseline, 3) if baseline else None
    return {"value": round(value, 4), "baseline": round(baseline, 4), "ratio": ratio, "unit": unit}


def within(fig: dict[str, Any], limit: float) -> bool:
    return fig["ratio"] is not None and fig["ratio"] <= limit


def loadavg() -> list[float]:
    """The machine's load averages (1, 5, 15 min): other work on it shows in every figure."""
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def spread(
    values: Sequence[float],
    baseline: Sequence[float],
    unit: str,
    scale: float = 1.0,
    qs: Sequence[tuple[str, float]] = (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100)),
) -> dict[str, dict[str, Any]]:
    """Percentile figures of ``values`` beside the same percentiles of ``baseline``."""
    return {name: figure(percentile(values, q) * scale, percentile(baseline, q) * scale, unit) for name, q in qs}


def row(
    case: str, figures: dict[str, dict[str, Any]], *, target: str = "", met: bool | None = None, **details: Any
) -> dict[str, Any]:
    return {"case": case, "figures": figures, "target": target, "met": met, "details": details}


# --- the machine --------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    versions = {}
    for name in ("websockets", "textual", "pydantic", "pydantic_core"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions[name] = version(name.replace("_", "-"))
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu or platform.processor(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": versions,
    }


def raise_nofile(wanted: int) -> int:
    """Raise this process's open-files limit towards ``wanted`` (up to the hard limit); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def rss_kib(pid: int) -> int:
    """Resident set size of a process, from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


# --- server processes ---------------------------------------------------------------------------


def create_event_db(db: Path, agenda: Path = MAYORS_CALL) -> dict[str, Any]:
    """A database holding one event (the mayors' call by default); returns its tokens as JSON."""
    from modconsole.agenda_files import load_agenda
    from modconsole.server.events_admin import create_event
    from modconsole.server.store import SqliteStore

    store = SqliteStore(db)
    try:
        return create_event(store, load_agenda(agenda)).as_json()
    finally:
        store.close()


def modconsole_server_argv(db: Path, *extra: str) -> list[str]:
    """``modconsole-server serve``, the real command line, on port 0."""
    return [sys.executable, "-m", "modconsole.server", "serve", "--db", str(db), "--host", HOST, "--port", "0", *extra]


@dataclass
class ServerProcess:
    """A server in its own process that prints ``listening on ws://HOST:PORT`` when ready (or another
    process that prints a line matching ``ready``, whose first group becomes ``url``)."""

    argv: list[str]
    process: subprocess.Popen[str] | None = None
    url: str = ""
    ready: str = r"listening on (ws://\S+)"

    def start(self, timeout: float = 30.0) -> ServerProcess:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            self.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
            env=env,
            preexec_fn=lambda: raise_nofile(65536),
        )
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            match = re.search(self.ready, line)
            if match:
                self.url = match.group(1)
                return self
        self.stop()
        raise RuntimeError(f"the process did not become ready: {' '.join(self.argv)}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def rss_kib(self) -> int:
        return rss_kib(self.pid)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- many connections from worker processes -----------------------------------------------------


@dataclass
class ClientSpec:
    """What every connection of a pool does: connect, send ``hello``, wait for one frame, then listen."""

    url: str
    hello: str
    headers: dict[str, str] = field(default_factory=dict)
    answers: int = 1  # frames the hello is answered with before the rounds begin (a page: welcome and view)


def _worker_main(conn: Connection, spec: ClientSpec, count: int, concurrency: int) -> None:
    raise_nofile(count + 256)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_worker(conn, spec, count, concurrency))


async def _worker(conn: Connection, spec: ClientSpec, count: int, concurrency: int) -> None:
    from websockets.asyncio.client import connect

    times: list[list[float]] = []
    sizes: list[int] = []
    gate = asyncio.Semaphore(concurrency)
    sockets = []
    errors: list[str] = []
    readers = []

    def received(index: int, raw: str | bytes) -> None:
        # The receipt time is taken first: everything else is bookkeeping after the fact.
        now = time.time()
        if index == len(times):
            times.append([])
            sizes.append(len(raw))
        times[index].append(now)
        if len(times[index]) == len(sockets):
            conn.send(("round", index, times[index], sizes[index]))

    async def listen(ws: Any) -> None:
        index = 0
        with contextlib.suppress(Exception):
            async for raw in ws:
                received(index, raw)
                index += 1

    async def open_one() -> None:
        async with gate:
            for attempt in range(6):
                try:
                    ws = await connect(
                        spec.url, additional_headers=spec.headers, compression=None, max_size=None, open_timeout=60
                    )
                    await ws.send(spec.hello)
                    for _ in range(spec.answers):
                        await asyncio.wait_for(ws.recv(), 60)
                    sockets.append(ws)
                    return
                except Exception as exc:
                    if attempt == 5:
                        errors.append(repr(exc))
                    await asyncio.sleep(0.05 * (attempt + 1))

    started = time.monotonic()
    await asyncio.gather(*(open_one() for _ in range(count)))
    readers = [asyncio.create_task(listen(ws)) for ws in sockets]
    conn.send(("ready", len(sockets), errors[:3], time.monotonic() - started))
    loop = asyncio.get_running_loop()
    while True:
        message = await loop.run_in_executor(None, conn.recv)
        if message == "close":
            break
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    for reader in readers:
        reader.cancel()
    conn.send(("closed",))


class ClientPool:
    """``total`` connections spread over ``workers`` processes; each reports, per frame received after the
    first, the receipt times (time.time(), the machine's one wall clock) once every connection has it."""

    def __init__(self, spec: ClientSpec, total: int, workers: int, concurrency: int = 64) -> None:
        self.spec = spec
        self.total = total
        self.workers = max(1, min(workers, total))
        self.concurrency = concurrency
        self.processes: list[multiprocessing.process.BaseProcess] = []
        self.pipes: list[Connection] = []
        self.connect_s = 0.0

    async def start(self, timeout: float = 300.0) -> None:
        context = multiprocessing.get_context("spawn")
        shares = [self.total // self.workers + (1 if i < self.total % self.workers else 0) for i in range(self.workers)]
        started = time.monotonic()
        for share in shares:
            mine, theirs = context.Pipe()
            process = context.Process(
                target=_worker_main, args=(theirs, self.spec, share, self.concurrency), daemon=True
            )
            process.start()
            theirs.close()
            self.processes.append(process)
            self.pipes.append(mine)
        reports = await asyncio.gather(*(self._recv(pipe, timeout) for pipe in self.pipes))
        self.connect_s = time.monotonic() - started
        connected = sum(r[1] for r in reports)
        if connected != self.total:
            errors = [e for r in reports for e in r[2]]
            await self.close()
            raise RuntimeError(f"only {connected} of {self.total} clients connected: {errors}")

    @staticmethod
    async def _recv(pipe: Connection, timeout: float) -> Any:
        def wait() -> Any:
            if not pipe.poll(timeout):
                raise TimeoutError("a client worker did not answer")
            return pipe.recv()

        return await asyncio.to_thread(wait)

    async def round(self, index: int, timeout: float = 60.0) -> tuple[list[float], int]:
        """Receipt times of frame ``index`` (0: the first after the welcome) on every connection."""
        reports = await asyncio.gather(*(self._recv(pipe, timeout) for pipe in self.pipes))
        times: list[float] = []
        size = 0
        for kind, got, stamps, nbytes in reports:
            if kind != "round" or got != index:
                raise RuntimeError(f"expected round {index}, a worker reported {kind} {got}")
            times.extend(stamps)
            size = nbytes
        return times, size

    async def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send("close")
        for pipe in self.pipes:
            with contextlib.suppress(Exception):
                while True:
                    message = await self._recv(pipe, 60)
                    if message[0] == "closed":
                        break
        for process in self.processes:
            process.join(10)
            if process.is_alive():
                process.terminate()
                process.join(5)
        for pipe in self.pipes:
            pipe.close()
        self.processes.clear()
        self.pipes.clear()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
