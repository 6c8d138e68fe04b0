"""What importing a module loads, seen from a fresh interpreter: the only way to prove a deferral defers.

The console's start-up time depends on these (docs/performance.md): ``modconsole`` (the command line) loads
neither Textual nor pydantic nor the client until a command needs them; the console loads the moderator's
screen, its dialogs, ``ctl`` and the Markdown reader only when used; a name is folded with its confusables
tables loaded at the first fold, not at import; the core and the protocol never load an I/O library, and
no client side loads the server.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PINNED = {
    "modconsole.cli": [
        "textual",
        "pydantic",
        "websockets",
        "modconsole.client",
        "modconsole.ctl",
        "modconsole.tui",
        "modconsole.server",
        "modconsole.demo",
    ],
    "modconsole.tui": [
        "modconsole.tui.moderator",
        "modconsole.tui.dialogs",
        "modconsole.ctl",
        "markdown_it",
        "modconsole.server",
        "modconsole.demo",
        "sqlite3",
    ],
    "modconsole.core": ["textual", "websockets", "sqlite3", "modconsole.protocol", "modconsole.client"],
    "modconsole.core.names": ["anyascii", "confusable_homoglyphs"],
    "modconsole.protocol": ["textual", "websockets", "sqlite3", "modconsole.client"],
    "modconsole.client": ["textual", "modconsole.server", "modconsole.tui", "sqlite3"],
    "modconsole.ctl": ["textual", "modconsole.server", "modconsole.tui"],
    "modconsole.server.service": ["textual", "modconsole.tui", "modconsole.client", "modconsole.ctl"],
}


def loaded_by(module: str) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout))


@pytest.mark.parametrize("module", sorted(PINNED))
def test_a_module_loads_only_what_it_needs(module: str) -> None:
    loaded = loaded_by(module)
    assert module in loaded
    assert not [name for name in PINNED[module] if name in loaded]


def test_the_first_fold_loads_the_confusables() -> None:
    code = (
        "import sys; from modconsole.core.names import fold_name; assert 'anyascii' not in sys.modules; "
        "assert fold_name('Еric') == 'eric'; print('confusable_homoglyphs' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "True", result.stderr


def test_the_core_tests_run_on_the_core_alone() -> None:
    """Collecting tests/core (its conftests and every test module) loads neither Textual nor the server nor
    websockets: the core's tests can run where only the core is."""
    code = (
        "import json, sys, pytest; code = pytest.main(['--collect-only', '-q', '-p', 'no:cacheprovider', "
        "'-p', 'no:textual-snapshot', 'tests/core']); "
        "print(json.dumps([code, sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'websockets', 'sqlite3') or m.startswith(('modconsole.server', 'modconsole.tui')))]))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    status, loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert status == 0 and loaded == []
