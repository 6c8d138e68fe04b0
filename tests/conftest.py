"""What every test needs, whatever its layer: nothing that loads Textual or the server (``pytest tests/core``
runs on the core alone). Each folder's conftest gives its own fixtures; the helpers live in ``support``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# The credentials participants' clients keep go to a file of this run's own, never the user's data directory
# (subprocesses inherit it); a test of the keeping gives its own path.
if "MODCONSOLE_CREDENTIALS" not in os.environ:
    os.environ["MODCONSOLE_CREDENTIALS"] = str(Path(tempfile.mkdtemp(prefix="modconsole-test-")) / "credentials.json")
