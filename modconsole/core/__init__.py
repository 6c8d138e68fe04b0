"""The pure core: agenda, live state, decisions and timing maths.

Nothing in this package performs I/O or reads the system clock; the time is
always passed in as milliseconds since the Unix epoch (on the event's clock,
which runs faster than the wall clock on a rehearsal).
"""
