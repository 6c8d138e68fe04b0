"""Storage faults: a command the log cannot take is refused (code "storage"), never acknowledged.

The faults: the database full (SQLite's ``max_page_count`` set on the server's own connection), the
database read-only (``PRAGMA query_only`` on it: as root, chmod would not stop a write, nor would it
stop an open file), the database locked by another process holding a write transaction, and the disk
really full (the database on a small tmpfs filled up; skipped where mounting is not permitted).

For each: the refused command gets ``storage`` with the cause in plain words and no ack; the
in-memory state, the next sequence and every replica are untouched, nothing was broadcast; while the
fault lasts the other clients are still served; when it clears the next command is acknowledged with
the next sequence (no gap, no duplicate), the log folds into the server's state, and everything
acknowledged is in the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path

import pytest

from modconsole.client import ClientError, CommandRefused, MeetingClient
from modconsole.core import commands as c
from modconsole.server.service import MeetingServer
from modconsole.server.store import SqliteStore

MAX_TRIES = 60  # a fault may first leave room for a few rows; a row is small, a page is 4 KiB


class Fault:
    """Something that makes the log unwritable until ``clear``."""

    cause = ""

    async def make(self) -> None: ...

    async def clear(self) -> None: ...

    def deepen(self) -> None:
        """Called after a command went through while the fault is on: tighten it (full pages)."""


class FullDatabase(Fault):
    cause = "database or disk is full"

    def __init__(self, srv) -> None:  # type: ignore[no-untyped-def]
        self.store = srv.store

    def _pragma(self, sql: str) -> None:
        with self.store._lock:  # the writer thread's lock: nothing is being written meanwhile
            self.store._db.execute(sql)

    async def make(self) -> None:
        self.deepen()

    def deepen(self) -> None:
        with self.store._lock:
            pages = self.store._db.execute("PRAGMA page_count").fetchone()[0]
            self.store._db.execute(f"PRAGMA max_page_count={pages}")

    async def clear(self) -> None:
        self._pragma("PRAGMA max_page_count=1073741823")


class ReadOnlyDatabase(Fault):
    cause = "attempt to write a readonly database"

    def __init__(self, srv) -> None:  # type: ignore[no-untyped-def]
        self.store = srv.store

    async def make(self) -> None:
        with self.store._lock:
            self.store._db.execute("PRAGMA query_only=ON")

    async def clear(self) -> None:
        with self.store._lock:
            self.store._db.execute("PRAGMA query_only=OFF")


LOCKER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("ROLLBACK")
print("released", flush=True)
"""


class LockedByAnotherProcess(Fault):
    cause = "database is locked"

    def __init__(self, srv) -> None:  # type: ignore[no-untyped-def]
        self.db = srv.db
        self.process: subprocess.Popen[str] | None = None

    async def make(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", LOCKER, str(self.db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        assert await asyncio.to_thread(self.process.stdout.readline) == "locked\n"

    async def clear(self) -> None:
        assert self.process is not None and self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        assert await asyncio.to_thread(self.process.stdout.readline) == "released\n"
        assert await asyncio.to_thread(self.process.wait, 10) == 0
        self.process.stdin.close()
        self.process.stdout.close()


class FullDisk(Fault):
    cause = "database or disk is full"

    def __init__(self, mount: Path) -> None:
        self.filler = mount / "filler"

    async def make(self) -> None:
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            with contextlib.suppress(OSError):  # ENOSPC: full
                for _ in range(1 << 20):  # bounded: 4 GiB at most, far beyond the tmpfs
                    os.write(fd, b"\0" * 4096)
        finally:
            os.close(fd)

    async def clear(self) -> None:
        self.filler.unlink()


@pytest.fixture
def tmpfs(tmp_path: Path) -> Path:
    """A 2 MiB tmpfs at tmp_path/fs, or a skip where mounting is not permitted."""
    mount = tmp_path / "fs"
    mount.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=10)  # lazily: the server may hold it


Connect = Callable[..., Awaitable[MeetingClient]]


async def _ping_fast(client: MeetingClient) -> float:
    started = time.monotonic()
    await client.ping(timeout=2)
    return time.monotonic() - started


async def _check_fault(srv, connect: Connect, fault: Fault) -> None:  # type: ignore[no-untyped-def]
    moderator = await connect(srv.url, srv.tokens.moderator, label="moderator")
    watcher = await connect(srv.url, srv.tokens.display, label="watcher")
    acked = [(await moderator.command(c.Start())).seq]
    acked.append((await moderator.command(c.AddTime(delta_s=60))).seq)
    runtime = srv.server.events[srv.event_id]
    # Joined before the fault: the first join issues a credential, a write the fault would refuse too.
    ana = await connect(srv.url, srv.tokens.participant, name="Ana Lima", label="ana")

    await fault.make()
    refused: CommandRefused | None = None
    for attempt in range(MAX_TRIES):
        await watcher.wait_for(lambda s: s.seq == srv.state.seq)
        before_state, before_seq, before_entries = asdict(srv.state), srv.state.seq, len(runtime.entries)
        before_rows = srv.log_rows()  # a reader is not blocked by another's write lock (WAL)
        watcher_frames = len(watcher.frames)
        # A participant's first raise is two events (registered, hand raised): all or nothing.
        command = c.AddTime(delta_s=30 if attempt % 2 else -30)
        pending = asyncio.create_task(moderator.command(command, timeout=20))
        if isinstance(fault, LockedByAnotherProcess):
            # The write waits for the lock (five seconds) while the others are served as usual, even
            # while someone connects (the token's lookup waits for the store as well, not the server).
            assert await _ping_fast(watcher) < 1.0
            newcomer = asyncio.create_task(connect(srv.url, srv.tokens.people["sala"], label="newcomer"))
            for _ in range(5):
                assert await _ping_fast(watcher) < 1.0
            assert not pending.done()
        try:
            ack = await pending
        except CommandRefused as exc:
            refused = exc
        else:
            acked.append(ack.seq)  # the fault still left room: tighten it and try again
            fault.deepen()
            continue
        assert refused.code == "storage", refused
        if isinstance(fault, LockedByAnotherProcess):
            assert (await asyncio.wait_for(newcomer, 10)).connected
        assert fault.cause in refused.message and refused.message.startswith("not done: "), refused.message
        # Nothing done: the state, the next sequence, the log in memory and the replicas as they were.
        assert asdict(srv.state) == before_state
        assert srv.state.seq == before_seq and len(runtime.entries) == before_entries
        assert runtime.entries[-1].seq == before_seq
        assert srv.log_rows() == before_rows
        assert await _ping_fast(watcher) < 1.0  # anything broadcast would have come before the pong
        assert len([f for f in watcher.frames[watcher_frames:] if type(f).__name__ != "Pong"]) == 0
        assert asdict(watcher.state) == srv.expected_view(watcher)
        break
    assert refused is not None, f"the fault never refused a command in {MAX_TRIES} tries"

    # A participant's raise (two events) is refused whole as well.
    if not isinstance(fault, LockedByAnotherProcess):
        with pytest.raises(CommandRefused) as raised:
            await ana.command(c.Raise())
        assert raised.value.code == "storage"
        assert srv.state.participants == {} and srv.state.seq == before_seq
        # Nor is anyone new let in with a credential the store could not keep. (A database at its page
        # limit may still hold one more token row in a page's free space: then it is kept, and counted.)
        issued = srv.store.participant_names(srv.event_id)
        try:
            await connect(srv.url, srv.tokens.participant, name="Bo Chen", label="bo")
        except ClientError as exc:
            assert exc.code == "storage" and srv.store.participant_names(srv.event_id) == issued
        else:
            assert isinstance(fault, FullDatabase), "a fault that refuses every write let a participant in"
            assert srv.store.participant_names(srv.event_id) == [*issued, "Bo Chen"]

    await fault.clear()
    ack = await moderator.command(c.AddTime(delta_s=120))
    assert ack.seq == before_seq + 1  # no gap, no duplicate
    acked.append(ack.seq)
    log = srv.read_log()
    assert [e.seq for e in log] == list(range(1, len(log) + 1))
    assert set(acked) <= {e.seq for e in log}  # nothing acknowledged is lost
    assert asdict(srv.replayed()) == asdict(srv.state)
    await watcher.wait_for(lambda s: s.seq == ack.seq)
    await srv.settled(watcher)
    await srv.settled(moderator)


@pytest.mark.parametrize("kind", ["full database", "read-only database", "locked by another process"])
async def test_a_storage_fault_refuses_the_command_and_the_server_carries_on(start_server, connect, kind) -> None:
    srv = await start_server()
    fault = {
        "full database": FullDatabase,
        "read-only database": ReadOnlyDatabase,
        "locked by another process": LockedByAnotherProcess,
    }[kind](srv)
    await _check_fault(srv, connect, fault)


async def test_a_full_disk_refuses_the_command_and_the_server_carries_on(tmpfs, start_server, connect) -> None:
    srv = await start_server(db=tmpfs / "log.db")
    await _check_fault(srv, connect, FullDisk(tmpfs))


async def test_after_a_fault_a_restart_finds_everything_acknowledged(start_server, connect) -> None:
    srv = await start_server()
    await _check_fault(srv, connect, FullDatabase(srv))
    store = SqliteStore(srv.db)
    try:
        again = MeetingServer(store)
        again.load()  # the same time scale: it logs nothing on load
        assert asdict(again.events[srv.event_id].state) == asdict(srv.state)
    finally:
        store.close()
