"""A clock in a block font five pixels high, scaled to the space it has: for a stage display read
across a room. Each pixel is ``sx`` cells wide and ``sy`` rows high (a terminal cell is about twice as
high as it is wide, so ``sx = 2 * sy`` draws square pixels); below five rows, Textual's three-row
Digits are used instead.

A widget only: it draws the text it is given and must never know what the digits mean, nor import a
screen or the App.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Digits

if TYPE_CHECKING:
    from textual.app import RenderResult

ROWS = 5
BLOCK = "█"
# Each glyph: five rows of pixels, "#" lit. Glyphs are separated by one unlit pixel column.
FONT: dict[str, tuple[str, ...]] = {
    "0": ("###", "#.#", "#.#", "#.#", "###"),
    "1": (".#.", "##.", ".#.", ".#.", "###"),
    "2": ("###", "..#", "###", "#..", "###"),
    "3": ("###", "..#", "###", "..#", "###"),
    "4": ("#.#", "#.#", "###", "..#", "..#"),
    "5": ("###", "#..", "###", "..#", "###"),
    "6": ("###", "#..", "###", "#.#", "###"),
    "7": ("###", "..#", "..#", "..#", "..#"),
    "8": ("###", "#.#", "###", "#.#", "###"),
    "9": ("###", "#.#", "###", "..#", "###"),
    ":": (".", "#", ".", "#", "."),
    "+": ("...", ".#.", "###", ".#.", "..."),
    "-": ("...", "...", "###", "...", "..."),
    "#": (".#.#.", "#####", ".#.#.", "#####", ".#.#."),
    " ": ("..", "..", "..", "..", ".."),
    # The letters of "BACK AT 14:00", the stage display's words during a break.
    "A": (".#.", "#.#", "###", "#.#", "#.#"),
    "B": ("##.", "#.#", "##.", "#.#", "##."),
    "C": ("###", "#..", "#..", "#..", "###"),
    "K": ("#.#", "#.#", "##.", "#.#", "#.#"),
    "T": ("###", ".#.", ".#.", ".#.", ".#."),
}
_DIGIT = re.compile(r"\d")


def drawable(text: str) -> bool:
    return bool(text) and all(ch in FONT for ch in text)


def pixel_width(text: str) -> int:
    return sum(len(FONT[ch][0]) for ch in text) + max(0, len(text) - 1)


def layout_width(text: str) -> int:
    """The width to lay a clock out for: every "M:SS" is laid out as "MM:SS", so the clock keeps
    its size when 10:00 becomes 9:59."""
    template = _DIGIT.sub("8", text)
    if re.fullmatch(r"[+-]?8:88", template):
        template = template.replace("8:", "88:", 1)
    return pixel_width(template)


def fit(text: str, width: int, height: int) -> tuple[int, int] | None:
    """The largest pixel size (sx cells, sy rows) at which ``text`` fits, or None below five rows.
    Pixels may be narrower than square, down to half as wide (a condensed face), never wider."""
    if not drawable(text):
        return None
    px = layout_width(text)
    for sy in range(height // ROWS, 0, -1):
        sx = min(2 * sy, width // px)
        if sx >= sy:
            return sx, sy
    return None


def render_lines(text: str, sx: int, sy: int) -> list[str]:
    lines = []
    for row in range(ROWS):
        parts = []
        for index, ch in enumerate(text):
            if index:
                parts.append(" " * sx)
            parts.append("".join((BLOCK if lit == "#" else " ") * sx for lit in FONT[ch][row]))
        line = "".join(parts)
        lines.extend([line] * sy)
    return lines


def decode(lines: list[str]) -> str:
    """Read a clock drawn by ``render_lines`` back from the screen's text (tests and a browser's
    terminal buffer): the inverse of the drawing, whatever its scale and position."""
    cleaned = [re.sub(f"[^{BLOCK}]", " ", line).rstrip() for line in lines]
    lit = [index for index, line in enumerate(cleaned) if line]
    if not lit:
        return ""
    rows = cleaned[lit[0] : lit[-1] + 1]  # a clock with digits lights its first and last rows
    left = min(len(r) - len(r.lstrip(" ")) for r in rows if r)
    rows = [r[left:] for r in rows]
    width = max(len(r) for r in rows)
    rows = [r.ljust(width) for r in rows]
    sy = len(rows) // ROWS
    if sy == 0 or len(rows) % ROWS:
        return ""
    pixel_rows = rows[::sy]
    # The pixel width is the shortest run of lit or unlit cells (a gap between glyphs is one pixel).
    runs = []
    for r in pixel_rows:
        runs += [len(m.group()) for m in re.finditer(r"█+| +", r.rstrip())]
    sx = min(runs)
    grid = ["".join("#" if r[i] == BLOCK else "." for i in range(0, width, sx)) for r in pixel_rows]
    columns = ["".join(g[i] for g in grid) for i in range(len(grid[0]))]
    glyphs = {
        tuple("".join(rows_[r][c] for r in range(ROWS)) for c in range(len(rows_[0]))): ch
        for ch, rows_ in FONT.items()
        if ch != " "
    }
    out: list[str] = []
    current: list[str] = []
    for column in [*columns, "....."]:
        if column == ".....":
            if current:
                out.append(glyphs.get(tuple(current), "?"))
                current = []
            continue
        current.append(column)
    return "".join(out)


class BigDigits(Digits):
    """Digits drawn as large as the widget's space allows (the value and ``update`` are Digits')."""

    DEFAULT_CSS = """
    BigDigits {
        width: 1fr;
        height: 1fr;
    }
    """

    @property
    def scale(self) -> tuple[int, int] | None:
        width, height = self.content_size
        return fit(self.value, width, height)

    def render(self) -> RenderResult:
        width, height = self.content_size
        scale = fit(self.value, width, height)
        if scale is None:
            return super().render()
        lines = render_lines(self.value, *scale)
        top = max(0, (height - len(lines)) // 2)
        left = max(0, (width - len(lines[0])) // 2)
        return Text("\n" * top + "\n".join(" " * left + line for line in lines), no_wrap=True, overflow="crop")
