"""The mayors' call in the pure core: planned for 45 minutes, it ran 70 because so many mayors wanted to speak."""

from __future__ import annotations

from dataclasses import asdict

from support.harness import MAYORS_START, Harness, mayors_agenda, ms, speaker

from modconsole.core import commands as c

MIN = 60


def test_the_45_minute_call_that_ran_70() -> None:
    agenda = mayors_agenda()
    h = Harness(agenda, now=ms(MAYORS_START))
    start = h.now
    named = {"garcetti", "park-won-soon", "sala", "aki-sawyerr", "baswedan", "breed", "delhi", "lopez"}
    mayors = [p.id for p in agenda.people if p.id not in named]
    assert len(mayors) == 37

    h.ok(c.Start())
    assert h.view()["planned_duration_s"] == 45 * MIN

    # Opening: 4 minutes of 3.
    h.ok(c.Floor(person="garcetti"))
    h.advance(4 * MIN)
    h.ok(c.Next())
    # Seoul's briefing: 13 minutes of 10.
    h.ok(c.Floor(person="park-won-soon"))
    h.advance(13 * MIN)
    h.ok(c.Next())
    # Six cities, two and a half minutes each against a two-minute limit.
    for city in agenda.sessions[0].items[2].speakers:
        (turn,) = h.ok(c.Floor(person=city))
        assert turn.limit_s == 120 and turn.raised_at is None
        h.advance(150)
    assert h.view()["floor"]["phase"] == "overtime"  # type: ignore[index]
    h.ok(c.Next())
    assert h.current.id == "discussion"

    # 32 minutes in, 25 planned: 7 minutes late with the discussion and closing still to come.
    view = h.view()
    assert view["elapsed_s"] == 32 * MIN
    assert view["over_under_s"] == 7 * MIN
    assert view["projected_end"] == "2020-03-28T00:07:00+09:00"

    # The discussion: twenty mayors raise their hands at once; then a point of order jumps the queue.
    for mayor in mayors[:20]:
        h.ok(c.Raise(), speaker(mayor))
    h.advance(2)
    h.ok(c.Raise(kind="point_of_order"), speaker(mayors[20]))
    queue = [x.person for x in h.current.queue]
    assert queue == [mayors[20], *mayors[:20]]
    assert h.view()["queue"][3]["estimated_wait_s"] == 3 * 120  # type: ignore[index]

    heard = []
    for turn_no in range(18):
        (turn,) = h.ok(c.Floor())
        heard.append(turn.person)
        h.advance(110 if turn_no else 108)
        if turn_no == 5:
            # The chair asks for 25 more minutes; the projected end stays, the target moves.
            before = h.projection()
            h.ok(c.Extend(delta_s=25 * MIN))
            after = h.projection()
            assert after.projected_end == before.projected_end
            assert after.baseline_end == before.baseline_end + 25 * MIN * 1000
        if turn_no == 10:
            h.ok(c.CloseQueue())
            h.rejected(c.Raise(), speaker(mayors[30]), code="invalid_state")
    h.ok(c.EndTurn())
    assert h.view()["items"][3]["phase"] == "overtime"  # type: ignore[index]
    h.ok(c.Next())

    # Closing: five minutes as planned.
    h.ok(c.Floor(person="garcetti"))
    h.advance(5 * MIN)
    h.ok(c.End())

    view = h.view()
    assert h.now - start == 70 * MIN * 1000
    assert view["status"] == "ended"
    assert view["elapsed_s"] == 70 * MIN
    assert view["extended_s"] == 1500 and h.session.extended_s == 1500
    assert abs(view["over_under_s"]) <= 5  # type: ignore[arg-type]
    assert view["actual_end"] == "2020-03-28T00:25:00+09:00"
    assert view["paused_s"] == 0

    items = {item["id"]: item for item in view["items"]}  # type: ignore[union-attr]
    assert [items[i]["actual_duration_s"] for i in items] == [240, 780, 900, 1980, 300]
    assert [items[i]["over_under_s"] for i in items] == [60, 180, 180, 1080, 0]
    assert all(item["status"] == "done" for item in items.values())

    # The turns of the discussion: the point of order first, then the queue in the order raised.
    discussion = h.item("discussion")
    assert [t.person for t in discussion.turns] == heard == [mayors[20], *mayors[:17]]
    assert discussion.turns[0].kind == "point_of_order"
    assert [t.timer.accumulated_ms for t in discussion.turns] == [108_000] + [110_000] * 17
    assert all(t.raised_at is not None and t.limit_s == 120 for t in discussion.turns)
    # Three mayors never got the floor: their hands came down with the end of the session, and they are told why.
    assert discussion.queue == [] and h.session.waiting == []
    assert {p: r.reason for p, r in h.session.removed.items()} == dict.fromkeys(mayors[17:20], "session_ended")
    assert not discussion.queue_open
    assert [t.person for t in h.item("cities-share").turns] == list(agenda.sessions[0].items[2].speakers)
    assert [t.person for t in h.item("closing").turns] == ["garcetti"]

    # The replica folded event by event is the log's replay.
    assert asdict(h.replayed()) == asdict(h.state)
