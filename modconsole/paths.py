"""Where things live by default: the database in the user data directory."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir


def default_db() -> Path:
    """MODCONSOLE_DB if set, else modconsole.db in the user data directory."""
    env = os.environ.get("MODCONSOLE_DB")
    if env:
        return Path(env)
    return Path(user_data_dir("modconsole", appauthor=False)) / "modconsole.db"
