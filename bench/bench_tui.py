"""TUI start (6): from launching ``modconsole join URL --token DISPLAY_TOKEN`` to the first frame
on the terminal that shows "connected".

Measured the way a person meets it: the real command line in a fresh process, on a pseudo-terminal
of 80x24 (TERM=xterm-256color), reading what it writes and stripping the escape sequences until
the words "connected" appear (the console's connection bar: "● connected"). This counts the
interpreter's start, the imports, Textual's start, the websocket connection and welcome, and the
first render of the viewer screen; a Textual ``run_test`` harness would leave out the interpreter,
the imports and the terminal, which are most of what a person waits for.

Baseline: a bare Textual app showing one label, "● connected", launched and read the same way.
Both run once first, unmeasured, so that bytecode caches exist and files are in the page cache.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path
from typing import Any

from .common import ROOT, ServerProcess, create_event_db, figure, modconsole_server_argv, percentile, row, within

BARE_APP = """
from textual.app import App
from textual.widgets import Label


class Bare(App):
    def compose(self):
        yield Label("\u25cf connected")


Bare().run()
"""

ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[P^_X][^\x1b]*\x1b\\|\x1b.")
TIMEOUT_S = 30.0


def _script(name: str) -> str:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name) or name


def time_to_text(argv: list[str], text: bytes = b"connected") -> float:
    """Seconds from launching ``argv`` on a fresh 80x24 pty to ``text`` appearing on its screen."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEXTUAL", "PYTHONDONTWRITEBYTECODE"))}
    env |= {"TERM": "xterm-256color", "COLORTERM": "truecolor"}
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, start_new_session=True, close_fds=True
    )
    os.close(slave)
    output = b""
    try:
        while time.perf_counter() - started < TIMEOUT_S:
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            output += data
            if text in ESCAPES.sub(b"", output):
                return time.perf_counter() - started
        raise RuntimeError(f"{text!r} never appeared: {ESCAPES.sub(b'', output)[-300:]!r}")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(10)
        os.close(master)


def run(trials: int) -> dict[str, list[dict[str, Any]]]:
    with tempfile.TemporaryDirectory(prefix="modconsole-bench-") as tmp:
        db = Path(tmp) / "tui.db"
        tokens = create_event_db(db)["tokens"]
        with ServerProcess(modconsole_server_argv(db)) as server:
            console = [_script("modconsole"), "join", server.url, "--token", tokens["display"]]
            bare = [sys.executable, "-c", BARE_APP]
            time_to_text(console)  # unmeasured: bytecode caches and the page cache
            time_to_text(bare)
            ours: list[float] = []
            base: list[float] = []
            for _ in range(trials):
                ours.append(time_to_text(console))
                base.append(time_to_text(bare))
    p50 = figure(percentile(ours, 50), percentile(base, 50), "s")
    worst = figure(max(ours), max(base), "s")
    return {
        "tui": [
            row(
                "modconsole join, display token (pty)",
                {"p50": p50, "max": worst},
                target="<= 1.5 x baseline",
                met=within(p50, 1.5),
                trials=trials,
                modconsole_s=[round(t, 3) for t in ours],
                baseline_s=[round(t, 3) for t in base],
            )
        ]
    }
