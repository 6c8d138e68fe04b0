"""Plan-edit frames from the network: a bad one is a short bad_frame naming what is wrong, a refused one a typed
error, and nothing changes; an unknown frame type is named without the whole list of types."""

from __future__ import annotations

import asyncio

import pytest

from modconsole.client import CommandRefused
from modconsole.core import commands as c


async def _error(client, count: int):  # type: ignore[no-untyped-def]
    for _ in range(200):
        if len(client.unsolicited_errors) >= count:
            return client.unsolicited_errors[count - 1]
        await asyncio.sleep(0.01)
    raise AssertionError("no error frame came back")


async def test_plan_edit_frames_are_checked(server, connect) -> None:  # type: ignore[no-untyped-def]
    moderator = await connect(server.url, server.tokens.moderator, label="moderator")
    rows = server.log_rows()
    frames = [
        ('{"type": "self_destruct", "id": "u1"}', "unknown type 'self_destruct'"),
        ('{"type": "item_add", "id": "a1", "title": "x", "duration_s": -5}', "duration_s"),
        ('{"type": "item_add", "id": "a2", "title": "", "duration_s": 5}', "title"),
        ('{"type": "item_add", "id": "a3", "title": "x", "duration_s": 5, "item_id": "no spaces"}', "item_id"),
        ('{"type": "person_add", "id": "p1", "name": "x", "tags": {"k": 5}}', "tags.k"),
    ]
    for count, (frame, words) in enumerate(frames, start=1):
        await moderator.send_raw(frame)
        error = await _error(moderator, count)
        assert error.code == "bad_frame" and words in error.message and len(error.message) < 500, error
    speaker = await connect(server.url, server.tokens.people["sala"], label="sala")
    with pytest.raises(CommandRefused) as refused:
        await speaker.command(c.ItemAdd(title="Mine", duration_s=60))
    assert refused.value.code == "forbidden"
    with pytest.raises(CommandRefused) as refused:
        await moderator.command(c.ItemMove(item="nope", first=True))
    assert refused.value.code == "not_found" and "no item 'nope'" in refused.value.message
    assert server.log_rows() == rows  # nothing was written
