"""The timing log's storage: append-only, durable before anything is acknowledged.

``Store`` is the small interface the service needs; ``SqliteStore`` keeps the
log in one SQLite file (WAL, synchronous=FULL). Another backend implements the
same few methods.
"""

from __future__ import annotations

import contextlib
import hmac
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol

from modconsole.core.commands import Actor
from modconsole.core.events import EVENT_ADAPTER, Event
from modconsole.longlived import gc_paused


class StorageError(Exception):
    """The log could not be read or written; the message says why in plain words."""


class Entry(NamedTuple):
    """One row of the timing log. A named tuple: immutable, and cheap to make for every row of a long log
    (a frozen dataclass costs four times as much to construct)."""

    seq: int
    ts: int  # server UTC time, ms
    actor: Actor
    event: Event
    event_json: str  # the event as stored and sent, serialised once

    @classmethod
    def make(cls, seq: int, ts: int, actor: Actor, event: Event) -> Entry:
        return cls(seq, ts, actor, event, event.model_dump_json())


@dataclass(frozen=True, slots=True)
class TokenGrant:
    event_id: str
    role: str
    person: str | None
    name: str | None = None


class Store(Protocol):
    def create_event(
        self, event_id: str, title: str, grants: list[tuple[str, str | None, str]], entries: list[Entry]
    ) -> None: ...
    def append(self, event_id: str, entries: list[Entry]) -> None: ...
    def read(self, event_id: str, after: int = 0) -> Iterator[Entry]: ...
    def event_ids(self) -> list[str]: ...
    def grant(self, token_hash: str) -> TokenGrant | None: ...
    def issue_participant(self, event_id: str, token_hash: str, person: str, name: str) -> None: ...
    def participant_names(self, event_id: str) -> list[str]: ...
    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY,      -- sha256 of the token; the token itself is never stored
    event_id TEXT NOT NULL REFERENCES events(id),
    role TEXT NOT NULL,
    person TEXT
);
CREATE TABLE IF NOT EXISTS log (
    event_id TEXT NOT NULL REFERENCES events(id),
    seq INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    role TEXT NOT NULL,
    person TEXT,
    client TEXT NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (event_id, seq)
) WITHOUT ROWID;
"""


def _entries(rows: list[tuple[int, int, str, str | None, str, str]]) -> list[Entry]:
    validate = EVENT_ADAPTER.validate_json
    actors: dict[tuple[str, str | None, str], Actor] = {}  # a log has few actors: one (frozen) object each
    entries = []
    with gc_paused():
        for seq, ts, role, person, client, body in rows:
            actor = actors.get((role, person, client))
            if actor is None:
                actor = actors[role, person, client] = Actor(role=role, person=person, client=client)
            entries.append(Entry(seq, ts, actor, validate(body), body))
    return entries


class SqliteStore:
    """The log in one SQLite file. One connection, used by one thread at a time."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=5.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
            columns = [row[1] for row in self._db.execute("PRAGMA table_info(tokens)")]
            if "name" not in columns:
                self._db.execute("ALTER TABLE tokens ADD COLUMN name TEXT")
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(f"cannot open the database {self.path}: {exc}") from exc
        self._lock = threading.Lock()

    def _write(self, statements: list[tuple[str, list[tuple[object, ...]]]]) -> None:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for sql, rows in statements:
                        self._db.executemany(sql, rows)
                    self._db.execute("COMMIT")
                except BaseException:
                    # SQLite may have rolled back already (a full disk does): a ROLLBACK then fails with
                    # "no transaction is active" and would hide the cause, which is what people must read.
                    if self._db.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise StorageError(f"the log at {self.path} could not be written: {exc}") from exc

    @staticmethod
    def _rows(event_id: str, entries: list[Entry]) -> list[tuple[object, ...]]:
        return [
            (event_id, e.seq, e.ts, e.actor.role, e.actor.person, e.actor.client, e.event.type, e.event_json)
            for e in entries
        ]

    _INSERT_LOG = "INSERT INTO log (event_id, seq, ts, role, person, client, type, body) VALUES (?,?,?,?,?,?,?,?)"

    def create_event(
        self, event_id: str, title: str, grants: list[tuple[str, str | None, str]], entries: list[Entry]
    ) -> None:
        created = entries[0].ts if entries else 0
        self._write(
            [
                ("INSERT INTO events (id, title, created_ms) VALUES (?,?,?)", [(event_id, title, created)]),
                (
                    "INSERT INTO tokens (token_hash, event_id, role, person) VALUES (?,?,?,?)",
                    [(token_hash, event_id, role, person) for role, person, token_hash in grants],
                ),
                (self._INSERT_LOG, self._rows(event_id, entries)),
            ]
        )

    def append(self, event_id: str, entries: list[Entry]) -> None:
        self._write([(self._INSERT_LOG, self._rows(event_id, entries))])

    def read(self, event_id: str, after: int = 0) -> Iterator[Entry]:
        with self._lock:
            try:
                rows = self._db.execute(
                    "SELECT seq, ts, role, person, client, body FROM log WHERE event_id=? AND seq>? ORDER BY seq",
                    (event_id, after),
                ).fetchall()
            except sqlite3.Error as exc:
                raise StorageError(f"the log at {self.path} could not be read: {exc}") from exc
        yield from _entries(rows)

    def event_ids(self) -> list[str]:
        with self._lock:
            return [row[0] for row in self._db.execute("SELECT id FROM events ORDER BY created_ms, id")]

    def grant(self, token_hash: str) -> TokenGrant | None:
        with self._lock:
            row = self._db.execute(
                "SELECT event_id, role, person, token_hash, name FROM tokens WHERE token_hash=?", (token_hash,)
            ).fetchone()
            if row is None:
                return None
        event_id, role, person, stored, name = row
        # The lookup went by hash; compare in constant time all the same, as a matter of hygiene.
        if not hmac.compare_digest(stored, token_hash):
            return None
        return TokenGrant(event_id, role, person, name)

    def issue_participant(self, event_id: str, token_hash: str, person: str, name: str) -> None:
        self._write([
            ("INSERT INTO tokens (token_hash, event_id, role, person, name) VALUES (?,?,?,?,?)",
             [(token_hash, event_id, "participant", person, name)]),
        ])

    def participant_names(self, event_id: str) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT name FROM tokens WHERE event_id=? AND role='participant' AND person IS NOT NULL"
                " ORDER BY rowid", (event_id,)
            ).fetchall()
        return [row[0] or "" for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
