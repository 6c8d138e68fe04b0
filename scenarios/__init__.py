"""Logs of the three real events made by driving the real core, shared by the tests and the benchmarks (not
installed with modconsole): ``scenarios.logs``."""
