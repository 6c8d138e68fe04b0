"""Fixtures for the console's tests (the TUI, ctl, web, the demo): a served meeting in this process, a real
server on port 0 and the command lines."""

from support.servers import (
    cli,
    cli_server,
    connect,
    fake_clock,
    mayors_agenda,
    served,
    served_fast,
    server,
    start_server,
)

__all__ = [
    "cli",
    "cli_server",
    "connect",
    "fake_clock",
    "mayors_agenda",
    "served",
    "served_fast",
    "server",
    "start_server",
]
