"""Personal participant credentials, kept on this machine.

The first join with an event's participant token and a name makes the person a participant of their own:
the server issues a personal credential, and this store keeps it (in the user data directory, owner-only)
under the server's address and the token it was issued for. Later joins with that token use the
credential instead, so ``--name`` is asked only the first time and nobody else can become this person by
typing the same name.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from platformdirs import user_data_dir

if TYPE_CHECKING:
    from .protocol import Welcome


def default_path() -> Path:
    """``$MODCONSOLE_CREDENTIALS``, else credentials.json in the user data directory."""
    env = os.environ.get("MODCONSOLE_CREDENTIALS")
    if env:
        return Path(env)
    return Path(user_data_dir("modconsole", appauthor=False)) / "credentials.json"


MAX_TOKEN_FILE = 4096


def resolve_token(token: str | None, token_file: str | None) -> str | None:
    """The access token to use: ``--token``, else the first line of ``--token-file`` (``-`` for standard
    input), else ``$MODCONSOLE_TOKEN``; ValueError saying why when the file cannot give one. A token on the
    command line is visible to every local user in ``ps``: the file or the environment are not."""
    if token and token_file:
        raise ValueError("give --token or --token-file, not both")
    if token_file:
        try:
            if token_file == "-":
                import sys

                text = sys.stdin.read(MAX_TOKEN_FILE)
            else:
                with open(token_file, encoding="utf-8") as source:
                    text = source.read(MAX_TOKEN_FILE)
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or exc
            raise ValueError(f"cannot read the token file {token_file}: {why}") from None
        first = text.strip().splitlines()[0].strip() if text.strip() else ""
        if not first:
            raise ValueError(f"the token file {token_file} is empty")
        return first
    return token or os.environ.get("MODCONSOLE_TOKEN") or None


def _key(url: str, token: str) -> str:
    # The token that was given is not stored, only a hash of it to find the credential by.
    return f"{url.rstrip('/').lower()} {hashlib.sha256(token.encode('utf-8', 'surrogatepass')).hexdigest()[:32]}"


class Credentials:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # none kept yet, or a damaged file: a new credential replaces it
        return data if isinstance(data, dict) else {}

    def _field(self, url: str, token: str, field: str) -> str | None:
        entry = self._read().get(_key(url, token))
        value = entry.get(field) if isinstance(entry, dict) else None
        return value if isinstance(value, str) else None

    def lookup(self, url: str, token: str) -> str | None:
        """The credential kept for this server and token, if any."""
        return self._field(url, token, "credential")

    def name(self, url: str, token: str) -> str | None:
        """The name the credential was issued under, if any."""
        return self._field(url, token, "name")

    def keep(self, url: str, token: str, *, event_id: str, name: str, credential: str) -> None:
        data = self._read()
        data[_key(url, token)] = {"event": event_id, "name": name, "credential": credential}
        self._write(data)

    def keeper(self, url: str, token: str, failed: list[str]) -> Callable[[Welcome, str], None]:
        """A ``MeetingClient(keep_credential=...)`` callback keeping what it is given for this server and
        token; a file that cannot be written is noted in ``failed`` (the join goes on: the client holds
        the credential for as long as it runs)."""

        def keep(welcome: Welcome, credential: str) -> None:
            name = welcome.person.name if welcome.person is not None else ""
            try:
                self.keep(url, token, event_id=welcome.event_id, name=name, credential=credential)
            except OSError as exc:
                failed.append(f"{self.path}: {exc.strerror or exc}")

        return keep

    def forget(self, url: str, token: str) -> None:
        data = self._read()
        if data.pop(_key(url, token), None) is not None:
            self._write(data)

    def _write(self, data: dict[str, dict[str, str]]) -> None:
        """Atomically, owner-only: a credential is as good as the person's presence in the meeting."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".credentials-", dir=self.path.parent)  # mkstemp makes it 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, ensure_ascii=False, indent=1, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
