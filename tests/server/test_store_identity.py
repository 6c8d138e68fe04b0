"""Participant credentials in the store: schema 2's ``tokens.name``, ``issue_participant``, ``participant_names``."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path

import pytest
from support.servers import MAYORS_CALL

from modconsole.agenda_files import load_agenda
from modconsole.server.events_admin import create_event
from modconsole.server.store import SqliteStore, StorageError, TokenGrant
from modconsole.server.tokens import new_token, token_hash

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_issued_participants_are_durable_named_and_listed_in_issue_order(tmp_path: Path) -> None:
    db = tmp_path / "ids.db"
    store = SqliteStore(db)
    agenda = load_agenda(MAYORS_CALL)
    created = create_event(store, agenda)
    other = create_event(store, agenda)
    tokens = {name: new_token() for name in ("Zoë Ilunga", "Amina Diallo", "Bo Li")}
    for i, (name, token) in enumerate(tokens.items()):
        store.issue_participant(created.event_id, token_hash(token), f"p-{i}", name)
    store.issue_participant(other.event_id, token_hash(new_token()), "p-x", "Someone Else")

    # Committed before it returned: another connection sees it, with no commit or close in between.
    reader = SqliteStore(db)
    try:
        assert reader.grant(token_hash(tokens["Amina Diallo"])) == TokenGrant(
            created.event_id, "participant", "p-1", "Amina Diallo"
        )
        assert reader.participant_names(created.event_id) == ["Zoë Ilunga", "Amina Diallo", "Bo Li"]
        assert reader.participant_names(other.event_id) == ["Someone Else"]
        # The event-wide participant token and the moderator's have no name, and are no issued credential.
        assert reader.grant(token_hash(created.participant)) == TokenGrant(created.event_id, "participant", None)
        assert reader.grant(token_hash(created.moderator)) == TokenGrant(created.event_id, "moderator", None, None)
        assert reader.grant(token_hash(new_token())) is None
    finally:
        reader.close()

    # A hash already stored, or an event that does not exist, is refused and changes nothing.
    with pytest.raises(StorageError, match="UNIQUE"):
        store.issue_participant(created.event_id, token_hash(tokens["Bo Li"]), "p-9", "Bo Li again")
    with pytest.raises(StorageError, match="FOREIGN KEY"):
        store.issue_participant("no-such-event", token_hash(new_token()), "p-9", "Nobody")
    assert store.participant_names(created.event_id) == ["Zoë Ilunga", "Amina Diallo", "Bo Li"]
    store.close()


def test_a_first_schema_database_gains_the_name_column_and_takes_credentials(tmp_path: Path) -> None:
    db = tmp_path / "v1.db"
    shutil.copyfile(FIXTURES / "mayors-call-v1.db", db)
    store = SqliteStore(db)
    try:
        (event_id,) = store.event_ids()
        assert store.participant_names(event_id) == []
        store.issue_participant(event_id, token_hash("mc_a"), "p-a", "Amina Diallo")
        assert store.grant(token_hash("mc_a")) == TokenGrant(event_id, "participant", "p-a", "Amina Diallo")
        assert store.participant_names(event_id) == ["Amina Diallo"]
    finally:
        store.close()
    with contextlib.closing(sqlite3.connect(db)) as conn:
        names = [row[0] for row in conn.execute("SELECT name FROM tokens ORDER BY rowid")]
    assert names[-1] == "Amina Diallo" and set(names[:-1]) == {None}  # the old tokens: no name
