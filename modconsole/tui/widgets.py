"""Widgets grouped by what they show: the timer, the session summary, the rundown,
the queue and the connection. Each renders from the core's figures for one time."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Digits, Label, Static

from ..core.durations import format_duration
from .link import Link

PHASE_WORDS = {
    "normal": "ON TIME",
    "warning": "WARNING",
    "danger": "WRAP UP",
    "overtime": "OVERTIME",
}
PHASES = tuple(PHASE_WORDS)
KIND_WORDS = {"contribution": "speak", "reply": "reply", "question": "question", "point_of_order": "ORDER!"}
KIND_MARKS = {"contribution": " ", "reply": "↩", "question": "?", "point_of_order": "!"}


def clock_text(seconds: float) -> str:
    """Remaining time, or overtime counting up with a plus."""
    if seconds >= 0:
        return format_duration(seconds)
    return "+" + format_duration(-seconds)


def hhmm(iso: str | None) -> str:
    return iso[11:16] if iso else ""


def drift_words(over_under_s: float) -> str:
    if abs(over_under_s) < 30:
        return "on time"
    return f"{format_duration(abs(over_under_s), signed=True)} {'behind' if over_under_s > 0 else 'ahead'}"


def local_time(iso: str | None, zone: tzinfo | None) -> str:
    if not iso:
        return ""
    moment = datetime.fromisoformat(iso)
    return moment.astimezone(zone).strftime("%H:%M")


class TimerPanel(Vertical):
    """The current item's timer, large, with its phase in colour and in words."""

    def compose(self) -> ComposeResult:
        yield Label("", id="timer-title")
        yield Digits("--:--", id="timer-digits")
        yield Label("", id="timer-phase")

    def show(self, view: dict[str, Any] | None) -> None:
        title = self.query_one("#timer-title", Label)
        digits = self.query_one("#timer-digits", Digits)
        phase_label = self.query_one("#timer-phase", Label)
        for phase in PHASES:
            self.remove_class(f"phase-{phase}")
        # An ended session keeps its last item as "current" in the core's figures: show it as ended.
        if view is None or view["current_item"] is None or view["status"] == "ended":
            status = "" if view is None else view["status"].replace("_", " ")
            title.update("No item running" if view is None else f"Session {status}")
            digits.update("--:--")
            phase_label.update("Press Space to start" if view and view["status"] == "not_started" else "")
            return
        item = next(i for i in view["items"] if i["id"] == view["current_item"])
        remaining = float(view["current_remaining_s"])
        phase = item["phase"] or "normal"
        self.add_class(f"phase-{phase}")
        title.update(Text(item["title"], overflow="ellipsis", no_wrap=True))
        digits.update(clock_text(remaining))
        words = PHASE_WORDS[phase]
        if view["status"] == "paused":
            words = "PAUSED · " + words
        phase_label.update(f"{words} · {format_duration(item['duration_s'])} planned")


class SummaryPanel(Static):
    """The session against its plan: elapsed, projected end (event zone and local), drift."""

    def show(self, view: dict[str, Any] | None, zone_name: str, local_zone: tzinfo | None,
             messages: list[str]) -> None:
        if view is None:
            self.update("No session")
            return
        lines = Text()
        lines.append(view["title"], style="bold")
        if view["room"]:
            lines.append(f" · {view['room']}")
        lines.append(f"\n{view['status'].replace('_', ' ').upper()}")
        planned = view["planned_duration_s"] + view["extended_s"]
        lines.append(f"  elapsed {format_duration(view['elapsed_s'])} of {format_duration(planned)}")
        if view["extended_s"]:
            lines.append(f" (+{format_duration(view['extended_s'])} extended)")
        end = view["projected_end"]
        lines.append(f"\nends {hhmm(end)} {zone_name.rsplit('/', 1)[-1]}")
        local = local_time(end, local_zone)
        if local != hhmm(end):
            lines.append(f" · {local} local")
        drift = drift_words(float(view["over_under_s"]))
        style = "bold red" if view["over_under_s"] >= 60 else ("green" if drift == "on time" else "bold yellow")
        lines.append("  ")
        lines.append(drift, style=style)
        for message in messages[-1:]:
            lines.append(f"\n{message}", style="italic")
        self.update(lines)


class Rundown(DataTable[Any]):
    """Every item: planned and actual start and duration, projected start, over/under."""

    WIDE = 84

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self._shape: tuple[Any, ...] = ()

    def show(self, view: dict[str, Any] | None) -> None:
        if view is None:
            return
        wide = self.size.width >= self.WIDE
        shape = (view["id"], self.size.width, tuple(i["id"] for i in view["items"]))
        current = None if view["status"] == "ended" else view["current_item"]
        rows = [self._row(item, current, wide) for item in view["items"]]
        if shape != self._shape:
            self._shape = shape
            cursor = self.cursor_row
            self.clear(columns=True)
            # Narrow (80 columns): the actual duration is coloured by over/under instead of a ± column.
            columns = [("", 1), ("Item", 0), ("Plan", 5), ("Ran", 5), ("Start", 5)]
            if wide:
                columns = [("", 1), ("Item", 0), ("Kind", 10), ("Planned start", 13), ("Plan", 7),
                           ("Actual start", 12), ("Actual", 7), ("Projected", 9), ("±", 7)]
            # The title takes what the figures leave (each column pads one cell on both sides).
            fixed = sum(width + 2 for _, width in columns if width) + 2
            title_width = max(12, self.size.width - fixed - 2)
            for label, width in columns:
                self.add_column(label, key=label or "mark", width=width or title_width)
            for item, row in zip(view["items"], rows, strict=True):
                self.add_row(*row, key=item["id"])
            if 0 <= cursor < self.row_count:
                self.move_cursor(row=cursor)
            return
        for item, row in zip(view["items"], rows, strict=True):
            for column, value in zip(self.columns, row, strict=True):
                if self.get_cell(item["id"], column) != value:
                    self.update_cell(item["id"], column, value)

    @staticmethod
    def _row(item: dict[str, Any], current: str | None, wide: bool) -> tuple[Any, ...]:
        mark = {"current": "▶", "done": "✓", "skipped": "–"}.get(item["status"], " ")
        if item["id"] == current:
            mark = "▶"
        actual = format_duration(item["actual_duration_s"]) if item["actual_duration_s"] is not None else ""
        over = item["over_under_s"]
        over_text = Text("")
        if over is not None and abs(over) >= 1:
            over_text = Text(format_duration(over, signed=True), style="red" if over > 0 else "green")
        start = hhmm(item["actual_start"]) if item["status"] in ("done", "current") else hhmm(item["projected_start"])
        plan = format_duration(item["duration_s"])
        if item["duration_s"] != item["planned_duration_s"]:
            plan += "*"
        title = Text(item["title"], style="bold" if item["id"] == current else "")
        if item["status"] == "skipped":
            title.stylize("strike dim")
        if wide:
            return (mark, title, item["kind"], hhmm(item["planned_start"]), plan,
                    hhmm(item["actual_start"]), actual, hhmm(item["projected_start"]), over_text)
        return (mark, title, plan, Text(actual, style=over_text.style), start)

    @property
    def selected_item(self) -> str | None:
        if self.row_count == 0:
            return None
        row_key, _ = self.coordinate_to_cell_key((self.cursor_row, 0))
        return str(row_key.value)


class QueuePanel(Vertical):
    """The person with the floor and their turn, then the queue in order."""

    def compose(self) -> ComposeResult:
        yield Label("", id="floor")
        yield DataTable(id="queue-table", cursor_type="row", zebra_stripes=True)

    WIDE = 60

    def on_mount(self) -> None:
        self._people: tuple[str, ...] = ()
        self._width = -1

    def _columns(self, table: DataTable[Any]) -> None:
        wide = self.size.width >= self.WIDE
        columns = [("#", 3), ("Name", 0), ("Kind", 8), ("Waited", 6), ("ETA", 6), ("Online", 6)]
        if not wide:
            # Narrow: the kind is a mark before the name ("!" a point of order, "?" a question).
            columns = [("#", 2), ("Name", 0), ("ETA", 5), ("●", 1)]
        fixed = sum(width + 2 for _, width in columns if width) + 2
        table.clear(columns=True)
        for label, width in columns:
            table.add_column(label, key=label, width=width or max(10, self.size.width - fixed - 2))
        self._people = ()

    def show(self, view: dict[str, Any] | None, roster: dict[str, Any], online: set[str] | None) -> None:
        floor_label = self.query_one("#floor", Label)
        table = self.query_one(DataTable)
        if view is None:
            return
        floor = view["floor"]
        queue = view["queue"]
        state = "closed" if not view["queue_open"] else f"{len(queue)} waiting"
        self.border_title = f"Queue · {state}"
        if floor is None:
            floor_label.update(Text("Floor: nobody", style="dim"))
            floor_label.set_classes("")
        else:
            limit = floor["limit_s"]
            elapsed = floor["elapsed_s"]
            # The turn's time first: in a narrow panel a long name is what gets cut.
            text = Text(no_wrap=True, overflow="ellipsis")
            text.append(f"Floor {format_duration(elapsed)}", style="bold")
            if limit:
                text.append(f"/{format_duration(limit)} {PHASE_WORDS[floor['phase']]}")
            if floor["paused"]:
                text.append(" PAUSED")
            text.append(f" · {floor['name']}", style="bold")
            floor_label.update(text)
            floor_label.set_classes(f"phase-{floor['phase']}")
        if self.size.width != self._width:
            self._width = self.size.width
            self._columns(table)
        wide = self.size.width >= self.WIDE
        people = tuple(h["person"] for h in queue)
        rows = [self._row(h, roster, online, wide) for h in queue]
        if people != self._people:
            self._people = people
            cursor = table.cursor_row
            table.clear()
            for hand, row in zip(queue, rows, strict=True):
                table.add_row(*row, key=hand["person"])
            if 0 <= cursor < table.row_count:
                table.move_cursor(row=cursor)
            return
        for hand, row in zip(queue, rows, strict=True):
            for column, value in zip(table.columns, row, strict=True):
                if table.get_cell(hand["person"], column) != value:
                    table.update_cell(hand["person"], column, value)

    @staticmethod
    def _row(hand: dict[str, Any], roster: dict[str, Any], online: set[str] | None,
             wide: bool) -> tuple[Any, ...]:
        person = roster.get(hand["person"])
        name = Text(no_wrap=True, overflow="ellipsis")
        if not wide:
            mark = KIND_MARKS.get(hand["kind"], " ")
            name.append(mark + " ", style="bold reverse red" if hand["kind"] == "point_of_order" else "bold")
        name.append(hand["name"])
        if wide and person is not None and getattr(person, "affiliation", ""):
            name.append(f" · {person.affiliation}", style="dim")
        if person is not None and getattr(person, "participant", False):
            name.append(" (participant)", style="dim")
        kind = Text(KIND_WORDS.get(hand["kind"], hand["kind"]),
                    style="bold reverse" if hand["kind"] == "point_of_order" else "")
        on = "?" if online is None else ("●" if hand["person"] in online else "○")
        if wide:
            eta = "~" + format_duration(hand["estimated_wait_s"])
            return (str(hand["position"]), name, kind, format_duration(hand["waited_s"]), eta, on)
        return (str(hand["position"]), name, format_duration(hand["estimated_wait_s"]), on)

    @property
    def selected_person(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key((table.cursor_row, 0))
        return str(row_key.value)


class ConnectionBar(Static):
    """Connection health, always visible: connected or not, round trip, clock offset."""

    def show(self, link: Link) -> None:
        text = Text()
        if link.status == "connected":
            text.append("● connected", style="bold green")
            if link.rtt_ms is not None:
                text.append(f"  rtt {link.rtt_ms:.0f} ms")
            if link.offset_ms is not None:
                text.append(f"  clock offset {link.offset_ms / 1000:+.1f} s")
        else:
            text.append(f"○ {link.status}", style="bold red reverse")
            if link.detail:
                text.append(f"  {link.detail}")
            text.append("  commands are refused until the link is back", style="italic")
        state = link.state
        if state is not None:
            text.append(f"  seq {state.seq}", style="dim")
            if state.clock.scale != 1:
                text.append(f"  rehearsal clock ×{state.clock.scale:g}", style="bold yellow")
        self.update(text)
