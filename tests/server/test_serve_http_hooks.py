"""``modconsole-server serve --http-port 0 --hooks FILE`` as a subprocess: the HTTP API answers on the port it
prints, and a command sent through it reaches a real local receiver as a hook's POST."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from pathlib import Path

import aiohttp
from aiohttp import web
from support.processes import stop_server
from support.servers import MAYORS_CALL, run_cli, script


async def test_serve_with_the_http_api_and_hooks(tmp_path: Path) -> None:
    got: asyncio.Queue[dict[str, object]] = asyncio.Queue()

    async def take(request: web.Request) -> web.Response:
        got.put_nowait(await request.json())
        return web.Response(text="ok")

    app = web.Application()
    app.add_routes([web.post("/hook", take)])
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    hooks = tmp_path / "hooks.toml"
    hooks.write_text(f'[[hooks.item_started]]\npost = "http://127.0.0.1:{port}/hook"\n', encoding="utf-8")
    db = tmp_path / "cli.db"
    created = run_cli("modconsole-server", "create-event", MAYORS_CALL, "--db", db, "--json")
    token = json.loads(created.stdout)["tokens"]["moderator"]
    process = subprocess.Popen(
        [
            script("modconsole-server"),
            "serve",
            "--db",
            str(db),
            "--port",
            "0",
            "--http-port",
            "0",
            "--hooks",
            str(hooks),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [await asyncio.to_thread(process.stdout.readline) for _ in range(3)]
        assert lines[0].startswith("listening on ws://127.0.0.1:"), lines
        assert lines[1].strip() == f"hook item_started → http://127.0.0.1:{port}/hook"
        found = re.fullmatch(r"  HTTP API on http://127\.0\.0\.1:(\d+)/api/\s*", lines[2])
        assert found, lines
        api = f"http://127.0.0.1:{found.group(1)}/api"
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
            async with http.post(f"{api}/command", json={"type": "start", "id": "s"}) as response:
                assert response.status == 200
                assert (await response.json())["id"] == "s"
            async with http.get(f"{api}/state") as response:
                assert (await response.json())["sessions"][0]["status"] == "running"
        body = await asyncio.wait_for(got.get(), 10)
        assert body["trigger"] == "item_started" and body["item"] == "opening"
    finally:
        stop_server(process)
        await runner.cleanup()
