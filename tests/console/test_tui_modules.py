"""The console's modules depend one way: the App (``modconsole/tui/app.py``) imports the screens, never the
reverse. A screen or a dialog asks the App for something by posting a message (``tui/messages.py``), so
none of them names ``ConsoleApp``, not even for a type under ``TYPE_CHECKING`` (which import-linter is told
to leave out, hence this check on the source itself).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TUI = Path(__file__).resolve().parents[2] / "modconsole" / "tui"
PACKAGE = "modconsole.tui"
APP = f"{PACKAGE}.app"
ALLOWED = {"app.py", "__init__.py"}  # the App itself, and the package that offers it
APP_NAMES = {"app", "ConsoleApp", "create_app"}  # what ``from modconsole.tui import …`` would bring of the App


def app_imports(source: str) -> list[str]:
    """Every import of the App in ``source`` (a module of ``modconsole.tui``), at any depth: at the top, in
    a function, under ``if TYPE_CHECKING``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name == APP or alias.name.startswith(APP + ".")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative to modconsole.tui (its modules are one level deep)
                parts = PACKAGE.split(".")[: len(PACKAGE.split(".")) - (node.level - 1)]
                module = ".".join([*parts, node.module] if node.module else parts)
            else:
                module = node.module or ""
            if module == APP or module.startswith(APP + "."):
                found.append(module)
            elif module == PACKAGE:
                found += [f"{PACKAGE}.{alias.name}" for alias in node.names if alias.name in APP_NAMES]
    return found


def test_the_check_sees_every_way_of_naming_the_app() -> None:
    source = "\n".join(
        [
            "from typing import TYPE_CHECKING",
            "if TYPE_CHECKING:",
            "    from .app import ConsoleApp",
            "def f():",
            "    import modconsole.tui.app",
            "from . import app",
            "from modconsole.tui import ConsoleApp as A",
            "from .link import Link",  # not the App
            "from ..core.read_model import session_view",  # nor this
        ]
    )
    assert sorted(app_imports(source)) == [
        "modconsole.tui.ConsoleApp",
        "modconsole.tui.app",
        "modconsole.tui.app",
        "modconsole.tui.app",
    ]


MODULES = sorted(path.name for path in TUI.glob("*.py") if path.name not in ALLOWED)


@pytest.mark.parametrize("name", MODULES)
def test_no_screen_widget_or_dialog_imports_the_app(name: str) -> None:
    assert app_imports((TUI / name).read_text(encoding="utf-8")) == [], (
        f"modconsole/tui/{name} imports the App: post a message (tui/messages.py) for the App to handle instead"
    )


def test_the_screens_are_checked() -> None:
    assert {"audience.py", "dialogs.py", "figures.py", "messages.py", "moderator.py", "widgets.py"} <= set(MODULES)
