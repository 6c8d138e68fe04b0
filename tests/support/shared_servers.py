"""Several `modconsole-server serve --store postgresql://...` processes on one database, for the tests and the
benchmarks of servers sharing a log: the event is made with `create-event --store ... --json`, each server a
real subprocess on a port of its own, killed or stopped at will."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from modconsole.client import MeetingClient
from modconsole.core.fold import replay
from modconsole.core.log import Entry
from modconsole.core.state import State
from modconsole.core.visibility import view_for
from modconsole.server.store_pg import PostgresStore
from support.processes import stop_server
from support.servers import MAYORS_CALL, ROOT, script

_LISTENING = re.compile(r"listening on ws://127\.0\.0\.1:(\d+)\s*")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("MODCONSOLE_TOKEN", "MODCONSOLE_DB", "MODCONSOLE_STORE")}


def create_event(url: str, agenda: Path = MAYORS_CALL) -> dict[str, Any]:
    """`modconsole-server create-event AGENDA --store URL --json`: the event id and its tokens."""
    done = subprocess.run(
        [script("modconsole-server"), "create-event", str(agenda), "--store", url, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    created: dict[str, Any] = json.loads(done.stdout)
    return created


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    port: int

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


@dataclass
class SharedServers:
    """Server processes on one PostgreSQL database."""

    store_url: str
    created: dict[str, Any] = field(default_factory=dict)
    servers: list[ServerProcess] = field(default_factory=list)

    @property
    def event_id(self) -> str:
        return str(self.created["event_id"])

    @property
    def tokens(self) -> dict[str, Any]:
        tokens: dict[str, Any] = self.created["tokens"]
        return tokens

    def start(self, *extra: str) -> ServerProcess:
        process = subprocess.Popen(
            [script("modconsole-server"), "serve", "--store", self.store_url, "--port", "0", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
            cwd=ROOT,
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        match = _LISTENING.fullmatch(line)
        if not match:
            stop_server(process)
            raise AssertionError(
                f"the server did not start: {line!r} {process.stderr.read() if process.stderr else ''}"
            )
        server = ServerProcess(process, int(match.group(1)))
        self.servers.append(server)
        return server

    def addresses(self, first: int = 0) -> str:
        """Every server's address, comma-separated, starting with server ``first``."""
        urls = [s.url for s in self.servers]
        return ",".join(urls[first:] + urls[:first])

    def log(self) -> list[Entry]:
        store = PostgresStore(self.store_url)
        try:
            return list(store.read(self.event_id))
        finally:
            store.close()

    def state(self) -> State:
        return replay([(e.seq, e.event) for e in self.log()])

    def stop_all(self) -> None:
        for server in self.servers:
            stop_server(server.process)


def view_of(client: MeetingClient, state: State) -> dict[str, Any]:
    """What ``client`` may see of ``state``, as a plain dict."""
    assert client.welcome is not None
    person = client.welcome.person.id if client.welcome.person is not None else None
    return asdict(view_for(state, client.welcome.role, person))
