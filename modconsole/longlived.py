"""Making many long-lived objects at once: a server loading an event's log, a console importing what it runs on.

Such objects hold no cyclic garbage, so the cyclic collector would only scan the growing heap again
and again while they are made, and again at every later full collection. ``gc_paused`` pauses it for
the while; with ``freeze``, what is alive at the end is moved out of its sight for good
(``gc.freeze``) before it runs again. Reference counting still frees frozen objects that become
unreachable; only cyclic garbage alive at that moment would stay. docs/performance.md has the figures.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused(*, freeze: bool = False) -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        if freeze:
            gc.freeze()
    finally:
        if enabled:
            gc.enable()
