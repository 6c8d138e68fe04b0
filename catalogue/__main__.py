"""``python -m catalogue update|compile|check``: see the package's docstring."""

from __future__ import annotations

import sys

from . import ROOT, compile_all, problems, update


def main(argv: list[str]) -> int:
    verb = argv[0] if argv else "check"
    if verb == "update":
        todo = update()
        print(f"{len(todo)} string(s) to translate" + "".join(f"\n  {msgid}" for msgid in todo))
        return 0
    if verb == "compile":
        for path in compile_all():
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    if verb == "check":
        found = list(problems())
        for problem in found:
            print(problem)
        return 1 if found else 0
    print("usage: python -m catalogue update|compile|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
