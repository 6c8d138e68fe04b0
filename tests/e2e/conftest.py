"""Fixtures for the end-to-end tests, as a person would use the product (tmux): a server served by the real
command line."""

from support.servers import cli_server

__all__ = ["cli_server"]
