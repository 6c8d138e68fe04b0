"""``modconsole ctl``: one command to a running server, for scripts and quick fixes.

Exit status: 0 when the server accepted the command, 1 with the reason when it
refused it or could not be reached, 2 for a command line that does not parse or
whose server address is not one (a port like "8765x").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Callable

from pydantic import ValidationError

from .client import ClientError, CommandRefused, MeetingClient, check_url
from .core import commands as c
from .core.decide import redo_target, resolve_target, undo_target
from .core.durations import format_duration, parse_duration
from .core.events import ACTION_WORDS, HAND_KINDS
from .core.names import fold_name, shown_name
from .core.projection import default_session, recovery_plan
from .core.queue_order import parse_order
from .core.read_model import FloorView, HandView, SessionView, session_view, state_view
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
    verb("state", "print the live state (people by name and [id])")


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
        return c.SendMessage(text=args.text, to=args.to, **common)
    if verb == "ack":
        return c.Ack(message_id=args.message_id, **common)
    if verb == "plan" and args.apply:
        return c.ApplyPlan(target=args.target, include_fixed=args.include_fixed, **common)
    return None


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
        listing = ", ".join(f"{people[pid]} [{pid}]" for pid in sorted(found))
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
    view = state_view(state, now)
    if session_id is not None:
        view["sessions"] = [s for s in view["sessions"] if s["id"] == session_id]
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
    if as_json:
        print(
            json.dumps(
                {"ok": True, "seq": ack.seq, "session": view}
                | ({"undone": undone} if undone else {})
                | ({"redone": redone} if redone else {}),
                ensure_ascii=False,
            )
        )
    else:
        took_back = f" took back {undone['what']} (seq {undone['seq']})" if undone else ""
        took_back += f" brought back {redone['what']}" if redone else ""
        print(f"ok ({args.verb}, seq {ack.seq}){took_back}" + (f": {_session_line(view)}" if view else ""))
    return 0


def main(args: argparse.Namespace) -> int:
    return asyncio.run(run(args))
