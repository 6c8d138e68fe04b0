"""``modconsole``: the client side's command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .arguments import positive
from .longlived import gc_paused

if TYPE_CHECKING:
    from .tui import ConsoleApp


def parser(*, ctl_verbs: bool = True) -> argparse.ArgumentParser:
    """The command line; without ``ctl_verbs`` the ``ctl`` command is listed but cannot parse."""
    top = argparse.ArgumentParser(prog="modconsole", description="modconsole: a moderator console for live meetings.")
    top.add_argument("--version", action="version", version=f"modconsole {__version__}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ctl = sub.add_parser(
        "ctl",
        help="send one command to a server and print the result",
        description="Send one command to a modconsole server. Exit 0 when accepted, 1 with the reason when refused.",
        # Options before the verb are spelled out: a verb's own (message --to) must not read as a prefix of
        # these (--token, --token-file).
        allow_abbrev=False,
    )
    if ctl_verbs:
        from . import ctl as ctl_command  # not at the top: it loads the client and the models, see main

        ctl_command.add_arguments(ctl)

    join = sub.add_parser("join", help="open the console for a token's role (moderator, speaker, participant, display)")
    join.add_argument(
        "url",
        metavar="URL",
        help="server address, e.g. ws://127.0.0.1:8765; several, comma-separated, of servers sharing one log "
        "(ws://a:8765,ws://b:8765)",
    )
    join.add_argument(
        "--token", help="access token (default: $MODCONSOLE_TOKEN; on the command line other users see it)"
    )
    join.add_argument(
        "--token-file", metavar="FILE", help="read the access token from the first line of FILE (- for standard input)"
    )
    join.add_argument("--name", help="your name, with the participant token")
    join.add_argument("--view", choices=["display"], help="show the stage display whatever the token's role")
    join.add_argument("--cafile", help="CA certificate to trust for wss://")
    join.add_argument("--session", metavar="ID", help="the session to follow (default: the running one)")
    join.add_argument(
        "--lang",
        metavar="LANG",
        help="the language of a speaker's, a participant's or the stage display's screen: ar, zh, en, fr, ru or es "
        "(default: the locale's, else English); the moderator's console is in English",
    )
    join.add_argument(
        "--ask", action="store_true", help="ask for the token (and name) on screen instead; what the browser view runs"
    )

    web = sub.add_parser("web", help="serve the console in a browser: each tab asks for its token (textual-serve)")
    web.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    web.add_argument("--port", type=int, default=8080, help="port to listen on (default: 8080)")
    web.add_argument(
        "--server",
        default="ws://127.0.0.1:8765",
        metavar="URL",
        help="the modconsole server the tabs join (default: ws://127.0.0.1:8765)",
    )
    web.add_argument(
        "--public-url",
        metavar="URL",
        help="the address browsers use, when it is not http://HOST:PORT (e.g. behind a proxy)",
    )
    web.add_argument("--cafile", help="CA certificate to trust for a wss:// server")
    web.add_argument(
        "--max-tabs",
        type=positive,
        default=20,
        metavar="N",
        help="tabs open at once (each a console process), beyond which a tab is refused (default: 20)",
    )
    web.add_argument(
        "--max-tabs-per-address",
        type=positive,
        default=4,
        metavar="N",
        help="tabs open at once from one client address (default: 4; behind a proxy, every tab "
        "comes from the proxy's address)",
    )

    demo = sub.add_parser("demo", help="run the mayors' call on an embedded server and open the console")
    demo.add_argument("--fast", action="store_true", help="rehearsal clock at 60x with simulated mayors raising hands")
    demo.add_argument("--db", type=Path, help="SQLite file for the demo's log (default: a new temporary one)")
    return top


def join(args: argparse.Namespace) -> int:
    # What the console imports lives as long as it runs: ~35 ms of a display's start (docs/performance.md).
    with gc_paused(freeze=True):
        from .client import ClientError, MeetingClient, check_url
        from .tui import LiveLink, create_app
        from .tui.login import Login, check_name
    from . import i18n

    if args.lang is not None and i18n.normalise(args.lang) is None:
        print(f"modconsole join: --lang: no {args.lang!r}; choose one of {', '.join(i18n.LANGUAGES)}", file=sys.stderr)
        return 2
    language = i18n.choose(args.lang)
    try:
        check_url(args.url)  # a mistyped address: no console to open, no retry to wait for
    except ClientError as exc:
        print(f"modconsole join: {exc.message}", file=sys.stderr)
        return 2
    if args.ask:
        # The token is typed on screen, never taken from the environment: in the browser view this
        # process inherits the web server's environment.
        def connect(token: str, name: str | None) -> LiveLink:
            return LiveLink(MeetingClient(args.url, token, name=name, client="web", cafile=args.cafile))

        app = create_app(None, view=args.view, session=args.session, login=Login(args.url, connect), language=language)
        app.run()
        return crashed(app)
    if args.name is not None:
        try:
            args.name = check_name(args.name)
        except ValueError as exc:
            print(f"modconsole join: --name: {exc}", file=sys.stderr)
            return 2
    from .credentials import Credentials, resolve_token

    try:
        token = resolve_token(args.token, args.token_file)
    except ValueError as exc:
        print(f"modconsole join: {exc}", file=sys.stderr)
        return 2
    if not token:
        print("modconsole join: a token is needed (MODCONSOLE_TOKEN, --token-file or --token)", file=sys.stderr)
        return 2

    credentials = Credentials()
    kept = credentials.lookup(args.url, token)  # a participant who joined before: their own credential
    not_kept: list[str] = []
    client = MeetingClient(
        args.url,
        kept or token,
        name=None if kept else args.name,
        client="console",
        cafile=args.cafile,
        keep_credential=credentials.keeper(args.url, token, not_kept),
    )
    link = LiveLink(client)
    app = create_app(link, view=args.view, session=args.session, language=language)
    app.run()
    if not_kept:
        print(
            f"modconsole join: could not keep your participant credential ({not_kept[0]}); the next join "
            "will ask for your name again",
            file=sys.stderr,
        )
    if crashed(app):
        return 1
    if link.status == "refused":
        print(f"modconsole join: refused: {link.detail}", file=sys.stderr)
        if kept is not None and client.token == kept:
            credentials.forget(args.url, token)
            print(
                "modconsole join: the participant credential kept for this server was not accepted and is "
                "forgotten; join again with --name",
                file=sys.stderr,
            )
        return 1
    if not link.ever_connected:  # quit while still trying: say why it never got through
        print(f"modconsole join: never connected: {link.detail or f'no answer from {args.url} yet'}", file=sys.stderr)
        return 1
    return 0


def crashed(app: ConsoleApp) -> int:
    """0 when the console ended as asked; 1, with the reason, when an error nobody handled ended it (Textual
    has printed its traceback above)."""
    crash = getattr(app, "crash", None)  # a stand-in for the console (tests) may have none
    if crash is None:
        return 0
    print(f"modconsole join: the console stopped on an error: {type(crash).__name__}: {crash}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Only a ctl command line needs ctl's verbs (and the client and the models they import): `join`
    # imports those itself, with the collector paused.
    is_ctl = next((arg for arg in argv if not arg.startswith("-")), None) == "ctl"
    if is_ctl:
        from . import ctl

        argv = ctl.normalise_argv(argv)
    args = parser(ctl_verbs=is_ctl).parse_args(argv)
    try:
        if args.command == "ctl":
            return ctl.main(args)
        if args.command == "join":
            return join(args)
        if args.command == "web":
            from .client import ClientError, check_url
            from .web import serve

            try:
                check_url(args.server)  # every tab would join it: say now, not in each tab
            except ClientError as exc:
                print(f"modconsole web: --server: {exc.message}", file=sys.stderr)
                return 2

            return serve(
                args.server,
                args.host,
                args.port,
                args.public_url,
                cafile=args.cafile,
                max_tabs=args.max_tabs,
                max_tabs_per_address=args.max_tabs_per_address,
            )
        if args.command == "demo":
            # The demo embeds a server; the console itself never imports it.
            from modconsole.demo import main as demo_main

            return demo_main(args.fast, args.db)
    except BrokenPipeError:  # output piped into e.g. `head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
