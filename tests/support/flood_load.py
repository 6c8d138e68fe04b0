"""A connection flood, run as a process of its own by tests/server/test_reliability_flood.py.

    python tests/support/flood_load.py PORT --connections N --addresses K [--seconds S]

Holds N connections to 127.0.0.1:PORT that never say hello, from the source addresses 127.0.0.2 to
127.0.0.(K+1) (Linux routes all of 127/8 to the loopback): half of them raw TCP that send nothing, half
websockets that complete the opening handshake (HTTP 101) and then send nothing. Each one closed (by the
server's timeouts, refused, or made room for another) is opened again after a short pause, so the flood
keeps pressing for as long as it runs. Every second it prints a JSON line of counts; at the end (after S
seconds, or when its standard input closes) a last one with "done": true.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import resource
import sys
import time
from collections import Counter

RENEW_S = (0.05, 0.25)  # the pause before a closed connection is opened again


class Flood:
    def __init__(self, port: int, connections: int, addresses: int) -> None:
        self.port = port
        self.connections = connections
        self.addresses = [f"127.0.0.{2 + i}" for i in range(addresses)]
        self.counts: Counter[str] = Counter()
        self.open_now = 0  # established and not yet closed, as this side sees it
        self.upgraded_now = 0  # of which websockets past their opening handshake
        self.most_open = 0
        self.most_upgraded = 0

    async def slot(self, index: int, raw: bool) -> None:
        source = self.addresses[index % len(self.addresses)]
        rng = random.Random(index)
        while True:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", self.port, local_addr=(source, 0)), 10
                )
            except (OSError, TimeoutError) as exc:
                self.counts[f"connect failed: {type(exc).__name__}"] += 1
                await asyncio.sleep(rng.uniform(*RENEW_S))
                continue
            self.counts["connects"] += 1
            self.open_now += 1
            self.most_open = max(self.most_open, self.open_now)
            upgraded = False
            try:
                if not raw:
                    key = base64.b64encode(os.urandom(16)).decode()
                    writer.write(
                        f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
                    )
                    head = await reader.readuntil(b"\r\n\r\n")
                    if head.startswith(b"HTTP/1.1 101"):
                        upgraded = True
                        self.counts["upgraded"] += 1
                        self.upgraded_now += 1
                        self.most_upgraded = max(self.most_upgraded, self.upgraded_now)
                while await reader.read(65536):  # what the server says (its close frame) goes unanswered
                    pass
                self.counts["closed by the server"] += 1
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                self.counts["closed by the server"] += 1
            finally:
                self.open_now -= 1
                if upgraded:
                    self.upgraded_now -= 1
                writer.transport.abort()
            await asyncio.sleep(rng.uniform(*RENEW_S))

    def line(self, started: float, **more: object) -> str:
        return json.dumps(
            {
                "t": round(time.monotonic() - started, 1),
                "open": self.open_now,
                "upgraded": self.upgraded_now,
                "most_open": self.most_open,
                "most_upgraded": self.most_upgraded,
                **self.counts,
                **more,
            }
        )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--addresses", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=3600)
    args = parser.parse_args()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # this side holds every connection
    flood = Flood(args.port, args.connections, args.addresses)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    started = time.monotonic()
    slots = [asyncio.create_task(flood.slot(i, raw=i % 2 == 0)) for i in range(args.connections)]
    while time.monotonic() - started < args.seconds and not stdin_closed.done():
        await asyncio.wait([stdin_closed], timeout=1.0)
        print(flood.line(started), flush=True)
    print(flood.line(started, done=True, slots=len(slots)), flush=True)
    # Out at once, the connections with it: no cancelling 2,000 tasks (a wait_for may swallow a cancel),
    # and the stdin reader thread may still be blocked.
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main())
