"""Where things live by default: the database in the user data directory, readable by its owner only."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from platformdirs import user_data_dir


def data_dir() -> Path:
    """modconsole's directory in the user data directory, made owner-only (0700): the logs in it hold
    private messages in clear."""
    path = Path(user_data_dir("modconsole", appauthor=False))
    # Where it cannot be made, opening the database there says why.
    with contextlib.suppress(OSError):
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.stat().st_mode & 0o077:  # it is modconsole's own: a mode wider than 0700 is tightened
            os.chmod(path, 0o700)
    return path


def default_db() -> Path:
    """MODCONSOLE_DB if set, else modconsole.db in the user data directory."""
    env = os.environ.get("MODCONSOLE_DB")
    if env:
        return Path(env)
    return data_dir() / "modconsole.db"
