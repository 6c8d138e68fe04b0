"""The database's files are its owner's only, and `modconsole-server backup` copies a live one whole.

The log holds private messages in clear: the database, its -wal and -shm files, the default data
directory and a backup are created owner-only (0600 files, a 0700 directory) whatever the umask.
A backup taken with SQLite's online backup API while a server holds the database open, the newest
entries still in the write-ahead log, holds every acknowledged entry; a copy of the .db file alone
would not.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.servers import MAYORS_CALL, run_cli

from modconsole.agenda_files import load_agenda
from modconsole.core import commands as c
from modconsole.server.events_admin import create_event
from modconsole.server.store import SqliteStore


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def lax_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual default: files 644, directories 755
    try:
        yield
    finally:
        os.umask(old)


def test_the_database_and_its_wal_and_shm_are_created_owner_only(tmp_path: Path, lax_umask: None) -> None:
    db = tmp_path / "new" / "private.db"
    store = SqliteStore(db)
    try:
        create_event(store, load_agenda(MAYORS_CALL))
        files = {p.name: _mode(p) for p in db.parent.iterdir()}
    finally:
        store.close()
    assert files == {"private.db": 0o600, "private.db-wal": 0o600, "private.db-shm": 0o600}
    assert _mode(db.parent) == 0o700  # a directory the store made for it


def test_an_existing_database_keeps_the_mode_its_owner_gave_it(tmp_path: Path, lax_umask: None) -> None:
    db = tmp_path / "shared.db"
    SqliteStore(db).close()
    os.chmod(db, 0o640)  # shared with a group on purpose
    SqliteStore(db).close()
    assert _mode(db) == 0o640


def test_the_default_data_directory_is_owner_only(tmp_path: Path, lax_umask: None) -> None:
    home = tmp_path / "data"
    result = run_cli(
        "modconsole-server",
        "create-event",
        MAYORS_CALL,
        "--json",
        env={"XDG_DATA_HOME": str(home), "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert _mode(home / "modconsole") == 0o700
    assert _mode(home / "modconsole" / "modconsole.db") == 0o600


def _rows(db: Path) -> list[int]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        try:
            return [row[0] for row in conn.execute("SELECT seq FROM log ORDER BY seq")]
        except sqlite3.OperationalError:  # no table yet: everything is still in the write-ahead log
            return []


async def test_a_backup_of_a_live_server_holds_every_acknowledged_entry(  # type: ignore[no-untyped-def]
    start_server, connect, tmp_path: Path, lax_umask: None
) -> None:
    srv = await start_server()
    mod = await connect(srv.url, srv.tokens.moderator)
    acked = [
        (await mod.command(command)).seq
        for command in (
            c.Start(),
            c.SendMessage(text="private: keep it short", to="all"),
            c.Next(),
            c.AddTime(delta_s=60),
            c.Pause(),
        )
    ]
    wal = Path(f"{srv.db}-wal")
    assert wal.stat().st_size > 0
    # What a plain copy of the .db file would keep: not the entries still in the write-ahead log.
    naive = tmp_path / "naive" / "copy.db"
    naive.parent.mkdir()
    # In another process, as people do it: closing a descriptor of the file in the server's own process would
    # drop the server connection's POSIX locks on it.
    subprocess.run(["cp", str(srv.db), str(naive)], check=True)
    assert acked[-1] not in _rows(naive)

    copy = tmp_path / "backups" / "mayors.db"
    copy.parent.mkdir()
    result = run_cli("modconsole-server", "backup", "--db", srv.db, "--to", copy)
    assert result.returncode == 0, result.stderr
    assert "1 event," in result.stdout and f"{acked[-1]:,} log entries" in result.stdout
    assert sorted(p.name for p in copy.parent.iterdir()) == ["mayors.db"]  # no -wal, no temporary file left
    assert _mode(copy) == 0o600
    assert _rows(copy) == list(range(1, acked[-1] + 1))
    backed_up = SqliteStore(copy)
    try:
        assert [e.event_json for e in backed_up.read(srv.event_id)] == [e.event_json for e in srv.read_log()]
    finally:
        backed_up.close()

    # The server goes on; a second backup does not overwrite the first unless told to.
    await mod.command(c.Resume())
    before = copy.read_bytes()
    again = run_cli("modconsole-server", "backup", "--db", srv.db, "--to", copy)
    assert again.returncode == 2 and "exists; give --force" in again.stderr and "Traceback" not in again.stderr
    assert copy.read_bytes() == before
    forced = run_cli("modconsole-server", "backup", "--db", srv.db, "--to", copy, "--force")
    assert forced.returncode == 0, forced.stderr
    assert _rows(copy)[-1] == acked[-1] + 1 and _mode(copy) == 0o600
    report = run_cli("modconsole-server", "report", "--db", copy)
    assert report.returncode == 0 and "Mayors' video conference" in report.stdout


def test_backup_refuses_a_missing_database_without_creating_it(tmp_path: Path) -> None:
    result = run_cli("modconsole-server", "backup", "--db", tmp_path / "none.db", "--to", tmp_path / "copy.db")
    assert result.returncode == 2 and "no database at" in result.stderr
    assert list(tmp_path.iterdir()) == []
