"""Durations as people write them in agendas: "90s", "5m", "1h30m", or minutes."""

from __future__ import annotations

import re

_PART = re.compile(r"([0-9]+)\s*([hms])")
_WHOLE = re.compile(r"^\s*(?:[0-9]+\s*[hms]\s*)+$")
_UNIT = {"h": 3600, "m": 60, "s": 1}


def parse_duration(value: object, *, allow_negative: bool = False) -> int:
    """Return a duration in whole seconds.

    Accepts "90s", "5m", "1h30m", "1h 30m", a bare integer of minutes (as an
    int or a string), and with ``allow_negative`` a leading sign ("-1m").
    Raises ValueError with a message fit to show a user.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int):
        seconds = value * 60
    elif isinstance(value, str):
        text = value.strip()
        sign = 1
        if text[:1] in "+-" and text:
            if text[0] == "-":
                if not allow_negative:
                    raise ValueError(f"a duration cannot be negative: {value!r}")
                sign = -1
            text = text[1:].strip()
        if text.isdecimal() and text.isascii():
            seconds = int(text) * 60
        elif _WHOLE.match(text):
            seconds = sum(int(n) * _UNIT[u] for n, u in _PART.findall(text))
        else:
            raise ValueError(f'not a duration: {value!r} (write e.g. "90s", "5m", "1h30m" or minutes)')
        seconds *= sign
    else:
        raise ValueError(f"not a duration: {value!r}")
    if seconds < 0 and not allow_negative:
        raise ValueError(f"a duration cannot be negative: {value!r}")
    if abs(seconds) > 14 * 24 * 3600:
        raise ValueError(f"duration too long: {value!r} (at most 14 days)")
    return seconds


def format_duration(seconds: float, *, signed: bool = False) -> str:
    """Format seconds as M:SS or H:MM:SS ("-" for negative, "+" when signed)."""
    total = round(seconds)
    sign = "-" if total < 0 else ("+" if signed and total > 0 else "")
    total = abs(total)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}:{minutes:02d}:{secs:02d}"
    return f"{sign}{minutes}:{secs:02d}"
