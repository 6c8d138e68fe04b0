"""Fixtures for the server's tests: a real server on port 0, real clients, a real SQLite file, the command lines."""

from support.servers import cli, cli_server, connect, fake_clock, mayors_agenda, server, start_server

__all__ = ["cli", "cli_server", "connect", "fake_clock", "mayors_agenda", "server", "start_server"]
