"""Project rules that must hold on every commit: lint, the core's purity, the generated protocol and read-model docs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)


LINTED = ("modconsole", "tests", "bench", "scenarios")


def test_ruff_finds_nothing() -> None:
    result = _run(sys.executable, "-m", "ruff", "check", *LINTED)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_code_is_formatted() -> None:
    result = _run(sys.executable, "-m", "ruff", "format", "--check", *LINTED)
    assert result.returncode == 0, result.stdout + result.stderr


LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


@pytest.mark.skipif(
    not LINT_IMPORTS.exists() and shutil.which("lint-imports") is None, reason="import-linter is part of the test extra"
)
def test_core_imports_no_textual_websockets_or_sqlite() -> None:
    result = _run(str(LINT_IMPORTS) if LINT_IMPORTS.exists() else "lint-imports")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and "0 broken" in result.stdout


def test_protocol_doc_is_generated_from_the_models() -> None:
    from modconsole.server.protocol_doc import render

    assert (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8") == render(), (
        "docs/protocol.md is stale: run `python -m modconsole.server.protocol_doc > docs/protocol.md`"
    )


def test_read_model_doc_is_generated_from_the_views() -> None:
    from modconsole.server.read_model_doc import render

    assert (ROOT / "docs" / "read-model.md").read_text(encoding="utf-8") == render(), (
        "docs/read-model.md is stale: run `python -m modconsole.server.read_model_doc > docs/read-model.md`"
    )


def test_read_model_doc_lists_every_field_of_every_view() -> None:
    from typing import is_typeddict

    from modconsole.core import read_model
    from modconsole.server.read_model_doc import views

    # Private ones (``_Hand``, ``_HandFor``) are bases of a view, documented with it, not views of their own.
    declared = {name: cls for name, cls in vars(read_model).items() if is_typeddict(cls) and not name.startswith("_")}
    documented = {view.name: [field.name for field in view.fields] for view in views()}
    assert set(documented) == set(declared) and len(declared) >= 6
    for name, cls in declared.items():
        assert documented[name] == list(cls.__annotations__), name
    assert all(field.doc for view in views() for field in view.fields)


def test_mypy_passes_on_the_whole_package_with_every_def_typed() -> None:
    import tomllib

    pytest.importorskip("mypy", reason="mypy is part of the test extra")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    # The strictness is part of the rule: a looser configuration would let this pass on untyped code.
    assert config.get("disallow_untyped_defs") is True and config.get("warn_unused_ignores") is True, config
    loosened = [o for o in config.get("overrides", []) if {"disallow_untyped_defs", "warn_unused_ignores"} & set(o)]
    assert not loosened, f"the whole package is held to the same strictness: {loosened}"
    result = _run(sys.executable, "-m", "mypy", "--config-file", "pyproject.toml", "modconsole")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout, result.stdout


def test_the_wheel_installs_one_top_level_package(tmp_path: Path) -> None:
    import zipfile

    result = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT))
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = tmp_path.glob("modconsole-*.whl")
    tops = {name.split("/", 1)[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"modconsole"}
    assert "modconsole/server/service.py" in zipfile.ZipFile(wheel).namelist()


def test_the_layers_contract_is_kept() -> None:
    result = _run(str(LINT_IMPORTS) if LINT_IMPORTS.exists() else "lint-imports")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Layers: the command line and the demo over the server" in result.stdout
