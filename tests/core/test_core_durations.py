"""Durations as people write them, and as the console shows them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modconsole.core.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("5m", 300),
        ("1h30m", 5400),
        ("1h 30m", 5400),
        (" 2m 5s ", 125),
        ("1h", 3600),
        ("0s", 0),
        ("10", 600),
        (5, 300),
        (0, 0),
        ("+5m", 300),
        ("336h", 14 * 24 * 3600),
    ],
)
def test_parse_duration(text: object, seconds: int) -> None:
    assert parse_duration(text) == seconds


def test_negative_only_when_allowed() -> None:
    assert parse_duration("-1m", allow_negative=True) == -60
    assert parse_duration("-90s", allow_negative=True) == -90
    assert parse_duration(-2, allow_negative=True) == -120
    for value in ("-1m", "-90s", -2):
        with pytest.raises(ValueError, match="negative"):
            parse_duration(value)


@pytest.mark.parametrize(
    "garbage",
    ["", " ", "m", "5x", "1.5m", "five minutes", "5m-", "--5m", "h1", "1e3", "m5", None, 1.5, True, [5], "337h"],
)
def test_garbage_raises_value_error(garbage: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(garbage)
    with pytest.raises(ValueError):
        parse_duration(garbage, allow_negative=True)


@pytest.mark.parametrize(
    ("seconds", "text", "signed"),
    [
        (0, "0:00", "0:00"),
        (59, "0:59", "+0:59"),
        (90, "1:30", "+1:30"),
        (3599, "59:59", "+59:59"),
        (3600, "1:00:00", "+1:00:00"),
        (5400, "1:30:00", "+1:30:00"),
        (-90, "-1:30", "-1:30"),
        (-3661, "-1:01:01", "-1:01:01"),
        (89.6, "1:30", "+1:30"),
    ],
)
def test_format_duration(seconds: float, text: str, signed: str) -> None:
    assert format_duration(seconds) == text
    assert format_duration(seconds, signed=True) == signed


@given(hours=st.integers(0, 300), minutes=st.integers(0, 59), seconds=st.integers(0, 59))
def test_parse_reads_what_people_write(hours: int, minutes: int, seconds: int) -> None:
    total = hours * 3600 + minutes * 60 + seconds
    text = "".join(f"{n}{u}" for n, u in ((hours, "h"), (minutes, "m"), (seconds, "s")) if n) or "0s"
    assert parse_duration(text) == total
    assert parse_duration(f"-{text}", allow_negative=True) == -total
    shown = format_duration(total)
    assert shown.endswith(f"{seconds:02d}")
    parts = [int(p) for p in shown.split(":")]
    assert sum(p * 60**i for i, p in enumerate(reversed(parts))) == total
