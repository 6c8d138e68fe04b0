"""The demo end to end in a real terminal (tmux), as a person would run it.

``modconsole demo --fast`` (the venv's script) runs in a detached tmux session of 100x30 on its
own socket; the test reads the pane with capture-pane and types with send-keys. The demo's
rehearsal clock runs at 60x and simulated mayors raise hands while an assistant chair keeps the
call moving, so the checks poll the pane (bounded) for what a person would look for. The demo's
temporary log goes under the test's tmp_path (TMPDIR), and is read back at the end to confirm
that the keys pressed here, not the assistant chair, made the changes seen on screen.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest

from modconsole.agenda_files import load_agenda

ROOT = Path(__file__).resolve().parents[2]
MODCONSOLE = Path(sys.executable).parent / "modconsole"
WIDTH, HEIGHT = 100, 30
STEP_S = 0.05
# The environment a person's shell would pass on. Given explicitly: by default a child inherits the
# C-level environment, where GNU readline (loaded in the test process) exports COLUMNS=80 and LINES=24,
# which tmux would hand to the demo, and the console would then draw 80x24 in a 100x30 window.
TERMINAL_ENV = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}


class Pane:
    """One tmux session on a private socket, its single pane read and typed into.

    No client ever attaches, so tmux's default size is set to the window's as well: whenever
    tmux recalculates sizes, the window stays 100x30.
    """

    def __init__(self, socket: str, config: Path) -> None:
        self.socket = socket
        self.target = "demo"
        self.config = config
        self.socket_path: Path | None = None
        config.write_text(f"set -g default-size {WIDTH}x{HEIGHT}\n")

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, "-f", str(self.config), *args],
            env=TERMINAL_ENV,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return done.stdout

    def start(self, command: str) -> None:
        self.tmux("new-session", "-d", "-s", self.target, "-x", str(WIDTH), "-y", str(HEIGHT), command)
        self.socket_path = Path(self.tmux("display-message", "-p", "#{socket_path}").strip())
        size = self.tmux("display-message", "-p", "-t", self.target, "#{pane_width}x#{pane_height}").strip()
        assert size == f"{WIDTH}x{HEIGHT}", size

    def text(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.target)

    def lines(self) -> list[str]:
        return self.text().splitlines()

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.target, *keys)

    def wait(self, predicate: Callable[[str], object], what: str, timeout: float = 10.0) -> str:
        """Poll the pane until ``predicate(text)`` holds; fail showing the pane if it does not in time."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if predicate(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the pane shows:\n{text}")
            time.sleep(STEP_S)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10, check=False)
        if self.socket_path is not None:
            self.socket_path.unlink(missing_ok=True)  # tmux leaves its socket file behind


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[Pane]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    terminal = Pane(f"modconsole-e2e-{os.getpid()}-{uuid.uuid4().hex[:8]}", tmp_path / "tmux.conf")
    try:
        yield terminal
    finally:
        terminal.kill()


# --- reading the console off the pane -------------------------------------------------------------


def timer_area(lines: list[str]) -> str:
    """The timer panel: the top box's left half (title, digits, phase)."""
    return "\n".join(line[: WIDTH // 2] for line in lines[1:8])


def rundown_marker(lines: list[str]) -> int | None:
    """Which rundown row (0-based) carries the ▶ marker."""
    header = next((i for i, line in enumerate(lines) if re.search(r"│\s+Item\s+Plan", line)), None)
    if header is None:
        return None
    for row, line in enumerate(lines[header + 1 :]):
        if line.startswith("│▶"):
            return row
    return None


def queue_size(text: str) -> int:
    found = re.search(r"Queue · (\d+) waiting", text)
    return int(found.group(1)) if found else 0


def queue_head(lines: list[str]) -> str | None:
    """The name on the queue's first row (the narrow table: '1', a kind mark, the name, the wait, ●/○)."""
    for line in lines:
        found = re.search(r"││\s*1\s+(?:[?!↩] )?(.+?)\s{2,}\d+:\d\d\s+[●○?]\s*│$", line)
        if found:
            return found.group(1).rstrip("…").strip()
    return None


def floor_name(text: str) -> str | None:
    found = re.search(r"Floor \d+:\d\d[^·│]*· (.+?)\s*│", text)
    return found.group(1).rstrip("…").strip() if found else None


def same_person(a: str, b: str) -> bool:
    """Two cuts of one name: one begins the other, and enough is left to tell mayors apart."""
    short, long = sorted((a, b), key=len)
    return long.startswith(short) and len(short) >= len("Mayor of ") + 1


def log_rows(db: Path) -> list[tuple[str, str, str]]:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return [
            (client, kind, body)
            for client, kind, body in conn.execute("SELECT client, type, body FROM log ORDER BY seq")
        ]


# --- the test ------------------------------------------------------------------------------------------


def test_the_fast_demo_in_tmux(pane: Pane, tmp_path: Path) -> None:
    command = f"env TMPDIR={shlex.quote(str(tmp_path))} {shlex.quote(str(MODCONSOLE))} demo --fast"
    # The shell stays after the demo so the pane keeps its last words; the fixture kills the server.
    script = command + '; echo "[demo exited $?]"; sleep 60'
    pane.start(f"sh -c {shlex.quote(script)}")

    pane.wait(
        lambda t: "● connected" in t and "Rundown" in t and "Queue" in t and "rehearsal clock ×60" in t,
        "the console to connect",
        timeout=15,
    )

    # The timer runs (a minute of the call per second): two looks at it differ.
    first = timer_area(pane.lines())
    pane.wait(lambda t: timer_area(t.splitlines()) != first, "the timer to move", timeout=5)

    # The simulated mayors fill the queue (the assistant chair hands out the floor meanwhile).
    pane.wait(lambda t: queue_size(t) >= 2, "the queue to fill", timeout=15)

    # Pause, so neither the mayors nor the assistant chair move anything while we look.
    for _attempt in range(3):
        if "PAUSED" in pane.text():
            break
        pane.keys("Space")
        try:
            pane.wait(lambda t: "PAUSED" in t, "the call to pause", timeout=3)
        except AssertionError:
            continue  # refused as stale (the chair moved first): look again and press again
    text = pane.wait(lambda t: "PAUSED" in t and queue_head(t.splitlines()), "a paused call with a queue")
    head = queue_head(text.splitlines())
    assert head, text

    # f: the floor to the head of the queue; the floor label names them.
    pane.keys("f")
    text = pane.wait(
        lambda t: (name := floor_name(t)) is not None and same_person(name, head), f"the floor label to name {head!r}"
    )

    # n: the ▶ marker moves down to the next item's row.
    row = rundown_marker(text.splitlines())
    assert row is not None, text
    pane.keys("n")
    text = pane.wait(lambda t: rundown_marker(t.splitlines()) == row + 1, "the marker on the next row")
    lines = text.splitlines()
    marked = next(i for i, line in enumerate(lines) if line.startswith("│▶"))
    assert lines[marked - 1].startswith("│✓"), text  # the item left is done

    # Ctrl+Q quits and the demo says where its timing log is.
    pane.keys("C-q")
    text = pane.wait(lambda t: "timing log is in" in t, "the demo's parting words", timeout=15)
    assert "[demo exited 0]" in pane.wait(lambda t: "[demo exited" in t, "the demo to exit")
    found = re.search(r"timing log is in (\S+) \(event", text.replace("\n", ""))
    assert found, text
    db = Path(found.group(1))
    assert db.is_relative_to(tmp_path) and db.exists()

    # The log confirms the console's own keys did it: a pause, the floor to the head, the next item.
    agenda = load_agenda(ROOT / "examples" / "mayors-call.toml")
    names = {person.id: person.name for person in agenda.people}
    mine = [(kind, body) for client, kind, body in log_rows(db) if client == "demo-console"]
    kinds = [kind for kind, _ in mine]
    assert "session_paused" in kinds and "turn_started" in kinds and "item_changed" in kinds, kinds
    turn = json.loads(next(body for kind, body in mine if kind == "turn_started"))
    assert same_person(names[turn["person"]], head), (turn, head)


@pytest.mark.parametrize(
    ("address", "token_of", "reason", "status"),
    [
        # A mistyped token: the server refuses it.
        ("ws://127.0.0.1:{port}", lambda tokens: "mc_not-a-token", "refused: the token was not accepted", 1),
        # A participant's token without --name: the server asks for one.
        ("ws://127.0.0.1:{port}", lambda tokens: tokens["participant"], "refused: a name is needed", 1),
        # A mistyped port: no address to try (it used to show "Connecting…" for ever); a usage error.
        (
            "ws://127.0.0.1:{port}x",
            lambda tokens: tokens["moderator"],
            "modconsole join: ws://127.0.0.1:{port}x isn't a valid server address: the port '{port}x' isn't a number",
            2,
        ),
    ],
)
def test_join_ends_at_once_with_the_reason_when_refused(
    pane: Pane,
    cli_server,
    address: str,
    token_of: Callable[[dict[str, object]], str],
    reason: str,
    status: int,  # type: ignore[no-untyped-def]
) -> None:
    """Refused at the start with a token from the command line, the console does not wait for Ctrl+Q
    on a dead end: it ends, and the shell shows why and the exit status."""
    url = address.format(port=cli_server.port)
    token = token_of(cli_server.tokens["tokens"])
    join = f"{shlex.quote(str(MODCONSOLE))} join {url} --token {shlex.quote(token)}"
    script = join + '; echo "[join exited $?]"; sleep 60'
    pane.start(f"sh -c {shlex.quote(script)}")
    text = pane.wait(lambda t: "[join exited" in t, "join to end by itself", timeout=15)
    assert f"[join exited {status}]" in text, text
    assert reason.format(port=cli_server.port) in text.replace("\n", ""), text
    assert token not in text or token == "mc_not-a-token", "a real token is never echoed"


def test_join_quit_before_it_ever_connected_says_why(pane: Pane) -> None:
    """Nothing answers: the console keeps trying; quit with Ctrl+Q, the shell shows the last reason and
    exit status 1, not a silent 0 as if a session had run."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"ws://127.0.0.1:{port}"  # nothing listens there now
    script = f'{shlex.quote(str(MODCONSOLE))} join {url} --token mc_x; echo "[join exited $?]"; sleep 60'
    pane.start(f"sh -c {shlex.quote(script)}")
    pane.wait(lambda t: f"cannot reach {url}" in t, "the console to say it cannot reach the server", timeout=15)
    pane.keys("C-q")
    text = pane.wait(lambda t: "[join exited" in t, "join to end", timeout=15)
    assert "[join exited 1]" in text, text
    assert f"modconsole join: never connected: cannot reach {url}: " in text.replace("\n", ""), text
