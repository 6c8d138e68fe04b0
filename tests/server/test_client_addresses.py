"""Clients given several server addresses (`ws://a:8765,ws://b:8765`): the Python client, `modconsole ctl`
and `modconsole join` check every one, and a connection tries them in turn from the one that last worked."""

from __future__ import annotations

import pytest
from support.postgres import free_port

from modconsole.client import ClientError, MeetingClient, check_url, server_addresses


def test_addresses_are_split_and_each_one_checked() -> None:
    assert server_addresses("ws://a:8765, ws://b:8765") == ["ws://a:8765", "ws://b:8765"]
    assert server_addresses("ws://a:8765") == ["ws://a:8765"]
    check_url("ws://a:8765,wss://b:8765")
    with pytest.raises(ClientError, match="8765x") as bad:
        check_url("ws://a:8765,ws://b:8765x")
    assert bad.value.code == "bad_url"
    with pytest.raises(ClientError, match="isn't a valid server address"):
        check_url("ws://a:8765,")


async def test_a_client_goes_on_to_the_next_address_when_one_is_down(server, connect) -> None:
    dead = f"ws://127.0.0.1:{free_port()}"
    client = MeetingClient(f"{dead},{server.url}", server.tokens.display)
    try:
        welcome = await client.connect()
        assert welcome.role == "display" and client.url == server.url
    finally:
        await client.close()
    alone = MeetingClient(dead, server.tokens.display)
    with pytest.raises(ClientError) as refused:
        await alone.connect()
    assert refused.value.code == "unreachable"


async def test_a_refusal_is_not_tried_elsewhere(server) -> None:
    """A wrong token is wrong on every server: the first refusal is the answer."""
    client = MeetingClient(f"{server.url},ws://127.0.0.1:{free_port()}", "not-a-token")
    with pytest.raises(ClientError) as refused:
        await client.connect()
    assert refused.value.code == "unauthorized"


def test_ctl_takes_several_addresses(cli_server) -> None:
    dead = f"ws://127.0.0.1:{free_port()}"
    from support.servers import run_cli

    done = run_cli(
        "modconsole",
        "ctl",
        f"{dead},{cli_server.url}",
        "--token",
        cli_server.tokens["tokens"]["moderator"],
        "state",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert '"seq"' in done.stdout or done.stdout.startswith("{")
    bad = run_cli("modconsole", "ctl", f"{cli_server.url},ws://x:1y", "--token", "t", "state")
    assert bad.returncode == 2 and "isn't a valid server address" in bad.stderr
