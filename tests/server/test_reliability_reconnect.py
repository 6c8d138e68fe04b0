"""A hundred forced disconnects in the middle of a meeting, and every replica ends right.

A moderator keeps giving commands (time, queue, floor, private and public messages, now and then an
undo), speakers and participants raise and lower hands and acknowledge messages, a display and a
second moderator watch. Meanwhile connections are cut abruptly, a hundred times: half by aborting
the client's transport, half by aborting the server's side of the TCP connection. Every client
reconnects by itself and resumes from the last sequence it saw.

Every client records what it was sent: snapshots (welcome, reset) and each event's sequence, across
all its connections. Afterwards, for each client: the events came in strictly increasing order (none
repeated), no event it may see fell between two it got unless a snapshot covered it (none missed),
and its replica equals the server's state as ``view_for`` shows it to that client.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from modconsole.client import ClientError, CommandRefused, MeetingClient
from modconsole.core import commands as c
from modconsole.core.visibility import view_for, visible_to
from modconsole.protocol import Events, Reset, Welcome

DISCONNECTS = int(os.environ.get("MODCONSOLE_RECONNECT_DISCONNECTS", "100"))
SEED = int(os.environ.get("MODCONSOLE_RECONNECT_SEED", "7"))


class TrackedClient(MeetingClient):
    """Keeps the timeline of what it was sent: ("snapshot", seq), ("resume", seq), ("event", seq)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timeline: list[tuple[str, int]] = []
        self.reconnects = 0

    async def connect(self) -> Welcome:
        welcome = await super().connect()
        # No await between the reader task's creation and here: nothing can come before this entry.
        self.timeline.append(("snapshot" if welcome.snapshot is not None else "resume", welcome.seq))
        return welcome

    def _handle(self, frame: object) -> None:
        if isinstance(frame, Events):
            self.timeline.extend(("event", entry.seq) for entry in frame.events)
        elif isinstance(frame, Reset):
            self.timeline.append(("snapshot", frame.seq))
        super()._handle(frame)


def check_timeline(client: TrackedClient, visible: list[int], final_seq: int) -> tuple[int, int]:
    """No repeated event, no missed one; returns (events received, snapshots received)."""
    cursor: int | None = None
    events = snapshots = 0
    for kind, seq in client.timeline:
        if kind == "snapshot":
            assert cursor is None or seq >= cursor, (client.client_label, kind, seq, cursor)
            cursor = seq
            snapshots += 1
        elif kind == "resume":
            assert cursor is not None and seq >= cursor, (client.client_label, kind, seq, cursor)
        else:
            assert cursor is not None
            assert seq > cursor, f"{client.client_label}: event {seq} repeated (already at {cursor})"
            missed = [s for s in visible if cursor < s < seq]
            assert missed == [], f"{client.client_label}: missed {missed} between {cursor} and {seq}"
            cursor = seq
            events += 1
    assert cursor is not None
    missed = [s for s in visible if s > cursor]
    assert missed == [], f"{client.client_label}: never got {missed}"
    assert cursor <= final_seq
    return events, snapshots


async def test_a_hundred_forced_disconnects_lose_and_repeat_nothing(server) -> None:
    rng = random.Random(SEED)
    tokens = server.tokens
    clients: list[TrackedClient] = [
        TrackedClient(server.url, tokens.moderator, client="chair"),
        TrackedClient(server.url, tokens.moderator, client="co-chair"),
        TrackedClient(server.url, tokens.display, client="display"),
        *(TrackedClient(server.url, tokens.people[p], client=p) for p in ("sala", "breed", "lopez")),
        *(TrackedClient(server.url, tokens.participant, name=n, client=n) for n in ("Ana Lima", "Bo Chen")),
    ]
    for client in clients:
        await client.connect()
    chair = clients[0]
    await chair.command(c.Start())
    stop = asyncio.Event()
    done = {"commands": 0, "refused": 0, "cut": 0, "lost answers": 0}

    async def chair_step(client: TrackedClient, n: int) -> None:
        assert client.state is not None
        item = client.state.sessions[0].current_item
        assert item is not None
        step = n % 12
        if step in (0, 6):
            await client.command(c.AddTime(delta_s=30 if item.added_s <= 0 else -30))
        elif step == 1:
            await client.command(c.SendMessage(text=f"private {n}", to=rng.choice(["sala", "breed", "lopez"])))
        elif step == 2:
            await client.command(c.SendMessage(text=f"to all {n}", to="all"))
        elif step == 3 and item.queue:
            await client.command(c.Floor())
        elif step == 4 and item.floor is not None:
            await client.command(c.EndTurn())
        elif step == 5:
            await client.command(c.QueueAdd(person=rng.choice(["sala", "breed", "lopez"])))
        elif step == 7 and item.floor is not None:
            await client.command(c.SendMessage(text=f"wrap up {n}", to="floor"))
        elif step == 11 and n % 36 == 11:
            await client.command(c.Undo())
        else:
            await client.command(c.AddTime(delta_s=10, turn=False))

    async def audience_step(client: TrackedClient, n: int) -> None:
        assert client.state is not None and client.welcome is not None and client.welcome.person is not None
        me = client.welcome.person.id
        item = client.state.sessions[0].current_item
        assert item is not None
        unread = [m for m in client.state.messages if m.to in (me, "all") and me not in m.acknowledged]
        if unread and n % 3 == 0:
            await client.command(c.Ack())
        elif any(h.person == me for h in item.queue):
            await client.command(c.Lower())
        else:
            await client.command(c.Raise(kind="question" if n % 2 else "contribution"))

    async def watch_step(client: TrackedClient, n: int) -> None:
        await client.ping()

    async def run(client: TrackedClient, step: Callable[[TrackedClient, int], Awaitable[None]], pace: float) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            if not client.connected:
                await asyncio.wait_for(client.closed.wait(), 5)  # the old reader has finished
                await client.connect()
                client.reconnects += 1
                continue
            try:
                await step(client, n)
                done["commands"] += 1
            except CommandRefused:
                done["refused"] += 1  # e.g. lower after the chair gave that person the floor
            except ClientError:
                done["lost answers"] += 1  # cut while waiting: reconnect on the next turn
            except TimeoutError:
                done["lost answers"] += 1
            await asyncio.sleep(pace)  # pacing below the rate limit, not waiting for anything

    steps = {"chair": chair_step, "co-chair": watch_step, "display": watch_step}
    runners = [
        asyncio.create_task(
            run(client, steps.get(client.client_label, audience_step), 0.06 if client is chair else 0.09)
        )
        for client in clients
    ]

    runtime = server.server.events[server.event_id]
    for cut in range(DISCONNECTS):
        await asyncio.sleep(0.03)  # the meeting goes on between two cuts
        victim = rng.choice([client for client in clients if client.connected])
        if cut % 2 == 0:
            assert victim._ws is not None
            victim._ws.transport.abort()  # the client's side drops, no close frame
        else:
            sides = [s for s in runtime.clients if s.actor.client == victim.client_label]
            if not sides:  # it is reconnecting at this very moment: cut someone else's
                continue
            sides[0].connection.transport.abort()  # the server's side drops
        done["cut"] += 1
    stop.set()
    await asyncio.wait_for(asyncio.gather(*runners), 30)
    assert done["cut"] >= DISCONNECTS * 9 // 10, done

    # Everyone back, one last public event, and every replica is the server's view of the state.
    for client in clients:
        if not client.connected:
            await asyncio.wait_for(client.closed.wait(), 5)
            await client.connect()
            client.reconnects += 1
    last = await chair.command(c.AddTime(delta_s=5))
    state = server.state
    log = server.read_log()
    assert [e.seq for e in log] == list(range(1, len(log) + 1))
    assert state.seq == last.seq == log[-1].seq
    assert asdict(server.replayed()) == asdict(state)
    figures = []
    for client in clients:
        await client.wait_for(lambda s: s.seq == last.seq, timeout=10)
        assert client.welcome is not None and client.state is not None
        person = client.welcome.person.id if client.welcome.person is not None else None
        assert asdict(client.state) == asdict(view_for(state, client.welcome.role, person)), client.client_label
        visible = [e.seq for e in log if visible_to(state, e.event, client.welcome.role, person)]
        events, snapshots = check_timeline(client, visible, last.seq)
        figures.append(f"{client.client_label}: {client.reconnects} reconnects, {events} events, {snapshots} snapshots")
    assert sum(client.reconnects for client in clients) >= done["cut"]
    print(f"\n{done['cut']} forced disconnects, {len(log)} log entries, {done}\n  " + "\n  ".join(figures))
    await asyncio.gather(*(client.close() for client in clients), return_exceptions=True)
