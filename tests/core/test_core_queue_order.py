"""The fair speakers' list: each queue order is a permutation with points of order first, the next person up
never bumped and a moderator's move kept; through the fold every replica reaches the same order."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st
from support.harness import Harness, make_agenda, participant, speaker

from modconsole.core import commands as c
from modconsole.core.agenda import Agenda, Person
from modconsole.core.queue_order import ordered, parse_order
from modconsole.core.state import Hand

ORDERS = ["fifo", "first_time_first", "tiers", "tiers:2", "tiers:5", "alternate:gender"]

hands_strategy = st.lists(
    st.tuples(
        st.sampled_from(["contribution", "reply", "question", "point_of_order"]),
        st.integers(0, 50),
        st.sampled_from([None, "f", "m", "x"]),
        st.booleans(),
    ),
    max_size=25,
)


def _queue(raw: list[tuple[str, int, str | None, bool]]) -> list[Hand]:
    hands = [
        Hand(person=f"p{i}", kind=kind, raised_at=at, group=group, moved=moved)  # type: ignore[arg-type]
        for i, (kind, at, group, moved) in enumerate(raw)
    ]
    # The fold keeps points of order at the front.
    return [h for h in hands if h.kind == "point_of_order"] + [h for h in hands if h.kind != "point_of_order"]


@settings(max_examples=300, deadline=None)
@given(
    hands_strategy,
    st.sampled_from(ORDERS),
    st.dictionaries(st.sampled_from([f"p{i}" for i in range(25)]), st.integers(0, 6)),
)
def test_an_order_is_a_permutation_with_points_of_order_first_and_the_next_up_kept(
    raw: list[tuple[str, int, str | None, bool]], order: str, turns: dict[str, int]
) -> None:
    queue = _queue(raw)
    out = ordered(queue, order, turns)
    assert sorted(id(h) for h in out) == sorted(id(h) for h in queue)  # a permutation
    orders = [h.kind == "point_of_order" for h in out]
    assert orders == sorted(orders, reverse=True)  # points of order first
    assert [h for h in out if h.kind == "point_of_order"] == [h for h in queue if h.kind == "point_of_order"]
    rest = [h for h in queue if h.kind != "point_of_order"]
    if rest:
        assert next(h for h in out if h.kind != "point_of_order") is rest[0]  # the next up is never bumped
    for index, hand in enumerate(queue):
        if hand.moved:
            assert out[index] is hand  # a moderator's move stays where it was put


def test_first_time_first_and_tiers_and_alternate() -> None:
    def hand(person: str, at: int, group: str | None = None) -> Hand:
        return Hand(person=person, kind="contribution", raised_at=at, group=group)

    queue = [hand("a", 0), hand("b", 1), hand("c", 2), hand("d", 3)]
    spoken = {"b": 2, "c": 1}
    assert [h.person for h in ordered(queue, "first_time_first", spoken)] == ["a", "d", "b", "c"]
    assert [h.person for h in ordered(queue, "tiers:2", spoken)] == ["a", "d", "b", "c"]
    assert [h.person for h in ordered(queue, "tiers:3", spoken)] == ["a", "d", "c", "b"]
    mixed = [hand("a", 0, "m"), hand("b", 1, "m"), hand("c", 2, "m"), hand("d", 3, "f"), hand("e", 4, "f")]
    assert [h.person for h in ordered(mixed, "alternate:gender", {})] == ["a", "d", "b", "e", "c"]


def test_an_unknown_order_is_refused_by_name() -> None:
    for bad in ("lifo", "tiers:0", "tiers:99", "alternate:", "alternate:a b"):
        try:
            parse_order(bad)
        except ValueError as exc:
            assert "unknown queue order" in str(exc)
        else:  # pragma: no cover - the test fails here
            raise AssertionError(bad)


def _tagged_agenda() -> Agenda:
    agenda = make_agenda([600, 600], people=("ann", "bob", "cho", "dee", "eve"))
    genders = {"ann": "f", "bob": "m", "cho": "m", "dee": "m", "eve": "f"}
    people = tuple(Person(id=p.id, name=p.name, tags={"gender": genders[p.id]}) for p in agenda.people)
    return agenda.model_copy(update={"people": people})


def test_first_time_first_through_the_fold_and_live_change() -> None:
    h = Harness(_tagged_agenda())
    h.ok(c.Start())
    for person in ("bob", "cho"):  # bob and cho have spoken
        h.ok(c.Floor(person=person))
        h.ok(c.EndTurn())
    for person in ("bob", "cho", "dee", "ann"):
        h.advance(1)
        h.ok(c.Raise(), speaker(person))
    assert [x.person for x in h.current.queue] == ["bob", "cho", "dee", "ann"]
    h.ok(c.SetQueueOrder(order="first_time_first"))
    # bob is next up and stays; the first-timers go ahead of cho.
    assert [x.person for x in h.current.queue] == ["bob", "dee", "ann", "cho"]
    assert h.replayed().sessions[0].items[0].queue == h.current.queue  # every replica: the same order
    h.ok(c.SetQueueOrder(order="alternate:gender"))
    assert [x.person for x in h.current.queue] == ["bob", "ann", "cho", "dee"]
    h.ok(c.QueueMove(person="dee", position=2))  # the moderator overrides, and it is logged
    assert [x.person for x in h.current.queue][:2] == ["bob", "dee"]
    h.advance(1)
    h.ok(c.Raise(), speaker("eve"))
    assert [x.person for x in h.current.queue][:2] == ["bob", "dee"]
    assert h.log[-2][1].type == "hand_moved"


def test_an_item_order_from_the_agenda_and_a_refused_change() -> None:
    agenda = make_agenda([600])
    session = agenda.sessions[0].model_copy(update={"queue_order": "tiers:2"})
    h = Harness(agenda.model_copy(update={"sessions": (session,)}))
    assert h.session.queue_order == "tiers:2"
    h.ok(c.Start())
    h.rejected(c.SetQueueOrder(order="tiers:2"), code="invalid_state")
    h.rejected(c.SetQueueOrder(order="fifo", item="nope"), code="not_found")
    h.rejected(c.SetQueueOrder(order="fifo"), participant("p-1"), code="forbidden")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["raise", "lower", "floor", "end", "order"]), st.integers(0, 4)), max_size=40)
)
def test_through_any_sequence_the_queue_holds_each_person_once(steps: list[tuple[str, int]]) -> None:
    h = Harness(_tagged_agenda())
    h.ok(c.Start())
    people = ["ann", "bob", "cho", "dee", "eve"]
    for what, index in steps:
        h.advance(1)
        person = people[index]
        if what == "raise":
            h.do(c.Raise(kind="point_of_order" if index == 4 else "contribution"), speaker(person))
        elif what == "lower":
            h.do(c.Lower(), speaker(person))
        elif what == "floor":
            h.do(c.Floor())
        elif what == "end":
            h.do(c.EndTurn())
        else:
            h.do(c.SetQueueOrder(order=ORDERS[index]))
        queue = h.current.queue
        assert max(Counter(x.person for x in queue).values(), default=1) == 1
        kinds = [x.kind == "point_of_order" for x in queue]
        assert kinds == sorted(kinds, reverse=True)
    assert h.replayed().sessions[0].items[0].queue == h.current.queue


def test_an_agenda_file_sets_the_order_and_an_export_keeps_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from modconsole.agenda_files import load_agenda
    from modconsole.agenda_files.export import to_toml

    path = tmp_path / "a.toml"
    path.write_text(
        '[event]\ntitle = "T"\ntimezone = "UTC"\n[[sessions]]\nid = "s"\ntitle = "S"\nstart = 2030-01-01T10:00:00\n'
        'queue_order = "alternate:gender"\n[[sessions.items]]\ntitle = "Q"\nduration = "5m"\n'
        'queue_order = "tiers:2"\n',
        encoding="utf-8",
    )
    agenda = load_agenda(path)
    assert agenda.sessions[0].queue_order == "alternate:gender"
    assert agenda.sessions[0].items[0].queue_order == "tiers:2"
    again = tmp_path / "b.toml"
    again.write_text(to_toml(agenda), encoding="utf-8")
    assert load_agenda(again) == agenda
    path.write_text(path.read_text(encoding="utf-8").replace("tiers:2", "loudest"), encoding="utf-8")
    try:
        load_agenda(path)
    except ValueError as exc:
        assert "queue_order" in str(exc)
    else:  # pragma: no cover - the test fails here
        raise AssertionError("an unknown order was accepted")
