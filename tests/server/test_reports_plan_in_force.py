"""The report grades every item against the plan in force when it ran, with the plan before the event beside
it, and names the plan changes made live (added, removed, lengthened, shortened, by whom and when) apart from
the time run over the plan in force."""

from __future__ import annotations

import json

import pytest
from support.harness import MOD, Harness, make_agenda

from modconsole.core import commands as c
from modconsole.core.agenda import ms_to_local
from modconsole.server.reports import build_report, render


def test_an_item_cut_by_a_recovery_plan_is_graded_against_its_cut() -> None:
    # Today's bug: cut to 8:00 by a recovery plan, it ran 11:31, and was graded "-0:29" against its 12:00.
    h = Harness(make_agenda([600, 720]))
    h.ok(c.Start())
    h.advance(840)  # the first item runs 4 minutes over
    target = ms_to_local(h.now + 480 * 1000, h.state.agenda.zone)  # leave the second item eight minutes
    h.ok(c.Next())
    h.ok(c.ApplyPlan(target=f"{target:%H:%M}"))
    assert h.item("i1").duration_s == 480
    h.advance(691)
    h.ok(c.End())
    report = build_report(h.entries)
    item = {i.id: i for i in report.sessions[0].items}["i1"]
    assert (item.planned_duration_s, item.final_planned_s, item.actual_duration_s) == (720, 480, 691)
    assert item.over_under_s == 211  # +3:31, not -0:29
    text = render(report, "md")
    assert "| Item 1 | 12:00 | 8:00 | 11:31 | +3:31 |" in text
    assert "Recovery plan at " in text and "Item 1 12:00 → 8:00: -4:00" in text
    page = render(report, "html")
    assert "+3:31" in page and "-0:29" not in page


def test_why_the_plan_grew_names_each_live_change_apart_from_overrun() -> None:
    h = Harness(make_agenda([300, 600, 600]))
    h.ok(c.Start())
    h.advance(60)
    h.ok(c.ItemAdd(title="Any other business", duration_s=300, after="i1"))
    h.ok(c.ItemEdit(item="i1", duration_s=900))
    h.ok(c.ItemRemove(item="i2"))
    h.ok(c.ItemMove(item="any-other-business", after="i0"))
    h.advance(300)
    h.ok(c.Next())  # any-other-business
    h.advance(360)
    h.ok(c.Next())  # i1
    h.advance(900)
    h.ok(c.End())
    report = build_report(h.entries)
    session = report.sessions[0]
    assert [(ch.change, ch.item, ch.delta_s) for ch in session.live_changes] == [
        ("added", "any-other-business", 300),
        ("lengthened", "i1", 300),
        ("removed", "i2", -600),
        ("moved", "any-other-business", 0),
    ]
    assert {ch.by for ch in session.live_changes} == {f"{MOD.person} (moderator)"}
    assert session.live_changes_s == 0
    # 25:00 planned before the event; 27:00 ran: the plan changed live by 0:00 in all, and 2:00 ran over it
    # (the opening and the item added, a minute each).
    assert (session.planned_duration_s, session.actual_duration_s, session.overrun_s) == (1500, 1620, 120)
    assert sum(p.seconds for p in session.overrun_explained) == pytest.approx(120, abs=0.05)
    items = {i.id: i for i in session.items}
    assert items["any-other-business"].added_live and items["any-other-business"].over_under_s == 60
    assert items["i1"].planned_duration_s == 600 and items["i1"].final_planned_s == 900
    text = render(report, "md")
    assert "Added live at 23:16 by chair (moderator): Any other business (5:00): +5:00" in text
    assert "Lengthened live at 23:16 by chair (moderator): Item 1 10:00 → 15:00: +5:00" in text
    assert "Removed live at 23:16 by chair (moderator): Item 2 (10:00): -10:00" in text
    assert "The plan was changed live (item added, item removed, item lengthened, item moved)" in text
    assert "| Any other business | — | 5:00 | 6:00 | +1:00 |" in text
    data = json.loads(render(report, "json"))
    assert data["sessions"][0]["live_changes"][0]["change"] == "added"


def test_an_item_added_and_not_reached_adds_nothing() -> None:
    h = Harness(make_agenda([300, 300]))
    h.ok(c.Start())
    h.ok(c.ItemAdd(title="Extra", duration_s=600))
    h.advance(300)
    h.ok(c.End())
    session = build_report(h.entries).sessions[0]
    assert sum(p.seconds for p in session.overrun_explained) == pytest.approx(session.overrun_s, abs=0.05)
    assert session.overrun_s == -300  # the second item was not reached; the added one neither
