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
import time
from datetime import date
from pathlib import Path

from modconsole.agenda_files import EXPORT_FORMATS, GAPS, AgendaError, load_agenda, to_csv, to_ics, to_toml
from modconsole.agenda_files import FORMATS as FORMATS_IN
from modconsole.arguments import positive
from modconsole.core.agenda import Agenda
from modconsole.core.events import EventCreated
from modconsole.paths import default_db
from modconsole.protocol import CLOSE_GOING_AWAY, schema_json

from .events_admin import PlanRefused, create_event, plan_in_force, replace_plan
from .gate import DEFAULT_MAX_WAITING, DEFAULT_MAX_WAITING_PER_ADDRESS, Gate, raise_fd_limit
from .hooks import Hooks, HooksError, load_hooks
from .http_api import DEFAULT_MAX_CONNECTIONS, HttpApi
from .registrants import Invitation, RegistrantsError, read_registrants, write_invitations
from .registrations import DEFAULT_MAX_PARTICIPANTS, DEFAULT_REGISTRATIONS_PER_MINUTE
from .reports import FORMATS, TABLES, build_report, render
from .service import MeetingServer
from .store import SqliteStore, StorageError, StoredToken, backup
from .stores import STORE_ENV, StoreChoice, choose
from .tokens import new_token, token_hash
from .tokens_admin import AdminError, add_moderator, copy_event, list_holders, pick_event, reissue, revoke

STORE_HELP = (
    f"a PostgreSQL database shared by several servers, e.g. postgresql://modconsole@db:5432/modconsole "
    f"(default: ${STORE_ENV}; without it, the SQLite file of --db)"
)


def _store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", metavar="URL", help=STORE_HELP)


def _store(args: argparse.Namespace) -> StoreChoice:
    """The store the options name; a usage error (exit 2) when they are wrong."""
    try:
        return choose(args.db, args.store)
    except ValueError as exc:
        raise SystemExit(_fail(str(exc))) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="modconsole-server",
        description="The modconsole server: live agenda, speaker queue, timers and the timing log.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    create = sub.add_parser("create-event", help="create an event from an agenda file and print its tokens")
    create.add_argument("agenda", metavar="AGENDA", help=AGENDA_HELP)
    create.add_argument("--db", type=Path, help="SQLite database (default: $MODCONSOLE_DB or the user data dir)")
    _store_option(create)
    create.add_argument("--json", action="store_true", help="print the event id and tokens as JSON")
    _agenda_options(create)

    update = sub.add_parser(
        "update-event",
        help="replace an event's plan from an agenda file before any session has started, keeping tokens",
        description="Replace the plan of an event none of whose sessions has started yet. People found again "
        "(by the same guid, else id, else email tag) keep their tokens; new people get tokens, shown once; the "
        "tokens of people no longer in the plan stop working. Once a session has started this is refused: edit "
        "the plan live. Stop the server that serves the database first, and start it again after.",
    )
    update.add_argument("agenda", metavar="AGENDA", help=AGENDA_HELP)
    update.add_argument("--db", type=Path, help="SQLite database (default: $MODCONSOLE_DB or the user data dir)")
    update.add_argument("--event", metavar="ID", required=True, help="the event to update")
    update.add_argument("--json", action="store_true", help="print what was kept and the new tokens as JSON")
    _agenda_options(update)

    export = sub.add_parser(
        "export",
        help="write an event's plan in force as iCalendar, CSV or TOML",
        description="Write the plan in force (as created, updated or edited live) as iCalendar, for "
        "participants' calendars, or as CSV or TOML; create-event reads each back as the same plan. With "
        "--format csv and -o FILE the roster goes to FILE's sibling NAME.people.csv (read it back with --people).",
    )
    export.add_argument("--db", type=Path, help="SQLite database (default: $MODCONSOLE_DB or the user data dir)")
    export.add_argument("--event", metavar="ID", help="event id (default: the only event in the database)")
    export.add_argument("--format", choices=EXPORT_FORMATS, required=True, help="ics, csv or toml")
    export.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE instead of standard output")

    run = sub.add_parser("serve", help="serve every event in the database over websockets")
    run.add_argument("--db", type=Path, help="SQLite database (default: $MODCONSOLE_DB or the user data dir)")
    _store_option(run)
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
    run.add_argument(
        "--http-port",
        type=int,
        metavar="PORT",
        help="also serve the HTTP API (docs/http.md: GET /api/state, POST /api/command with a Bearer token) on "
        "PORT, on the same host; 0 picks a free one (default: no HTTP API)",
    )
    run.add_argument(
        "--http-max-connections",
        type=positive,
        default=DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help="HTTP API connections open at once; more are answered 503 (default: %(default)s)",
    )
    run.add_argument(
        "--hooks",
        type=Path,
        metavar="FILE",
        help="a TOML file whose [hooks] table names what to call when the floor is given, an item starts, "
        "a timer reaches its warning... (an HTTP POST or an OSC message; docs/http.md); an agenda file "
        "with a [hooks] table will do",
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
    copy.add_argument(
        "--store",
        metavar="URL",
        help="refused for PostgreSQL: back it up with pg_dump or a standby (docs/deployment.md)",
    )
    copy.add_argument("--to", type=Path, required=True, metavar="PATH", help="the copy to write (a new file)")
    copy.add_argument("--force", action="store_true", help="replace PATH if it exists")

    rehearse = sub.add_parser(
        "copy-event",
        help="copy an event to another database to rehearse on: the same agenda, people and tokens, an empty log",
        description="Copy an event's agenda (as it stands), its people and its tokens' hashes into a new database, "
        "with a log of its own: the same tokens work on the copy, and a rehearsal there (which starts and ends "
        "sessions, and a session can start only once) leaves the original's log untouched. Serve the copy "
        "with its own server (another --port), e.g. with --time-scale to rehearse faster.",
    )
    rehearse.add_argument("--db", type=Path, help="the event's database (default: $MODCONSOLE_DB or the user data dir)")
    _store_option(rehearse)
    rehearse.add_argument("--to", type=Path, required=True, metavar="DST", help="the copy to write (a new file)")
    rehearse.add_argument("--event", metavar="ID", help="event id (default: the only event in the database)")

    tokens = sub.add_parser(
        "tokens",
        help="list, reissue or revoke an event's tokens; add a named moderator",
        description="Who holds which token of an event (never the tokens: only their hashes are kept). A reissued "
        "or revoked token stops working at once: a server running on the database closes its open connections "
        "with 1008 within half a second. WHO is moderator, display or participant (the event's own tokens; "
        "participant is the event-wide one the audience joins with), or a person's or a named moderator's id "
        "or name.",
    )
    tokens_sub = tokens.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    listing = tokens_sub.add_parser("list", help="who holds which kind of token (never the token itself)")
    again = tokens_sub.add_parser("reissue", help="a new token in place of WHO's, printed once; the old one stops")
    again.add_argument("who", metavar="WHO", help="moderator, display, participant, or a person's id or name")
    gone = tokens_sub.add_parser("revoke", help="WHO's token stops working (reissue gives them a new one)")
    gone.add_argument("who", metavar="WHO", help="moderator, display, participant, or a person's id or name")
    named = tokens_sub.add_parser(
        "add-moderator",
        help="a moderator token of one's own, printed once: the log and the reports name who did what",
    )
    named.add_argument("name", metavar="NAME", help="the moderator's name, as the audit shows it")
    named.add_argument(
        "--id", metavar="ID", help="their id (default: mod- and the name; a roster id makes that person)"
    )
    named.add_argument(
        "--session",
        action="append",
        metavar="ID",
        help="the only session they may act on (repeat for more; default: every session), e.g. one hall of two",
    )
    for parser_ in (listing, again, gone, named):
        parser_.add_argument("--db", type=Path, help="SQLite database (default: $MODCONSOLE_DB or the user data dir)")
        _store_option(parser_)
        parser_.add_argument("--event", metavar="ID", help="event id (default: the only event in the database)")
        parser_.add_argument("--json", action="store_true", help="print JSON")

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

    report = sub.add_parser("report", help="print a report of an event's timing log: planned against actual")
    report.add_argument("--db", type=Path, help="SQLite database (default: $MODCONSOLE_DB or the user data dir)")
    _store_option(report)
    report.add_argument("--event", metavar="ID", help="event id (default: the only event in the database)")
    scope = report.add_mutually_exclusive_group()
    scope.add_argument("--session", metavar="ID", help="one session only")
    scope.add_argument("--day", metavar="YYYY-MM-DD", type=date.fromisoformat, help="one day only")
    report.add_argument("--format", choices=FORMATS, default="md", help="md (default), csv, json or html")
    report.add_argument(
        "--table",
        choices=TABLES,
        default="sessions",
        help="with --format csv: which table (sessions, items, turns, people, questions)",
    )
    report.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE instead of standard output")
    return parser


def _invitation_address(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="the server's address as invitees reach it (default: 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=8765, help="the server's port (default: 8765)")
    parser.add_argument("--tls", action="store_true", help="the server serves wss:// and https://")


AGENDA_HELP = (
    "agenda file: .toml, .csv, .json (frab/pretalx schedule), .xml (frab/pentabarf schedule.xml) or .ics "
    "(iCalendar); see the README for each format's mapping"
)


def _agenda_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS_IN, help="read AGENDA as this format whatever its extension")
    parser.add_argument("--title", help="the event's title (CSV, schedules, calendars): wins over the file's")
    parser.add_argument("--timezone", metavar="ZONE", help="the event's IANA time zone, e.g. Europe/Moscow (not TOML)")
    parser.add_argument("--people", type=Path, metavar="PEOPLE.csv", help="with a CSV agenda: the roster")
    parser.add_argument(
        "--gaps",
        choices=GAPS,
        default="fixed",
        help="schedules and calendars: a gap before an event is a fixed start (default) or a break item",
    )


def _load(args: argparse.Namespace) -> Agenda:
    return load_agenda(
        args.agenda, fmt=args.format, title=args.title, timezone=args.timezone, people=args.people, gaps=args.gaps
    )


def _stdout_gone() -> None:
    """Standard output's reader went away (e.g. `| head`): what is left of it goes to /dev/null, so that
    the interpreter's last flush at exit does not fail a second time."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _shown(text: str) -> str:
    """A name from an agenda file as a terminal may print it: characters that are not printable (escape
    sequences, bidirectional overrides) shown as escapes, never acted on."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _fail(message: str) -> int:
    print(f"modconsole-server: {message}", file=sys.stderr)
    return 2


def _check_hooks(path: str) -> None:
    """An agenda's [hooks] table, checked now rather than when it is served (HooksError when it is wrong)."""
    import tomllib

    with open(path, "rb") as handle, contextlib.suppress(tomllib.TOMLDecodeError, UnicodeDecodeError):
        if "hooks" in tomllib.loads(handle.read().decode("utf-8-sig")):
            load_hooks(path)


def cmd_create_event(args: argparse.Namespace) -> int:
    try:
        agenda = _load(args)
        if str(args.agenda).casefold().endswith(".toml"):
            _check_hooks(args.agenda)
    except (AgendaError, HooksError) as exc:
        return _fail(str(exc))
    choice = _store(args)
    try:
        store = choice.open()
        try:
            created = create_event(store, agenda)
        finally:
            store.close()
    except StorageError as exc:
        return _fail(str(exc))
    try:
        if args.json:
            out = created.as_json()
            out["names"] = {person.id: person.name for person in agenda.people}
            print(json.dumps(out, ensure_ascii=False))
        else:
            print(f"event {created.event_id}: {agenda.title}")
            print(f"database   {choice.describe()}")
            print("tokens (shown once; keep them safe):")
            names = {person.id: person.name for person in agenda.people}
            rows = [
                ("moderator", "", created.moderator),
                ("display", "", created.display),
                ("participant", "", created.participant),
                *((pid, names.get(pid, ""), token) for pid, token in created.people.items()),
            ]
            width = max(12, *(len(label) for label, _, _ in rows))  # the tokens in one column, however long an id
            for label, name, token in rows:  # the name after the token: the tokens stay in one column
                print(f"  {label:<{width}} {token}" + (f"  {_shown(name)}" if name else ""))
        sys.stdout.flush()  # a reader gone (`| head`) shows here, while it can still be said
    except BrokenPipeError:
        _stdout_gone()
        # The event is committed and only the tokens' hashes are kept: there is no showing them again.
        with contextlib.suppress(OSError):
            flag, _, where = choice.flag().partition(" ")
            again = f"modconsole-server create-event {shlex.quote(str(args.agenda))} {flag} {shlex.quote(where)}"
            print(
                f"modconsole-server: the output was cut off (broken pipe): the tokens, shown only this once, may "
                f"not all have got through. Event {created.event_id} is in {choice.describe()} all the same, and its "
                f"tokens cannot be shown again (only their hashes are kept): create the event anew and keep the whole "
                f"output, e.g. {again} --json > tokens.json",
                file=sys.stderr,
            )
        return 1
    return 0


async def _serve(args: argparse.Namespace) -> int:
    choice = _store(args)
    if choice.db is not None and not choice.db.exists():
        db = choice.db
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
    hooks = None
    if args.hooks is not None:
        try:
            hooks = Hooks(load_hooks(args.hooks))
        except HooksError as exc:
            return _fail(str(exc))
    raise_fd_limit()  # every connection is a descriptor: the hard limit is the one to go by
    store = choice.open()
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
    api: HttpApi | None = None
    if args.http_port is not None:
        api = HttpApi(server, max_connections=args.http_max_connections)
        try:
            http_port = await api.start(args.host, args.http_port, ssl=context)
        except BaseException:
            await server.stop(CLOSE_GOING_AWAY)
            store.close()
            raise
    if hooks is not None:
        hooks.attach(server)
    scheme = "wss" if context else "ws"
    print(f"listening on {scheme}://{args.host}:{port}", flush=True)
    if choice.shared:
        print(f"  log: {choice.describe()}, shared with the other servers on it", flush=True)
    if hooks is not None:
        for target in hooks.targets:
            print(f"  hook {target.hook.describe()}", flush=True)
    if api is not None:
        print(f"  HTTP API on {'https' if context else 'http'}://{args.host}:{http_port}/api/", flush=True)
    for event_id, runtime in server.events.items():
        title = runtime.state.agenda.title if runtime.state.agenda is not None else ""
        print(f"  event {event_id}: {title} ({len(runtime.entries):,} log entries)", flush=True)
    web = "https" if context else "http"
    print(
        f"  pages: {web}://{args.host}:{port}/join#token=TOKEN (participants, speakers), "
        f"{web}://{args.host}:{port}/display#token=DISPLAY_TOKEN (stage display)",
        flush=True,
    )
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
    if api is not None:
        await api.stop()
    if hooks is not None:
        await hooks.stop()
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
    choice = _store(args)
    db = choice.describe()
    if choice.db is not None and not choice.db.exists():
        return _fail(f"no database at {db}")
    try:
        store = choice.open()
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


def _registered_event(store: SqliteStore, wanted: str | None, db: Path) -> str:
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
            event_id = _registered_event(store, args.event, db)
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


def cmd_tokens_invitations(args: argparse.Namespace) -> int:
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
            event_id = _registered_event(store, args.event, db)
            entries = list(store.read(event_id, 0))
            first = entries[0].event if entries else None
            if not isinstance(first, EventCreated):
                return _fail(f"event {event_id} has no agenda")
            invitations = []
            grants: list[StoredToken] = []
            for name, email in moderators:
                token = new_token()
                invitations.append(Invitation(name, email, "moderator", token))
                grants.append(StoredToken(token_hash(token), "moderator", None, name))
            for person in first.agenda.people:
                token = new_token()
                invitations.append(Invitation(person.name, person.tags.get("email", ""), "speaker", token))
                grants.append(StoredToken(token_hash(token), "speaker", person.id))
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


def _event_of(store: SqliteStore, wanted: str | None, db: Path) -> str:
    events = store.event_ids()
    if wanted is None:
        if len(events) != 1:
            raise PlanRefused(
                f"--event is needed: the database holds {len(events)} events ({', '.join(events) or 'none'})"
            )
        return events[0]
    if wanted not in events:
        raise PlanRefused(f"no event {wanted!r} in {db} (events: {', '.join(events) or 'none'})")
    return wanted


def cmd_update_event(args: argparse.Namespace) -> int:
    db = args.db or default_db()
    if not db.exists():
        return _fail(f"no database at {db}")
    try:
        agenda = _load(args)
    except AgendaError as exc:
        return _fail(str(exc))
    try:
        store = SqliteStore(db)
        try:
            done = replace_plan(store, _event_of(store, args.event, db), agenda)
        finally:
            store.close()
    except (StorageError, PlanRefused) as exc:
        return _fail(f"the plan was not replaced: {exc}")
    if args.json:
        print(json.dumps(done.as_json(), ensure_ascii=False))
        return 0
    print(f"event {done.event_id}: the plan is now {agenda.title!r} ({len(agenda.sessions)} sessions)")
    print(f"  {len(done.kept)} people keep their tokens")
    if done.removed:
        print(f"  tokens that stopped working (people no longer in the plan): {', '.join(done.removed)}")
    if done.people:
        print("  new tokens (shown once; keep them safe):")
        width = max(12, *(len(person) for person in done.people))
        for person, token in done.people.items():
            print(f"    {person:<{width}} {token}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    db = args.db or default_db()
    if not db.exists():
        return _fail(f"no database at {db}")
    try:
        store = SqliteStore(db)
        try:
            agenda = plan_in_force(store, _event_of(store, args.event, db))
        finally:
            store.close()
    except (StorageError, PlanRefused) as exc:
        return _fail(str(exc))
    people = None
    if args.format == "ics":
        text = to_ics(agenda)
    elif args.format == "toml":
        text = to_toml(agenda)
    else:
        written = to_csv(agenda)
        text, people = written.agenda, written.people
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
        if people is not None:
            roster = args.output.with_name(args.output.stem + ".people.csv")
            roster.write_text(people, encoding="utf-8")
            print(
                f"wrote {roster} (read both back with: create-event {args.output} --people {roster})", file=sys.stderr
            )
    else:
        sys.stdout.write(text)
        if people is not None:
            print("the roster is left out; write to a file (-o FILE) to have it beside", file=sys.stderr)
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    choice = _store(args)
    if choice.db is None:
        return _fail(
            f"backup copies a SQLite file; {choice.describe()} is PostgreSQL: back it up with pg_dump, "
            "or keep a standby (docs/deployment.md)"
        )
    db = choice.db
    try:
        done = backup(db, args.to, force=args.force)
    except StorageError as exc:
        return _fail(str(exc))
    events = f"{done.events} event" + ("" if done.events == 1 else "s")
    print(f"backed up {db} to {done.path}: {events}, {done.entries:,} log entries, {done.size:,} bytes", flush=True)
    return 0


def cmd_copy_event(args: argparse.Namespace) -> int:
    choice = _store(args)
    if choice.db is not None and not choice.db.is_file():
        return _fail(f"no database at {choice.db}")
    if args.to.exists():
        return _fail(f"{args.to} exists; the copy goes to a new file")
    try:
        source = choice.open()
        try:
            event_id = pick_event(source, args.event)
            target = SqliteStore(args.to)
            try:
                done = copy_event(source, target, event_id, now_ms=int(time.time() * 1000))
            except BaseException:
                target.close()
                for leftover in (args.to, Path(f"{args.to}-wal"), Path(f"{args.to}-shm")):
                    leftover.unlink(missing_ok=True)
                raise
            target.close()
        finally:
            source.close()
    except (StorageError, AdminError) as exc:
        return _fail(str(exc))
    print(
        f"copied event {done.event_id} ({done.title}) to {args.to}: the agenda, {done.people} people and "
        f"{done.tokens} tokens (the same tokens work on the copy); its log is empty "
        f"({done.entries_left:,} entries of the original left behind)",
        flush=True,
    )
    print(f"rehearse on it: modconsole-server serve --db {shlex.quote(str(args.to))} --port 8766", flush=True)
    return 0


def cmd_tokens(args: argparse.Namespace) -> int:
    if args.tokens_command == "invitations":
        return cmd_tokens_invitations(args)
    choice = _store(args)
    if choice.db is not None and not choice.db.is_file():
        return _fail(f"no database at {choice.db}")
    try:
        store = choice.open()
        try:
            event_id = pick_event(store, args.event)
            action = args.tokens_command
            if action == "list":
                holders, revoked = list_holders(store, event_id)
                if args.json:
                    print(
                        json.dumps({"event_id": event_id, "tokens": [h.as_json() for h in holders]}, ensure_ascii=False)
                    )
                    return 0
                print(f"event {event_id}: {len(holders)} live tokens ({revoked} revoked)")
                for h in holders:
                    who = h.person or "(the event's)"
                    name = f"  {_shown(h.name)}" if h.name else ""
                    scope = f"  sessions: {', '.join(h.sessions)}" if h.sessions is not None else ""
                    print(f"  {h.role:<12} {who}{name}{scope}")
                return 0
            if action == "revoke":
                role, person, _ = revoke(store, event_id, args.who)
                if args.json:
                    print(json.dumps({"person": person, "role": role, "revoked": True}))
                else:
                    print(f"revoked the {role} token" + (f" of {person}" if person else "") + f" of event {event_id}")
                return 0
            if action == "reissue":
                issued = reissue(store, event_id, args.who)
            else:
                issued = add_moderator(store, event_id, args.name, person=args.id, sessions=args.session)
        finally:
            store.close()
    except (StorageError, AdminError) as exc:
        return _fail(str(exc))
    if args.json:
        print(json.dumps(issued.as_json(), ensure_ascii=False), flush=True)
    else:
        who = issued.person or f"the event's {issued.role}"
        name = f" ({_shown(issued.name)})" if issued.name else ""
        scope = f", for sessions {', '.join(issued.sessions)} only" if issued.sessions is not None else ""
        print(f"{issued.role} token of {who}{name}{scope} (shown once; keep it safe):")
        print(f"  {issued.token}", flush=True)
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
    if args.command == "update-event":
        return cmd_update_event(args)
    if args.command == "export":
        return cmd_export(args)
    try:
        if args.command == "report":
            code = cmd_report(args)
        elif args.command == "copy-event":
            code = cmd_copy_event(args)
        elif args.command == "tokens":
            code = cmd_tokens(args)
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
