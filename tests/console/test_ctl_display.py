"""`modconsole ctl` drives the stage displays: blackout on and off, flash, focus a text and clear it; the
log holds each, and a speaker may not."""

from __future__ import annotations

from support.servers import read_log


def test_ctl_drives_the_stage_displays(cli_server) -> None:
    srv = cli_server
    moderator = srv.tokens["tokens"]["moderator"]
    result = srv.ctl("blackout", token=moderator)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok (blackout, seq ")
    again = srv.ctl("blackout", "on", token=moderator)
    assert again.returncode == 1 and "refused (invalid_state): the displays are already black" in again.stderr
    assert srv.ctl("blackout", "off", token=moderator).returncode == 0
    assert srv.ctl("flash", token=moderator).returncode == 0
    assert srv.ctl("focus", "ON AIR", token=moderator).returncode == 0
    assert srv.ctl("focus", "--clear", token=moderator).returncode == 0
    events = [
        (e.event.type, getattr(e.event, "on", None), getattr(e.event, "text", None))
        for e in read_log(srv.db, srv.event_id)
    ]
    shown = [e for e in events if e[0].startswith("display_")]
    assert shown == [
        ("display_blackout", True, None),
        ("display_blackout", False, None),
        ("display_flashed", None, None),
        ("display_focused", None, "ON AIR"),
        ("display_focused", None, None),
    ]
    speaker = srv.tokens["tokens"]["people"]["sala"]
    refused = srv.ctl("flash", token=speaker)
    assert refused.returncode == 1 and "refused (forbidden)" in refused.stderr


def test_focus_needs_a_text_or_clear(cli_server) -> None:
    moderator = cli_server.tokens["tokens"]["moderator"]
    result = cli_server.ctl("focus", token=moderator)
    assert result.returncode == 2 and "focus needs a TEXT" in result.stderr
    result = cli_server.ctl("focus", "x" * 81, token=moderator)
    assert result.returncode == 2, result.stderr
