"""Two hundred participants raise their hands at once: each sees its own place, and the places move
up when someone ahead withdraws.

Real MeetingClients (in this process) join a real server on port 0 with the participants' token and
distinct names; one of them is the Textual console itself, its key pressed while the others' commands
are in flight. Each client's place is read from its own replica with the same functions the viewer's
screen draws from (``my_place``, ``place_words``) and compared with the server's queue.
"""

from __future__ import annotations

import asyncio

from support.tui import Served, console, screen_text, until

from modconsole.client import MeetingClient
from modconsole.core import commands as c
from modconsole.core.read_model import session_view
from modconsole.core.state import State
from modconsole.tui.audience import ViewerScreen
from modconsole.tui.figures import Place, my_place, place_words

PARTICIPANTS = 200
CONNECTING_AT_ONCE = 50  # below the listen backlog: a refused SYN would cost a one-second retry
WITHDRAWS_AT = 50  # the server position of the participant who withdraws
# About 5 s here for the 200 raises, most of it the 200 replicas in this process applying 40,000 events;
# a loaded machine (CI beside other jobs) may take several times that: a bound, not an expectation.
SLOW_S = 60.0


def queue(state: State) -> list[str]:
    item = state.sessions[0].current_item
    return [] if item is None else [h.person for h in item.queue]


def place_of(client: MeetingClient) -> Place | None:
    assert client.state is not None and client.welcome is not None and client.welcome.person is not None
    view = session_view(client.state, client.state.sessions[0], client.server_now())
    return my_place(view, client.welcome.person.id)


async def test_200_participants_each_see_their_own_place(served: Served) -> None:
    # The crowd joins from one address, like a venue behind one NAT address: let it register at once.
    served.server.registrations.per_minute = 10 * PARTICIPANTS
    desk = await served.client(served.tokens.moderator, label="desk")
    await desk.command(c.Start())
    await desk.command(c.Goto(item="discussion"))
    gate = asyncio.Semaphore(CONNECTING_AT_ONCE)

    async def join(index: int) -> MeetingClient:
        async with gate:
            return await served.client(served.tokens.participant, name=f"Participant {index:03d}", label=f"p{index}")

    clients = list(await asyncio.gather(*(join(i) for i in range(1, PARTICIPANTS))))
    async with console(served, served.tokens.participant, screen=ViewerScreen, name="Amina Diallo") as (app, pilot):
        clients.append(app.link.client)
        ids = [cl.welcome.person.id for cl in clients]  # type: ignore[union-attr]
        assert len(set(ids)) == PARTICIPANTS

        # Everyone raises at once: 199 commands in flight while the console's key is pressed.
        raising = asyncio.gather(*(cl.command(c.Raise(), timeout=SLOW_S) for cl in clients[:-1]))
        await pilot.press("r")
        await raising
        await until(
            pilot, lambda: len(queue(served.state)) == PARTICIPANTS, "every hand in the server's queue", timeout=SLOW_S
        )
        order = queue(served.state)
        assert sorted(order) == sorted(ids)
        await asyncio.gather(*(cl.wait_for(lambda s: queue(s) == order, timeout=SLOW_S) for cl in clients))

        places = {cl.welcome.person.id: place_of(cl) for cl in clients}  # type: ignore[union-attr]
        assert sorted(p.position for p in places.values() if p) == list(range(1, PARTICIPANTS + 1))
        for position, person in enumerate(order, start=1):
            place = places[person]
            assert place is not None and (place.position, place.of) == (position, PARTICIPANTS), person
        amina = places[ids[-1]]
        assert amina is not None
        await until(
            pilot, lambda: place_words(amina) in screen_text(app), "the console's place on screen", timeout=SLOW_S
        )

        # Someone ahead withdraws: everyone behind moves up by one, everyone ahead stays.
        leaver = order[WITHDRAWS_AT - 1]
        await clients[ids.index(leaver)].command(c.Lower(), timeout=SLOW_S)
        rest = [p for p in order if p != leaver]
        await asyncio.gather(*(cl.wait_for(lambda s: queue(s) == rest, timeout=SLOW_S) for cl in clients))
        after = {cl.welcome.person.id: place_of(cl) for cl in clients}  # type: ignore[union-attr]
        assert after[leaver] is None
        for person, before in places.items():
            if person == leaver:
                continue
            assert before is not None
            now = after[person]
            assert now is not None and now.of == PARTICIPANTS - 1
            expected = before.position - 1 if before.position > WITHDRAWS_AT else before.position
            assert now.position == expected, (person, before.position, now.position)
        moved = after[ids[-1]]
        assert moved is not None
        await until(
            pilot,
            lambda: f"You are #{moved.position} of {PARTICIPANTS - 1}" in screen_text(app),
            "the console's new place on screen",
            timeout=SLOW_S,
        )
