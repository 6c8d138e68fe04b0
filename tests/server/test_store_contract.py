"""One contract for every store: the same tests run on a SQLite file and on a real PostgreSQL.

Append and read after a seq; an entry's exact serialisation kept; tokens (grants, participant credentials,
listing, adding, reissuing, revoking, the numbered revocations a server polls); what was
acknowledged still there when the store is opened again; a seq written twice refused whole (SeqTaken, nothing
of that append kept); the schema version; refusal with a StorageError when the database cannot be reached.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.postgres import PgCluster, free_port
from support.servers import MAYORS_CALL

from modconsole.agenda_files import load_agenda
from modconsole.core import commands as c
from modconsole.core.commands import Actor
from modconsole.core.log import Entry, record
from modconsole.core.state import State
from modconsole.server.events_admin import create_event
from modconsole.server.store import SeqTaken, StorageError, Store, StoredToken
from modconsole.server.stores import StoreChoice
from modconsole.server.tokens import token_hash

MOD = Actor(role="moderator", client="contract")

Opener = Callable[[], Store]


@pytest.fixture(params=["sqlite", "postgresql"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens the same store again each time it is called: a SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        choice = StoreChoice(db=tmp_path / "contract.db")
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


def _state(store: Store, event_id: str) -> State:
    from modconsole.core.fold import replay

    return replay([(e.seq, e.event) for e in store.read(event_id)])


def _entries(store: Store, event_id: str, command: c.Command) -> list[Entry]:
    state = _state(store, event_id)
    entries = record(state, command, MOD, 1_000, 1_000)
    assert isinstance(entries, list)
    return entries


def test_append_then_read_after_a_seq(opener: Opener) -> None:
    store = opener()
    created = create_event(store, load_agenda(MAYORS_CALL))
    assert store.event_ids() == [created.event_id]
    first = list(store.read(created.event_id))
    assert [e.seq for e in first] == [1] and first[0].event.type == "event_created"
    new = _entries(store, created.event_id, c.Start())
    store.append(created.event_id, new)
    after = list(store.read(created.event_id, after=1))
    assert [e.seq for e in after] == [e.seq for e in new]
    assert [e.event_json for e in after] == [e.event_json for e in new]  # the bytes that were sent, kept
    assert after[0].actor == MOD
    assert list(store.read(created.event_id, after=after[-1].seq)) == []
    assert list(store.read("no-such-event")) == []


def test_what_was_acknowledged_is_there_when_opened_again(opener: Opener) -> None:
    store = opener()
    created = create_event(store, load_agenda(MAYORS_CALL))
    new = _entries(store, created.event_id, c.Start())
    store.append(created.event_id, new)
    store.close()
    again = opener()
    assert [e.seq for e in again.read(created.event_id)] == [1, *(e.seq for e in new)]


def test_a_seq_written_twice_is_refused_whole(opener: Opener) -> None:
    """Two processes deciding on the same state: the second append is SeqTaken, and none of it is kept."""
    one, two = opener(), opener()
    created = create_event(one, load_agenda(MAYORS_CALL))
    first = _entries(one, created.event_id, c.Start())
    second = _entries(two, created.event_id, c.Start())
    one.append(created.event_id, first)
    with pytest.raises(SeqTaken) as refused:
        two.append(created.event_id, second)
    assert refused.value.event_id == created.event_id
    assert isinstance(refused.value, StorageError)
    assert [e.event_json for e in two.read(created.event_id, after=1)] == [e.event_json for e in first]
    # The store is usable after the refusal.
    later = _entries(two, created.event_id, c.Pause())
    two.append(created.event_id, later)
    assert [e.seq for e in one.read(created.event_id)][-1] == later[-1].seq


def test_tokens_and_participant_credentials(opener: Opener) -> None:
    store = opener()
    created = create_event(store, load_agenda(MAYORS_CALL))
    moderator = store.grant(token_hash(created.moderator))
    assert moderator is not None and (moderator.event_id, moderator.role) == (created.event_id, "moderator")
    person, token = next(iter(created.people.items()))
    held = store.grant(token_hash(token))
    assert held is not None and held.person == person
    assert store.grant(token_hash("not a token")) is None
    store.issue_participant(created.event_id, token_hash("p1"), "p-1", "Ana")
    store.issue_participant(created.event_id, token_hash("p2"), "p-2", "Ana (2)")
    grant = store.grant(token_hash("p2"))
    assert grant is not None and (grant.role, grant.person, grant.name) == ("participant", "p-2", "Ana (2)")
    assert store.participant_names(created.event_id) == ["Ana", "Ana (2)"]  # in the order issued
    with pytest.raises(StorageError):
        store.issue_participant(created.event_id, token_hash("p1"), "p-3", "Other")  # a hash stored already
    with pytest.raises(StorageError):
        store.issue_participant("no-such-event", token_hash("p9"), "p-9", "Nobody")
    assert store.participant_names(created.event_id) == ["Ana", "Ana (2)"]


def test_an_unreachable_database_is_a_storage_error(tmp_path: Path, postgres: PgCluster) -> None:
    with pytest.raises(StorageError, match="cannot reach the database") as refused:
        StoreChoice(url=f"postgresql://postgres:secret@127.0.0.1:{free_port()}/none").open()
    assert "secret" not in str(refused.value)  # the password is never shown
    (tmp_path / "a-file").touch()
    with pytest.raises(StorageError, match="cannot open the database"):
        StoreChoice(db=tmp_path / "a-file" / "x.db").open()


def test_the_postgresql_schema_has_a_version_and_refuses_a_newer_one(pg_url: str) -> None:
    import psycopg

    from modconsole.server.store_pg import SCHEMA_VERSION, PostgresStore

    store = PostgresStore(pg_url)
    assert store.schema_version() == SCHEMA_VERSION
    store.close()
    PostgresStore(pg_url).close()  # opened again: found, not made anew
    with psycopg.connect(pg_url, autocommit=True) as db:
        db.execute("UPDATE modconsole_schema SET version = version + 1")
    with pytest.raises(StorageError, match="newer modconsole"):
        PostgresStore(pg_url)


def test_tables_modconsole_did_not_make_are_left_alone(pg_url: str) -> None:
    import psycopg

    from modconsole.server.store_pg import PostgresStore

    with psycopg.connect(pg_url, autocommit=True) as db:
        db.execute("CREATE TABLE log (line TEXT)")
    with pytest.raises(StorageError, match="did not make"):
        PostgresStore(pg_url)


def test_a_store_refuses_while_postgresql_is_down_and_works_again_after() -> None:
    """The database stopped under an open store: reads and appends are StorageErrors (never a success); started
    again, the same store reconnects, and what was committed before is all there."""
    from support.postgres import PgUnavailable

    from modconsole.server.store_pg import PostgresStore

    try:
        cluster = PgCluster()
        cluster.start()
    except PgUnavailable as exc:
        pytest.skip(str(exc))
    try:
        store = PostgresStore(cluster.create_database())
        created = create_event(store, load_agenda(MAYORS_CALL))
        before = _entries(store, created.event_id, c.Start())
        store.append(created.event_id, before)
        during = _entries(store, created.event_id, c.Pause())  # decided while it is up, written while down
        cluster.stop()
        with pytest.raises(StorageError):
            store.append(created.event_id, during)
        with pytest.raises(StorageError):
            list(store.read(created.event_id))
        cluster.start()
        store.append(created.event_id, during)
        assert [e.seq for e in store.read(created.event_id)] == [1, *(e.seq for e in before), *(e.seq for e in during)]
        store.close()
    finally:
        cluster.remove()


def test_tokens_listed_added_replaced_and_revoked(opener: Opener) -> None:
    store = opener()
    created = create_event(store, load_agenda(MAYORS_CALL))
    event = created.event_id
    listed = store.tokens(event)
    assert [t.role for t in listed[:3]] == ["moderator", "display", "participant"]
    assert not any(t.revoked for t in listed)
    store.add_tokens(event, [StoredToken(token_hash("chair"), "moderator", "mod-chair", "Chair", ("call",))])
    chair = store.grant(token_hash("chair"))
    assert chair is not None and (chair.person, chair.name, chair.sessions) == ("mod-chair", "Chair", ("call",))
    with pytest.raises(StorageError):  # a hash stored already: nothing is stored
        store.add_tokens(
            event,
            [StoredToken(token_hash("other"), "display", None), StoredToken(token_hash("chair"), "display", None)],
        )
    assert store.grant(token_hash("other")) is None

    seen, _ = store.revoked_since(-1)
    new = store.replace_token(event, "moderator", "mod-chair", token_hash("chair-2"))
    assert (new.name, new.sessions) == ("Chair", ("call",))  # the latest one's name and sessions carried over
    assert store.grant(token_hash("chair")) is None  # the old one stops
    assert store.grant(token_hash("chair-2")) is not None
    last, hashes = store.revoked_since(seen)
    assert hashes == [token_hash("chair")] and last > seen
    assert store.revoke_token(event, "display", None) == 1
    assert store.grant(token_hash(created.display)) is None
    after, more = store.revoked_since(last)
    assert more == [token_hash(created.display)] and after == last + 1
    assert store.revoked_since(after) == (after, [])
    assert store.revoke_token(event, "display", None) == 0  # none live: nothing to do
    with pytest.raises(StorageError, match="no moderator token for nobody"):
        store.replace_token(event, "moderator", "nobody", token_hash("x"))
    revoked = {t.token_hash for t in store.tokens(event) if t.revoked}
    assert revoked == {token_hash("chair"), token_hash(created.display)}
    # A copied revoked token stays revoked.
    store.add_tokens(event, [StoredToken(token_hash("old"), "display", None, revoked=True)])
    assert store.grant(token_hash("old")) is None


def test_entries_and_their_tokens_are_written_together_or_not_at_all(opener: Opener) -> None:
    """A person added live and their speaker token: one transaction, and a taken seq keeps neither."""
    one, two = opener(), opener()
    created = create_event(one, load_agenda(MAYORS_CALL))
    first = _entries(one, created.event_id, c.Start())
    second = _entries(two, created.event_id, c.Start())
    one.append_granting(created.event_id, first, [("speaker", "new-mayor", token_hash("t-new"))])
    held = two.grant(token_hash("t-new"))
    assert held is not None and (held.event_id, held.role, held.person) == (created.event_id, "speaker", "new-mayor")
    with pytest.raises(SeqTaken):
        two.append_granting(created.event_id, second, [("speaker", "late-mayor", token_hash("t-late"))])
    assert two.grant(token_hash("t-late")) is None
    assert [e.event_json for e in two.read(created.event_id, after=1)] == [e.event_json for e in first]


# The tokens' part of the contract: revocations numbered in order, so that a running server asking for
# those past the last it saw misses none; tokens copied to another store keep their holders and revocations.


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
