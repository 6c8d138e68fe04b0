"""Group commit: commands that arrive together are committed in one durable transaction, each decided on
the state after the ones before it, a rejection touching none of the others, a storage failure refusing the
whole batch and changing nothing, an undo among them still replayed; every client gets one frame a batch."""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict
from typing import Any

import pytest
from support.servers import replay_log

from modconsole.client import CommandRefused
from modconsole.core import commands as c
from modconsole.protocol import Events
from modconsole.server.store import StorageError


class SlowStore:
    """The server's store, each append made slower and counted: commands pile up behind a write."""

    def __init__(self, store: Any, delay_s: float = 0.05) -> None:
        self.store = store
        self.delay_s = delay_s
        self.appends: list[int] = []
        self.fail_next = False
        self.original = store.append

    def append(self, event_id: str, entries: list[Any]) -> None:
        time.sleep(self.delay_s)
        if self.fail_next:
            self.fail_next = False
            raise StorageError("the disk is full (a test's fault)")
        self.original(event_id, entries)
        self.appends.append(len(entries))


@pytest.fixture
async def busy(start_server: Any, connect: Any) -> Any:
    srv = await start_server(registrations_per_minute=10_000)
    slow = SlowStore(srv.store)
    srv.store.append = slow.append  # type: ignore[method-assign]
    moderator = await connect(srv.url, srv.tokens.moderator, label="desk")
    await moderator.command(c.Start())
    crowd = await asyncio.gather(
        *(connect(srv.url, srv.tokens.participant, name=f"Guest {i:02d}", label=f"g{i}") for i in range(30))
    )
    return srv, slow, moderator, crowd


async def test_a_burst_is_committed_in_few_transactions_and_one_frame_a_batch(busy: Any) -> None:
    srv, slow, moderator, crowd = busy
    slow.appends.clear()
    marks = [len(client.frames) for client in crowd]
    acks = await asyncio.gather(*(client.command(c.Raise()) for client in crowd))
    assert len({a.seq for a in acks}) == len(crowd)
    assert len(slow.appends) < len(crowd) // 3  # batched: far fewer transactions than commands
    assert sum(slow.appends) == 2 * len(crowd)  # each first raise registers the participant too
    queue = srv.state.sessions[0].current_item.queue
    assert sorted(h.person for h in queue) == sorted(client.welcome.person.id for client in crowd)
    assert [e.seq for e in srv.read_log()] == list(range(1, srv.state.seq + 1))  # all durable, in order
    for client, mark in zip(crowd, marks, strict=True):
        await srv.settled(client)
        got = [f for f in client.frames[mark:] if isinstance(f, Events)]
        assert len(got) <= len(slow.appends)  # one frame a batch, not one a command
    await srv.settled(moderator)


async def test_a_rejection_in_a_batch_leaves_the_others(busy: Any, connect: Any) -> None:
    srv, _slow, moderator, crowd = busy
    sala = await connect(srv.url, srv.tokens.people["sala"], label="sala")
    results = await asyncio.gather(
        sala.command(c.Raise()),
        moderator.command(c.QueueAdd(person="sala")),  # the same hand: one of the two is refused
        *(client.command(c.Raise()) for client in crowd[:10]),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, CommandRefused)]
    assert len(refused) == 1 and refused[0].code == "invalid_state"
    assert sum(1 for r in results if not isinstance(r, BaseException)) == 11
    assert len(srv.state.sessions[0].current_item.queue) == 11
    assert replay_log(srv.read_log()).sessions == srv.state.sessions


async def test_a_storage_failure_refuses_the_batch_and_changes_nothing(busy: Any) -> None:
    srv, slow, _moderator, crowd = busy
    await crowd[0].command(c.Raise())
    before, rows = asdict(srv.state), srv.log_rows()
    slow.fail_next = True
    results = await asyncio.gather(*(client.command(c.Raise()) for client in crowd[1:]), return_exceptions=True)
    failed = [r for r in results if isinstance(r, CommandRefused)]
    assert failed and all(r.code == "storage" for r in failed)
    done = [r for r in results if not isinstance(r, BaseException)]
    assert srv.log_rows() == rows + 2 * len(done)  # only the later batches are in the file
    if not done:
        assert asdict(srv.state) == before
    assert replay_log(srv.read_log()).sessions == srv.state.sessions  # memory is the log's fold
    # The server carries on: one whose raise was refused raises again.
    queued = {h.person for h in srv.state.sessions[0].current_item.queue}
    retry = next(client for client in crowd[1:] if client.welcome.person.id not in queued)
    assert (await retry.command(c.Raise())).seq == srv.state.seq


async def test_an_undo_in_a_batch_is_replayed(busy: Any) -> None:
    srv, _slow, moderator, crowd = busy
    await moderator.command(c.AddTime(delta_s=60))
    results = await asyncio.gather(
        moderator.command(c.Undo()), *(client.command(c.Raise()) for client in crowd[:8]), return_exceptions=True
    )
    assert not [r for r in results if isinstance(r, BaseException)]
    replayed = replay_log(srv.read_log())
    assert replayed.sessions == srv.state.sessions
    assert srv.state.sessions[0].items[0].added_s == 0
    assert len(srv.state.sessions[0].current_item.queue) == 8
    for client in crowd[:8]:
        await srv.settled(client)
