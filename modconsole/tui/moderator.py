"""The moderator's screen: rundown, timer, session summary, queue, connection health, and its keys.

It owns what each key does: which command it makes (guarded by the session's revision where two moderators
pressing at once must move the meeting once), which dialog it opens, and what to do with the answer. The
figures come from ``figures``; the commands go to the App as ``messages.SendCommand``. It reads the link it
is given (state, clock, reports) and must never import the App, send on the link itself, or hold a figure
that ``figures`` could compute.
"""

from __future__ import annotations

import re
from datetime import tzinfo
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Header

from ..client import ClientError
from ..core import commands as c
from ..core.decide import next_listed_speaker
from ..core.durations import format_duration
from ..core.read_model import session_view
from ..core.state import SessionState
from .actions import MODERATOR_ACTIONS, bindings
from .dialogs import (
    ConfirmScreen,
    FocusScreen,
    ItemDialog,
    ItemFields,
    KeysScreen,
    MessageScreen,
    PlanScreen,
    ReportScreen,
    pick_session,
)
from .figures import (
    driven_session,
    message_lines,
    message_recipients,
    plan_figures,
    redone_words,
    undo_question,
    undone_words,
)
from .link import Link
from .messages import SendCommand
from .questions import QuestionsPanel
from .widgets import ConnectionBar, QueuePanel, Rundown, SummaryPanel, TimerPanel

EXTEND_STEP_S = 5 * 60


class ModeratorScreen(Screen[None]):
    BINDINGS = bindings(MODERATOR_ACTIONS)
    TITLE = "modconsole"

    def __init__(self, link: Link, session: str | None = None, *, local_zone: tzinfo | None = None) -> None:
        super().__init__()
        self.link = link  # read here (state, clock, reports); the App sends on it
        self.session_id = session  # chosen with --session or the s key; None drives the running one
        self.local_zone = local_zone  # for the summary's local times; None: this machine's zone

    def compose(self) -> ComposeResult:
        yield Header(icon="⏱")
        with Horizontal(id="top"):
            yield TimerPanel(id="timer")
            yield SummaryPanel(id="summary")
        with Horizontal(id="middle"):
            yield Rundown(id="rundown")
            yield QueuePanel(id="queue")
        yield QuestionsPanel(id="questions")
        yield ConnectionBar(id="connection")
        yield Footer()

    ready = False  # set once composed: refreshes before that have nothing to draw on

    def on_mount(self) -> None:
        self.ready = True
        self.query_one("#rundown").border_title = "Rundown"
        self.query_one("#queue").border_title = "Queue"
        self.refresh_view()

    # --- figures ------------------------------------------------------------------------------

    def session(self) -> SessionState | None:
        state = self.link.state
        if state is None or state.agenda is None:
            return None
        return driven_session(state, self.session_id)

    def refresh_view(self) -> None:
        link = self.link
        state = link.state
        self.query_one(ConnectionBar).show(link)
        session = self.session()
        if state is None or state.agenda is None or session is None:
            return
        now = link.now()
        view = session_view(state, session, now)
        self.title = state.agenda.title
        self.sub_title = f"{view['title']} · {state.agenda.timezone}"
        self.query_one(TimerPanel).show(view)
        self.query_one(SummaryPanel).show(view, state.agenda.timezone, self.local_zone, message_lines(state, session))
        self.query_one(Rundown).show(view)
        self.query_one(QueuePanel).show(view, state, getattr(link, "online", None))
        self.query_one(QuestionsPanel).show(state, session.id)

    # --- sending ------------------------------------------------------------------------------

    def _send(self, command: c.Command, *, guarded: bool = False, done: str | None = None) -> None:
        session = self.session()
        update: dict[str, Any] = {"session": session.id if session else None}
        if guarded and session is not None:
            # Two moderators pressing the same key at once move the meeting once.
            update["expected_seq"] = session.rev
        self.post_message(SendCommand(command.model_copy(update=update), done))

    # --- written questions ----------------------------------------------------------------------

    def _questions(self, state_name: str) -> list[str]:
        state, session = self.link.state, self.session()
        if state is None or session is None:
            return []
        return [q.id for q in state.questions.values() if q.session == session.id and q.state == state_name]

    def action_question_live(self) -> None:
        if not self._questions("visible"):
            self.notify("No visible question to put live.", severity="warning")
            return
        self._send(c.QuestionGoLive())  # the server picks the most-voted, on its newest counts

    def action_question_answered(self) -> None:
        live = self._questions("live")
        if not live:
            self.notify("No question is live.", severity="warning")
            return
        self._send(c.QuestionAnswer(question=live[0]))

    def action_question_approve(self) -> None:
        pending = self._questions("pending")
        if not pending:
            self.notify("No question is waiting for approval.", severity="warning")
            return
        self._send(c.QuestionApprove(question=pending[0]))

    def action_question_dismiss(self) -> None:
        pending = self._questions("pending")
        if not pending:
            self.notify("No question is waiting for approval (dismiss others with ctl question-dismiss Q).")
            return
        self._send(c.QuestionDismiss(question=pending[0]))

    def action_start_pause(self) -> None:
        session = self.session()
        if session is None:
            return
        if session.status == "not_started":
            self._send(c.Start(), guarded=True)
        elif session.status == "running":
            self._send(c.Pause(), guarded=True)
        elif session.status == "paused":
            self._send(c.Resume(), guarded=True)
        else:
            self.notify("This session has ended.", severity="warning")

    def action_next_item(self) -> None:
        self._send(c.Next(), guarded=True)

    def action_prev_item(self) -> None:
        self._send(c.Prev(), guarded=True)

    def action_give_floor(self) -> None:
        panel = self.query_one(QueuePanel)
        table = panel.query_one("#queue-table")
        person = panel.selected_person if table.has_focus else None
        session, state = self.session(), self.link.state
        if person is None and session is not None and state is not None:
            # The head of the queue as shown, else the item's next listed speaker: a hand raised or lowered
            # just now does not move the session's revision, so naming the person is what keeps the floor
            # from going elsewhere.
            item = session.current_item
            person = item.queue[0].person if item is not None and item.queue else next_listed_speaker(state, session)
        self._send(c.Floor(person=person), guarded=True)

    def action_end_turn(self) -> None:
        self._send(c.EndTurn(), guarded=True)

    def action_add_minute(self) -> None:
        self._send(c.AddTime(delta_s=60))

    def action_remove_minute(self) -> None:
        self._send(c.AddTime(delta_s=-60))

    def action_add_turn_minute(self) -> None:
        self._send(c.AddTime(delta_s=60, turn=True))

    def action_remove_turn_minute(self) -> None:
        self._send(c.AddTime(delta_s=-60, turn=True))

    def action_extend(self) -> None:
        self._send(c.Extend(delta_s=EXTEND_STEP_S))

    def action_toggle_queue(self) -> None:
        session = self.session()
        item = session.current_item if session else None
        if item is None:
            self.notify("No item is running.", severity="warning")
            return
        self._send(c.CloseQueue() if item.queue_open else c.OpenQueue())

    def action_undo(self) -> None:
        # Guarded, so that what it says it took back is what it took back: had another moderator acted in
        # between, the server refuses it (stale) rather than undo something else.
        state, session = self.link.state, self.session()
        done = undone_words(state, session)
        question = undo_question(state, session, self.link.now())
        if question is None:
            self._send(c.Undo(), guarded=True, done=done)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._send(c.Undo(force=True), guarded=True, done=done)

        self.app.push_screen(ConfirmScreen(question), confirmed)

    def action_redo(self) -> None:
        self._send(c.Redo(), guarded=True, done=redone_words(self.link.state, self.session()))

    def action_goto_selected(self) -> None:
        item = self.query_one(Rundown).selected_item
        if item is not None:
            self._send(c.Goto(item=item), guarded=True)

    def action_skip_selected(self) -> None:
        self._send(c.Skip(item=self.query_one(Rundown).selected_item))

    def action_report(self) -> None:
        session = self.session()
        self.run_worker(
            self._show_report(session.id if session else None), group="report", exclusive=True, exit_on_error=False
        )

    async def _show_report(self, session_id: str | None) -> None:
        try:
            text = await self.link.report(session_id)
        except (ClientError, TimeoutError) as exc:
            self.notify(getattr(exc, "message", "no answer from the server"), title="No report", severity="error")
            return
        self.app.push_screen(ReportScreen(text))

    def action_help(self) -> None:
        self.app.push_screen(KeysScreen(MODERATOR_ACTIONS))

    def action_end_session(self) -> None:
        session = self.session()
        if session is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._send(c.End(), guarded=True)

        self.app.push_screen(ConfirmScreen(f"End session “{session.id}” now?"), confirmed)

    def action_clear_queue(self) -> None:
        session = self.session()
        item = session.current_item if session else None
        if item is None or not item.queue:
            self.notify("The queue is empty.")
            return
        count = len(item.queue)

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._send(c.ClearQueue(), guarded=True)

        self.app.push_screen(ConfirmScreen(f"Remove all {count} people from the queue? (u undoes it)"), confirmed)

    def action_message(self) -> None:
        state = self.link.state
        if state is None or state.agenda is None:
            return
        recipients = message_recipients(state, self.session())

        def chosen(result: tuple[str, str] | None) -> None:
            if result is not None:
                text, to = result
                # A preset goes in English (each viewer reads it in their own language); typed text is in
                # the language of the moderator's locale.
                from ..i18n import choose

                lang = "en" if text in c.PRESET_MESSAGES else choose()
                self._send(c.SendMessage(text=text, to=to, lang=lang))

        self.app.push_screen(MessageScreen(recipients), chosen)

    # --- the stage displays ---------------------------------------------------------------------

    def action_toggle_blackout(self) -> None:
        state = self.link.state
        if state is None:
            return
        self._send(c.Blackout(on=not state.display.blackout))

    def action_flash_display(self) -> None:
        self._send(c.Flash())

    def action_focus_display(self) -> None:
        state = self.link.state
        if state is None:
            return

        def chosen(text: str | None) -> None:
            if text is not None:
                self._send(c.Focus(text=text or None))

        self.app.push_screen(FocusScreen(state.display.focus), chosen)

    def action_switch_session(self) -> None:
        state = self.link.state
        if state is None or state.agenda is None:
            return
        pick_session(self, state)

    # --- the rundown editor -------------------------------------------------------------------------

    def _selected_index(self) -> tuple[SessionState, int] | None:
        session = self.session()
        item = self.query_one(Rundown).selected_item
        index = session.index(item) if session is not None and item is not None else None
        if session is None or index is None:
            self.notify("Select an item in the rundown first (Tab, then ↑/↓).", severity="warning")
            return None
        return session, index

    def _people(self) -> frozenset[str]:
        state = self.link.state
        return frozenset(p.id for p in state.agenda.people) if state is not None and state.agenda else frozenset()

    def action_item_insert(self) -> None:
        session = self.session()
        if session is None:
            return
        after = self.query_one(Rundown).selected_item

        def chosen(fields: ItemFields | None) -> None:
            if fields is not None:
                # Guarded: the place chosen is the place seen.
                self._send(c.ItemAdd(after=after, **fields), guarded=True, done=f"Added “{fields['title']}”.")

        values = {"duration": "5m", "kind": "other"}
        self.app.push_screen(
            ItemDialog("Add an item" + (f" after {after}" if after else ""), values, self._people()), chosen
        )

    def action_item_edit(self) -> None:
        found = self._selected_index()
        state = self.link.state
        if found is None or state is None:
            return
        session, index = found
        spec = state.plan(session.id).items[index]
        values = {
            "title": spec.title,
            "duration": format_duration(spec.duration_s),
            "kind": spec.kind.value,
            "speakers": ", ".join(spec.speakers),
            "turn_limit": format_duration(spec.turn_limit_s) if spec.turn_limit_s else "",
            "fixed_start": spec.fixed_start.strftime("%H:%M") if spec.fixed_start else "",
        }
        before = {
            "title": spec.title,
            "duration_s": spec.duration_s,
            "kind": spec.kind.value,
            "speakers": tuple(spec.speakers),
            "turn_limit_s": spec.turn_limit_s,
            "fixed_start": spec.fixed_start.strftime("%H:%M") if spec.fixed_start else None,
        }

        def chosen(fields: ItemFields | None) -> None:
            if fields is None:
                return
            changed = {k: v for k, v in fields.items() if before.get(k) != v}
            if not changed:
                self.notify("Nothing changed.")
                return
            command = c.ItemEdit.model_validate({"item": spec.id, **changed})
            self._send(command, guarded=True, done=f"Changed “{fields['title']}”.")

        self.app.push_screen(ItemDialog(f"Edit {spec.id}", values, self._people()), chosen)

    def action_item_delete(self) -> None:
        found = self._selected_index()
        state = self.link.state
        if found is None or state is None:
            return
        session, index = found
        spec = state.plan(session.id).items[index]

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._send(c.ItemRemove(item=spec.id), guarded=True, done=f"Removed “{spec.title}” (u undoes it).")

        self.app.push_screen(ConfirmScreen(f"Remove “{spec.title}” from the rundown?"), confirmed)

    def _move(self, step: int) -> None:
        found = self._selected_index()
        if found is None:
            return
        session, index = found
        target = index + step
        if not 0 <= target < len(session.items):
            self.notify("It is already at that end of the rundown.")
            return
        item, other = session.items[index].id, session.items[target].id
        command = c.ItemMove(item=item, before=other) if step < 0 else c.ItemMove(item=item, after=other)
        self._send(command, guarded=True)
        self.query_one(Rundown).move_cursor(row=target)  # the selection follows the item

    def action_item_move_up(self) -> None:
        self._move(-1)

    def action_item_move_down(self) -> None:
        self._move(1)

    def action_recovery_plan(self, target: str | None = None) -> None:
        state = self.link.state
        session = self.session()
        if state is None or session is None:
            return
        try:
            figures = plan_figures(state, session, self.link.now(), target)
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            return
        target_text = figures.target

        def chosen(result: str | None) -> None:
            if result is None:
                return
            if result.startswith("?"):
                self.action_recovery_plan(result[1:] or None)
                return
            if not re.fullmatch(r"\d{1,2}:\d{2}", result):
                self.notify(f"Not a time: {result!r} (write HH:MM)", severity="error")
                return
            # Unchanged default target: let the server take the planned end itself.
            self._send(c.ApplyPlan(target=None if target is None and result == target_text else result))

        self.app.push_screen(PlanScreen(figures.rows, figures.summary, target_text), chosen)
