"""The timing log's storage: append-only, durable before anything is acknowledged.

``Store`` is the small interface the service needs; ``SqliteStore`` keeps the
log in one SQLite file (WAL, synchronous=FULL). Another backend implements the
same few methods.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import sqlite3
import tempfile
import threading
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError

from modconsole.core.agenda import Person
from modconsole.core.attendance import Mark
from modconsole.core.commands import Actor
from modconsole.core.events import EVENT_ADAPTER, EVENT_VERSIONS, Event, UnknownEvent, upcast
from modconsole.core.log import Entry  # the log's entry is the core's; importable from here as well
from modconsole.longlived import gc_paused


class StorageError(Exception):
    """The log could not be read or written; the message says why in plain words."""


class SeqTaken(StorageError):
    """An append found its first sequence number already written: another server process sharing the log got
    there first. Nothing of this append was written; catch up from the log and decide the command again."""

    def __init__(self, message: str, event_id: str) -> None:
        super().__init__(message)
        self.event_id = event_id


class UnreadableEntry(StorageError):
    """One entry of an event's log cannot be made into an event (damaged, or written by a newer modconsole):
    that event cannot be replayed; the others can."""

    def __init__(self, message: str, event_id: str, seq: object, kind: object) -> None:
        super().__init__(message)
        self.event_id = event_id
        self.seq = seq
        self.kind = kind


@dataclass(frozen=True, slots=True)
class TokenGrant:
    event_id: str
    role: str
    person: str | None
    name: str | None = None  # a participant credential's display name, given when it was issued
    # A named moderator's sessions: the only ones that moderator may act on; None for every session.
    sessions: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class StoredToken:
    """One token of an event as the store keeps it: its hash (never the token), who holds it, and whether it
    was revoked. ``tokens list`` shows all but the hash; ``copy-event`` copies the hashes."""

    token_hash: str
    role: str
    person: str | None
    name: str | None = None
    sessions: tuple[str, ...] | None = None
    revoked: bool = False


class Store(Protocol):
    def create_event(
        self, event_id: str, title: str, grants: list[tuple[str, str | None, str]], entries: list[Entry]
    ) -> None: ...
    def append(self, event_id: str, entries: list[Entry]) -> None: ...
    def append_granting(
        self, event_id: str, entries: list[Entry], grants: list[tuple[str, str | None, str]]
    ) -> None: ...
    def read(self, event_id: str, after: int = 0) -> Iterator[Entry]: ...
    def event_ids(self) -> list[str]: ...
    def grant(self, token_hash: str) -> TokenGrant | None: ...
    def issue_participant(self, event_id: str, token_hash: str, person: str, name: str) -> None: ...
    def participant_names(self, event_id: str) -> list[str]: ...
    def tokens(self, event_id: str) -> list[StoredToken]: ...
    def add_tokens(self, event_id: str, tokens: list[StoredToken]) -> None: ...
    def replace_token(self, event_id: str, role: str, person: str | None, token_hash: str) -> StoredToken: ...
    def revoke_token(self, event_id: str, role: str, person: str | None) -> int: ...
    def revoked_since(self, after: int) -> tuple[int, list[str]]: ...
    def register_people(
        self, event_id: str, people: list[tuple[str, Person]], grants: list[tuple[str, str, str]]
    ) -> None: ...
    def registrants(self, event_id: str) -> list[tuple[str, Person]]: ...
    def registrant(self, event_id: str, person: str) -> Person | None: ...
    def append_attendance(self, event_id: str, marks: list[Mark]) -> None: ...
    def attendance(self, event_id: str) -> list[Mark]: ...
    def close(self) -> None: ...


# The schema's version is the file's ``PRAGMA user_version``. Version 1 had none (it reads 0); each later
# version is reached from the one before by the statements of _MIGRATIONS, in one transaction.
SCHEMA_VERSION = 4

_SCHEMA_V1 = [
    """CREATE TABLE IF NOT EXISTS events (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        created_ms INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS tokens (
        token_hash TEXT PRIMARY KEY,      -- sha256 of the token; the token itself is never stored
        event_id TEXT NOT NULL REFERENCES events(id),
        role TEXT NOT NULL,
        person TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS log (
        event_id TEXT NOT NULL REFERENCES events(id),
        seq INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        role TEXT NOT NULL,
        person TEXT,
        client TEXT NOT NULL,
        type TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (event_id, seq)
    ) WITHOUT ROWID""",
]

_MIGRATIONS: dict[int, list[str]] = {
    # 1 -> 2: a participant credential's display name; each entry's event version (see core/events.py).
    1: [
        "ALTER TABLE tokens ADD COLUMN name TEXT",
        "ALTER TABLE log ADD COLUMN v INTEGER NOT NULL DEFAULT 1",
    ],
    # 2 -> 3: a named moderator's sessions (a JSON list); a revoked token's number in the order of
    # revocations (a running server polls for numbers above the last it saw, and closes those connections).
    2: [
        "ALTER TABLE tokens ADD COLUMN sessions TEXT",
        "ALTER TABLE tokens ADD COLUMN revoked INTEGER",
        "CREATE INDEX IF NOT EXISTS tokens_revoked ON tokens (revoked) WHERE revoked IS NOT NULL",
    ],
    # 3 -> 4: people registered from a list before the event (modconsole-server register).
    3: [
        """CREATE TABLE registrants (
            event_id TEXT NOT NULL REFERENCES events(id),
            email TEXT NOT NULL,              -- casefolded: a second import with the same email updates
            person TEXT NOT NULL,
            body TEXT NOT NULL,               -- the person (name, affiliation, tags) as JSON
            PRIMARY KEY (event_id, email)
        ) WITHOUT ROWID""",
        "CREATE INDEX registrants_person ON registrants (event_id, person)",
        # The attendance log: who joined and left, beside the timing log (core/attendance.py says why).
        """CREATE TABLE attendance (
            event_id TEXT NOT NULL REFERENCES events(id),
            n INTEGER NOT NULL,               -- its order in the event's attendance log
            kind TEXT NOT NULL,               -- joined, left
            at INTEGER NOT NULL,              -- event clock, ms
            person TEXT NOT NULL,
            role TEXT NOT NULL,
            who TEXT,                         -- a participant's name and tags as JSON, on a join
            PRIMARY KEY (event_id, n)
        ) WITHOUT ROWID""",
    ],
}

_TABLES = ("events", "tokens", "log", "registrants", "attendance")

Row = tuple[int, int, str, "str | None", str, str, int, str]


def _why(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors(include_url=False, include_input=False)[:2]
        parts = [f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}" for err in first]
        more = exc.error_count() - len(first)
        return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
    return str(exc)


def _upcast_row(kind: str, version: int, body: str) -> tuple[Event, str]:
    """An entry stored at an older version of its type: its body made into today's, and serialised anew."""
    data = json.loads(body)
    if not isinstance(data, dict):
        raise UnknownEvent("the body is not a JSON object")
    event = EVENT_ADAPTER.validate_python(upcast(kind, version, data))
    return event, event.model_dump_json()


def _entries(event_id: str, rows: list[Row]) -> list[Entry]:
    validate = EVENT_ADAPTER.validate_json
    versions = EVENT_VERSIONS
    actors: dict[tuple[str, str | None, str], Actor] = {}  # a log has few actors: one (frozen) object each
    entries = []
    seq: object = None
    kind: object = None
    try:
        with gc_paused():
            for seq, ts, role, person, client, kind, version, body in rows:
                actor = actors.get((role, person, client))
                if actor is None:
                    actor = actors[role, person, client] = Actor(role=role, person=person, client=client)
                if versions.get(kind) == version:
                    event = validate(body)
                else:
                    event, body = _upcast_row(kind, version, body)
                if event.type != kind:
                    raise UnknownEvent(f"the body holds a {event.type!r} event")
                entries.append(Entry(seq, ts, actor, event, body))
    except (ValidationError, UnknownEvent, ValueError, TypeError) as exc:
        where = f"event {event_id}: log entry seq {seq} (type {kind!r})"
        raise UnreadableEntry(f"{where} cannot be read: {_why(exc)}", event_id, seq, kind) from None
    return entries


def _person(body: str) -> Person:
    try:
        return Person.model_validate_json(body)
    except ValidationError as exc:
        raise StorageError(f"a registrant cannot be read: {_why(exc)}") from None


def _create_private(path: Path) -> bool:
    """Create the database file owner-only (0600) if it does not exist; True when this call created it.
    SQLite gives the -wal and -shm files the mode of the database file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def _owner_only(path: Path) -> None:
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(name, 0o600)


class SqliteStore:
    """The log in one SQLite file. One connection, used by one thread at a time."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            created = _create_private(self.path)
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=5.0)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            self._open_schema(db)
            if created:
                _owner_only(self.path)  # SQLite made the -wal and -shm alike; this says so whatever the VFS
        except (sqlite3.Error, OSError, StorageError) as exc:
            if db is not None:
                db.close()
            if isinstance(exc, StorageError):
                raise
            raise StorageError(f"cannot open the database {self.path}: {exc}") from exc
        self._db = db
        self._lock = threading.Lock()

    def _open_schema(self, db: sqlite3.Connection) -> None:
        """Check the file's schema version; create the schema in a new file, or bring an older one up to date
        in place (in one transaction: another process opening it at the same time waits, then finds it done)."""
        if self._version(db) == SCHEMA_VERSION:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            version = self._version(db)
            if version == 0:
                tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                if tables and not tables & set(_TABLES):
                    listing = ", ".join(sorted(tables))
                    raise StorageError(f"{self.path} is not a modconsole database (it holds the tables {listing})")
                for statement in _SCHEMA_V1:  # a new file, or one of the first version (it had no number)
                    db.execute(statement)
                version = 1
            while version < SCHEMA_VERSION:
                for statement in _MIGRATIONS[version]:
                    db.execute(statement)
                version += 1
                db.execute(f"PRAGMA user_version={version}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            raise

    def _version(self, db: sqlite3.Connection) -> int:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"cannot open the database {self.path}: this database was written by a newer modconsole "
                f"(schema {version}; this one reads up to {SCHEMA_VERSION})"
            )
        return version

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[typing.Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StorageError(f"the log at {self.path} could not be read: {exc}") from exc

    @contextlib.contextmanager
    def _transaction(self, what: str = "log") -> Iterator[sqlite3.Connection]:
        """One immediate transaction under the store's lock: committed when the block ends, rolled back when it
        raises; a SQLite error is a StorageError saying that ``what`` at this file could not be written."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    # SQLite may have rolled back already (a full disk does): a ROLLBACK then fails with
                    # "no transaction is active" and would hide the cause, which is what people must read.
                    if self._db.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise StorageError(f"the {what} at {self.path} could not be written: {exc}") from exc

    def _write(self, statements: list[tuple[str, list[tuple[object, ...]]]]) -> None:
        with self._transaction() as db:
            for sql, rows in statements:
                db.executemany(sql, rows)

    @staticmethod
    def _rows(event_id: str, entries: list[Entry]) -> list[tuple[object, ...]]:
        versions = EVENT_VERSIONS
        return [
            (
                event_id,
                e.seq,
                e.ts,
                e.actor.role,
                e.actor.person,
                e.actor.client,
                e.event.type,
                versions[e.event.type],
                e.event_json,
            )
            for e in entries
        ]

    _INSERT_LOG = "INSERT INTO log (event_id, seq, ts, role, person, client, type, v, body) VALUES (?,?,?,?,?,?,?,?,?)"

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
        """Append the entries in one transaction, committed (and synced) before this returns; SeqTaken when
        a sequence number is already in the log (nothing is written then)."""
        try:
            self._write([(self._INSERT_LOG, self._rows(event_id, entries))])
        except StorageError as exc:
            if isinstance(exc.__cause__, sqlite3.IntegrityError) and "log.event_id, log.seq" in str(exc.__cause__):
                raise SeqTaken(f"event {event_id}: seq {entries[0].seq} is already in the log", event_id) from exc
            raise

    def append_granting(self, event_id: str, entries: list[Entry], grants: list[tuple[str, str | None, str]]) -> None:
        """Append ``entries`` and store the tokens ``grants`` (role, person, hash) in one transaction: a person
        added live and their speaker token are durable together, or neither is (SeqTaken as ``append``)."""
        try:
            self._write(
                [
                    (self._INSERT_LOG, self._rows(event_id, entries)),
                    (
                        "INSERT INTO tokens (token_hash, event_id, role, person) VALUES (?,?,?,?)",
                        [(token_hash, event_id, role, person) for role, person, token_hash in grants],
                    ),
                ]
            )
        except StorageError as exc:
            if isinstance(exc.__cause__, sqlite3.IntegrityError) and "log.event_id, log.seq" in str(exc.__cause__):
                raise SeqTaken(f"event {event_id}: seq {entries[0].seq} is already in the log", event_id) from exc
            raise

    def read(self, event_id: str, after: int = 0) -> Iterator[Entry]:
        """The event's entries after ``after``, as today's events (older versions upcast). A row that cannot
        be read is a StorageError naming the event, the entry's seq and its type."""
        rows = self._query(
            "SELECT seq, ts, role, person, client, type, v, body FROM log WHERE event_id=? AND seq>? ORDER BY seq",
            (event_id, after),
        )
        yield from _entries(event_id, rows)

    def event_ids(self) -> list[str]:
        return [row[0] for row in self._query("SELECT id FROM events ORDER BY created_ms, id")]

    def grant(self, token_hash: str) -> TokenGrant | None:
        rows = self._query(
            "SELECT event_id, role, person, name, token_hash, sessions FROM tokens "
            "WHERE token_hash=? AND revoked IS NULL",
            (token_hash,),
        )
        if not rows:
            return None
        event_id, role, person, name, stored, sessions = rows[0]
        # The lookup went by hash; compare in constant time all the same, as a matter of hygiene.
        if not hmac.compare_digest(stored, token_hash):
            return None
        return TokenGrant(event_id, role, person, name, _sessions(sessions))

    def issue_participant(self, event_id: str, token_hash: str, person: str, name: str) -> None:
        """Store a participant's own credential (its hash), for ``person`` shown as ``name``; committed (and
        synced) before this returns. An unknown event or a hash already stored is a StorageError."""
        self._write(
            [
                (
                    "INSERT INTO tokens (token_hash, event_id, role, person, name) VALUES (?,?,?,?,?)",
                    [(token_hash, event_id, "participant", person, name)],
                )
            ]
        )

    def participant_names(self, event_id: str) -> list[str]:
        """The names of the participant credentials issued for the event, in the order they were issued (the
        tokens table's rowid: it only grows, nothing is deleted from it)."""
        rows = self._query(
            "SELECT name FROM tokens WHERE event_id=? AND role='participant' AND name IS NOT NULL "
            "AND person NOT IN (SELECT person FROM registrants WHERE event_id=?) ORDER BY rowid",
            (event_id, event_id),
        )
        return [row[0] for row in rows]

    def register_people(
        self, event_id: str, people: list[tuple[str, Person]], grants: list[tuple[str, str, str]]
    ) -> None:
        """Add or update registrants (email, person) and store the tokens (person, name, token hash) of those
        new, all in one transaction: a failure imports nothing. An unknown event is a StorageError."""
        if not self._query("SELECT 1 FROM events WHERE id=?", (event_id,)):
            raise StorageError(f"no event {event_id!r} in {self.path}")
        self._write(
            [
                (
                    "INSERT INTO registrants (event_id, email, person, body) VALUES (?,?,?,?) "
                    "ON CONFLICT (event_id, email) DO UPDATE SET body=excluded.body",
                    [(event_id, email.casefold(), p.id, p.model_dump_json()) for email, p in people],
                ),
                (
                    "INSERT INTO tokens (token_hash, event_id, role, person, name) VALUES (?,?,?,?,?)",
                    [(token_hash, event_id, "participant", person, name) for person, name, token_hash in grants],
                ),
            ]
        )

    def registrants(self, event_id: str) -> list[tuple[str, Person]]:
        """The event's registrants (email, person), in email order."""
        rows = self._query("SELECT email, body FROM registrants WHERE event_id=? ORDER BY email", (event_id,))
        return [(email, _person(body)) for email, body in rows]

    def registrant(self, event_id: str, person: str) -> Person | None:
        rows = self._query("SELECT body FROM registrants WHERE event_id=? AND person=?", (event_id, person))
        return _person(rows[0][0]) if rows else None

    def append_attendance(self, event_id: str, marks: list[Mark]) -> None:
        """Append to the event's attendance log, in one transaction."""
        rows: list[tuple[object, ...]] = [
            (event_id, m.kind, m.at, m.person, m.role, m.who.model_dump_json() if m.who else None) for m in marks
        ]
        self._write(
            [
                (
                    "INSERT INTO attendance (event_id, n, kind, at, person, role, who) VALUES "
                    "(?1, (SELECT coalesce(max(n), 0) + 1 FROM attendance WHERE event_id=?1), ?2, ?3, ?4, ?5, ?6)",
                    rows,
                )
            ]
        )

    def attendance(self, event_id: str) -> list[Mark]:
        """The event's attendance log, in order."""
        rows = self._query(
            "SELECT kind, at, person, role, who FROM attendance WHERE event_id=? ORDER BY n", (event_id,)
        )
        return [Mark(kind, at, person, role, _person(who) if who else None) for kind, at, person, role, who in rows]

    def speaker_tokens(self, event_id: str) -> set[str]:
        """The people of the event who hold a live speaker token, by id."""
        rows = self._query(
            "SELECT person FROM tokens WHERE event_id=? AND role='speaker' AND revoked IS NULL", (event_id,)
        )
        return {row[0] for row in rows}

    def replace_plan(
        self,
        event_id: str,
        title: str,
        entry: Entry,
        renamed: dict[str, str],
        added: list[tuple[str, str | None, str]],
        removed: list[str],
    ) -> None:
        """In one transaction: append ``entry`` (the new plan), move kept speaker tokens to their person's new
        id (``renamed``: old id -> new id; swaps too), add ``added`` grants and revoke the tokens of ``removed``."""
        moves = [(old, new) for old, new in renamed.items() if old != new]
        update = "UPDATE tokens SET person=? WHERE event_id=? AND role='speaker' AND person=?"
        with self._transaction("log"):
            self._db.executemany(self._INSERT_LOG, self._rows(event_id, [entry]))
            self._db.execute("UPDATE events SET title=? WHERE id=?", (title, event_id))
            for person in removed:
                self._revoke(event_id, "speaker", person)
            # Through a name no id can have (ids start with a letter or digit), so swaps cannot collide.
            self._db.executemany(update, [("\x00" + new, event_id, old) for old, new in moves])
            self._db.executemany(update, [(new, event_id, "\x00" + new) for _old, new in moves])
            self._db.executemany(
                "INSERT INTO tokens (token_hash, event_id, role, person) VALUES (?,?,?,?)",
                [(token_hash, event_id, role, person) for role, person, token_hash in added],
            )

    def tokens(self, event_id: str) -> list[StoredToken]:
        """Every token of the event, revoked ones included, in the order they were issued."""
        rows = self._query(
            "SELECT token_hash, role, person, name, sessions, revoked FROM tokens WHERE event_id=? ORDER BY rowid",
            (event_id,),
        )
        return [
            StoredToken(hash_, role, person, name, _sessions(sessions), revoked is not None)
            for hash_, role, person, name, sessions, revoked in rows
        ]

    _INSERT_TOKEN = (
        "INSERT INTO tokens (token_hash, event_id, role, person, name, sessions, revoked) VALUES (?,?,?,?,?,?,?)"
    )

    def add_tokens(self, event_id: str, tokens: list[StoredToken]) -> None:
        """Store tokens (their hashes) for an existing event, in one transaction; a revoked one stays revoked.
        A hash already stored, or an unknown event, is a StorageError and nothing is stored."""
        self._write([(self._INSERT_TOKEN, [_token_row(event_id, t) for t in tokens])])

    def replace_token(self, event_id: str, role: str, person: str | None, token_hash: str) -> StoredToken:
        """Revoke the live tokens held as ``role`` by ``person`` (None: the event's own display, participant or
        moderator token) and store ``token_hash`` in their place, with the latest one's name and sessions, in
        one transaction. A StorageError when there was never such a token."""
        with self._transaction("tokens"):
            latest = self._db.execute(
                "SELECT name, sessions FROM tokens WHERE event_id=? AND role=? AND person IS ? "
                "ORDER BY rowid DESC LIMIT 1",
                (event_id, role, person),
            ).fetchone()
            if latest is None:
                raise StorageError(f"event {event_id} has no {role} token" + (f" for {person}" if person else ""))
            self._revoke(event_id, role, person)
            token = StoredToken(token_hash, role, person, latest[0], _sessions(latest[1]))
            self._db.execute(self._INSERT_TOKEN, _token_row(event_id, token))
        return token

    def _revoke(self, event_id: str, role: str, person: str | None) -> int:
        """In a transaction: number the live tokens of (role, person) as revoked, after the last revoked."""
        (last,) = self._db.execute("SELECT coalesce(max(revoked), 0) FROM tokens").fetchone()
        hashes = [
            row[0]
            for row in self._db.execute(
                "SELECT token_hash FROM tokens WHERE event_id=? AND role=? AND person IS ? AND revoked IS NULL "
                "ORDER BY rowid",
                (event_id, role, person),
            )
        ]
        self._db.executemany(
            "UPDATE tokens SET revoked=? WHERE token_hash=?", [(last + n, h) for n, h in enumerate(hashes, 1)]
        )
        return len(hashes)

    def revoke_token(self, event_id: str, role: str, person: str | None) -> int:
        """Revoke the live tokens held as ``role`` by ``person``; how many were."""
        with self._transaction("tokens"):
            count = self._revoke(event_id, role, person)
        return count

    def revoked_since(self, after: int) -> tuple[int, list[str]]:
        """The hashes revoked after revocation number ``after`` (of any event), and the last number: a running
        server asks this every half second and closes the connections those tokens opened."""
        rows = self._query("SELECT revoked, token_hash FROM tokens WHERE revoked > ? ORDER BY revoked", (after,))
        if not rows:
            return after, []
        return int(rows[-1][0]), [row[1] for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _sessions(stored: str | None) -> tuple[str, ...] | None:
    if stored is None:
        return None
    return tuple(str(s) for s in json.loads(stored))


def _token_row(event_id: str, token: StoredToken) -> tuple[object, ...]:
    sessions = None if token.sessions is None else json.dumps(list(token.sessions))
    # A revoked token copied stays revoked: it gets a number the running servers have already passed (0).
    return (token.token_hash, event_id, token.role, token.person, token.name, sessions, 0 if token.revoked else None)


@dataclass(frozen=True)
class BackupDone:
    path: Path
    events: int
    entries: int
    size: int


def backup(source: Path, target: Path, *, force: bool = False) -> BackupDone:
    """Copy a database, live or not, with SQLite's online backup API: the copy holds every committed entry,
    those still in the write-ahead log included (copying the .db file alone would miss them). The copy is
    owner-only (0600) and appears whole or not at all; an existing ``target`` is replaced only with ``force``."""
    if not source.is_file():
        raise StorageError(f"no database at {source}")
    if target.exists() and not force:
        raise StorageError(f"{target} exists; give --force to replace it")
    if target.resolve() == source.resolve():
        raise StorageError(f"{target} is the database itself")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)  # 0600
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        # Read as it is (mode=rw: never created, never migrated); the server may be writing to it meanwhile.
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=rw", uri=True, timeout=5.0)
        try:
            with contextlib.closing(sqlite3.connect(tmp)) as dest:
                src.backup(dest)
                dest.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
                check = dest.execute("PRAGMA quick_check").fetchone()[0]
                if check != "ok":
                    raise StorageError(f"the copy at {tmp} failed its check: {check}")
                events = int(dest.execute("SELECT count(*) FROM events").fetchone()[0])
                entries = int(dest.execute("SELECT count(*) FROM log").fetchone()[0])
        finally:
            src.close()
        with open(tmp, "rb") as copied:
            os.fsync(copied.fileno())
        if force:
            os.replace(tmp, target)
        else:
            os.link(tmp, target)  # fails if the target appeared meanwhile: nothing is overwritten
            tmp.unlink()
        with contextlib.suppress(OSError):
            dir_fd = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except sqlite3.Error as exc:
        raise StorageError(f"the backup of {source} to {target} failed: {exc}") from exc
    except FileExistsError as exc:
        raise StorageError(f"{target} exists; give --force to replace it") from exc
    except OSError as exc:
        raise StorageError(f"the backup of {source} to {target} failed: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return BackupDone(target, events, entries, target.stat().st_size)
