"""The rundown editor in a real terminal (tmux), as a moderator would use it.

``modconsole join`` opens the moderator's console on a served mayors' call (`modconsole-server serve`) in a
detached tmux session of 100x30 on its own socket; the test types with send-keys (Insert, the dialog's fields,
Enter, <, Delete) and reads the pane with capture-pane, then checks the server's state with `ctl state`.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

MODCONSOLE = Path(sys.executable).parent / "modconsole"
WIDTH, HEIGHT = 100, 30
ENV = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "MODCONSOLE_TOKEN")}


class Pane:
    def __init__(self, name: str, config: Path) -> None:
        self.socket = name
        self.config = config
        config.write_text(f"set -g default-size {WIDTH}x{HEIGHT}\n")

    def tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", str(self.config), *args],
            env=ENV,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout

    def start(self, command: str) -> None:
        self.tmux("new-session", "-d", "-s", "rundown", "-x", str(WIDTH), "-y", str(HEIGHT), command)

    def text(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "rundown")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "rundown", *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "rundown", "-l", text)

    def wait(self, predicate: Callable[[str], object], what: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if predicate(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the pane shows:\n{text}")
            time.sleep(0.05)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10, check=False)


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[Pane]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    terminal = Pane(f"modconsole-rundown-{os.getpid()}-{uuid.uuid4().hex[:8]}", tmp_path / "tmux.conf")
    try:
        yield terminal
    finally:
        terminal.kill()


def ids(cli_server, token: str) -> list[str]:  # type: ignore[no-untyped-def]
    result = cli_server.ctl("state", "--json", token=token)
    assert result.returncode == 0, result.stderr
    return [i["id"] for i in json.loads(result.stdout)["sessions"][0]["items"]]


def test_the_rundown_is_edited_in_a_terminal(pane: Pane, cli_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    token = cli_server.tokens["tokens"]["moderator"]
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    join = f"{shlex.quote(str(MODCONSOLE))} join {cli_server.url} --token-file {shlex.quote(str(token_file))}"
    pane.start(f"sh -c {shlex.quote(join + '; sleep 60')}")
    pane.wait(lambda t: "Open discussion" in t and "Closing" in t, "the console's rundown")

    # The rundown has the focus: down to the open discussion, Insert: the dialog opens on its title.
    for _ in range(3):
        pane.keys("Down")
    pane.keys("IC")
    pane.wait(lambda t: "Add an item after discussion" in t and "A title is needed" in t, "the add dialog")
    # Each key waits for the screen to show the one before: a person sees what they typed.
    pane.type("Any other business")
    pane.wait(lambda t: "Title         Any other business" in t and "title is needed" not in t, "the title typed")
    pane.keys("Tab", "BSpace", "BSpace")
    pane.wait(lambda t: "duration is not one" in t, "the empty duration refused as it is typed")
    pane.type("five")
    pane.wait(lambda t: "Duration      five" in t, "the word typed")
    pane.keys("BSpace", "BSpace", "BSpace", "BSpace")
    pane.wait(lambda t: "Duration      five" not in t, "the word deleted")
    pane.type("5m")
    pane.wait(lambda t: "duration is not one" not in t, "the duration taken")
    pane.keys("Enter")
    pane.wait(lambda t: "Any other business" in t and "Add an item" not in t, "the item in the rundown")
    assert ids(cli_server, token) == [
        "opening",
        "seoul-briefing",
        "cities-share",
        "discussion",
        "any-other-business",
        "closing",
    ]

    # < moves it above the open discussion; Delete, then y, removes it.
    pane.keys("Down", "<")
    deadline = time.monotonic() + 10
    while ids(cli_server, token)[3] != "any-other-business":
        assert time.monotonic() < deadline, pane.text()
        time.sleep(0.1)
    pane.keys("DC")
    pane.wait(lambda t: "Remove “Any other business” from the rundown?" in t, "the question")
    pane.keys("y")
    pane.wait(lambda t: "Any other business" not in t.split("Removed")[0], "the item gone from the rundown")
    assert "any-other-business" not in ids(cli_server, token)
