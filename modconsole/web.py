"""``modconsole web``: the console's views in a browser (textual-serve), for speakers, participants
and stage displays without a terminal. Each browser tab runs ``modconsole join SERVER --ask``, which
asks for the token in the page (a password field), so the token never travels in a URL and is never
shown in the page's title."""

from __future__ import annotations

import os
import re
import shlex
import sys
import tempfile
from pathlib import Path


def page_template(original: str) -> str:
    """textual-serve's page without its web font from a third-party host: a venue network without
    internet access would hold the page until that request failed, and nobody's browser needs to tell
    a font service who opens the console."""
    return re.sub(r'\s*<link\s+rel="stylesheet"\s+href="https://fonts\.googleapis\.com[^>]*>', "", original)


def command(server_url: str, cafile: str | None = None) -> str:
    argv = [sys.executable, "-m", "modconsole", "join", server_url, "--ask"]
    if cafile:
        argv += ["--cafile", cafile]
    return shlex.join(argv)


def serve(server_url: str, host: str, port: int, public_url: str | None = None, *,
          cafile: str | None = None) -> int:
    try:
        import textual_serve
        from textual_serve.server import Server
    except ImportError:
        print("modconsole web: textual-serve is not installed (pip install textual-serve)", file=sys.stderr)
        return 1
    if host in ("0.0.0.0", "::") and public_url is None:
        print(f"modconsole web: listening on every address; browsers on other machines need "
              f"--public-url http://THIS-MACHINE:{port} (the page connects back to that address)", file=sys.stderr)
    # Every tab's process inherits this environment: a token in it must not open the console for anyone.
    os.environ.pop("MODCONSOLE_TOKEN", None)
    package = Path(textual_serve.__file__).parent
    with tempfile.TemporaryDirectory(prefix="modconsole-web-") as templates:
        index = (package / "templates" / "app_index.html").read_text(encoding="utf-8")
        (Path(templates) / "app_index.html").write_text(page_template(index), encoding="utf-8")
        server = Server(command(server_url, cafile), host=host, port=port, title="modconsole",
                        public_url=public_url, statics_path=package / "static", templates_path=templates)
        server.serve()
    return 0
