"""A server address that cannot be one (a port typed "8765x") is said so at once, in one line: by
MeetingClient when it connects (ClientError "bad_url"), by the console's link (a refusal no retry mends),
and by `modconsole join`, `ctl` and `web` before any connection. And `modconsole join` quit before it
ever connected says so, with the last reason, instead of exiting 0 in silence."""

from __future__ import annotations

import asyncio
import socket

import pytest

import modconsole.cli as cli
import modconsole.tui as tui
from modconsole.client import ClientError, MeetingClient, check_url
from modconsole.tui import LiveLink

VALID = [
    "ws://127.0.0.1:8765",
    "wss://meeting.example.org:8765",
    "ws://127.0.0.1",  # no port: the scheme's default
    "wss://meeting.example.org",
    "ws://127.0.0.1:",  # an empty port is no port
    "ws://[::1]:8765",  # IPv6 literals, with and without a port
    "ws://[::1]",
    "wss://[2001:db8::1]:443/path?query=1",
    "ws://localhost:1",
    "ws://localhost:65535",
    "ws://user:secret@localhost:8765",
]

INVALID = [
    ("ws://127.0.0.1:8765x", "the port '8765x' isn't a number from 1 to 65535"),
    ("ws://127.0.0.1:0", "the port '0' isn't a number"),
    ("ws://127.0.0.1:65536", "the port '65536' isn't a number"),
    ("ws://127.0.0.1:99999", "the port '99999' isn't a number"),
    ("ws://127.0.0.1:-1", "the port '-1' isn't a number"),
    ("ws://127.0.0.1:８７６５", "isn't a number"),  # full-width digits: isdigit() says yes, int() too
    ("ws://[::1]:8765x", "the port '8765x' isn't a number"),
    ("http://127.0.0.1:8765", "scheme isn't ws or wss"),
    ("127.0.0.1:8765", "scheme isn't ws or wss"),
    ("", "scheme isn't ws or wss"),
    ("ws://:8765", "hostname isn't provided"),
    ("ws://[::1:8765", "an IPv6 address goes whole in brackets"),
    ("ws://::1:8765", "an IPv6 address goes whole in brackets"),
    ("ws://127.0.0.1:8765#top", "fragment"),
    ("ws://user@127.0.0.1:8765", "username provided without password"),
]


@pytest.mark.parametrize("url", VALID)
def test_check_url_takes_what_websockets_can_connect_to(url: str) -> None:
    check_url(url)


@pytest.mark.parametrize(("url", "why"), INVALID)
def test_check_url_names_the_address_and_what_is_wrong(url: str, why: str) -> None:
    with pytest.raises(ClientError) as caught:
        check_url(url)
    assert caught.value.code == "bad_url"
    assert why in caught.value.message
    assert (url or "''") in caught.value.message and "\n" not in caught.value.message


@pytest.mark.parametrize(("url", "why"), INVALID[:5])
async def test_connect_refuses_a_bad_address_as_a_client_error(url: str, why: str) -> None:
    # Before: a ValueError ("Port could not be cast to integer value") escaped from connect().
    client = MeetingClient(url, "mc_x", open_timeout=2)
    with pytest.raises(ClientError) as caught:
        await client.connect()
    assert caught.value.code == "bad_url" and why in caught.value.message
    assert not client.connected


async def test_the_console_link_gives_up_at_once_on_a_bad_address() -> None:
    # Before: the ValueError ended the link's task, and the console showed "Connecting…" for ever.
    link = LiveLink(MeetingClient("ws://127.0.0.1:8765x", "mc_x"))
    changes: list[str] = []
    try:
        async with asyncio.timeout(2):
            await link.run(lambda: changes.append(link.status))
    finally:
        await link.close()
    assert link.status == "refused" and changes == ["refused"]
    assert "ws://127.0.0.1:8765x isn't a valid server address" in link.detail


def test_join_refuses_a_bad_address_before_opening_the_console(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_console(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the console was opened")

    monkeypatch.setattr(tui, "create_app", no_console)
    for extra in ([], ["--ask"]):
        assert cli.main(["join", "ws://127.0.0.1:8765x", "--token", "mc_x", *extra]) == 2
        err = capsys.readouterr().err
        assert err == (
            "modconsole join: ws://127.0.0.1:8765x isn't a valid server address: "
            "the port '8765x' isn't a number from 1 to 65535\n"
        )


def test_web_refuses_a_bad_server_address(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["web", "--server", "ws://127.0.0.1:99999", "--port", "0"]) == 2
    assert capsys.readouterr().err == (
        "modconsole web: --server: ws://127.0.0.1:99999 isn't a valid server address: "
        "the port '99999' isn't a number from 1 to 65535\n"
    )


class _QuitSoon:
    """Stands in for the console: runs the link until ``enough`` holds, then quits as Ctrl+Q does."""

    def __init__(self, link: LiveLink, enough) -> None:  # type: ignore[no-untyped-def]
        self.link = link
        self.enough = enough

    def run(self) -> None:
        async def until_enough() -> None:
            task = asyncio.create_task(self.link.run(lambda: None))
            try:
                async with asyncio.timeout(15):
                    while not self.enough(self.link):
                        await asyncio.sleep(0.02)
            finally:
                await self.link.close()  # what action_quit does
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

        asyncio.run(until_enough())


def test_join_quit_before_it_ever_connected_says_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens there now: the link keeps trying, and the user quits.
    monkeypatch.setattr(tui, "create_app", lambda link, **_: _QuitSoon(link, lambda link: link.detail))
    assert cli.main(["join", f"ws://127.0.0.1:{port}", "--token", "mc_x"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"modconsole join: never connected: cannot reach ws://127.0.0.1:{port}: ")
    assert err.count("\n") == 1


def test_join_quit_at_once_says_it_never_connected(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Quit before the first attempt even failed: no reason yet, but still not a silent exit 0.
    monkeypatch.setattr(tui, "create_app", lambda link, **_: _QuitSoon(link, lambda link: True))
    assert cli.main(["join", "ws://127.0.0.1:9", "--token", "mc_x"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("modconsole join: never connected: ")


def test_join_quit_after_a_session_exits_0(
    cli_server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tui, "create_app", lambda link, **_: _QuitSoon(link, lambda link: link.status == "connected"))
    assert cli.main(["join", cli_server.url, "--token", cli_server.tokens["tokens"]["display"]]) == 0
    assert capsys.readouterr().err == ""
