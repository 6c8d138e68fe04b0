"""A simulated programme modelled on the GETI training programme of June 2021: registrations, and who
joined each session live and when, driven through the real core like scenarios/logs.py.

The programme had over 5,000 registrations and close to 3,000 participants who joined live from 155
countries, with close to equal gender participation; session four had close to 1,800 live participants
from 135 countries. :func:`geti_attendance` makes such a log (sessions started and ended, people joining
and leaving, some reconnecting, a Q&A under an ``alternate:gender`` speaking order in the last session)
and says what it simulated (:class:`Simulated`), so that a test can hold the report to it.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from modconsole.agenda_files import load_agenda
from modconsole.core import commands as c
from modconsole.core.agenda import Person, local_to_ms, planned_schedule
from modconsole.core.attendance import Mark, joined, left
from modconsole.core.log import Entry

from .logs import EXAMPLES, MIN, SEC, Process, Sim, _event_id, _latin_names, run

GENDERS = ("female", "male")


@dataclass(frozen=True)
class Simulated:
    """What the simulation did, counted apart from the log: the report must say the same."""

    registrants: list[tuple[str, Person]]  # (email, person), as `modconsole-server register` would store them
    attendance: list[Mark]  # the attendance log, as the server would write it
    attended: dict[str, set[str]]  # session -> people who joined it live
    countries: dict[str, set[str]]  # session -> their countries
    genders: dict[str, Counter[str]]  # session -> attendees per gender given ("" for not given)

    @property
    def programme_attended(self) -> set[str]:
        return set().union(*self.attended.values())

    @property
    def programme_countries(self) -> set[str]:
        return set().union(*self.countries.values())


def _codes(count: int) -> list[str]:
    import pycountry

    return sorted(str(country.alpha_2) for country in pycountry.countries)[:count]


def geti_attendance(
    seed: int = 0,
    registrations: int = 5_200,
    live: int = 2_950,
    countries: int = 155,
    last_session: int = 1_800,
    last_countries: int = 135,
) -> tuple[list[Entry], Simulated]:
    """The programme's log with attendance, and what was simulated. ``live`` people from ``countries``
    countries join at least one session; ``last_session`` of them, from ``last_countries`` countries, join
    the last one, and are all present at its middle (so its peak is ``last_session``)."""
    if not (last_countries <= countries and last_session <= live <= registrations and countries <= live):
        raise ValueError("the figures do not nest")
    agenda = load_agenda(EXAMPLES / "geti-programme.toml")
    rng = random.Random(seed)
    event_id = _event_id(agenda.title, "geti-attendance", seed)
    zone = agenda.zone
    first_start = local_to_ms(agenda.sessions[0].start, zone)
    sim = Sim(agenda, event_id, first_start - 2 * 86_400_000)
    codes = _codes(countries + 5)
    names = _latin_names(rng, registrations)
    people: list[Person] = []
    for index, name in enumerate(names):
        country = codes[index] if index < len(codes) else rng.choice(codes)
        tags = {"country": country}
        if rng.random() < 0.97:  # a few prefer not to say
            tags["gender"] = GENDERS[index % 2] if index < 2 * len(codes) else rng.choice(GENDERS)
        people.append(Person(id=f"r-{index:06d}", name=name, affiliation="", tags=tags, participant=True))
    registrants = [(f"person{index}@example.org", p) for index, p in enumerate(people)]
    # Who comes at all: one per country of the first ``countries`` first, then others of those countries.
    allowed = set(codes[:countries])
    pool = [p for p in people if p.tags["country"] in allowed]
    coming = pool[:countries] + rng.sample(pool[countries:], live - countries)
    last_allowed = set(codes[:last_countries])
    eligible = [p for p in coming if p.tags["country"] in last_allowed]
    last_crowd = eligible[:last_countries] + rng.sample(eligible[last_countries:], last_session - last_countries)
    in_last = {p.id for p in last_crowd}
    rest = [p for p in coming if p.id not in in_last]
    crowds: list[list[Person]] = [[], [], [], last_crowd]
    for person in rest:  # each of the others comes to one of the first three sessions at least
        crowds[rng.randrange(3)].append(person)
    for index in range(3):  # and some of the last session's come to the earlier ones too
        crowds[index] += rng.sample(last_crowd, 150 + 100 * index)
    sessions = agenda.sessions
    marks: list[Mark] = []
    speakers = [p.id for p in agenda.people]

    def session_run(index: int) -> Process:
        plan = sessions[index]
        schedule = planned_schedule(plan, zone)
        start, end = schedule[0], schedule[-1]
        desk = c.Actor(role="moderator", client="geti-host")
        yield start - 30 * MIN
        if index == 0:
            sim.set_clock()
        yield start
        sim.do(c.Start(session=plan.id), desk)
        if index == len(sessions) - 1:
            sim.do(c.SetQueueOrder(session=plan.id, order="alternate:gender"), desk)
        # Q&A: a few participants raise a hand and get the floor, two minutes each.
        yield start + (end - start) // 2 + 5 * MIN
        askers = rng.sample(crowds[index], 12)
        for person in askers:
            sim.do(c.Raise(session=plan.id, kind="question"), c.Actor(role="participant", person=person.id))
        for _ in range(8):
            sim.do(c.Floor(session=plan.id), desk)
            yield sim.now + 2 * MIN
        sim.do(c.EndTurn(session=plan.id), desk)
        yield end
        sim.do(c.End(session=plan.id), desk)

    def person_run(index: int, person: Person, role: str) -> Process:
        plan = sessions[index]
        schedule = planned_schedule(plan, zone)
        start, end = schedule[0], schedule[-1]
        middle = start + (end - start) // 2
        arrives = start - rng.randint(-10 * 60, 5 * 60) * SEC
        yield max(arrives, start - 5 * MIN)
        marks.append(joined(sim.now, person.id, role, person if role == "participant" else None))
        if rng.random() < 0.1:  # a dropped connection that came back after the grace period, before the middle
            yield min(middle - 3 * MIN, sim.now + rng.randint(60, 600) * SEC)
            marks.append(left(sim.now, person.id))
            yield sim.now + rng.randint(40, 120) * SEC
            marks.append(joined(sim.now, person.id, role, person if role == "participant" else None))
        leaving = end - rng.randint(-2 * 60, 40 * 60) * SEC
        yield max(leaving, middle + MIN, sim.now + MIN)
        marks.append(left(sim.now, person.id))

    processes: list[Process] = []
    for index in range(len(sessions)):
        processes.append(session_run(index))
        processes += [person_run(index, p, "participant") for p in crowds[index]]
        processes += [
            person_run(index, sim.state.person(pid) or Person(id=pid, name=pid), "speaker") for pid in speakers[:4]
        ]
    run(sim, processes)
    attended = {sessions[i].id: {p.id for p in crowds[i]} | set(speakers[:4]) for i in range(len(sessions))}
    by_id = {p.id: p for p in people} | {p.id: p for p in agenda.people}
    countries_of = {
        sid: {by_id[pid].tags["country"] for pid in ids if pid in by_id and "country" in by_id[pid].tags}
        for sid, ids in attended.items()
    }
    genders = {
        sid: Counter(by_id[pid].tags.get("gender", "") for pid in ids if pid in by_id) for sid, ids in attended.items()
    }
    return sim.entries, Simulated(registrants, marks, attended, countries_of, genders)
