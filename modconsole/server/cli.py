"""``modconsole-server``: create events, serve them, print the protocol schema."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shlex
import signal
import ssl
import sys
from datetime import date
from pathlib import Path

from modconsole.agenda_files import AgendaError, load_agenda
from modconsole.arguments import positive
from modconsole.core.events import EventCreated
from modconsole.paths import default_db
from modconsole.protocol import CLOSE_GOING_AWAY, schema_json

from .events_admin import create_event
from .gate import DEFAULT_MAX_WAITING, DEFAULT_MAX_WAITING_PER_ADDRESS, Gate, raise_fd_limit
from .registrants import Invitation, RegistrantsError, read_registrants, write_invitations
from .registrations import DEFAULT_MAX_PARTICIPANTS, DEFAULT_REGISTRATIONS_PER_MINUTE
from .reports import FORMATS, TABLES, build_report, render
from .service import MeetingServer
from .store import SqliteStore, StorageError, backup
from .tokens import new_token, token_hash


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="modconsole-server",
        description="The modconsole server: live agenda, speaker queue, timers and the timing log.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    create = sub.add_parser("create-event", help="create an event from an agenda file and print its tokens")
    create.add_argument("agenda", metavar="AGENDA", help="agenda file (.toml or .csv)")
    create.add_argument("--db", type=Path, help="SQLite database (default: $MODCONSOLE_DB or the user data dir)")
    create.add_argument("--json", action="store_true", help="print the event id and tokens as JSON")

    run = sub.add_parser("serve", help="serve every event in the database over websockets")
    run.add_argument("--db", type=Path, help="SQLite database (default: $MODCONSOLE_DB or the user data dir)")
    run.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    run.add_argument("--port", type=int, default=8765, help="port to listen on; 0 picks a free one (default: 8765)")
    run.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        metavar="X",
        help="run the event clock X times faster, for rehearsals and demos (default: 1)",
    )
    run.add_argument("--certfile", help="TLS certificate (PEM) to serve wss://")
    run.add_argument("--keyfile", help="TLS private key (PEM) for --certfile")
    run.add_argument(
        "--max-participants",
        type=positive,
        default=DEFAULT_MAX_PARTICIPANTS,
        metavar="N",
        help="self-registered participants an event may hold (default: %(default)s)",
    )
    run.add_argument(
        "--registrations-per-minute",
        type=positive,
        default=DEFAULT_REGISTRATIONS_PER_MINUTE,
        metavar="N",
        help="new participants one address may register a minute, in bursts of as many; "
        "raise it for a venue whose audience joins through one NAT address (default: %(default)s)",
    )
    run.add_argument(
        "--max-waiting",
        type=int,
        default=DEFAULT_MAX_WAITING,
        metavar="N",
        help="connections not yet past hello (handshake, hello) held at once; more are refused at once "
        f"(default: {DEFAULT_MAX_WAITING:,}, and at most what the file-descriptor limit leaves)",
    )
    run.add_argument(
        "--max-waiting-per-address",
        type=int,
        default=DEFAULT_MAX_WAITING_PER_ADDRESS,
        metavar="N",
        help="the same from one IPv4 address or IPv6 /64 "
        f"(default: {DEFAULT_MAX_WAITING_PER_ADDRESS}; a venue's clients behind one NAT share it)",
    )
    run.add_argument("-v", "--verbose", action="store_true", help="log connections and errors")

    sub.add_parser("schema", help="print the JSON Schema of the wire protocol")

    copy = sub.add_parser(
        "backup",
        help="copy a database, even while it is served, with every acknowledged entry",
        description="Copy a database with SQLite's online backup API: safe while a server has it open, and the "
        "copy holds the entries still in its write-ahead log (copying the .db file alone would miss them). "
        "The copy is readable by its owner only.",
    )
    copy.add_argument("--db", type=Path, help="SQLite database (default: $MODCONSOLE_DB or the user data dir)")
    copy.add_argument("--to", type=Path, required=True, metavar="PATH", help="the copy to write (a new file)")
    copy.add_argument("--force", action="store_true", help="replace PATH if it exists")

    register = sub.add_parser(
        "register",
        help="register people from a CSV file, each with a personal participant token, and write their invitations",
        description="Register the people of REGISTRANTS.csv (header name,email,affiliation,country,gender; any "
        "further columns are tags) for an event, each with a personal participant token (only its hash is kept). "
        "Run it again with new rows to add people: a row with the email of someone registered updates them. Every "
        "bad row is reported (row, column, why) and then nothing is imported. The tokens of the people added are "
        "written once, to --invitations, for a mail merge: name,email,role,token,join_command,link.",
    )
    register.add_argument("registrants", metavar="REGISTRANTS.csv", type=Path, help="the people to register")
    register.add_argument("--db", type=Path, help="SQLite database (default: $MODCONSOLE_DB or the user data dir)")
    register.add_argument("--event", metavar="ID", help="event id (default: the only event in the database)")
    register.add_argument(
        "--invitations", metavar="OUT.csv", type=Path, help="write the invitations of the people added (owner-only)"
    )
    _invitation_address(register)

    tokens = sub.add_parser("tokens", help="an event's tokens")
    tokens_sub = tokens.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    invite = tokens_sub.add_parser(
        "invitations",
        help="issue fresh tokens for the listed speakers (and moderators named) and write their invitations",
        description="Issue a fresh personal token for every person listed in the event's agenda (their email "
        "from an 'email' tag, if any) and for each --moderator, and write the invitations (name,email,role,token,"
        "join_command,link) for a mail merge. Tokens issued before stay valid.",
    )
    invite.add_argument("--db", type=Path, help="SQLite database (default: $MODCONSOLE_DB or the user data dir)")
    invite.add_argument("--event", metavar="ID", help="event id (default: the only event in the database)")
    invite.add_argument(
        "--moderator",
        action="append",
        default=[],
        metavar="NAME[:EMAIL]",
        help="a moderator to invite (repeat for more)",
    )
    invite.add_argument("-o", "--output", type=Path, metavar="OUT.csv", required=True, help="the invitations file")
    _invitation_address(invite)

    report = sub.add_parser("report", help="print a report of an event's timing log: planned against actual")
    report.add_argument("--db", type=Path, help="SQLite database (default: $MODCONSOLE_DB or the user data dir)")
    report.add_argument("--event", metavar="ID", help="event id (default: the only event in the database)")
    scope = report.add_mutually_exclusive_group()
    scope.add_argument("--session", metavar="ID", help="one session only")
    scope.add_argument("--day", metavar="YYYY-MM-DD", type=date.fromisoformat, help="one day only")
    report.add_argument("--format", choices=FORMATS, default="md", help="md (default), csv, json or html")
    report.add_argument(
        "--table",
        choices=TABLES,
        default="sessions",
        help="with --format csv: which table (sessions, items, turns, people)",
    )
    report.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE instead of standard output")
    return parser


def _invitation_address(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="the server's address as invitees reach it (default: 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=8765, help="the server's port (default: 8765)")
    parser.add_argument("--tls", action="store_true", help="the server serves wss:// and https://")


def _stdout_gone() -> None:
    """Standard output's reader went away (e.g. `| head`): what is left of it goes to /dev/null, so that
    the interpreter's last flush at exit does not fail a second time."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _fail(message: str) -> int:
    print(f"modconsole-server: {message}", file=sys.stderr)
    return 2


def cmd_create_event(args: argparse.Namespace) -> int:
    try:
        agenda = load_agenda(args.agenda)
    except AgendaError as exc:
        return _fail(str(exc))
    db = args.db or default_db()
    try:
        store = SqliteStore(db)
        try:
            created = create_event(store, agenda)
        finally:
            store.close()
    except StorageError as exc:
        return _fail(str(exc))
    try:
        if args.json:
            print(json.dumps(created.as_json(), ensure_ascii=False))
        else:
            print(f"event {created.event_id}: {agenda.title}")
            print(f"database   {db}")
            print("tokens (shown once; keep them safe):")
            rows = [
                ("moderator", created.moderator),
                ("display", created.display),
                ("participant", created.participant),
                *created.people.items(),
            ]
            width = max(12, *(len(label) for label, _ in rows))  # the tokens in one column, however long an id
            for label, token in rows:
                print(f"  {label:<{width}} {token}")
        sys.stdout.flush()  # a reader gone (`| head`) shows here, while it can still be said
    except BrokenPipeError:
        _stdout_gone()
        # The event is committed and only the tokens' hashes are kept: there is no showing them again.
        with contextlib.suppress(OSError):
            again = f"modconsole-server create-event {shlex.quote(str(args.agenda))} --db {shlex.quote(str(db))}"
            print(
                f"modconsole-server: the output was cut off (broken pipe): the tokens, shown only this once, may "
                f"not all have got through. Event {created.event_id} is in {db} all the same, and its tokens "
                f"cannot be shown again (only their hashes are kept): create the event anew and keep the whole "
                f"output, e.g. {again} --json > tokens.json",
                file=sys.stderr,
            )
        return 1
    return 0


async def _serve(args: argparse.Namespace) -> int:
    db = args.db or default_db()
    if not db.exists():
        return _fail(f"no database at {db}; create an event first (modconsole-server create-event AGENDA --db {db})")
    context = None
    if args.certfile:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(args.certfile, args.keyfile)
        except OSError as exc:  # ssl.SSLError too; otherwise reported below as "cannot listen"
            return _fail(
                f"cannot use the TLS certificate {args.certfile} and key {args.keyfile}: {exc.strerror or exc}"
            )
    raise_fd_limit()  # every connection is a descriptor: the hard limit is the one to go by
    store = SqliteStore(db)
    server = MeetingServer(
        store,
        time_scale=args.time_scale,
        max_participants=args.max_participants,
        registrations_per_minute=args.registrations_per_minute,
    )
    server.gate = Gate(args.max_waiting, args.max_waiting_per_address)
    try:
        port = await server.start(args.host, args.port, ssl=context)
    except BaseException:
        store.close()
        raise
    scheme = "wss" if context else "ws"
    print(f"listening on {scheme}://{args.host}:{port}", flush=True)
    for event_id, runtime in server.events.items():
        title = runtime.state.agenda.title if runtime.state.agenda is not None else ""
        print(f"  event {event_id}: {title} ({len(runtime.entries):,} log entries)", flush=True)
    for event_id, why in server.broken.items():
        print(f"  event {event_id}: NOT SERVED: {why}", flush=True)
    if args.time_scale != 1:
        print(f"  rehearsal clock: ×{args.time_scale:g}", flush=True)
    print(f"  {server.gate.describe()}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(CLOSE_GOING_AWAY)
    store.close()
    print("stopped", flush=True)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    if args.time_scale <= 0:
        return _fail("--time-scale must be positive")
    if bool(args.certfile) != bool(args.keyfile):
        return _fail("--certfile and --keyfile go together")
    if args.max_waiting < 1 or args.max_waiting_per_address < 1:
        return _fail("--max-waiting and --max-waiting-per-address must be at least 1")
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return asyncio.run(_serve(args))
    except StorageError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")


def cmd_report(args: argparse.Namespace) -> int:
    db = args.db or default_db()
    if not db.exists():
        return _fail(f"no database at {db}")
    try:
        store = SqliteStore(db)
        try:
            events = store.event_ids()
            event_id = args.event
            if event_id is None:
                if len(events) != 1:
                    listing = ", ".join(events) or "none"
                    return _fail(f"--event is needed: the database holds {len(events)} events ({listing})")
                event_id = events[0]
            if event_id not in events:
                return _fail(f"no event {event_id!r} in {db} (events: {', '.join(events) or 'none'})")
            entries = list(store.read(event_id))
            registrants = [person for _email, person in store.registrants(event_id)]
            marks = store.attendance(event_id)
        finally:
            store.close()
    except StorageError as exc:
        return _fail(str(exc))
    report = build_report(entries, session=args.session, day=args.day, registrants=registrants, attendance_log=marks)
    if args.session and not report.sessions:
        return _fail(f"no session {args.session!r} in event {event_id}")
    if args.day and not report.sessions:
        return _fail(f"no session on {args.day} in event {event_id}")
    text = render(report, args.format, args.table)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _event_of(store: SqliteStore, wanted: str | None, db: Path) -> str:
    """The event asked for, or the only one; StorageError saying why not."""
    events = store.event_ids()
    if wanted is None:
        if len(events) != 1:
            listing = ", ".join(events) or "none"
            raise StorageError(f"--event is needed: the database holds {len(events)} events ({listing})")
        return events[0]
    if wanted not in events:
        raise StorageError(f"no event {wanted!r} in {db} (events: {', '.join(events) or 'none'})")
    return wanted


def cmd_register(args: argparse.Namespace) -> int:
    db = args.db or default_db()
    if not db.exists():
        return _fail(f"no database at {db}; create an event first (modconsole-server create-event AGENDA --db {db})")
    try:
        store = SqliteStore(db)
        try:
            event_id = _event_of(store, args.event, db)
            try:
                people = read_registrants(args.registrants, event_id)
            except RegistrantsError as exc:
                return _fail(str(exc))
            known = {email.casefold(): person for email, person in store.registrants(event_id)}
            added = [r for r in people if r.key not in known]
            updated = [r for r in people if r.key in known and known[r.key] != r.person]
            if added and args.invitations is None:
                return _fail(
                    f"{len(added):,} new people get a token, shown only once: give --invitations OUT.csv "
                    "(nothing was imported)"
                )
            tokens = {r.person.id: new_token() for r in added}
            grants = [(r.person.id, r.person.name, token_hash(tokens[r.person.id])) for r in added]
            if args.invitations is not None and added:
                invitations = [Invitation(r.person.name, r.email, "participant", tokens[r.person.id]) for r in added]
                write_invitations(args.invitations, invitations, args.host, args.port, args.tls)
            store.register_people(event_id, [(r.email, r.person) for r in added + updated], grants)
        finally:
            store.close()
    except StorageError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot write {args.invitations}: {exc.strerror or exc}")
    same = len(people) - len(added) - len(updated)
    print(f"event {event_id}: {len(added):,} added, {len(updated):,} updated, {same:,} unchanged")
    if added:
        print(f"invitations for the {len(added):,} added: {args.invitations} (their tokens are shown only there)")
    return 0


def cmd_tokens(args: argparse.Namespace) -> int:
    db = args.db or default_db()
    if not db.exists():
        return _fail(f"no database at {db}")
    moderators = []
    for raw in args.moderator:
        name, _, email = raw.partition(":")
        if not name.strip():
            return _fail(f"--moderator {raw!r}: give a name, then optionally :EMAIL")
        moderators.append((name.strip(), email.strip()))
    try:
        store = SqliteStore(db)
        try:
            event_id = _event_of(store, args.event, db)
            entries = list(store.read(event_id, 0))
            first = entries[0].event if entries else None
            if not isinstance(first, EventCreated):
                return _fail(f"event {event_id} has no agenda")
            invitations = []
            grants: list[tuple[str, str | None, str]] = []
            for name, email in moderators:
                token = new_token()
                invitations.append(Invitation(name, email, "moderator", token))
                grants.append(("moderator", None, token_hash(token)))
            for person in first.agenda.people:
                token = new_token()
                invitations.append(Invitation(person.name, person.tags.get("email", ""), "speaker", token))
                grants.append(("speaker", person.id, token_hash(token)))
            write_invitations(args.output, invitations, args.host, args.port, args.tls)
            store.add_tokens(event_id, grants)
        finally:
            store.close()
    except StorageError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot write {args.output}: {exc.strerror or exc}")
    print(f"event {event_id}: {len(invitations):,} invitations in {args.output} (their tokens are shown only there)")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    db = args.db or default_db()
    try:
        done = backup(db, args.to, force=args.force)
    except StorageError as exc:
        return _fail(str(exc))
    events = f"{done.events} event" + ("" if done.events == 1 else "s")
    print(f"backed up {db} to {done.path}: {events}, {done.entries:,} log entries, {done.size:,} bytes", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "create-event":
        return cmd_create_event(args)
    if args.command == "serve":
        return cmd_serve(args)
    if args.command == "backup":
        return cmd_backup(args)
    if args.command == "register":
        return cmd_register(args)
    if args.command == "tokens":
        return cmd_tokens(args)
    try:
        if args.command == "report":
            code = cmd_report(args)
        else:
            print(schema_json())
            code = 0
        sys.stdout.flush()
        return code
    except BrokenPipeError:  # output piped into e.g. `head`, which has read all it wanted
        _stdout_gone()
        return 0


if __name__ == "__main__":
    sys.exit(main())
