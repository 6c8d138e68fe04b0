"""Renders docs/view-feed.md from the view feed's declarations (``modconsole/core/page_view.py``), as
read_model_doc.py renders docs/read-model.md. Regenerate with ``python -m modconsole.server.view_feed_doc >
docs/view-feed.md``; a test checks it is current.
"""

from __future__ import annotations

from modconsole.core import page_view

from .read_model_doc import render as render_views
from .view_feed import REFRESH_S

HEADER = """# modconsole view feed

Generated from `modconsole/core/page_view.py` by `python -m modconsole.server.view_feed_doc`; do not edit
by hand.

The browser pages (`/join`, `/display`) run no copy of the core: they say `"views": true` in their hello
(docs/protocol.md), and the server sends them, in place of a snapshot and the events, a `view` frame —
`{"type": "view", "seq": N, "view": PageView}` — after the welcome and after every change they may see (and
every {refresh:g} s while a session runs, as projected times move). A view is cut to what its viewer may see, and
made and serialised once per distinct viewer (most of an audience shares one), not once per page.

- The clock: figures ending in `_ms` hold at `server_time` (the event clock, ms since the epoch); while a
  timer runs, its `deadline` (or a turn's `started`) is an absolute event-clock time, so a page counts down
  by itself: remaining = `deadline` − the server's time now, estimated from `ping`/`pong` round trips
  (the `pong` with the shortest round trip gives the offset; a page counts `time_scale` times as fast).
- Phases are computed by the page from what remains and the `warning_s` and `danger_s` given: "overtime"
  at 0 or below, "danger" at `danger_s` or less, "warning" at `warning_s` or less, else "normal".
- A page finds itself in `queue` and `floor` by its person's id (from the welcome).
- Times of day are ISO 8601 strings in the event's time zone, with its offset; keys are always present
  (a value that does not apply is `null`, None below).
- A page acts with the websocket's ordinary commands (`raise`, `lower`, `ack`, `ask`, `vote`, `unvote`;
  the moderator's `blackout`, `flash`, `focus`), each answered by an `ack` or an `error`, then a new view.
- Votes send no view but the voter's: the counts come coalesced in `question_votes` frames
  (`{"type": "question_votes", "seq": N, "votes": {question id: count}}`, at most one a second per event),
  which a page applies to the questions of its last view (and re-sorts the visible ones by them).
"""


def render() -> str:
    return render_views(page_view, HEADER.replace("{refresh:g}", f"{REFRESH_S:g}"), root="PageView")


if __name__ == "__main__":
    print(render(), end="")
