"""Helpers the tests share, by what they need: ``harness`` (the core alone), ``servers`` (a real server, real
clients, the command lines), ``tui`` (the console against a served meeting), ``processes``, ``flood_load``.
Not fixtures: the folders' conftests take what they use from here."""
