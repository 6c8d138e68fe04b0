"""The Textual console: one screen per role, fed by a link to the server."""

from .app import ConsoleApp, create_app
from .link import CannedLink, LiveLink

__all__ = ["CannedLink", "ConsoleApp", "LiveLink", "create_app"]
