"""Several server processes sharing one event through PostgreSQL.

Real `modconsole-server serve --store postgresql://...` subprocesses on one database (the suite's own
PostgreSQL), real websocket clients spread over them:

- a command accepted by one process reaches the clients of another, and every replica equals the log's fold;
- two moderators on two processes racing with the same ``expected_seq``: exactly one applies, every time;
- SIGKILL of one process: its clients (given every address) resume on another from their last seq, with no
  event missed or repeated, and every acknowledged command is in the log;
- PostgreSQL stopped and started mid-session: commands are refused while it is down (never acknowledged),
  served again after, nothing lost.

and the mayors' call end to end on three processes, one SIGKILLed in the middle of the discussion round.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import pytest
from support.postgres import PgCluster, PgUnavailable
from support.servers import RecordingClient
from support.shared_servers import SharedServers, create_event, view_of

from modconsole.client import ClientError, CommandRefused, MeetingClient
from modconsole.core import commands as c
from modconsole.core.visibility import visible_to
from modconsole.protocol import Events, Reset

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def shared(pg_url: str) -> Iterator[SharedServers]:
    servers = SharedServers(pg_url, create_event(pg_url))
    yield servers
    servers.stop_all()


async def _settled(client: MeetingClient, servers: SharedServers, timeout: float = 5.0) -> None:
    """The client's replica equals what it may see of the log's fold."""
    expected = view_of(client, servers.state())
    with contextlib.suppress(TimeoutError, ClientError):
        await client.wait_for(lambda s: view_of(client, s) == expected, timeout=timeout)
    assert client.state is not None
    assert view_of(client, client.state) == expected


def _seqs(client: RecordingClient) -> list[int]:
    return [e.seq for frame in client.frames if isinstance(frame, Events) for e in frame.events]


async def test_a_command_on_one_process_reaches_the_clients_of_another(shared: SharedServers) -> None:
    a, b = shared.start(), shared.start()
    moderator = MeetingClient(a.url, shared.tokens["moderator"], client="desk-a")
    watchers = [
        RecordingClient(url, shared.tokens["display"], client=f"wall-{n}") for n, url in enumerate([a.url, b.url])
    ]
    async with moderator:
        for watcher in watchers:
            await watcher.connect()
        try:
            acks = [await moderator.command(cmd) for cmd in (c.Start(), c.Next(), c.AddTime(delta_s=60))]
            for watcher in watchers:
                await _settled(watcher, shared)
                assert _seqs(watcher)[-1] == acks[-1].seq  # the last command, heard on both processes
            log = shared.log()
            assert [e.seq for e in log] == list(range(1, len(log) + 1))  # each seq once
        finally:
            for watcher in watchers:
                await watcher.close()


async def test_expected_seq_races_across_processes_apply_exactly_one(shared: SharedServers) -> None:
    a, b = shared.start(), shared.start()
    one = MeetingClient(a.url, shared.tokens["moderator"], client="desk-a")
    two = MeetingClient(b.url, shared.tokens["moderator"], client="desk-b")
    async with one, two:
        await one.command(c.Start())
        for _ in range(4):  # the call has five items: four nexts
            await _settled(two, shared)
            assert one.state is not None
            revision = one.state.sessions[0].rev
            results = await asyncio.gather(
                one.command(c.Next(expected_seq=revision)),
                two.command(c.Next(expected_seq=revision)),
                return_exceptions=True,
            )
            refused = [r for r in results if isinstance(r, CommandRefused)]
            assert len(refused) == 1 and refused[0].code == "stale", results
        nexts = [e for e in shared.log() if e.actor.client in ("desk-a", "desk-b") and e.event.type == "item_changed"]
        assert len(nexts) == 4  # one per race
        await _settled(one, shared)
        await _settled(two, shared)


async def test_killing_a_process_its_clients_resume_on_another(shared: SharedServers) -> None:
    """Two processes, one SIGKILLed mid-round: its displays, given both addresses, resume on the other from
    their last seq; no event missed, none repeated; every acknowledged command is in the log."""
    a, b = shared.start(), shared.start()
    moderator = MeetingClient(b.url, shared.tokens["moderator"], client="desk")
    displays = [RecordingClient(shared.addresses(0), shared.tokens["display"], client=f"wall-{n}") for n in range(5)]
    acked: list[int] = []
    async with moderator:
        for display in displays:
            await display.connect()
            assert display.url == a.url
        try:
            acked.append((await moderator.command(c.Start())).seq)
            for _ in range(3):
                acked.append((await moderator.command(c.AddTime(delta_s=30))).seq)
            await asyncio.gather(*(_settled(d, shared) for d in displays))
            a.kill()
            for _ in range(3):  # the round goes on while they are away
                acked.append((await moderator.command(c.AddTime(delta_s=30))).seq)
            await asyncio.gather(*(d.closed.wait() for d in displays))
            welcomes = await asyncio.gather(*(d.connect() for d in displays))
            assert all(w.snapshot is None for w in welcomes)  # resumed from their seq, not sent a snapshot
            assert {d.url for d in displays} == {b.url}
            acked.append((await moderator.command(c.Next())).seq)
            log = shared.log()
            assert set(acked) <= {e.seq for e in log}
            state = shared.state()
            first = displays[0].welcome
            for display in displays:
                await _settled(display, shared)
                seen = _seqs(display)
                assert seen == sorted(set(seen))  # none repeated
                start = seen[0]
                expected = [e.seq for e in log if e.seq >= start and visible_to(state, e.event, "display", None)]
                assert seen == expected  # none missed
                assert not [f for f in display.frames if isinstance(f, Reset)]
            assert first is not None
        finally:
            for display in displays:
                await display.close()


async def test_postgresql_stopped_and_started_mid_session() -> None:
    """Commands while the database is down are refused (never acknowledged); once it is back they are served,
    and the log holds every acknowledged command, no refused one."""
    try:
        cluster = PgCluster()
        cluster.start()
    except PgUnavailable as exc:
        pytest.skip(str(exc))
    servers = SharedServers(cluster.create_database())
    try:
        servers.created = create_event(servers.store_url)
        a, b = servers.start(), servers.start()
        one = MeetingClient(a.url, servers.tokens["moderator"], client="desk-a")
        two = MeetingClient(b.url, servers.tokens["moderator"], client="desk-b")
        async with one, two:
            acked = [(await one.command(c.Start())).seq]
            cluster.stop()
            for client in (one, two):
                with pytest.raises(CommandRefused) as refused:
                    await client.command(c.AddTime(delta_s=30))
                assert refused.value.code == "storage"
            cluster.start()
            deadline = asyncio.get_running_loop().time() + 15
            while True:  # the servers reconnect at their next command
                try:
                    acked.append((await two.command(c.AddTime(delta_s=60))).seq)
                    break
                except CommandRefused:
                    assert asyncio.get_running_loop().time() < deadline
                    await asyncio.sleep(0.2)
            acked.append((await one.command(c.Next())).seq)
            log = servers.log()
            assert set(acked) <= {e.seq for e in log}
            assert [e.event.type for e in log].count("item_time_added") == 1  # the refused ones are not there
            await _settled(one, servers)
            await _settled(two, servers)
    finally:
        servers.stop_all()
        cluster.remove()


async def _resume(client: RecordingClient, timeout: float = 10.0) -> None:
    """What a console's link does: reconnect, trying every address, until one answers."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            welcome = await client.connect()
            assert welcome.snapshot is None  # resumed from its last seq
            return
        except ClientError:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.1)


async def test_the_mayors_call_on_three_processes_with_one_killed_mid_round(shared: SharedServers) -> None:
    """Three processes, the desks, displays and 45 mayors spread over them; the call runs to its end, and one
    process is SIGKILLed in the middle of the discussion round. Its clients resume on the others; every
    acknowledged command is in the log; every replica equals the log's fold; no client saw an event twice or
    missed one it may see."""
    for _ in range(3):
        shared.start()
    tokens = shared.tokens
    mayors = list(tokens["people"])
    desks = [RecordingClient(shared.addresses(n), tokens["moderator"], client=f"desk-{n}") for n in range(3)]
    walls = [RecordingClient(shared.addresses(n), tokens["display"], client=f"wall-{n}") for n in range(3)]
    speakers = {
        m: RecordingClient(shared.addresses(i % 3), tokens["people"][m], client=m) for i, m in enumerate(mayors)
    }
    everyone = [*desks, *walls, *speakers.values()]
    await asyncio.gather(*(client.connect() for client in everyone))
    assert {client.url for client in everyone} == {s.url for s in shared.servers}  # spread over the three
    acked: list[int] = []
    turn = 0

    async def mod(command: c.Command) -> None:
        nonlocal turn
        turn += 1
        for _attempt in range(50):
            desk = desks[turn % 3]
            if desk.connected:
                acked.append((await desk.command(command)).seq)
                return
            turn += 1
            await asyncio.sleep(0.05)
        raise AssertionError("no desk connected")

    try:
        await mod(c.Start())
        await mod(c.Floor(person="garcetti"))
        await mod(c.Next())
        await mod(c.Next())
        await mod(c.Next())  # the discussion
        await asyncio.gather(*(_settled(s, shared) for s in speakers.values()))
        for mayor in mayors:
            acked.append((await speakers[mayor].command(c.Raise())).seq)
        killed = shared.servers[1]
        resumed: asyncio.Future[list[None]] | None = None
        for index in range(len(mayors)):
            await mod(c.Floor())
            await mod(c.EndTurn())
            if index == 20:  # mid-round: the turns go on while its clients find another process
                orphans = [client for client in everyone if client.url == killed.url]
                killed.kill()
                await asyncio.gather(*(client.closed.wait() for client in orphans))
                resumed = asyncio.gather(*(_resume(client) for client in orphans))
        assert resumed is not None
        await resumed
        assert killed.url not in {client.url for client in everyone}
        await mod(c.Next())
        await mod(c.End())
        log = shared.log()
        assert set(acked) <= {e.seq for e in log}
        assert [e.seq for e in log] == list(range(1, len(log) + 1))
        state = shared.state()
        assert state.sessions[0].status == "ended"
        for client in everyone:
            await _settled(client, shared)
            seen = _seqs(client)
            assert seen == sorted(set(seen))
            person = client.welcome.person.id if client.welcome and client.welcome.person else None
            role = client.welcome.role if client.welcome else "display"
            expected = [e.seq for e in log if e.seq >= seen[0] and visible_to(state, e.event, role, person)]
            assert seen == expected
    finally:
        await asyncio.gather(*(client.close() for client in everyone), return_exceptions=True)


async def test_a_process_behind_catches_up_before_it_welcomes_a_resume(pg_url: str, mayors_agenda) -> None:
    """A client resuming at a seq the process it reaches has not read yet: that process reads the table first,
    and the welcome carries on from the client's seq (no snapshot from the past, nothing missed). Two servers in
    this process on one database; the second one deaf to notifications, so it is behind when the client comes."""
    from modconsole.server.events_admin import create_event as make_event
    from modconsole.server.service import MeetingServer
    from modconsole.server.store_pg import PostgresStore

    stores = [PostgresStore(pg_url), PostgresStore(pg_url)]
    created = make_event(stores[0], mayors_agenda)
    ahead, behind = MeetingServer(stores[0]), MeetingServer(stores[1])
    behind._heard = lambda event_id, seq: None  # type: ignore[method-assign]
    ports = [await ahead.start("127.0.0.1", 0), await behind.start("127.0.0.1", 0)]
    moderator = MeetingClient(f"ws://127.0.0.1:{ports[0]}", created.moderator, client="desk")
    display = RecordingClient(f"ws://127.0.0.1:{ports[0]}", created.display, client="wall")
    try:
        await moderator.connect()
        await display.connect()
        await moderator.command(c.Start())
        seq = (await moderator.command(c.AddTime(delta_s=60))).seq
        await display.wait_for(lambda s: s.seq >= seq)
        await display.close()
        last = (await moderator.command(c.AddTime(delta_s=60))).seq  # missed while away
        assert behind.events[created.event_id].state.seq < seq
        display.addresses = [f"ws://127.0.0.1:{ports[1]}"]
        display.url = display.addresses[0]
        welcome = await display.connect()
        assert welcome.snapshot is None and welcome.seq == last
        await display.wait_for(lambda s: s.seq == last)
        assert _seqs(display)[-1] == last
    finally:
        await moderator.close()
        await display.close()
        await ahead.stop()
        await behind.stop()
        for store in stores:
            store.close()


def test_processes_started_together_set_the_event_clock_once(shared: SharedServers) -> None:
    """Each process sets the event clock at load unless the log already has it at its pace: started at the same
    moment, the ones whose append found the seq taken read the log again and find it set."""
    import subprocess

    from support.servers import script
    from support.shared_servers import _LISTENING, ServerProcess, _env

    processes = [
        subprocess.Popen(
            [script("modconsole-server"), "serve", "--store", shared.store_url, "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for _ in range(3)
    ]
    for process in processes:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = _LISTENING.fullmatch(line)
        shared.servers.append(ServerProcess(process, int(match.group(1)) if match else 0))
        assert match, (line, process.stderr.read() if process.stderr else "")
    clocks = [e for e in shared.log() if e.event.type == "clock_set"]
    assert len(clocks) == 1
