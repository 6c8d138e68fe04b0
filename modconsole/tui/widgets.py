"""The moderator's widgets, grouped by what they show: the timer, the session summary, the rundown, the
queue and the connection bar (which the audience screens show too).

Each draws the core's figures for one time (``session_view``, put into words by ``figures``) and lays out
its columns to the width it has. A widget draws what it is given when it is given it: it must never keep a
link, send a command, or import a screen or the App.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from rich.console import JustifyMethod
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Digits, Label, Static

from ..core.durations import format_duration
from ..core.read_model import HandView, ItemView, SessionView
from ..core.state import State
from ..i18n import N_, _
from .figures import PHASE_WORDS, PHASES, clock_text, drift_words, hhmm, local_time
from .labels import person_label
from .link import Link

KIND_WORDS = {"contribution": "speak", "reply": "reply", "question": "question", "point_of_order": "ORDER!"}
KIND_MARKS = {"contribution": " ", "reply": "↩", "question": "?", "point_of_order": "!"}


class TimerPanel(Vertical):
    """The current item's timer, large, with its phase in colour and in words."""

    def compose(self) -> ComposeResult:
        yield Label("", id="timer-title")
        yield Digits("--:--", id="timer-digits")
        yield Label("", id="timer-phase")

    def show(self, view: SessionView | None) -> None:
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
        remaining = view["current_remaining_s"]
        assert remaining is not None  # there is a current item
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

    def show(self, view: SessionView | None, zone_name: str, local_zone: tzinfo | None, messages: list[str]) -> None:
        if view is None:
            self.update("No session")
            return
        lines = Text()
        lines.append(view["title"], style="bold")
        if view["room"]:
            lines.append(f" · {view['room']}")
        planned = view["planned_duration_s"] + view["extended_s"]
        status = view["status"].replace("_", " ").upper()
        figures = f"{format_duration(view['elapsed_s'])} of {format_duration(planned)}"
        extension = f"+{format_duration(view['extended_s'])}" if view["extended_s"] else ""
        # One line rather than two in a narrow panel: the words give way, the figures stay.
        choices = [
            f"{status}  elapsed {figures}" + (f" ({extension} extended)" if extension else ""),
            f"{status}  {figures}" + (f" ({extension} extended)" if extension else ""),
            f"{status}  {figures}" + (f" ({extension} ext.)" if extension else ""),
        ]
        width = self.content_size.width or len(choices[0])  # before the first layout: the full words
        lines.append("\n" + next((line for line in choices if len(line) <= width), choices[-1]))
        end = view["projected_end"]
        ended = view["status"] == "ended"
        lines.append(f"\n{'ended' if ended else 'ends'} {hhmm(end)} {zone_name.rsplit('/', 1)[-1]}")
        local = local_time(end, local_zone)
        if local != hhmm(end):
            lines.append(f" · {local} local")
        drift = drift_words(view["over_under_s"])
        if ended:
            drift = drift.replace("behind", "over").replace("ahead", "early")
        style = "bold red" if view["over_under_s"] >= 60 else ("green" if drift == "on time" else "bold yellow")
        lines.append("  ")
        lines.append(drift, style=style)
        for message in messages[-1:]:
            lines.append(f"\n{message}", style="italic")
        self.update(lines)


Column = tuple[str, int]  # label and width; width 0 is the title, which takes what is left
MIN_TITLE = 22


def needed(columns: list[Column], rows: list[tuple[Any, ...]]) -> list[Column]:
    """The columns widened where a cell needs more than the usual width (a duration of an hour or more,
    "1:30:00", in a column sized for "45:00"): one more than the longest cell, so a space still
    separates the figures. Only ever wider: the title gives way."""
    out = []
    for index, (label, w) in enumerate(columns):
        if w and label:
            longest = max(
                (len(cell.plain if isinstance(cell, Text) else str(cell)) for cell in (row[index] for row in rows)),
                default=0,
            )
            w = max(w, longest + 1)
        out.append((label, w))
    return out


def fit_columns(table: DataTable[Any], columns: list[Column], width: int) -> None:
    """Lay out columns without cell padding: figures are right-aligned in a width one wider
    than they need, so a space always separates them, and the title takes the rest."""
    table.clear(columns=True)
    fixed = sum(w for _, w in columns)
    title = max(10, width - fixed - 1)  # one cell for a vertical scrollbar
    for label, w in columns:
        justify: JustifyMethod = "left" if w == 0 or not label else "right"
        table.add_column(Text(label, justify=justify), key=label or "mark", width=w or title)


def right(text: str | Text) -> Text:
    out = text if isinstance(text, Text) else Text(text)
    out.justify = "right"
    return out


class Rundown(DataTable[Any]):
    """Every item: planned and actual start and duration, projected start, over/under."""

    # Narrow (80 columns): the actual duration is coloured by over/under instead of a ± column,
    # and Start is the actual start of items that ran, the projected start of the others.
    NARROW: list[Column] = [("", 2), ("Item", 0), ("Plan", 6), ("Ran", 6), ("Start", 6)]
    WIDE: list[Column] = [
        ("", 2),
        ("Item", 0),
        ("Kind", 11),
        ("Planned", 8),
        ("Plan", 7),
        ("Started", 8),
        ("Ran", 7),
        ("Projected", 10),
        ("±", 8),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, cell_padding=0, **kwargs)
        self._shape: tuple[Any, ...] = ()

    def show(self, view: SessionView | None) -> None:
        if view is None:
            return
        width = self.size.width
        wide = width >= sum(w for _, w in self.WIDE) + MIN_TITLE
        current = None if view["status"] == "ended" else view["current_item"]
        rows = [self._row(item, current, wide) for item in view["items"]]
        columns = needed(self.WIDE if wide else self.NARROW, rows)
        shape = (view["id"], width, tuple(i["id"] for i in view["items"]), tuple(columns))
        if shape != self._shape:
            self._shape = shape
            cursor = self.cursor_row
            fit_columns(self, columns, width)
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
    def _row(item: ItemView, current: str | None, wide: bool) -> tuple[Any, ...]:
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
        title = Text(item["title"], style="bold" if item["id"] == current else "", no_wrap=True, overflow="ellipsis")
        if item["status"] == "skipped":
            title.stylize("strike dim")
        if wide:
            return (
                mark,
                title,
                right(item["kind"]),
                right(hhmm(item["planned_start"])),
                right(plan),
                right(hhmm(item["actual_start"])),
                right(actual),
                right(hhmm(item["projected_start"])),
                right(over_text),
            )
        return (mark, title, right(plan), right(Text(actual, style=over_text.style)), right(start))

    @property
    def selected_item(self) -> str | None:
        if self.row_count == 0:
            return None
        row_key, _ = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0))
        return str(row_key.value)


class QueuePanel(Vertical):
    """The person with the floor and their turn, then the queue in order."""

    def compose(self) -> ComposeResult:
        yield Label("", id="floor")
        yield DataTable(id="queue-table", cursor_type="row", zebra_stripes=True, cell_padding=0)

    # Narrow: the kind is a mark before the name ("!" a point of order, "?" a question).
    NARROW: list[Column] = [("#", 3), ("Name", 0), ("ETA", 6), ("●", 2)]
    WIDE: list[Column] = [("#", 3), ("Name", 0), ("Kind", 9), ("Waited", 7), ("ETA", 7), ("Online", 7)]

    def on_mount(self) -> None:
        self._people: tuple[str, ...] = ()
        self._width = -1
        self._laid_out: list[Column] = []

    def _columns(self, table: DataTable[Any], columns: list[Column]) -> None:
        width = table.size.width or self.size.width
        fit_columns(table, columns, width)
        self._people = ()

    @property
    def _wide(self) -> bool:
        return self.size.width >= sum(w for _, w in self.WIDE) + MIN_TITLE

    def show(self, view: SessionView | None, state: State, online: set[str] | None) -> None:
        floor_label = self.query_one("#floor", Label)
        table = self.query_one(DataTable)
        if view is None:
            return
        floor = view["floor"]
        queue = view["queue"]
        shown = "closed" if not view["queue_open"] else f"{len(queue)} waiting"
        if view["status"] == "ended":
            # Hands still up when the session ended wait for nothing: no places, no estimates.
            hands = f"{len(queue)} hand{'s' if len(queue) != 1 else ''} up"
            queue, shown = [], f"ended · {hands}" if queue else "ended"
        elif view["waiting"]:
            # Hands not in the queue yet: raised for a later item, or before the start.
            later = len(view["waiting"])
            shown += f" · {later} for later" if view["status"] != "not_started" else f" · {later} for the start"
        self.border_title = f"Queue · {shown}"
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
                text.append(f"/{format_duration(limit)}")
                if floor["phase"] != "normal":  # words only when it matters: the name needs the room
                    text.append(f" {PHASE_WORDS[floor['phase']]}")
            if floor["paused"]:
                text.append(" PAUSED")
            text.append(f" · {person_label(state, floor['person'])}", style="bold")
            floor_label.update(text)
            floor_label.set_classes(f"phase-{floor['phase']}")
        wide = self._wide
        rows = [self._row(h, state, online, wide) for h in queue]
        columns = needed(self.WIDE if wide else self.NARROW, rows)  # an estimate of an hour or more
        if (self.size.width, columns) != (self._width, self._laid_out):
            self._width, self._laid_out = self.size.width, columns
            self._columns(table, columns)
        people = tuple(h["person"] for h in queue)
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
    def _row(hand: HandView, state: State, online: set[str] | None, wide: bool) -> tuple[Any, ...]:
        person = state.person(hand["person"])
        name = Text(no_wrap=True, overflow="ellipsis")
        if wide:
            name.append(" ")
        else:
            mark = KIND_MARKS.get(hand["kind"], " ")
            name.append(" ")
            name.append(mark, style="bold reverse red" if hand["kind"] == "point_of_order" else "bold")
            name.append(" ")
        name.append(person_label(state, hand["person"]))
        if wide and person is not None and person.affiliation:
            name.append(f" · {person.affiliation}", style="dim")
        kind = Text(
            KIND_WORDS.get(hand["kind"], hand["kind"]), style="bold reverse" if hand["kind"] == "point_of_order" else ""
        )
        on = "?" if online is None else ("●" if hand["person"] in online else "○")
        position = right(f"{hand['position']}")
        if wide:
            eta = "~" + format_duration(hand["estimated_wait_s"])
            return (position, name, right(kind), right(format_duration(hand["waited_s"])), right(eta), right(on))
        return (position, name, right(format_duration(hand["estimated_wait_s"])), right(on))

    @property
    def selected_person(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0))
        return str(row_key.value)


LINK_WORDS = {
    "connecting": N_("connecting"),
    "connected": N_("connected"),
    "reconnecting": N_("reconnecting"),
    "refused": N_("refused"),
}


class ConnectionBar(Static):
    """Connection health, always visible: connected or not, round trip, clock offset."""

    def __init__(self, *, sends_commands: bool = True, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sends_commands = sends_commands  # the stage display sends none: it only says the state may be old

    def show(self, link: Link) -> None:
        text = Text()
        if link.status == "connected":
            text.append("● " + _(LINK_WORDS["connected"]), style="bold green")
            if link.rtt_ms is not None:
                text.append(f"  rtt {link.rtt_ms:.0f} ms")
            if link.offset_ms is not None:
                text.append("  " + _("clock offset {offset} s").format(offset=f"{link.offset_ms / 1000:+.1f}"))
        else:
            text.append(f"○ {_(LINK_WORDS.get(link.status, link.status))}", style="bold red reverse")
            refused = _("commands refused") if self.sends_commands else _("showing the last state known")
            text.append(" " + refused, style="bold")
            if link.detail:
                text.append(f" · {link.detail}")
        state = link.state
        if state is not None:
            text.append(f"  seq {state.seq}", style="dim")
            if state.clock.scale != 1:
                text.append(f"  rehearsal clock ×{state.clock.scale:g}", style="bold yellow")
        self.update(text)
