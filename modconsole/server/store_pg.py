"""The timing log in PostgreSQL, shared by several server processes.

``PostgresStore`` implements the same ``Store`` methods as ``SqliteStore``, on the same tables. What sharing
adds:

- Two processes never write the same sequence number: ``(event_id, seq)`` is the log's primary key, and an
  append whose first seq another process took fails whole with ``SeqTaken`` (optimistic: the service catches
  up from the table and decides the command again). No lock is held across a decision or a network round trip,
  and a process that dies mid-append holds nothing another must wait out.
- An append is committed before it returns, with ``synchronous_commit`` at least ``on`` (a server set to
  ``off`` is overridden for this connection; ``remote_apply`` for a synchronous standby is kept).
- In the same transaction the append notifies the channel ``modconsole_log`` with ``"<event> <seq>"`` only;
  :meth:`PostgresStore.listen` tells a callback, and the listener reads the entries from the table. After every
  (re)connection of the listener it is told "everything may have changed" (``None``), since notifications sent
  while it was away are lost.

The schema's version is kept in ``modconsole_schema``; it is created, or brought up to date, in one
transaction under an advisory lock, so processes starting together do it once.
"""

from __future__ import annotations

import contextlib
import hmac
import threading
import typing
import urllib.parse
from collections.abc import Callable, Iterator

import psycopg
from psycopg import errors as pg_errors

from modconsole.core.agenda import Person
from modconsole.core.attendance import Mark
from modconsole.core.events import EVENT_VERSIONS
from modconsole.core.log import Entry

from .store import SeqTaken, StorageError, StoredToken, TokenGrant, _entries, _person, _sessions, _token_row

CHANNEL = "modconsole_log"
SCHEMA_VERSION = 2
CONNECT_TIMEOUT_S = 3
_SCHEMA_LOCK = 0x6D6F64636F6E  # the advisory lock held while the schema is created or migrated
_REVOKE_LOCK = 0x6D6F64726576  # held while revocations are numbered, so that two never share a number

_SCHEMA_V1 = [
    """CREATE TABLE IF NOT EXISTS events (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        created_ms BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS tokens (
        token_hash TEXT PRIMARY KEY,
        event_id TEXT NOT NULL REFERENCES events(id),
        role TEXT NOT NULL,
        person TEXT,
        name TEXT,
        sessions TEXT,       -- a named moderator's sessions (a JSON list); NULL: every session
        revoked BIGINT,      -- the revocation's number, in the order of revocations; NULL: live
        issued BIGSERIAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS tokens_revoked ON tokens (revoked) WHERE revoked IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS tokens_event ON tokens (event_id, issued)",
    """CREATE TABLE IF NOT EXISTS log (
        event_id TEXT NOT NULL REFERENCES events(id),
        seq BIGINT NOT NULL,
        ts BIGINT NOT NULL,
        role TEXT NOT NULL,
        person TEXT,
        client TEXT NOT NULL,
        type TEXT NOT NULL,
        v INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (event_id, seq)
    )""",
]

# version -> the statements that bring a schema of that version to the next.
_MIGRATIONS: dict[int, list[str]] = {
    # 1 -> 2: people registered from a list (modconsole-server register), and the attendance log.
    1: [
        """CREATE TABLE IF NOT EXISTS registrants (
            event_id TEXT NOT NULL REFERENCES events(id),
            email TEXT NOT NULL,
            person TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (event_id, email)
        )""",
        "CREATE INDEX IF NOT EXISTS registrants_person ON registrants (event_id, person)",
        """CREATE TABLE IF NOT EXISTS attendance (
            event_id TEXT NOT NULL REFERENCES events(id),
            n BIGSERIAL NOT NULL,
            kind TEXT NOT NULL,
            at BIGINT NOT NULL,
            person TEXT NOT NULL,
            role TEXT NOT NULL,
            who TEXT,
            PRIMARY KEY (event_id, n)
        )""",
    ],
}


def shown(url: str) -> str:
    """The address without its password, for messages and logs."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "the PostgreSQL database"
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")
    user = netloc[0].partition(":")[0]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[2]}"))


class PostgresStore:
    """The log in a PostgreSQL database. One connection, used by one thread at a time; reopened when it broke
    (the database restarted), so a store outlives an outage: calls fail with StorageError while it lasts."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.where = shown(url)
        self._lock = threading.Lock()
        self._db: psycopg.Connection[typing.Any] | None = None
        self._closed = False
        with self._lock:
            db = self._connect()
            try:
                self._open_schema(db)
            except BaseException:
                db.close()
                raise
            self._db = db

    # --- connection and schema ----------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[typing.Any]:
        try:
            db = psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT_S, application_name="modconsole")
        except psycopg.Error as exc:
            raise StorageError(f"cannot reach the database {self.where}: {_first_line(exc)}") from exc
        try:
            setting = db.execute("SHOW synchronous_commit").fetchone()
            if setting is None or setting[0] == "off":
                db.execute("SET synchronous_commit TO on")  # durable before the ack, whatever the server's default
            db.commit()
        except psycopg.Error as exc:
            db.close()
            raise StorageError(f"cannot use the database {self.where}: {_first_line(exc)}") from exc
        return db

    def _open_schema(self, db: psycopg.Connection[typing.Any]) -> None:
        try:
            with db.transaction():
                db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                db.execute("CREATE TABLE IF NOT EXISTS modconsole_schema (version INTEGER NOT NULL)")
                row = db.execute("SELECT version FROM modconsole_schema").fetchone()
                if row is None:
                    found = db.execute(
                        "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() "
                        "AND table_name IN ('events', 'tokens', 'log')"
                    ).fetchone()
                    if found is not None and found[0]:
                        raise StorageError(
                            f"{self.where} holds tables named events, tokens or log that modconsole did not make"
                        )
                    for statement in _SCHEMA_V1:
                        db.execute(statement)
                    db.execute("INSERT INTO modconsole_schema (version) VALUES (1)")
                    version = 1
                else:
                    version = int(row[0])
                if version > SCHEMA_VERSION:
                    raise StorageError(
                        f"cannot open the database {self.where}: it was written by a newer modconsole "
                        f"(schema {version}; this one reads up to {SCHEMA_VERSION})"
                    )
                while version < SCHEMA_VERSION:
                    for statement in _MIGRATIONS[version]:
                        db.execute(statement)
                    version += 1
                    db.execute("UPDATE modconsole_schema SET version = %s", (version,))
        except psycopg.Error as exc:
            raise StorageError(f"cannot set up the database {self.where}: {_first_line(exc)}") from exc

    def schema_version(self) -> int:
        rows = self._query("SELECT version FROM modconsole_schema")
        return int(rows[0][0])

    def _conn(self) -> psycopg.Connection[typing.Any]:
        if self._closed:
            raise StorageError(f"the store for {self.where} is closed")
        if self._db is None or self._db.closed or self._db.broken:
            if self._db is not None:
                with contextlib.suppress(psycopg.Error):
                    self._db.close()
                self._db = None
            self._db = self._connect()
        return self._db

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[typing.Any, ...]]:
        with self._lock:
            db = self._conn()
            try:
                rows = db.execute(sql, params).fetchall()
                db.commit()
                return rows
            except psycopg.Error as exc:
                with contextlib.suppress(psycopg.Error):
                    db.rollback()
                raise StorageError(f"the log at {self.where} could not be read: {_first_line(exc)}") from exc

    def _write(self, statements: list[tuple[str, list[tuple[object, ...]]]], event_id: str | None = None) -> None:
        with self._lock:
            db = self._conn()
            try:
                with db.transaction(), db.cursor() as cursor:
                    for sql, rows in statements:
                        if rows:
                            cursor.executemany(sql, rows)
            except pg_errors.UniqueViolation as exc:
                if event_id is not None and exc.diag.constraint_name == "log_pkey":
                    raise SeqTaken(f"event {event_id}: that seq is already in the log", event_id) from exc
                raise StorageError(f"the log at {self.where} could not be written: {_first_line(exc)}") from exc
            except psycopg.Error as exc:
                # A connection lost during COMMIT leaves it unknown whether the commit happened: the caller
                # is told "not done" (never acknowledged); the entry, if it was written, is read back later.
                raise StorageError(f"the log at {self.where} could not be written: {_first_line(exc)}") from exc

    # --- the Store methods ----------------------------------------------------------------------

    _INSERT_LOG = (
        "INSERT INTO log (event_id, seq, ts, role, person, client, type, v, body) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
    )

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

    @staticmethod
    def _notice(event_id: str, entries: list[Entry]) -> tuple[str, list[tuple[object, ...]]]:
        return ("SELECT pg_notify(%s, %s)", [(CHANNEL, f"{event_id} {entries[-1].seq}")] if entries else [])

    def create_event(
        self, event_id: str, title: str, grants: list[tuple[str, str | None, str]], entries: list[Entry]
    ) -> None:
        created = entries[0].ts if entries else 0
        self._write(
            [
                ("INSERT INTO events (id, title, created_ms) VALUES (%s, %s, %s)", [(event_id, title, created)]),
                (
                    "INSERT INTO tokens (token_hash, event_id, role, person) VALUES (%s, %s, %s, %s)",
                    [(token_hash, event_id, role, person) for role, person, token_hash in grants],
                ),
                (self._INSERT_LOG, self._rows(event_id, entries)),
            ]
        )

    def append(self, event_id: str, entries: list[Entry]) -> None:
        """Append the entries in one transaction, committed before this returns, and notify the listeners; a
        seq another process wrote first is SeqTaken (nothing of this append is written then)."""
        self._write([(self._INSERT_LOG, self._rows(event_id, entries)), self._notice(event_id, entries)], event_id)

    def append_granting(self, event_id: str, entries: list[Entry], grants: list[tuple[str, str | None, str]]) -> None:
        """Append ``entries`` and store the tokens ``grants`` (role, person, hash) in one transaction, as
        ``append`` does (SeqTaken when another process took the seq; nothing of either is written then)."""
        tokens: tuple[str, list[tuple[object, ...]]] = (
            "INSERT INTO tokens (token_hash, event_id, role, person) VALUES (%s, %s, %s, %s)",
            [(token_hash, event_id, role, person) for role, person, token_hash in grants],
        )
        self._write(
            [(self._INSERT_LOG, self._rows(event_id, entries)), tokens, self._notice(event_id, entries)], event_id
        )

    def read(self, event_id: str, after: int = 0) -> Iterator[Entry]:
        rows = self._query(
            "SELECT seq, ts, role, person, client, type, v, body FROM log WHERE event_id = %s AND seq > %s "
            "ORDER BY seq",
            (event_id, after),
        )
        yield from _entries(event_id, rows)

    def event_ids(self) -> list[str]:
        return [row[0] for row in self._query("SELECT id FROM events ORDER BY created_ms, id")]

    def grant(self, token_hash: str) -> TokenGrant | None:
        rows = self._query(
            "SELECT event_id, role, person, name, token_hash, sessions FROM tokens "
            "WHERE token_hash = %s AND revoked IS NULL",
            (token_hash,),
        )
        if not rows:
            return None
        event_id, role, person, name, stored, sessions = rows[0]
        if not hmac.compare_digest(stored, token_hash):
            return None
        return TokenGrant(event_id, role, person, name, _sessions(sessions))

    def issue_participant(self, event_id: str, token_hash: str, person: str, name: str) -> None:
        self._write(
            [
                (
                    "INSERT INTO tokens (token_hash, event_id, role, person, name) VALUES (%s, %s, %s, %s, %s)",
                    [(token_hash, event_id, "participant", person, name)],
                )
            ]
        )

    def participant_names(self, event_id: str) -> list[str]:
        rows = self._query(
            "SELECT name FROM tokens WHERE event_id = %s AND role = 'participant' AND name IS NOT NULL "
            "AND person NOT IN (SELECT person FROM registrants WHERE event_id = %s) ORDER BY issued",
            (event_id, event_id),
        )
        return [row[0] for row in rows]

    def register_people(
        self, event_id: str, people: list[tuple[str, Person]], grants: list[tuple[str, str, str]]
    ) -> None:
        if not self._query("SELECT 1 FROM events WHERE id = %s", (event_id,)):
            raise StorageError(f"no event {event_id!r} in {self.where}")
        self._write(
            [
                (
                    "INSERT INTO registrants (event_id, email, person, body) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (event_id, email) DO UPDATE SET body = excluded.body",
                    [(event_id, email.casefold(), p.id, p.model_dump_json()) for email, p in people],
                ),
                (
                    "INSERT INTO tokens (token_hash, event_id, role, person, name) VALUES (%s, %s, %s, %s, %s)",
                    [(token_hash, event_id, "participant", person, name) for person, name, token_hash in grants],
                ),
            ]
        )

    def registrants(self, event_id: str) -> list[tuple[str, Person]]:
        rows = self._query("SELECT email, body FROM registrants WHERE event_id = %s ORDER BY email", (event_id,))
        return [(email, _person(body)) for email, body in rows]

    def registrant(self, event_id: str, person: str) -> Person | None:
        rows = self._query("SELECT body FROM registrants WHERE event_id = %s AND person = %s", (event_id, person))
        return _person(rows[0][0]) if rows else None

    def append_attendance(self, event_id: str, marks: list[Mark]) -> None:
        rows: list[tuple[object, ...]] = [
            (event_id, m.kind, m.at, m.person, m.role, m.who.model_dump_json() if m.who else None) for m in marks
        ]
        self._write(
            [
                (
                    "INSERT INTO attendance (event_id, kind, at, person, role, who) VALUES (%s, %s, %s, %s, %s, %s)",
                    rows,
                )
            ]
        )

    def attendance(self, event_id: str) -> list[Mark]:
        rows = self._query(
            "SELECT kind, at, person, role, who FROM attendance WHERE event_id = %s ORDER BY n", (event_id,)
        )
        return [Mark(kind, at, person, role, _person(who) if who else None) for kind, at, person, role, who in rows]

    def tokens(self, event_id: str) -> list[StoredToken]:
        """Every token of the event, revoked ones included, in the order they were issued."""
        rows = self._query(
            "SELECT token_hash, role, person, name, sessions, revoked FROM tokens WHERE event_id = %s ORDER BY issued",
            (event_id,),
        )
        return [
            StoredToken(hash_, role, person, name, _sessions(sessions), revoked is not None)
            for hash_, role, person, name, sessions, revoked in rows
        ]

    _INSERT_TOKEN = (
        "INSERT INTO tokens (token_hash, event_id, role, person, name, sessions, revoked) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s)"
    )

    def add_tokens(self, event_id: str, tokens: list[StoredToken]) -> None:
        self._write([(self._INSERT_TOKEN, [_token_row(event_id, t) for t in tokens])])

    def _in_transaction(self, work: Callable[[psycopg.Connection[typing.Any]], typing.Any]) -> typing.Any:
        with self._lock:
            db = self._conn()
            try:
                with db.transaction():
                    return work(db)
            except psycopg.Error as exc:
                raise StorageError(f"the tokens at {self.where} could not be written: {_first_line(exc)}") from exc

    def replace_token(self, event_id: str, role: str, person: str | None, token_hash: str) -> StoredToken:
        def work(db: psycopg.Connection[typing.Any]) -> StoredToken:
            latest = db.execute(
                "SELECT name, sessions FROM tokens WHERE event_id = %s AND role = %s "
                "AND person IS NOT DISTINCT FROM %s ORDER BY issued DESC LIMIT 1",
                (event_id, role, person),
            ).fetchone()
            if latest is None:
                raise StorageError(f"event {event_id} has no {role} token" + (f" for {person}" if person else ""))
            self._revoke(db, event_id, role, person)
            token = StoredToken(token_hash, role, person, latest[0], _sessions(latest[1]))
            db.execute(self._INSERT_TOKEN, _token_row(event_id, token))
            return token

        token: StoredToken = self._in_transaction(work)
        return token

    @staticmethod
    def _revoke(db: psycopg.Connection[typing.Any], event_id: str, role: str, person: str | None) -> int:
        db.execute("SELECT pg_advisory_xact_lock(%s)", (_REVOKE_LOCK,))
        row = db.execute("SELECT coalesce(max(revoked), 0) FROM tokens").fetchone()
        last = int(row[0]) if row else 0
        hashes = [
            r[0]
            for r in db.execute(
                "SELECT token_hash FROM tokens WHERE event_id = %s AND role = %s "
                "AND person IS NOT DISTINCT FROM %s AND revoked IS NULL ORDER BY issued",
                (event_id, role, person),
            ).fetchall()
        ]
        with db.cursor() as cursor:
            cursor.executemany(
                "UPDATE tokens SET revoked = %s WHERE token_hash = %s", [(last + n, h) for n, h in enumerate(hashes, 1)]
            )
        return len(hashes)

    def revoke_token(self, event_id: str, role: str, person: str | None) -> int:
        count: int = self._in_transaction(lambda db: self._revoke(db, event_id, role, person))
        return count

    def revoked_since(self, after: int) -> tuple[int, list[str]]:
        rows = self._query("SELECT revoked, token_hash FROM tokens WHERE revoked > %s ORDER BY revoked", (after,))
        if not rows:
            return after, []
        return int(rows[-1][0]), [row[1] for row in rows]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._db is not None:
                self._db.close()

    # --- sharing --------------------------------------------------------------------------------

    def listen(self, heard: Callable[[str | None, int | None], None]) -> Callable[[], None]:
        """Call ``heard(event_id, seq)`` (from a thread of its own) when another append was committed, and
        ``heard(None, None)`` each time the listener (re)connects: what was appended meanwhile is unknown.
        Returns the function that stops it."""
        stop = threading.Event()
        thread = threading.Thread(target=self._listen, args=(heard, stop), name="modconsole-listen", daemon=True)
        thread.start()

        def stop_listening() -> None:
            stop.set()
            thread.join(timeout=5)

        return stop_listening

    def _listen(self, heard: Callable[[str | None, int | None], None], stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as db:
                    db.execute(f"LISTEN {CHANNEL}")
                    heard(None, None)
                    while not stop.is_set():
                        for notice in db.notifies(timeout=0.5):
                            event_id, _, seq = notice.payload.rpartition(" ")
                            heard(event_id, int(seq) if seq.isdigit() else None)
            except psycopg.Error:
                stop.wait(0.5)  # the database is away: try again shortly


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
