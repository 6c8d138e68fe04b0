"""A page's connection without a browser: a websocket that asks for views, as /join and /display do."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection


class PageSocket:
    """A raw websocket client that says ``"views": true`` in its hello and keeps the views it is sent."""

    def __init__(self, connection: ClientConnection, welcome: dict[str, Any]) -> None:
        self.connection = connection
        self.welcome = welcome
        self.views: list[dict[str, Any]] = []
        self.frames: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, url: str, token: str, *, name: str | None = None) -> PageSocket:
        connection = await websockets.connect(url)
        hello: dict[str, Any] = {"type": "hello", "token": token, "client": "page test", "views": True}
        if name is not None:
            hello["name"] = name
        await connection.send(json.dumps(hello))
        welcome = json.loads(await asyncio.wait_for(connection.recv(), 5))
        page = cls(connection, welcome)
        await page.next_view()
        return page

    async def next_frame(self, timeout: float = 5.0) -> dict[str, Any]:
        frame = json.loads(await asyncio.wait_for(self.connection.recv(), timeout))
        self.frames.append(frame)
        if frame["type"] == "view":
            self.views.append(frame["view"])
        return frame

    async def next_view(self, timeout: float = 5.0) -> dict[str, Any]:
        while True:
            frame = await self.next_frame(timeout)
            if frame["type"] == "view":
                return frame["view"]

    async def view_where(self, predicate: Any, timeout: float = 5.0) -> dict[str, Any]:
        """The first view (already received or coming) for which ``predicate`` holds."""
        for view in self.views:
            if predicate(view):
                return view
        async with asyncio.timeout(timeout):
            while True:
                view = await self.next_view(timeout)
                if predicate(view):
                    return view

    async def command(self, command: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
        """Send a command; the ack or error with its id."""
        await self.connection.send(json.dumps(command))
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.next_frame(timeout)
                if frame["type"] in ("ack", "error") and frame.get("id") == command.get("id"):
                    return frame

    async def close(self) -> None:
        await self.connection.close()


def session0(view: dict[str, Any]) -> dict[str, Any]:
    return view["sessions"][0]
