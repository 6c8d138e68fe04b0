"""Fixtures for the server's tests: a real server on port 0, real clients, a real SQLite file, the command lines;
a real PostgreSQL of the suite's own for the shared store."""

from support.postgres import pg_url, postgres
from support.servers import cli, cli_server, connect, fake_clock, mayors_agenda, server, start_server

__all__ = [
    "cli",
    "cli_server",
    "connect",
    "fake_clock",
    "mayors_agenda",
    "pg_url",
    "postgres",
    "server",
    "start_server",
]
