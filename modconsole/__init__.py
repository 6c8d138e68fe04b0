"""modconsole: a terminal moderator console for live meetings and conferences."""

__version__ = "0.1.0"
