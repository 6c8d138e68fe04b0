"""Hostile and odd uses of `modconsole ctl`'s live plan verbs against a `modconsole-server serve` process."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any


def _ok(result) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_item_add_on_a_running_session_reports_the_start_state_shows(cli_server) -> None:  # type: ignore[no-untyped-def]
    srv = cli_server
    moderator = srv.tokens["tokens"]["moderator"]
    assert srv.ctl("start", token=moderator).returncode == 0
    added = _ok(
        srv.ctl("item-add", "Any other business", "--duration", "5m", "--before", "closing", "--json", token=moderator)
    )["item"]
    items = _ok(srv.ctl("state", "--json", token=moderator))["sessions"][0]["items"]
    shown = next(i for i in items if i["id"] == "any-other-business")
    assert not added["projected_start"].startswith("1970"), added
    # The same instant as `state` gives, within the second or two between the two commands.
    gap = datetime.fromisoformat(shown["projected_start"]) - datetime.fromisoformat(added["projected_start"])
    assert abs(gap.total_seconds()) <= 5, (added, shown)
    line = srv.ctl("item-edit", "any-other-business", "--duration", "6m", token=moderator)
    assert line.returncode == 0 and "starts 1970" not in line.stdout, line.stdout
