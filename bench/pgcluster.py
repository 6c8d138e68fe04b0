"""A PostgreSQL cluster of its own (Debian's package) for the benchmarks and the tests: initdb'd in a temporary
directory, on a free port of 127.0.0.1, run as the unprivileged ``postgres`` user when this runs as root, removed
at the end. ``PgUnavailable`` says why one cannot be had (not installed, no such user)."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

INSTALL_HINT = "apt-get install postgresql (Debian's package; .ci/run installs it)"
_names = itertools.count(1)


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("postgres")
    return Path(on_path).parent if on_path else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgUnavailable(Exception):
    pass


class PgCluster:
    """initdb'd in a temporary directory; ``start``, ``stop`` (fast shutdown) and ``remove``."""

    def __init__(self, *, fsync: bool = False) -> None:
        # fsync off by default: the tests stop PostgreSQL cleanly or kill modconsole's processes, never the
        # machine, so what was committed is there either way; the benchmarks turn it on.
        self.fsync = fsync
        bindir = _bindir()
        if bindir is None:
            raise PgUnavailable(f"PostgreSQL's server is not installed: {INSTALL_HINT}")
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        if self.as_root:
            try:
                import pwd

                pwd.getpwnam("postgres")
            except KeyError:
                raise PgUnavailable("running as root and there is no 'postgres' user to run PostgreSQL as") from None
        self.dir = Path(tempfile.mkdtemp(prefix="modconsole-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.running = False
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self.log = self.dir / "server.log"
        result = self._run(
            [str(bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]
        )
        if result.returncode != 0:
            self.remove()
            raise PgUnavailable(f"initdb failed: {result.stderr.strip()[-400:]}")

    def _command(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if self.as_root else argv

    def _run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self._command(argv), capture_output=True, text=True, timeout=120)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def _ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), *args])

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=32MB"
        )
        result = self._ctl("-l", str(self.log), "-o", options, "-w", "-t", "30", "start")
        if result.returncode != 0:
            tail = self.log.read_text()[-400:] if self.log.exists() else result.stderr
            raise PgUnavailable(f"PostgreSQL did not start: {tail.strip()}")
        self.running = True

    def stop(self) -> None:
        """A fast shutdown: sessions are cut off, what was committed stays."""
        if self.running:
            self._ctl("-m", "fast", "-w", "stop")
            self.running = False

    def create_database(self) -> str:
        import psycopg

        name = f"t{os.getpid()}_{next(_names)}"
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def remove(self) -> None:
        """Stop it at once (immediate: nothing in it is kept) and delete its directory."""
        if self.running:
            self._ctl("-m", "immediate", "-w", "stop")
            self.running = False
        shutil.rmtree(self.dir, ignore_errors=True)
