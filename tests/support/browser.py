"""Playwright for Python driving Debian's Chromium (``executable_path``: no browser is downloaded).

``chromium_path()`` finds the browser or is None; ``launch(playwright)`` starts it headless, or skips the
test saying why. ``png_pixels`` reads a screenshot's pixels without an imaging library (what the display
tests check of the key colour and the mirroring). ``.ci/run`` installs Debian's ``chromium`` as root.
"""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
SKIP_REASON = (
    "Chromium is not installed (.ci/run installs Debian's chromium as root; by hand: apt-get install -y chromium)"
)


def chromium_path() -> str | None:
    for candidate in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = candidate if Path(candidate).is_file() else shutil.which(candidate)
        if found:
            return found
    return None


def playwright_missing() -> str | None:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


async def launch(playwright: object) -> object:
    """Headless Chromium, or a skip with the reason when it cannot start."""
    from playwright.async_api import Error, Playwright

    assert isinstance(playwright, Playwright)
    path = chromium_path()
    if path is None:
        pytest.skip(SKIP_REASON)
    try:
        return await playwright.chromium.launch(
            executable_path=path, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
    except Error as exc:
        pytest.skip(f"Chromium ({path}) did not start: {str(exc).splitlines()[0]}")


def png_pixels(data: bytes) -> tuple[int, int, list[list[tuple[int, int, int]]]]:
    """Width, height and RGB rows of an 8-bit RGB or RGBA PNG (what Chromium's screenshots are)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, chunks, width, height, kind = 8, b"", 0, 0, 0
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        tag = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if tag == b"IHDR":
            width, height, depth, kind = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and kind in (2, 6), f"unsupported PNG: depth {depth}, colour type {kind}"
        elif tag == b"IDAT":
            chunks += body
        offset += 12 + length
    channels = 3 if kind == 2 else 4
    raw = zlib.decompress(chunks)
    stride = width * channels
    rows: list[list[tuple[int, int, int]]] = []
    previous = bytearray(stride)
    position = 0
    for _ in range(height):
        kind_of_filter = raw[position]
        line = bytearray(raw[position + 1 : position + 1 + stride])
        position += 1 + stride
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            upper_left = previous[i - channels] if i >= channels else 0
            if kind_of_filter == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind_of_filter == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind_of_filter == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind_of_filter == 4:
                p = left + up - upper_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - upper_left)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else upper_left
                line[i] = (line[i] + predictor) & 0xFF
        rows.append([tuple(line[x * channels : x * channels + 3]) for x in range(width)])  # type: ignore[misc]
        previous = line
    return width, height, rows
