"""``modconsole``: the client side's command line."""

from __future__ import annotations

import argparse
import sys

from . import __version__, ctl


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="modconsole", description="modconsole: a moderator console for live meetings.")
    top.add_argument("--version", action="version", version=f"modconsole {__version__}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ctl.add_parser(sub)
    return top


def main(argv: list[str] | None = None) -> int:
    argv = ctl.normalise_argv(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    try:
        if args.command == "ctl":
            return ctl.main(args)
    except BrokenPipeError:  # output piped into e.g. `head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
