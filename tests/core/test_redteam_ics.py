"""Hostile calendars: a rule repeating every second without an end, an event lasting centuries. Each is
refused with the reason, at once, rather than expanded for minutes (run in a subprocess: a hang fails the
test instead of holding the suite)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAD = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:u1\r\nSUMMARY:Talk\r\n"
TAIL = "END:VEVENT\r\nEND:VCALENDAR\r\n"

LOAD = """
import sys
from modconsole.agenda_files import AgendaError, parse_ics
try:
    parse_ics(sys.stdin.read(), "hostile.ics")
except AgendaError as exc:
    print("refused:", exc)
else:
    print("accepted")
"""


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("DTSTART:20200101T090000Z\r\nDURATION:PT1S\r\nRRULE:FREQ=SECONDLY\r\n", "every second"),
        ("DTSTART:20200101T090000Z\r\nDURATION:P99999W\r\n", "at most two weeks"),
        ("DTSTART:20200101T090000Z\r\nDTEND:29990101T090000Z\r\n", "at most two weeks"),
    ],
)
def test_a_hostile_calendar_is_refused_at_once(body: str, reason: str) -> None:
    try:
        done = subprocess.run(
            [sys.executable, "-c", LOAD], input=HEAD + body + TAIL, capture_output=True, text=True, timeout=20
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the calendar was still being expanded after 20 s")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused:") and reason in done.stdout, done.stdout


@pytest.mark.parametrize("freq", ["MINUTELY", "HOURLY", "DAILY"])
def test_a_rule_without_an_end_still_meets_the_occurrence_limit(freq: str) -> None:
    body = f"DTSTART:20200101T090000Z\r\nDURATION:PT1M\r\nRRULE:FREQ={freq}\r\n"
    done = subprocess.run(
        [sys.executable, "-c", LOAD], input=HEAD + body + TAIL, capture_output=True, text=True, timeout=60
    )
    assert "more than 5,000 occurrences" in done.stdout, done.stdout
