"""Which store a command line opens: a SQLite file (``--db``, the default) or a PostgreSQL database
(``--store postgresql://...`` or ``MODCONSOLE_STORE``). PostgreSQL's driver is imported only when one is asked
for."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from modconsole.paths import default_db

from .store import SqliteStore, StorageError, Store

STORE_ENV = "MODCONSOLE_STORE"


def is_postgres(spec: str) -> bool:
    return spec.startswith(("postgresql://", "postgres://"))


@dataclass(frozen=True)
class StoreChoice:
    """A SQLite file (``db``) or a PostgreSQL address (``url``)."""

    db: Path | None = None
    url: str | None = None

    @property
    def shared(self) -> bool:
        return self.url is not None

    def describe(self) -> str:
        if self.url is not None:
            from .store_pg import shown

            return shown(self.url)
        return str(self.db)

    def flag(self) -> str:
        """The option that names this store again on a command line (the password left out)."""
        return f"--store {self.describe()}" if self.url is not None else f"--db {self.db}"

    def open(self) -> Store:
        if self.url is not None:
            try:
                from .store_pg import PostgresStore
            except ImportError as exc:  # psycopg is a dependency: only a broken install comes here
                why = f"PostgreSQL support is not installed ({exc}): pip install 'psycopg[binary]'"
                raise StorageError(why) from exc
            return PostgresStore(self.url)
        assert self.db is not None
        return SqliteStore(self.db)


def choose(db: Path | None, store: str | None) -> StoreChoice:
    """``--db`` or ``--store`` if given (not both), else $MODCONSOLE_STORE, else $MODCONSOLE_DB or the user data
    directory's SQLite file. A ValueError says what is wrong with what was given."""
    if db is not None and store is not None:
        raise ValueError("give --db (a SQLite file) or --store (a PostgreSQL address), not both")
    if db is not None:
        return StoreChoice(db=db)
    source = "--store"
    if store is None:
        store = os.environ.get(STORE_ENV) or None
        source = f"${STORE_ENV}"
    if store is None:
        return StoreChoice(db=default_db())
    if not is_postgres(store):
        raise ValueError(
            f"{source} takes a PostgreSQL address (postgresql://user@host:5432/dbname); give a SQLite file with --db"
        )
    return StoreChoice(url=store)
