"""Modal dialogs: confirm, message, recovery plan, session picker, keys, report.

Each dialog asks one thing and dismisses with the answer (None when left); the screen that opened it
decides what the answer does (``pick_session`` sets the chosen session on the screen that asked). A dialog
shows what it is given: it must never send a command, read the link, or import a screen or the App.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Markdown, OptionList, Static
from textual.widgets.option_list import Option

from ..core.commands import MAX_FOCUS_TEXT, PRESET_MESSAGES
from ..core.durations import format_duration
from ..core.state import State
from .actions import ConsoleAction, key_label
from .labels import plain, report_parser


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "dismiss(False)", "Cancel"), Binding("y", "dismiss(True)", "Yes")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(plain(self.question), classes="question")
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", variant="error", id="yes")
                yield Button("Cancel (Esc)", id="no")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class MessageScreen(ModalScreen[tuple[str, str] | None]):
    """Choose who gets it, then pick a preset (1-3) or type a message.

    The focus starts at the top, on the recipients, and Tab follows the layout (recipients, presets, text).
    Typing while a list has the focus types into the text box, and Enter sends what the screen shows: the
    typed text when there is some, else the preset Enter is pressed on; Enter on the recipients with
    nothing typed moves on to the presets."""

    # The digits pick a preset wherever the focus is but in the text box (which types them).
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel"),
        *(Binding(str(n), f"preset({n})", show=False) for n in range(1, len(PRESET_MESSAGES) + 1)),
    ]

    def __init__(self, recipients: list[tuple[str, str]]) -> None:
        super().__init__()
        self.recipients = recipients  # (id, label): "floor", "all", then people (their names: text, not markup)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Message", classes="question")
            yield OptionList(*[Option(plain(label), id=rid) for rid, label in self.recipients], id="to", markup=False)
            yield OptionList(
                *[Option(plain(f"{n}. {text}"), id=str(n)) for n, text in enumerate(PRESET_MESSAGES, 1)],
                id="presets",
                markup=False,
            )
            # Not selected on focus: a character typed on a list lands here and the next ones follow it.
            yield Input(
                placeholder="…or type a message and press Enter", max_length=500, id="text", select_on_focus=False
            )

    def on_mount(self) -> None:
        self.query_one("#to", OptionList).highlighted = 0
        self.query_one("#to", OptionList).focus()

    def on_key(self, event: events.Key) -> None:
        """A character typed on a list goes to the text box (the digits of the presets aside): it never lands
        in a list, to be followed by an Enter that sends a preset nobody read."""
        if not isinstance(self.focused, OptionList) or not event.is_printable or event.character is None:
            return
        if event.character in self._preset_keys:
            return
        box = self.query_one("#text", Input)
        box.focus()
        box.insert_text_at_cursor(event.character)
        event.stop()
        event.prevent_default()

    _preset_keys = frozenset(str(n) for n in range(1, len(PRESET_MESSAGES) + 1))

    def _typed_text(self) -> str:
        return self.query_one("#text", Input).value.strip()

    def _to(self) -> str:
        to = self.query_one("#to", OptionList)
        index = to.highlighted or 0
        return self.recipients[index][0]

    def action_preset(self, number: int) -> None:
        self.dismiss((PRESET_MESSAGES[number - 1], self._to()))

    @on(OptionList.OptionSelected, "#presets")
    def _preset(self, event: OptionList.OptionSelected) -> None:
        self.dismiss((PRESET_MESSAGES[int(event.option.id or 1) - 1], self._to()))

    @on(OptionList.OptionSelected, "#to")
    def _chose_recipient(self) -> None:
        if self._typed_text():
            self.dismiss((self._typed_text(), self._to()))
            return
        self.query_one("#presets", OptionList).focus()

    @on(Input.Submitted)
    def _typed(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss((event.value.strip(), self._to()))


FOCUS_PRESETS = ("ON AIR", "Wrap up", "Thank you")


class FocusScreen(ModalScreen[str | None]):
    """The focus text for the stage displays: a preset or a typed text; "" clears the one shown."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, shown: str | None) -> None:
        super().__init__()
        self.shown = shown  # the focus text the displays show now, if any

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Focus text on the stage displays", classes="question")
            if self.shown is not None:
                yield Label(plain(f"Shown now: {self.shown}"))
            options = [Option(plain(text), id=f"preset-{n}") for n, text in enumerate(FOCUS_PRESETS)]
            if self.shown is not None:
                options.append(Option("Clear the focus text", id="clear"))
            yield OptionList(*options, id="focus-presets", markup=False)
            yield Input(placeholder="…or type a text and press Enter", max_length=MAX_FOCUS_TEXT, id="focus-text")

    def on_mount(self) -> None:
        self.query_one("#focus-presets", OptionList).focus()

    @on(OptionList.OptionSelected, "#focus-presets")
    def _preset(self, event: OptionList.OptionSelected) -> None:
        option = event.option.id or ""
        self.dismiss("" if option == "clear" else FOCUS_PRESETS[int(option.removeprefix("preset-"))])

    @on(Input.Submitted, "#focus-text")
    def _typed(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())


class TimeInput(Input):
    """A time of day typed as HH:MM: it takes digits and colons only, so that the dialog's letter keys ("a" to
    apply) still work while it has the focus."""

    ALLOWED = frozenset("0123456789:")

    def check_consume_key(self, key: str, character: str | None) -> bool:
        if character is not None and character.isprintable() and character not in self.ALLOWED:
            return False
        return super().check_consume_key(key, character)

    async def _on_key(self, event: events.Key) -> None:
        # Textual runs Input's own handler after this one unless the default is prevented: a letter is kept
        # from it (it would swallow the key) and bubbles on to the dialog's bindings.
        if event.is_printable and event.character is not None and event.character not in self.ALLOWED:
            event.prevent_default()


class PlanScreen(ModalScreen[str | None]):
    """The proposed trims to end on time; change the target and apply, or leave."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close"), Binding("a", "apply", "Apply")]
    TITLE_WIDTH = 36

    def __init__(self, rows: list[tuple[str, int, int]], summary: str, target: str) -> None:
        super().__init__()
        self.rows = rows
        self.summary = summary
        self.target = target

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label("Recovery plan", classes="question")
            yield Static(plain(self.summary), id="plan-summary")
            table: DataTable[Any] = DataTable(id="plan-table", cursor_type="none")
            yield table
            with Horizontal(classes="buttons"):
                yield Label("Target end (HH:MM):")
                yield TimeInput(self.target, id="target", max_length=5, restrict=r"[0-9:]*", select_on_focus=False)
                yield Button("Apply (a)", variant="warning", id="apply")
                yield Button("Close (Esc)", id="close")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        # A long title would push the figures out of sight at 80 columns: it is cut, the figures stay.
        title_width = min(self.TITLE_WIDTH, max((len(title) for title, _, _ in self.rows), default=4))
        table.add_column("Item", width=title_width)
        table.add_columns("Now", "Proposed", "Trim")
        for title, old, new in self.rows:
            table.add_row(
                Text(title, no_wrap=True, overflow="ellipsis"),
                format_duration(old),
                format_duration(new),
                format_duration(new - old, signed=True),
            )
        if not self.rows:
            table.add_row(Text("no trims needed", style="dim"), "", "", "")
        # The target takes typing at once: a new time, Enter, and the plan is computed for it.
        self.query_one("#target", Input).focus()

    def action_apply(self) -> None:
        self.dismiss(self.query_one("#target", Input).value.strip() or None)

    @on(Input.Submitted, "#target")
    def _changed(self, event: Input.Submitted) -> None:
        # A new target: the console recomputes and shows the plan again.
        self.dismiss("?" + event.value.strip())

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "apply":
            self.action_apply()
        else:
            self.dismiss(None)


def session_options(state: State) -> list[tuple[str, str]]:
    """Each session as the picker lists it: when, title, room and status (text: the title and room are the
    agenda file's, the status's brackets are brackets)."""
    assert state.agenda is not None
    options = []
    for plan, live in zip(state.agenda.sessions, state.sessions, strict=True):
        room = f" · {plan.room}" if plan.room else ""
        options.append((plan.id, f"{plan.start:%a %d %b %H:%M}  {plan.title}{room}  [{live.status.replace('_', ' ')}]"))
    return options


def pick_session(screen: Any, state: State) -> None:
    """Open the session picker on ``screen``; the chosen session becomes the one it shows."""

    def chosen(session_id: str | None) -> None:
        if session_id:
            screen.session_id = session_id
            screen.refresh_view()

    screen.app.push_screen(SessionPicker(session_options(state)), chosen)


class SessionPicker(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, sessions: list[tuple[str, str]]) -> None:
        super().__init__()
        self.sessions = sessions

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Session", classes="question")
            yield OptionList(*[Option(plain(label), id=sid) for sid, label in self.sessions], markup=False)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class ItemPicker(ModalScreen[str | None]):
    """Pick an item still to come: a hand raised for it joins its queue when it starts."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, items: list[tuple[str, str]]) -> None:
        super().__init__()
        self.items = items  # (id, title): titles are outside text, shown as text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Raise your hand for", classes="question")
            yield OptionList(*[Option(plain(title), id=item_id) for item_id, title in self.items], markup=False)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class KeysScreen(ModalScreen[None]):
    """Every key, in a compact dialog: the whole list fits 30 rows; on a smaller terminal the arrows,
    PgUp/PgDn and Home/End scroll it."""

    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss(None)", "Close"),
        Binding("up", "scroll('up')", show=False),
        Binding("down", "scroll('down')", show=False),
        Binding("pageup", "scroll('page_up')", show=False),
        Binding("pagedown", "scroll('page_down')", show=False),
        Binding("home", "scroll('home')", show=False),
        Binding("end", "scroll('end')", show=False),
    ]

    def __init__(self, actions: tuple[ConsoleAction, ...]) -> None:
        super().__init__()
        self.actions = actions

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide keys"):
            yield Label("Keys (every action is also in the command palette, Ctrl+P)", classes="question")
            table: DataTable[Any] = DataTable(cursor_type="none", show_header=False, id="keys-table")
            table.can_focus = False  # the screen's bindings scroll it, Home and End included
            yield table

    def action_scroll(self, where: str) -> None:
        table = self.query_one(DataTable)
        moves = {
            "up": table.scroll_up,
            "down": table.scroll_down,
            "page_up": table.scroll_page_up,
            "page_down": table.scroll_page_down,
            "home": table.scroll_home,
            "end": table.scroll_end,
        }
        moves[where](animate=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Key", "Action")
        for action in self.actions:
            table.add_row(plain(key_label(action.key)), plain(action.description))
        table.add_row(
            plain("Tab"), plain("Switch between the rundown and the queue; ↑/↓ pick the row g, k and f act on")
        )
        table.add_row(plain("Ctrl+P"), plain("Command palette"))
        table.add_row(plain("Ctrl+Q"), plain("Quit"))


class ReportScreen(ModalScreen[None]):
    """The server's report of the session so far, as Markdown read as data: names and titles in it are
    what people typed, so nothing in it is a link to follow or an action to run (``report_parser``)."""

    BINDINGS = [Binding("escape,r,q", "dismiss(None)", "Close")]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog wide report"):
            yield Markdown(self.text, parser_factory=report_parser, open_links=False)


# --- the rundown editor's dialog -----------------------------------------------------------------------

ITEM_KINDS = ("talk", "discussion", "panel", "qa", "opening", "closing", "break", "other")
ItemFields = dict[str, Any]


def check_item_fields(values: dict[str, str], people: frozenset[str]) -> tuple[ItemFields, str]:
    """The dialog's text as an item's fields, and what is wrong with it ("" when nothing is): checked on
    every key, so the dialog says at once what the server would refuse."""
    from ..core.durations import parse_duration

    fields: ItemFields = {}
    title = " ".join(values.get("title", "").split())
    if not title:
        return fields, "A title is needed."
    if any(ord(ch) < 32 for ch in values.get("title", "")):
        return fields, "The title may not hold control characters."
    fields["title"] = title
    try:
        fields["duration_s"] = parse_duration(values.get("duration", "").strip())
    except ValueError:
        return fields, "The duration is not one: write 5m, 1h30m or 90s."
    if fields["duration_s"] > 24 * 3600:
        return fields, "The duration is over a day."
    kind = values.get("kind", "").strip() or "other"
    if kind not in ITEM_KINDS:
        return fields, f"The kind is one of: {', '.join(ITEM_KINDS)}."
    fields["kind"] = kind
    limit = values.get("turn_limit", "").strip()
    try:
        fields["turn_limit_s"] = parse_duration(limit) if limit else None
    except ValueError:
        return fields, "The turn limit is not a duration: write 2m, or leave it empty for none."
    if fields["turn_limit_s"] == 0:
        fields["turn_limit_s"] = None
    fixed = values.get("fixed_start", "").strip()
    if fixed:
        hours, _, minutes = fixed.partition(":")
        if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and int(hours) < 24 and int(minutes) < 60):
            return fields, "The fixed start is a time of day, HH:MM, or empty for none."
    fields["fixed_start"] = fixed or None
    speakers = tuple(p.strip() for p in values.get("speakers", "").split(",") if p.strip())
    unknown = [p for p in speakers if p not in people]
    if unknown:
        return fields, f"Not on the roster: {', '.join(unknown)}."
    fields["speakers"] = speakers
    return fields, ""


class ItemDialog(ModalScreen[ItemFields | None]):
    """Add or edit a rundown item: title, duration, kind, speakers, turn limit, fixed start. What is wrong is
    said as it is typed, and Save (Enter in any field) takes only what is right."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]
    FIELDS = (
        ("title", "Title"),
        ("duration", "Duration"),
        ("kind", "Kind"),
        ("speakers", "Speakers"),
        ("turn_limit", "Turn limit"),
        ("fixed_start", "Fixed start"),
    )
    HINTS = {
        "duration": "5m, 1h30m, 90s",
        "kind": ", ".join(ITEM_KINDS),
        "speakers": "ids, comma-separated",
        "turn_limit": "2m, or empty for none",
        "fixed_start": "HH:MM, or empty for none",
    }

    def __init__(self, heading: str, values: dict[str, str], people: frozenset[str]) -> None:
        super().__init__()
        self.heading = heading
        self.values = values
        self.people = people

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog item-dialog"):
            yield Label(plain(self.heading), classes="question")
            for name, label in self.FIELDS:
                with Horizontal(classes="item-field"):
                    yield Label(plain(label))
                    yield Input(
                        self.values.get(name, ""),
                        placeholder=self.HINTS.get(name, ""),
                        id=f"item-{name}",
                        max_length=300,
                    )
            yield Static("", id="item-problem")
            with Horizontal(classes="buttons"):
                yield Button("Save (Enter)", variant="primary", id="save")
                yield Button("Cancel (Esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#item-title", Input).focus()
        self._check()

    def _values(self) -> dict[str, str]:
        return {name: self.query_one(f"#item-{name}", Input).value for name, _ in self.FIELDS}

    def _check(self) -> tuple[ItemFields, str]:
        fields, problem = check_item_fields(self._values(), self.people)
        self.query_one("#item-problem", Static).update(plain(problem, style="bold red") if problem else plain(""))
        self.query_one("#save", Button).disabled = bool(problem)
        return fields, problem

    @on(Input.Changed)
    def _changed(self) -> None:
        self._check()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self._save()

    def _save(self) -> None:
        fields, problem = self._check()
        if not problem:
            self.dismiss(fields)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self._save()
        else:
            self.dismiss(None)
