"""The mayors' call with its plan changed live, end to end: a real server on port 0 with a fake wall clock, a
real SQLite file, moderators, a display, a participant and speakers on real websockets.

Planned for 45 minutes; it runs 70. During the opening the chair adds a Milan talk (5 min) and moves it
before Seoul's briefing; during the open discussion a mayor who is not on the list (Busan) is added to the
roster and "Any other business" (5 min) before the closing, with Busan listed on it; Busan joins with the
token shown once to the chair, and speaks. Every client's replica shows the new plan at once, and the report
explains 45 -> 70: 10:00 of plan added live (each change named, with who and when), 15:00 run over it.

Timeline (minutes after 23:15 in Seoul): opening 0-3, Milan 3-8, Seoul 8-20, cities 20-34, discussion 34-58,
any other business 58-64, closing 64-70.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from modconsole.client import CommandRefused
from modconsole.core import commands as c
from modconsole.core.read_model import session_view
from modconsole.server.reports import build_report, render

NEW_ORDER = [
    "opening",
    "milan-two-weeks-of-lockdown",
    "seoul-briefing",
    "cities-share",
    "discussion",
    "any-other-business",
    "closing",
]


async def test_the_chair_changes_the_plan_live_and_the_report_explains_it(start_server, connect, fake_clock) -> None:  # type: ignore[no-untyped-def]
    clock = fake_clock
    clock.set(minutes=-10)
    srv = await start_server(clock=clock)
    tokens = srv.tokens
    chair = await connect(srv.url, tokens.moderator, label="chair-desk")
    second = await connect(srv.url, tokens.moderator, label="second-desk")
    display = await connect(srv.url, tokens.display, label="wall")
    observer = await connect(srv.url, tokens.participant, name="Observer from Busan", label="observer")
    sala = await connect(srv.url, tokens.people["sala"], label="sala")
    park = await connect(srv.url, tokens.people["park-won-soon"], label="park")
    everyone = [chair, second, display, observer, sala, park]

    async def mod(command: c.Command) -> int:
        return (await chair.command(command)).seq

    async def all_see(predicate) -> None:  # type: ignore[no-untyped-def]
        for client in everyone:
            await client.wait_for(predicate)

    clock.set(minutes=0)
    await mod(c.Start())
    await mod(c.Floor(person="garcetti"))

    # --- during the opening: a Milan talk added, then moved before Seoul --------------------------------
    clock.set(minutes=1)
    await mod(c.ItemAdd(title="Milan: two weeks of lockdown", duration_s=300, kind="talk", speakers=("sala",)))
    session = srv.state.sessions[0]
    await mod(c.ItemMove(item="milan-two-weeks-of-lockdown", before="seoul-briefing", expected_seq=session.rev))
    await all_see(lambda s: [i.id for i in s.sessions[0].items][:3] == NEW_ORDER[:3])
    for client in everyone:  # the read model follows on every client: the talk is next, Seoul after it
        view = session_view(client.state, client.state.sessions[0], srv.now())
        assert view["next_item"] == "milan-two-weeks-of-lockdown"
        milan = next(i for i in view["items"] if i["id"] == "milan-two-weeks-of-lockdown")
        assert milan["planned_duration_s"] == 300 and milan["projected_start"] == "2020-03-27T23:18:00+09:00"
        assert view["coming"][1] == {"item": "seoul-briefing", "start": "2020-03-27T23:23:00+09:00"}
    # A stale edit (another desk acted since) is refused, and changes nothing.
    with pytest.raises(CommandRefused) as stale:
        await second.command(c.ItemRemove(item="closing", expected_seq=1))
    assert stale.value.code == "stale"
    assert "closing" in [i.id for i in srv.state.sessions[0].items]

    clock.set(minutes=3)
    await mod(c.Next())
    await mod(c.Floor())  # the listed speaker: Milan's mayor
    assert srv.state.sessions[0].current_item.floor.person == "sala"
    clock.set(minutes=8)
    await mod(c.Next())
    assert srv.state.sessions[0].current_item.id == "seoul-briefing"
    await mod(c.Floor(person="park-won-soon"))
    clock.set(minutes=20)
    await mod(c.Next())
    clock.set(minutes=34)
    await mod(c.Next())
    assert srv.state.sessions[0].current_item.id == "discussion"

    # --- during the round: a mayor not on the list, and any other business before the closing -----------
    clock.set(minutes=35)
    added = await chair.command(c.PersonAdd(name="Mayor of Busan", affiliation="Busan", tags={"country": "KR"}))
    assert added.person == "mayor-of-busan" and added.token is not None and added.token.startswith("mc_")
    await mod(
        c.ItemAdd(
            title="Any other business",
            duration_s=300,
            kind="discussion",
            before="closing",
            speakers=("mayor-of-busan",),
        )
    )
    await all_see(lambda s: [i.id for i in s.sessions[0].items] == NEW_ORDER)
    for client in everyone:
        person = client.state.person("mayor-of-busan")
        assert person is not None and person.name == "Mayor of Busan"
        # The roster's tags reach moderators only.
        assert person.tags == ({"country": "KR"} if client in (chair, second) else {})
    # The token was shown to the chair only: the second desk saw the events, not the ack.
    assert all(added.token not in json.dumps(asdict(client.state), default=str) for client in everyone)

    busan = await connect(srv.url, added.token, label="busan")
    everyone.append(busan)
    assert busan.welcome.role == "speaker" and busan.welcome.person.id == "mayor-of-busan"
    clock.set(minutes=36)
    await busan.command(c.Raise())  # Busan is in the discussion's queue as well
    assert [h.person for h in srv.state.sessions[0].current_item.queue] == ["mayor-of-busan"]
    await mod(c.QueueRemove(person="mayor-of-busan"))  # ... and is asked to wait for any other business

    clock.set(minutes=58)
    await mod(c.Next())
    assert srv.state.sessions[0].current_item.id == "any-other-business"
    await mod(c.Floor())  # the listed speaker: Busan
    assert srv.state.sessions[0].current_item.floor.person == "mayor-of-busan"
    clock.set(minutes=63)
    await mod(c.EndTurn())
    clock.set(minutes=64)
    await mod(c.Next())
    await mod(c.Floor(person="garcetti"))
    clock.set(minutes=70)
    await mod(c.End())

    # --- every replica equals what its holder may see of the server's state --------------------------------
    final = srv.state.seq
    for client in everyone:
        await client.wait_for(lambda s: s.seq == final or s.sessions[0].status == "ended")
        await srv.settled(client)
        assert [i.id for i in client.state.sessions[0].items] == NEW_ORDER
    assert asdict(srv.replayed()) == asdict(srv.state)
    turns = [t.person for t in srv.state.sessions[0].items[5].turns]
    assert turns == ["mayor-of-busan"]

    # --- the report explains 45 -> 70 with the live changes named ----------------------------------------
    report = build_report(srv.read_log())
    session_report = report.sessions[0]
    assert (session_report.planned_duration_s, session_report.actual_duration_s) == (2700, 4200)
    assert session_report.live_changes_s == 600
    assert [(ch.change, ch.item, ch.delta_s) for ch in session_report.live_changes] == [
        ("added", "milan-two-weeks-of-lockdown", 300),
        ("moved", "milan-two-weeks-of-lockdown", 0),
        ("added", "any-other-business", 300),
    ]
    items = {i.id: i for i in session_report.items}
    assert items["any-other-business"].added_live and items["any-other-business"].over_under_s == 60
    assert items["seoul-briefing"].over_under_s == 120 and items["discussion"].over_under_s == 540
    text = render(report, "md")
    assert "Why 45:00 became 70:00:" in text
    assert "- Added live at 23:16 by moderator \\[chair-desk\\]: Milan: two weeks of lockdown (5:00): +5:00" in text
    assert "- Added live at 23:50 by moderator \\[chair-desk\\]: Any other business (5:00): +5:00" in text
    assert (
        "The plan was changed live (2 items added, item moved): +10:00 on the plan; "
        "against the plan in force it ran +15:00." in text
    )
    assert "- Open discussion: +9:00" in text and "- Together: +25:00" in text
    # The new mayor is in the report's people, with their turn.
    busan_report = next(p for p in report.people if p.person == "mayor-of-busan")
    assert (busan_report.name, busan_report.turns, busan_report.speaking_s) == ("Mayor of Busan", 1, 300)
    assert all(not client.unsolicited_errors for client in everyone)
