"""``modconsole ctl``: one command to a running server, for scripts and quick fixes.

Exit status: 0 when the server accepted the command, 1 with the reason when it
refused it or could not be reached, 2 for a command line that does not parse or
whose server address is not one (a port like "8765x").
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import re
import sys
from collections.abc import Callable

from pydantic import ValidationError

from .client import ClientError, CommandRefused, MeetingClient, check_url
from .core import commands as c
from .core.agenda import ItemKind
from .core.decide import redo_target, resolve_target, undo_target
from .core.durations import format_duration, parse_duration
from .core.events import ACTION_WORDS, HAND_KINDS
from .core.names import fold_name, shown_name
from .core.projection import default_session, recovery_plan
from .core.queue_order import parse_order
from .core.read_model import (
    FloorView,
    HandView,
    QuestionView,
    SessionView,
    question_views,
    session_view,
    state_view_of,
)
from .core.state import State
from .credentials import Credentials, resolve_token

_SIGNED = re.compile(r"^[+-]\d")


def _queue_order(text: str) -> str:
    try:
        parse_order(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _duration(signed: bool) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            return parse_duration(text, allow_negative=signed)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _limit(text: str) -> int | None:
    return None if text.lower() in ("none", "off", "0") else _duration(False)(text)


def _common_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options taken before the verb as well as after it."""
    parser.add_argument(
        "--session",
        default=argparse.SUPPRESS,
        metavar="ID",
        help="session to act on (default: the running one, else the first not ended)",
    )
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    parser.add_argument(
        "--token",
        default=argparse.SUPPRESS,
        help="access token (default: $MODCONSOLE_TOKEN; on the command line other users see it)",
    )
    parser.add_argument(
        "--token-file",
        default=argparse.SUPPRESS,
        metavar="FILE",
        help="read the access token from the first line of FILE (- for standard input)",
    )
    parser.add_argument("--name", default=argparse.SUPPRESS, help="your name, with a participant token")
    parser.add_argument(
        "--cafile", default=argparse.SUPPRESS, metavar="FILE", help="CA certificate (PEM) to trust for a wss:// server"
    )
    return parser


def add_arguments(ctl: argparse.ArgumentParser) -> None:
    """Give the ``modconsole ctl`` parser (made by the ``modconsole`` command line) its options and verbs."""
    common = _common_options(argparse.ArgumentParser(add_help=False))
    _common_options(ctl)
    ctl.add_argument(
        "url",
        metavar="URL",
        help="server address, e.g. ws://127.0.0.1:8765; several, comma-separated, of servers sharing one log "
        "(ws://a:8765,ws://b:8765)",
    )
    verbs = ctl.add_subparsers(dest="verb", required=True, metavar="VERB")

    def verb(name: str, help_text: str) -> argparse.ArgumentParser:
        return verbs.add_parser(name, parents=[common], help=help_text, description=help_text)

    verb("start", "start the session")
    verb("pause", "pause the session (item and turn timers stop)")
    verb("resume", "resume a paused session")
    verb("next", "move to the next item")
    verb("prev", "go back to the previous item")
    verb("goto", "go to an item").add_argument("item", metavar="ITEM")
    verb("skip", "skip an item that has not run (default: the next one)").add_argument(
        "item", metavar="ITEM", nargs="?"
    )
    p = verb("add-time", "add (or with a minus, remove) time: the current item's, or the turn's with --turn")
    p.add_argument("delta", metavar="±DURATION", type=_duration(True), nargs="?")
    p.add_argument("--by", dest="delta_opt", type=_duration(True), help=argparse.SUPPRESS)
    p.add_argument("--turn", action="store_true", help="change the turn's limit instead of the item")
    p = verb("extend", "extend the session on purpose (the planned end moves)")
    p.add_argument("delta", metavar="DURATION", type=_duration(True), nargs="?")
    p.add_argument("--by", dest="delta_opt", type=_duration(True), help=argparse.SUPPRESS)
    verb("end", "end the session")
    p = verb("raise", "raise your hand (kept from item to item until you have the floor)")
    p.add_argument("--kind", choices=HAND_KINDS, default="contribution")
    p.add_argument(
        "--for",
        dest="for_item",
        metavar="ITEM",
        help="for a later item: the hand joins that item's queue when it starts",
    )
    verb("lower", "withdraw your hand")
    person_help = "a person's id, or their name where only one person has it (case and accents aside)"
    p = verb("queue-add", "add someone to the queue")
    p.add_argument("person", metavar="PERSON", help=person_help)
    p.add_argument("--kind", choices=HAND_KINDS, default="contribution")
    p.add_argument("--for", dest="for_item", metavar="ITEM", help="for a later item (joins its queue when it starts)")
    verb("queue-remove", "remove someone from the queue").add_argument("person", metavar="PERSON", help=person_help)
    p = verb("queue-move", "move someone in the queue")
    p.add_argument("person", metavar="PERSON", help=person_help)
    p.add_argument("position", metavar="POSITION", type=int)
    verb("floor", "give the floor to the next in the queue, or to PERSON").add_argument(
        "person", metavar="PERSON", nargs="?", help=person_help
    )
    verb("end-turn", "end the current turn")
    verb("pause-turn", "pause the current turn's timer")
    verb("resume-turn", "resume the current turn's timer")
    verb("turn-limit", "set the turn limit for the current item ('none' for no limit)").add_argument(
        "limit", metavar="DURATION", type=_limit
    )
    p = verb(
        "queue-order",
        "set the speaking order of the session's queues: fifo, first_time_first, tiers[:N] or alternate:TAG",
    )
    p.add_argument("order", metavar="ORDER", type=_queue_order)
    p.add_argument("--item", metavar="ITEM", help="one item only (default: the whole session)")
    verb("clear-queue", "remove everyone from the queue for the current item (one action: undo brings them back)")
    verb("close-queue", "close the queue for the current item")
    verb("open-queue", "open the queue for the current item")
    p = verb("message", "send a message (default: to whoever has the floor)")
    p.add_argument("text", metavar="TEXT")
    p.add_argument(
        "--to", default="floor", help="PERSON (an id, or a name only one person has), 'floor' or 'all' (default: floor)"
    )
    p.add_argument("--lang", metavar="TAG", help="the language the text is written in, e.g. fr (viewers see it)")
    verb("ack", "acknowledge a message to you (default: the latest)").add_argument(
        "message_id", metavar="MESSAGE", nargs="?"
    )
    p = verb("plan", "propose new durations so the session ends on time; --apply applies them")
    p.add_argument("--target", metavar="HH:MM", help="target end in the event's time zone (default: planned end)")
    p.add_argument("--apply", action="store_true", help="apply the plan")
    p.add_argument("--include-fixed", action="store_true", help="trim breaks and fixed-start items too")
    verb("undo", "undo the last timing action").add_argument(
        "--force", action="store_true", help="undo an action older than ten minutes of event time (refused without)"
    )
    verb("redo", "bring back what the last undo took back (until a new timing action)")
    verb("blackout", "black out the stage displays ('off' brings them back)").add_argument(
        "switch", metavar="on|off", nargs="?", choices=("on", "off"), default="on"
    )
    verb("flash", "flash the stage displays once")
    p = verb("focus", "show a text full-screen on the stage displays, e.g. 'ON AIR' (--clear takes it away)")
    p.add_argument("text", metavar="TEXT", nargs="?")
    p.add_argument("--clear", action="store_true", help="take the focus text away")
    verb("state", "print the live state (people by name and [id])")
    _plan_verbs(verb)
    _question_verbs(verb)


# --- the plan edited live ---------------------------------------------------------------------------


def _none_or(parse: Callable[[str], object]) -> Callable[[str], object]:
    def parse_or_none(text: str) -> object:
        return None if text.lower() == "none" else parse(text)

    return parse_or_none


def _hhmm(text: str) -> str:
    if not re.match(r"^\d{1,2}:\d{2}$", text):
        raise argparse.ArgumentTypeError(f"not a time of day: {text!r} (write HH:MM)")
    return text


def _ids(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _tag(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"a tag is KEY=VALUE, not {text!r}")
    return key.strip(), value.strip()


def _placement(parser: argparse.ArgumentParser, required: bool) -> None:
    where = parser.add_mutually_exclusive_group(required=required)
    where.add_argument("--after", metavar="ITEM", help="place it after ITEM")
    where.add_argument("--before", metavar="ITEM", help="place it before ITEM")
    where.add_argument("--first", action="store_true", default=False, help="place it first")


_KINDS = [kind.value for kind in ItemKind]


def _plan_verbs(verb: Callable[[str, str], argparse.ArgumentParser]) -> None:
    p = verb("item-add", "add an item to the session's rundown (default: last)")
    p.add_argument("title", metavar="TITLE")
    p.add_argument("--duration", metavar="D", type=_duration(False), required=True, help="e.g. 5m, 1h30m")
    _placement(p, required=False)
    p.add_argument("--kind", choices=_KINDS, default="other")
    p.add_argument("--speakers", metavar="ID,ID", type=_ids, default=(), help="listed speakers, by id")
    p.add_argument("--turn-limit", metavar="D", type=_duration(False), help="the limit of each turn")
    p.add_argument("--fixed-start", metavar="HH:MM", type=_hhmm, help="the time of day it must start at")
    p.add_argument("--id", dest="item_id", metavar="ID", help="its id (default: made from the title)")
    p = verb("item-edit", "change an item that has not run (or the current one): only the fields given")
    p.add_argument("item", metavar="ITEM")
    p.add_argument("--title", metavar="T")
    p.add_argument("--duration", metavar="D", type=_duration(False))
    p.add_argument("--kind", choices=_KINDS)
    p.add_argument("--speakers", metavar="ID,ID", type=_ids)
    p.add_argument("--turn-limit", metavar="D|none", type=_none_or(_duration(False)), default=argparse.SUPPRESS)
    p.add_argument("--fixed-start", metavar="HH:MM|none", type=_none_or(_hhmm), default=argparse.SUPPRESS)
    verb("item-remove", "remove an item that has not run (one that has can be skipped)").add_argument(
        "item", metavar="ITEM"
    )
    p = verb("item-move", "move an item that has not run")
    p.add_argument("item", metavar="ITEM")
    _placement(p, required=True)
    p = verb("session-add", "add a session to the event")
    p.add_argument("session_id", metavar="ID")
    p.add_argument("title", metavar="TITLE")
    p.add_argument("--start", metavar="YYYY-MM-DDTHH:MM", required=True, help="local time in the event's zone")
    p.add_argument("--room", metavar="R", default="")
    p = verb("session-edit", "change a session's title, start (before it starts) or room")
    p.add_argument("session_id", metavar="ID")
    p.add_argument("--title", metavar="T")
    p.add_argument("--start", metavar="YYYY-MM-DDTHH:MM")
    p.add_argument("--room", metavar="R")
    p = verb("person-add", "add a person to the roster; prints their speaker token, once")
    p.add_argument("person_name", metavar="NAME")
    p.add_argument("--id", dest="person_id", metavar="ID", help="their id (default: made from the name)")
    p.add_argument("--affiliation", metavar="A", default="")
    p.add_argument("--tag", metavar="KEY=VALUE", type=_tag, action="append", default=[], help="repeatable")


def _plan_command(args: argparse.Namespace, session: str | None) -> c.Command | None:
    verb = args.verb
    if verb == "item-add":
        return c.ItemAdd(
            session=session,
            title=args.title,
            duration_s=args.duration,
            kind=args.kind,
            speakers=args.speakers,
            turn_limit_s=args.turn_limit,
            fixed_start=args.fixed_start,
            item_id=args.item_id,
            after=args.after,
            before=args.before,
            first=args.first,
        )
    if verb == "item-edit":
        fields: dict[str, object] = {"session": session, "item": args.item}
        for name, key in (("title", "title"), ("duration", "duration_s"), ("kind", "kind"), ("speakers", "speakers")):
            if getattr(args, name) is not None:
                fields[key] = getattr(args, name)
        if hasattr(args, "turn_limit"):
            fields["turn_limit_s"] = args.turn_limit
        if hasattr(args, "fixed_start"):
            fields["fixed_start"] = args.fixed_start
        return c.ItemEdit.model_validate(fields)
    if verb == "item-remove":
        return c.ItemRemove(session=session, item=args.item)
    if verb == "item-move":
        return c.ItemMove(session=session, item=args.item, after=args.after, before=args.before, first=args.first)
    if verb == "session-add":
        return c.SessionAdd(
            session=session, session_id=args.session_id, title=args.title, start=args.start, room=args.room
        )
    if verb == "session-edit":
        return c.SessionEdit(session=args.session_id, title=args.title, start=args.start, room=args.room)
    if verb == "person-add":
        return c.PersonAdd(
            session=session,
            name=args.person_name,
            person_id=args.person_id,
            affiliation=args.affiliation,
            tags=dict(args.tag),
        )
    return None


def _plan_change(
    before: State, after: State, command: c.Command, ack_person: str | None, now: int
) -> dict[str, object]:
    """What a plan edit created or changed, for ``--json`` and the line printed (its times as at ``now``)."""
    if isinstance(command, c.SessionAdd | c.SessionEdit):
        session_id = command.session_id if isinstance(command, c.SessionAdd) else command.session
        plan = after.agenda.session(session_id or "") if after.agenda else None
        if plan is None:
            return {}
        return {"session_id": plan.id, "title": plan.title, "start": plan.start.isoformat(), "room": plan.room}
    if isinstance(command, c.PersonAdd):
        person = after.person(ack_person or "")
        return {} if person is None else {"person": person.model_dump(mode="json")}
    session = after.session(command.session) if command.session else default_session(after)
    old = before.session(session.id) if session is not None else None
    if session is None or old is None:
        return {}
    if isinstance(command, c.ItemRemove):
        return {"removed": command.item}
    if isinstance(command, c.ItemAdd):
        new = [i.id for i in session.items if old.item(i.id) is None]
        item_id = new[0] if new else None
    else:
        item_id = getattr(command, "item", None)
    return {"item": next((i for i in session_view(after, session, now)["items"] if i["id"] == item_id), None)}


_TAKES_VALUE = frozenset({"--session", "--token", "--token-file", "--name", "--kind", "--target", "--cafile", "--for"})


def normalise_argv(argv: list[str]) -> list[str]:
    """Let ``add-time -1m`` (and ``add-time --turn -30s``) through: argparse would read "-1m" as an option."""
    out = list(argv)
    verb = next((index for index, word in enumerate(out) if word in ("add-time", "extend")), None)
    if verb is None:
        return out
    for index in range(verb + 1, len(out)):
        if _SIGNED.match(out[index]) and out[index - 1] not in _TAKES_VALUE:
            out[index] = f"--by={out[index]}"
            break
    return out


def build_command(args: argparse.Namespace) -> c.Command | None:
    """The protocol command for a verb, or None for the read-only verbs."""
    session = getattr(args, "session", None)
    common = {"session": session}
    verb = args.verb
    simple: dict[str, type[c.Command]] = {
        "start": c.Start,
        "pause": c.Pause,
        "resume": c.Resume,
        "next": c.Next,
        "prev": c.Prev,
        "end": c.End,
        "lower": c.Lower,
        "end-turn": c.EndTurn,
        "pause-turn": c.PauseTurn,
        "resume-turn": c.ResumeTurn,
        "close-queue": c.CloseQueue,
        "clear-queue": c.ClearQueue,
        "open-queue": c.OpenQueue,
        "redo": c.Redo,
    }
    if verb == "undo":
        return c.Undo(force=args.force, **common)
    if verb in simple:
        return simple[verb](**common)
    if verb == "goto":
        return c.Goto(item=args.item, **common)
    if verb == "skip":
        return c.Skip(item=args.item, **common)
    if verb in ("add-time", "extend"):
        delta = args.delta if args.delta is not None else args.delta_opt
        if delta is None:
            raise ValueError(f"{verb} needs a duration, e.g. 5m or -1m")
        if verb == "extend":
            return c.Extend(delta_s=delta, **common)
        return c.AddTime(delta_s=delta, turn=args.turn, **common)
    if verb == "raise":
        return c.Raise(kind=args.kind, for_item=args.for_item, **common)
    if verb == "queue-add":
        return c.QueueAdd(person=args.person, kind=args.kind, for_item=args.for_item, **common)
    if verb == "queue-remove":
        return c.QueueRemove(person=args.person, **common)
    if verb == "queue-move":
        return c.QueueMove(person=args.person, position=args.position, **common)
    if verb == "floor":
        return c.Floor(person=args.person, **common)
    if verb == "turn-limit":
        return c.SetTurnLimit(limit_s=args.limit, **common)
    if verb == "queue-order":
        return c.SetQueueOrder(order=args.order, item=args.item, **common)
    if verb == "message":
        return c.SendMessage(text=args.text, to=args.to, lang=args.lang, **common)
    if verb == "ack":
        return c.Ack(message_id=args.message_id, **common)
    if verb == "blackout":
        return c.Blackout(on=args.switch == "on", **common)
    if verb == "flash":
        return c.Flash(**common)
    if verb == "focus":
        if args.clear == (args.text is not None):
            raise ValueError("focus needs a TEXT, or --clear to take it away (not both)")
        return c.Focus(text=None if args.clear else args.text, **common)
    if verb == "plan" and args.apply:
        return c.ApplyPlan(target=args.target, include_fixed=args.include_fixed, **common)
    if verb in _QUESTION_VERBS:
        return _question_command(args, common)
    return _plan_command(args, session)


# --- written questions ------------------------------------------------------------------------------

_QUESTION_VERBS = frozenset(
    {
        "ask",
        "vote",
        "unvote",
        "question-approve",
        "question-dismiss",
        "question-live",
        "question-answered",
        "question-merge",
        "question-edit",
    }
)
_QUESTION_STATES = ("pending", "visible", "live", "answered", "dismissed", "merged")


def _question_verbs(verb: Callable[[str, str], argparse.ArgumentParser]) -> None:
    p = verb("ask", "ask a written question (a participant or speaker)")
    p.add_argument("text", metavar="TEXT")
    p.add_argument("--anonymous", action="store_true", help="without your name, when the event allows it")
    verb("vote", "vote for a question (once; unvote takes it back)").add_argument("question", metavar="QUESTION")
    verb("unvote", "take back your vote for a question").add_argument("question", metavar="QUESTION")
    verb("question-approve", "make a pending question visible to everyone").add_argument("question", metavar="Q")
    verb("question-dismiss", "dismiss a question (its asker is not told)").add_argument("question", metavar="Q")
    verb("question-live", "put a visible question live, on every screen").add_argument(
        "question", metavar="Q", nargs="?", help="default: the most-voted visible question"
    )
    verb("question-answered", "mark a question answered").add_argument("question", metavar="Q")
    p = verb("question-merge", "merge a duplicate into another question (votes add up, voters counted once)")
    p.add_argument("question", metavar="Q")
    p.add_argument("into", metavar="INTO")
    p = verb("question-edit", "edit a question's text")
    p.add_argument("question", metavar="Q")
    p.add_argument("text", metavar="TEXT")
    verb("questions", "list the written questions (pending, live, visible by votes, answered)").add_argument(
        "--state", choices=_QUESTION_STATES, help="only the questions in this state"
    )


def _question_command(args: argparse.Namespace, common: dict[str, str | None]) -> c.Command:
    verb = args.verb
    if verb == "ask":
        return c.Ask(text=args.text, anonymous=args.anonymous, **common)
    if verb == "question-merge":
        return c.QuestionMerge(question=args.question, into=args.into, **common)
    if verb == "question-edit":
        return c.QuestionEdit(question=args.question, text=args.text, **common)
    if verb == "question-live":
        return c.QuestionGoLive(question=args.question, **common)
    by_id: dict[str, type[c.Vote | c.Unvote | c.QuestionApprove | c.QuestionDismiss | c.QuestionAnswer]] = {
        "vote": c.Vote,
        "unvote": c.Unvote,
        "question-approve": c.QuestionApprove,
        "question-dismiss": c.QuestionDismiss,
        "question-answered": c.QuestionAnswer,
    }
    return by_id[verb](question=args.question, **common)


def _printable(text: str) -> str:
    """Text from others on a terminal: what is not printable is shown escaped."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _question_line(view: QuestionView) -> str:
    who = "anonymous" if view["anonymous"] else _printable(view["name"] or view["asker"] or "")
    mark = " (yours)" if view["mine"] else (" (voted)" if view["voted"] else "")
    into = f" into {view['merged_into']}" if view["merged_into"] else ""
    return f"{view['id']:>5} {view['state']:<9}{into} {view['votes']:>4} votes  {who}{mark}: {_printable(view['text'])}"


def _print_questions(state: State, viewer: str | None, as_json: bool, session: str | None, only: str | None) -> int:
    views = question_views(state, viewer, session=session, states=frozenset({only}) if only else None)
    if as_json:
        print(json.dumps(views, ensure_ascii=False, indent=2))
        return 0
    if not views:
        print("no questions" + (f" {only}" if only else ""))
    for view in views:
        print(_question_line(view))
    return 0


def _asked_question(state: State, command: c.Command, viewer: str | None) -> QuestionView | None:
    """The question a question verb acted on, as the viewer now sees it (for ask: the viewer's newest)."""
    if isinstance(command, c.Ask):
        mine = [q.id for q in state.questions.values() if viewer is not None and q.asker == viewer]
        wanted = mine[-1] if mine else None
    elif isinstance(command, c.QuestionMerge):
        wanted = command.into
    else:
        wanted = getattr(command, "question", None)
        if wanted is None:  # question-live with no id: the one live now
            live = [q.id for q in state.questions.values() if q.state == "live"]
            wanted = live[-1] if live else None
    found = [v for v in question_views(state, viewer) if v["id"] == wanted]
    return found[0] if found else None


class AmbiguousPerson(ValueError):
    """A name that more than one person has, or that reads like nobody's; the message lists the candidates."""


def resolve_person(state: State, given: str) -> str:
    """The id of the person ``given`` names: an id as it is; else the one person whose name reads like it (folded:
    case, accents, spaces and look-alike letters aside), first by the whole name, then by one of its words
    ("garcetti"). Several: AmbiguousPerson naming them. Nobody: ``given`` as it is (the server answers)."""
    people: dict[str, str] = {}
    if state.agenda is not None:
        people |= {p.id: p.name for p in state.agenda.people}
    people |= {pid: p.name for pid, p in state.participants.items()}
    if given in people:
        return given
    key = fold_name(given)
    if not key:
        return given
    whole = [pid for pid, name in people.items() if fold_name(name) == key]
    found = whole or [pid for pid, name in people.items() if key in {fold_name(w) for w in name.split()}]
    if len(found) == 1:
        return found[0]
    if found:
        # Names from the agenda file, printed on a terminal: what is not printable is shown escaped.
        listing = ", ".join(
            "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in people[pid])
            + f" [{pid}]"
            for pid in sorted(found)
        )
        raise AmbiguousPerson(f"{given!r} names {len(found)} people: {listing}; give one by its id")
    return given


def _with_people_resolved(state: State, command: c.Command) -> c.Command:
    if isinstance(command, (c.QueueAdd, c.QueueRemove, c.QueueMove)) or (
        isinstance(command, c.Floor) and command.person is not None
    ):
        assert command.person is not None
        return command.model_copy(update={"person": resolve_person(state, command.person)})
    if isinstance(command, c.SendMessage) and command.to not in ("floor", "all"):
        return command.model_copy(update={"to": resolve_person(state, command.to)})
    return command


def _session_line(view: SessionView) -> str:
    over = view["over_under_s"]
    drift = f"{format_duration(abs(over))} {'behind' if over > 0 else 'ahead'}" if abs(over) >= 1 else "on time"
    line = f"session {view['id']}: {view['status'].replace('_', ' ')}"
    if view["current_item"]:
        line += f", item {view['current_item']}"
        rem = view["current_remaining_s"]
        if rem is not None:
            line += f" ({format_duration(rem)} left)" if rem >= 0 else f" ({format_duration(-rem)} over)"
    line += f", {drift}, projected end {view['projected_end']}"
    floor = view["floor"]
    if floor:
        line += f"; floor: {_shown(floor)}"
    queue = view["queue"]
    if queue:
        line += f"; {len(queue)} in the queue"
    return line


def _print_state(state: State, now: int, as_json: bool, session_id: str | None) -> int:
    if session_id is not None and state.session(session_id) is None:
        known = ", ".join(s.id for s in state.sessions)
        print(f"refused (not_found): no session {session_id!r} (sessions: {known})", file=sys.stderr)
        return 1
    view = state_view_of(state, now, session_id)
    if as_json:
        print(json.dumps(view, ensure_ascii=False, indent=2))
        return 0
    print(
        f"{view['title']} ({view['timezone']}), seq {view['seq']}, now {view['now']}"
        + (f", rehearsal clock x{state.clock.scale:g}" if state.clock.scale != 1 else "")
    )
    for session in view["sessions"]:
        print(_session_line(session))
        for item in session["items"]:
            mark = ">" if item["id"] == session["current_item"] else " "
            actual = format_duration(item["actual_duration_s"]) if item["actual_duration_s"] is not None else ""
            print(
                f"  {mark} {item['id']:<24} {item['status']:<8} plan {format_duration(item['duration_s']):>7}"
                f"  actual {actual:>7}  start {item['projected_start'] or item['actual_start'] or ''}"
            )
        for hand in session["queue"]:
            wait = format_duration(hand["estimated_wait_s"])
            print(f"    #{hand['position']} {_shown(hand)} ({hand['kind']}), wait ~{wait}")
        for hand in session["waiting"]:
            wait = format_duration(hand["estimated_wait_s"])
            waits_for = f"for {hand['for']}" if hand["for"] else "for the start"
            print(f"    waiting {_shown(hand)} ({hand['kind']}), {waits_for}, wait ~{wait}")
    return 0


def _print_plan(
    state: State, session_id: str | None, target: str | None, now: int, include_fixed: bool, as_json: bool
) -> int:
    session = state.session(session_id) if session_id else default_session(state)
    if session is None:
        print(f"refused (not_found): no session {session_id!r}", file=sys.stderr)
        return 1
    try:
        target_ms = resolve_target(state, session, target, now)
    except ValueError as exc:
        print(f"refused (invalid): {exc}", file=sys.stderr)
        return 1
    plan = recovery_plan(state, session, now, target_ms, include_fixed=include_fixed)
    view = session_view(state, session, now)
    if as_json:
        print(
            json.dumps(
                {
                    "session": session.id,
                    "target_ms": plan.target_ms,
                    "durations": plan.durations,
                    "projected_end_ms": plan.projected_end,
                    "feasible": plan.feasible,
                    "trimmed_s": plan.trimmed_s,
                },
                ensure_ascii=False,
            )
        )
        return 0
    print(_session_line(view))
    if not plan.durations:
        print("no trims needed: the session ends by the target" if plan.feasible else "nothing left to trim")
        return 0
    for item in session.items:
        if item.id in plan.durations:
            new = format_duration(plan.durations[item.id])
            print(f"  {item.id:<24} {format_duration(item.duration_s):>7} -> {new:>7}")
    verdict = "ends on time" if plan.feasible else "still ends late: trim more, extend, or skip items"
    print(
        f"trims {format_duration(plan.trimmed_s)} in all; {verdict}. Apply with: plan --apply"
        + (f" --target {target}" if target else "")
    )
    return 0


def _shown(who: HandView | FloorView) -> str:
    """A hand's or the floor's person as people read it: a participant behind the participant mark, and the id
    that commands take beside the name (a participant's is opaque)."""
    return shown_name(who["name"], who["participant"]) + (f" [{who['person']}]" if who["person"] != who["name"] else "")


async def run(args: argparse.Namespace) -> int:
    as_json = bool(getattr(args, "json", False))
    try:
        token = resolve_token(getattr(args, "token", None), getattr(args, "token_file", None))
    except ValueError as exc:
        print(f"modconsole ctl: {exc}", file=sys.stderr)
        return 2
    try:
        check_url(args.url)  # a mistyped address: a usage error, before any connection
    except ClientError as exc:
        print(f"modconsole ctl: {exc.message}", file=sys.stderr)
        return 2
    if not token:
        print("modconsole ctl: a token is needed (MODCONSOLE_TOKEN, --token-file or --token)", file=sys.stderr)
        return 2
    try:
        command = build_command(args)
    except ValidationError as exc:  # a value out of the protocol's range, e.g. add-time 25h
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        print(f"modconsole ctl: {args.verb}: {problems}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"modconsole ctl: {exc}", file=sys.stderr)
        return 2
    credentials = Credentials()
    kept = credentials.lookup(args.url, token)  # a participant who joined before joins as themselves
    not_kept: list[str] = []
    client = MeetingClient(
        args.url,
        kept or token,
        name=None if kept else getattr(args, "name", None),
        client="ctl",
        cafile=getattr(args, "cafile", None),
        keep_credential=credentials.keeper(args.url, token, not_kept),
    )
    try:
        await client.connect()
        await client.ping()
        assert client.state is not None
        if command is None:
            if args.verb == "plan":
                return _print_plan(
                    client.state,
                    getattr(args, "session", None),
                    args.target,
                    client.server_now(),
                    args.include_fixed,
                    as_json,
                )
            if args.verb == "questions":
                viewer = client.welcome.person.id if client.welcome and client.welcome.person else None
                return _print_questions(client.state, viewer, as_json, getattr(args, "session", None), args.state)
            return _print_state(client.state, client.server_now(), as_json, getattr(args, "session", None))
        try:
            command = _with_people_resolved(client.state, command)
        except AmbiguousPerson as exc:
            if as_json:
                print(json.dumps({"ok": False, "code": "ambiguous", "message": str(exc)}, ensure_ascii=False))
            print(f"modconsole ctl: {exc}", file=sys.stderr)
            return 2
        undoing = None
        redoing = redo_target(client.state, command.session) if isinstance(command, c.Redo) else None
        if isinstance(command, c.Undo | c.Redo):
            # What it will take back, said with the answer; guarded, so that had another moderator acted
            # in between, the server refuses it (stale) rather than undo something else.
            undoing = undo_target(client.state, command.session) if isinstance(command, c.Undo) else None
            session = client.state.session(command.session) if command.session else default_session(client.state)
            if session is not None:
                command = command.model_copy(update={"expected_seq": session.rev})
        before = copy.deepcopy(client.state) if command.type in _PLAN_EDITS else None
        ack = await client.command(command)
        state = await client.wait_for(lambda s: s.seq >= ack.seq)
    except CommandRefused as exc:
        if as_json:
            print(json.dumps({"ok": False, "code": exc.code, "message": exc.message}, ensure_ascii=False))
        print(f"refused ({exc.code}): {exc.message}", file=sys.stderr)
        return 1
    except ClientError as exc:
        if as_json:
            print(json.dumps({"ok": False, "code": exc.code, "message": exc.message}, ensure_ascii=False))
        print(f"modconsole ctl: {exc.message}", file=sys.stderr)
        if exc.code == "unauthorized" and kept is not None and client.token == kept:
            credentials.forget(args.url, token)
            print(
                "modconsole ctl: the participant credential kept for this server was not accepted and is "
                "forgotten; run again with --name",
                file=sys.stderr,
            )
        return 1
    except TimeoutError:  # connected, then no answer: the command may or may not have been done
        message = f"no answer from {args.url} in time; check with `state` before repeating the command"
        if as_json:
            print(json.dumps({"ok": False, "code": "timeout", "message": message}, ensure_ascii=False))
        print(f"modconsole ctl: {message}", file=sys.stderr)
        return 1
    finally:
        await client.close()
        for failure in not_kept:
            print(f"modconsole ctl: could not keep your participant credential ({failure})", file=sys.stderr)
    now = client.server_now()
    session = state.session(command.session) if command.session else default_session(state)
    view = session_view(state, session, now) if session is not None else None
    undone = (
        None
        if undoing is None
        else {"seq": undoing[0], "type": undoing[1], "what": ACTION_WORDS.get(undoing[1], undoing[1])}
    )
    redone = (
        None
        if redoing is None
        else {"seq": redoing.seqs[0], "type": redoing.what, "what": ACTION_WORDS.get(redoing.what, redoing.what)}
    )
    changed: dict[str, object] = {}
    if before is not None:
        changed = _plan_change(before, state, command, ack.person, now)
        if isinstance(command, c.SessionAdd) and state.session(command.session_id) is not None:
            added = state.session(command.session_id)
            assert added is not None
            view = session_view(state, added, now)
        if ack.token is not None:
            changed["token"] = ack.token
    if command.type in c.QUESTION_COMMANDS:
        viewer = client.welcome.person.id if client.welcome and client.welcome.person else None
        question = _asked_question(state, command, viewer)
        if question is not None:
            changed["question"] = question
    if as_json:
        print(
            json.dumps(
                {"ok": True, "seq": ack.seq, "session": view}
                | ({"undone": undone} if undone else {})
                | ({"redone": redone} if redone else {})
                | changed,
                ensure_ascii=False,
            )
        )
    elif "question" in changed:
        shown = changed["question"]
        assert isinstance(shown, dict)
        print(f"ok ({args.verb}, seq {ack.seq}): {_question_line(shown)}")  # type: ignore[arg-type]
    elif before is not None:
        print(f"ok ({args.verb}, seq {ack.seq}): {_plan_line(changed)}")
        if ack.token is not None:
            print(f"speaker token for {ack.person} (shown only this once; keep it): {ack.token}")
    else:
        took_back = f" took back {undone['what']} (seq {undone['seq']})" if undone else ""
        took_back += f" brought back {redone['what']}" if redone else ""
        print(f"ok ({args.verb}, seq {ack.seq}){took_back}" + (f": {_session_line(view)}" if view else ""))
    return 0


_PLAN_EDITS = frozenset(
    {"item_add", "item_edit", "item_remove", "item_move", "session_add", "session_edit", "person_add"}
)


def _plan_line(changed: dict[str, object]) -> str:
    item = changed.get("item")
    if isinstance(item, dict):
        start = item["projected_start"] or item["planned_start"]
        return (
            f"item {item['id']} “{item['title']}”, {item['kind']}, {format_duration(item['planned_duration_s'])}"
            f", {item['status']}, starts {start}"
        )
    if "removed" in changed:
        return f"item {changed['removed']} removed"
    person = changed.get("person")
    if isinstance(person, dict):
        return f"person {person['id']} “{person['name']}” added to the roster"
    if "session_id" in changed:
        room = f", room {changed['room']}" if changed.get("room") else ""
        return f"session {changed['session_id']} “{changed['title']}”, starts {changed['start']}{room}"
    return "done"


def main(args: argparse.Namespace) -> int:
    return asyncio.run(run(args))
