"""The view feed against a real server on port 0: a page that asks for views gets a welcome with no snapshot
and its view, a new view after each change it may see, one serialisation per distinct view, the display
commands in the view, and nothing private of anyone else."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from support.pages import PageSocket, session0
from support.servers import RunningServer

from modconsole.core import commands as c
from modconsole.server import view_feed


async def test_a_page_gets_a_welcome_without_snapshot_then_its_view(server: RunningServer, connect: Any) -> None:
    desk = await connect(server.url, server.tokens.moderator, label="desk")
    await desk.command(c.Start())
    page = await PageSocket.open(server.url, server.tokens.display)
    try:
        assert page.welcome["type"] == "welcome" and page.welcome["snapshot"] is None
        view = page.views[0]
        assert view["event_id"] == server.event_id and view["seq"] == server.state.seq
        current = session0(view)["current"]
        assert current["running"] is True
        # Absolute: the deadline is the server's time plus what was left then.
        assert current["deadline"] == view["server_time"] + current["remaining_ms"]
        assert abs(view["server_time"] - server.now()) < 5_000
    finally:
        await page.close()


async def test_a_participant_page_sees_its_place_change_as_a_point_of_order_goes_ahead(
    server: RunningServer, connect: Any
) -> None:
    desk = await connect(server.url, server.tokens.moderator, label="desk")
    await desk.command(c.Start())
    ada = await PageSocket.open(server.url, server.tokens.participant, name="Ada Lovelace")
    try:
        me = ada.welcome["person"]["id"]
        assert ada.welcome["credential"]  # a first join: the personal credential, once
        answer = await ada.command({"type": "raise", "id": "r1"})
        assert answer["type"] == "ack"
        view = await ada.view_where(lambda v: [h["person"] for h in session0(v)["queue"]] == [me])
        assert session0(view)["queue"][0]["position"] == 1
        bob = await connect(server.url, server.tokens.participant, name="Bob Marley")
        await bob.command(c.Raise(kind="point_of_order"))
        view = await ada.view_where(lambda v: len(session0(v)["queue"]) == 2)
        queue = session0(view)["queue"]
        assert [h["kind"] for h in queue] == ["point_of_order", "contribution"]
        assert queue[1]["person"] == me and queue[1]["position"] == 2 and session0(view)["queue_length"] == 2
    finally:
        await ada.close()


async def test_one_serialisation_per_distinct_view_not_per_page(
    server: RunningServer, connect: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = await connect(server.url, server.tokens.moderator, label="desk")
    await desk.command(c.Start())
    pages = [await PageSocket.open(server.url, server.tokens.display) for _ in range(20)]
    speaker = await PageSocket.open(server.url, server.tokens.people["garcetti"])
    made: list[tuple[str, str | None]] = []
    real = view_feed.view_frame

    def counting(state: Any, role: str, person: str | None, now: int) -> str:
        made.append((role, person))
        return real(state, role, person, now)

    monkeypatch.setattr(view_feed, "view_frame", counting)
    try:
        await desk.command(c.Floor(person="garcetti"))
        for page in [*pages, speaker]:
            view = await page.view_where(lambda v: session0(v)["floor"] is not None)
            assert session0(view)["floor"]["person"] == "garcetti"
        # 20 displays and a speaker with no message of their own share one view: made once.
        assert len(made) == 1, made
        await desk.command(c.SendMessage(text="One minute", to="garcetti"))
        mine = await speaker.view_where(lambda v: bool(v["messages"]))
        assert mine["messages"][0]["text"] == "One minute" and not mine["messages"][0]["to_all"]
        await asyncio.sleep(0.2)
        # The message is the speaker's alone: the displays' view has none, and there are now two views.
        assert len(made) == 3, made  # the displays' and the speaker's
        assert all(not view["messages"] for page in pages for view in page.views)
    finally:
        for page in [*pages, speaker]:
            await page.close()


async def test_blackout_flash_and_focus_reach_the_view(server: RunningServer, connect: Any) -> None:
    desk = await connect(server.url, server.tokens.moderator, label="desk")
    page = await PageSocket.open(server.url, server.tokens.display)
    try:
        assert page.views[0]["display"] == {"blackout": False, "focus": None, "flashed_at": None}
        await desk.command(c.Blackout(on=True))
        await page.view_where(lambda v: v["display"]["blackout"])
        await desk.command(c.Blackout(on=False))
        await page.view_where(lambda v: not v["display"]["blackout"] and v["seq"] == server.state.seq)
        await desk.command(c.Flash())
        flashed = await page.view_where(lambda v: v["display"]["flashed_at"] is not None)
        assert flashed["display"]["flashed_at"] == server.state.display.flashed_at
        await desk.command(c.Focus(text="  ON   AIR "))
        focused = await page.view_where(lambda v: v["display"]["focus"] is not None)
        assert focused["display"]["focus"] == "ON AIR"
        await desk.command(c.Focus(text=None))
        await page.view_where(lambda v: v["display"]["focus"] is None)
        # Durable: the log folds into the same display state.
        assert server.replayed().display == server.state.display
    finally:
        await page.close()


async def test_a_participant_page_may_not_drive_the_display(server: RunningServer) -> None:
    page = await PageSocket.open(server.url, server.tokens.participant, name="Eve Intruder")
    try:
        seq = server.state.seq
        for command in ({"type": "blackout", "id": "b"}, {"type": "flash", "id": "f"}, {"type": "focus", "id": "o"}):
            answer = await page.command(command)
            assert answer["type"] == "error" and answer["code"] == "forbidden", answer
        assert server.state.seq == seq and server.state.display.blackout is False
    finally:
        await page.close()


async def test_pages_are_refreshed_while_a_session_runs(
    start_server: Callable[..., Awaitable[RunningServer]], connect: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modconsole.server import service

    monkeypatch.setattr(service, "VIEW_REFRESH_S", 0.2)
    server = await start_server()
    desk = await connect(server.url, server.tokens.moderator, label="desk")
    await desk.command(c.Start())
    page = await PageSocket.open(server.url, server.tokens.display)
    try:
        first = page.views[0]["server_time"]
        later = await page.view_where(lambda v: v["server_time"] > first, timeout=3)
        assert later["seq"] == page.views[0]["seq"]  # nothing happened: the same view, made anew
    finally:
        await page.close()


async def test_a_page_whose_token_is_revoked_is_closed(server: RunningServer) -> None:
    from websockets.exceptions import ConnectionClosed

    from modconsole.server.tokens import token_hash

    token = server.tokens.people["garcetti"]
    page = await PageSocket.open(server.url, token)
    try:
        assert server.server.close_revoked([token_hash(token)]) == 1
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await page.next_frame()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    finally:
        await page.close()


async def test_an_undo_sends_the_pages_their_view_anew(server: RunningServer, connect: Any) -> None:
    desk = await connect(server.url, server.tokens.moderator, label="desk")
    await desk.command(c.Start())
    await desk.command(c.Next())
    page = await PageSocket.open(server.url, server.tokens.display)
    try:
        assert session0(page.views[0])["current"]["id"] == "seoul-briefing"
        await desk.command(c.Undo())
        back = await page.view_where(lambda v: session0(v)["current"]["id"] != "seoul-briefing")
        assert back["seq"] == server.state.seq
    finally:
        await page.close()
