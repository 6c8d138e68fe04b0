"""One registry of the moderator's actions: it backs the key bindings, the footer,
the help screen and the command palette, so a key is declared once.

It owns the keys, their labels and descriptions; what a key does is the screen's ``action_<name>``.
It must never import a screen or the App, nor do anything but declare.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True)
class ConsoleAction:
    action: str  # the screen's action_<name>
    key: str
    label: str  # short, for the footer
    description: str  # for the help screen and the command palette
    footer: bool = True


MODERATOR_ACTIONS: tuple[ConsoleAction, ...] = (
    ConsoleAction("start_pause", "space", "Start/Pause", "Start the session, or pause and resume it"),
    ConsoleAction("next_item", "n", "Next", "Move to the next item"),
    ConsoleAction("prev_item", "p", "Prev", "Go back to the previous item", footer=False),
    ConsoleAction(
        "give_floor",
        "f",
        "Floor",
        "Give the floor: the next in the queue, the selected person, else the item's listed speaker",
    ),
    ConsoleAction("end_turn", "e", "End turn", "End the current turn"),
    ConsoleAction("help", "question_mark", "Keys", "Show every key"),
    ConsoleAction("add_minute", "plus", "+1m", "Add a minute to the current item", footer=False),
    ConsoleAction("remove_minute", "minus", "-1m", "Remove a minute from the current item", footer=False),
    ConsoleAction("add_turn_minute", "right_square_bracket", "Turn +1m", "Add a minute to the turn", footer=False),
    ConsoleAction(
        "remove_turn_minute", "left_square_bracket", "Turn -1m", "Remove a minute from the turn", footer=False
    ),
    ConsoleAction("extend", "x", "Extend", "Extend the session on purpose (the planned end moves)"),
    ConsoleAction("message", "m", "Message", "Message the speaker, one person or all (presets or free text)"),
    ConsoleAction("toggle_queue", "c", "Queue open/close", "Close or reopen the queue", footer=False),
    ConsoleAction("undo", "u", "Undo", "Undo the last timing action (asks first when it is over ten minutes old)"),
    ConsoleAction("redo", "U", "Redo", "Bring back what the last undo took back", footer=False),
    ConsoleAction("recovery_plan", "t", "Trim plan", "Propose trims to end on time, change the target, apply"),
    ConsoleAction("report", "r", "Report", "The report of this session so far: planned against actual"),
    ConsoleAction("goto_selected", "g", "Go to", "Go to the item selected in the rundown", footer=False),
    ConsoleAction("skip_selected", "k", "Skip", "Skip the selected item (one that has not run)", footer=False),
    ConsoleAction("switch_session", "s", "Session", "Choose the session to drive", footer=False),
    ConsoleAction("end_session", "E", "End session", "End the session (asks first)", footer=False),
    ConsoleAction("clear_queue", "K", "Clear queue", "Remove everyone from the queue (asks first)", footer=False),
    # Written questions (the panel under the queue, shown once there are any).
    ConsoleAction("question_live", "q", "Q live", "Put the most-voted visible question live", footer=False),
    ConsoleAction("question_answered", "a", "Answered", "Mark the live question answered", footer=False),
    ConsoleAction("question_approve", "Y", "Approve", "Approve the oldest pending question", footer=False),
    ConsoleAction("question_dismiss", "D", "Dismiss", "Dismiss the oldest pending question", footer=False),
    # The rundown editor: each acts on the item selected in the rundown.
    ConsoleAction(
        "item_insert", "insert", "Add item", "Add an item to the rundown after the selected one", footer=False
    ),
    ConsoleAction(
        "item_edit", "f2", "Edit item", "Edit the selected item: title, duration, kind, speakers", footer=False
    ),
    ConsoleAction("item_delete", "delete", "Remove item", "Remove the selected item (asks first)", footer=False),
    ConsoleAction("item_move_up", "less_than_sign", "Move up", "Move the selected item up the rundown", footer=False),
    ConsoleAction(
        "item_move_down", "greater_than_sign", "Move down", "Move the selected item down the rundown", footer=False
    ),
    # The stage displays.
    ConsoleAction("toggle_blackout", "B", "Blackout", "Black out the stage displays, or bring them back", footer=False),
    ConsoleAction("flash_display", "F", "Flash", "Flash the stage displays once", footer=False),
    ConsoleAction(
        "focus_display", "O", "Focus text", "Show a text full-screen on the stage displays, or clear it", footer=False
    ),
)


def bindings(actions: tuple[ConsoleAction, ...]) -> list[BindingType]:
    return [Binding(a.key, a.action, a.label, show=a.footer, tooltip=a.description) for a in actions]


def key_label(key: str) -> str:
    names = {
        "space": "Space",
        "plus": "+",
        "minus": "-",
        "right_square_bracket": "]",
        "left_square_bracket": "[",
        "question_mark": "?",
        "insert": "Insert",
        "delete": "Delete",
        "f2": "F2",
        "less_than_sign": "<",
        "greater_than_sign": ">",
    }
    return names.get(key, key)
