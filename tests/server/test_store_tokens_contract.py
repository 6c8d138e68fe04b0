"""The tokens' part of the store contract, on a SQLite file and on a real PostgreSQL: tokens listed with their
holders, added (a named moderator, a copied event's), replaced and revoked, and revocations numbered in order
so that a running server asking for those past the last it saw misses none."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.postgres import PgCluster
from support.servers import MAYORS_CALL

from modconsole.agenda_files import load_agenda
from modconsole.server.events_admin import create_event
from modconsole.server.store import StorageError, Store, StoredToken
from modconsole.server.stores import StoreChoice
from modconsole.server.tokens import token_hash

Opener = Callable[[], Store]


@pytest.fixture(params=["sqlite", "postgresql"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    if request.param == "sqlite":
        choice = StoreChoice(db=tmp_path / "tokens.db")
    else:
        cluster: PgCluster = request.getfixturevalue("postgres")
        choice = StoreChoice(url=cluster.create_database())
    opened: list[Store] = []

    def open_store() -> Store:
        store = choice.open()
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()


def test_tokens_are_listed_replaced_and_revoked_in_order(opener: Opener) -> None:
    store = opener()
    created = create_event(store, load_agenda(MAYORS_CALL))
    event = created.event_id
    listed = store.tokens(event)
    assert len(listed) == 3 + 45 and not any(t.revoked for t in listed)
    assert [(t.role, t.person) for t in listed[:3]] == [("moderator", None), ("display", None), ("participant", None)]
    start, _ = store.revoked_since(-1)

    store.add_tokens(event, [StoredToken(token_hash("anna"), "moderator", "mod-anna", "Anna Berg", ("call",))])
    anna = store.grant(token_hash("anna"))
    assert anna is not None and (anna.person, anna.name, anna.sessions) == ("mod-anna", "Anna Berg", ("call",))

    replaced = store.replace_token(event, "moderator", "mod-anna", token_hash("anna-2"))
    assert (replaced.name, replaced.sessions) == ("Anna Berg", ("call",))  # kept from the one replaced
    assert store.grant(token_hash("anna")) is None
    assert store.grant(token_hash("anna-2")) is not None
    first, hashes = store.revoked_since(start)
    assert hashes == [token_hash("anna")] and first > start

    assert store.revoke_token(event, "display", None) == 1
    assert store.grant(token_hash(created.display)) is None
    assert store.revoke_token(event, "display", None) == 0  # nothing live left to revoke
    second, hashes = store.revoked_since(first)
    assert hashes == [token_hash(created.display)] and second > first
    assert store.revoked_since(second) == (second, [])

    with pytest.raises(StorageError):
        store.replace_token(event, "moderator", "nobody", token_hash("x"))
    with pytest.raises(StorageError):  # a hash stored already
        store.add_tokens(event, [StoredToken(token_hash("anna-2"), "moderator", "mod-b", "B")])

    # Opened again (another process): the same tokens, the revoked ones marked.
    again = opener()
    assert [(t.token_hash, t.revoked) for t in again.tokens(event)] == [
        (t.token_hash, t.revoked) for t in store.tokens(event)
    ]


def test_tokens_copied_to_another_store_keep_their_holders_and_revocations(opener: Opener, tmp_path: Path) -> None:
    source = opener()
    created = create_event(source, load_agenda(MAYORS_CALL))
    source.revoke_token(created.event_id, "display", None)
    target = StoreChoice(db=tmp_path / "copy.db").open()
    try:
        entries = list(source.read(created.event_id))
        target.create_event(created.event_id, "copy", [], entries[:1])
        target.add_tokens(created.event_id, source.tokens(created.event_id))
        assert target.tokens(created.event_id) == source.tokens(created.event_id)
        assert target.grant(token_hash(created.moderator)) is not None
        assert target.grant(token_hash(created.display)) is None
        assert target.revoked_since(0) == (0, [])  # a copied revocation is none a running server must act on
    finally:
        target.close()
