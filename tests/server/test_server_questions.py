"""Written questions on a real server: participants over websockets ask and vote, the moderator approves, puts
live and answers; votes are acknowledged at once and durably, the audience's counts come coalesced, and every
client's replica agrees with what it may see of the server's state. Scaled down from the large session (150
questions, 1,000 votes; `pytest -m slow` runs that too) to 40 participants, 15 questions and 150 votes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random

import pytest
from support.servers import run_cli

from modconsole.client import CommandRefused
from modconsole.core import commands as c
from modconsole.core.agenda import Agenda, QuestionSettings
from modconsole.core.read_model import question_views
from modconsole.protocol import QuestionVotes

PARTICIPANTS = 40
QUESTIONS = 15
VOTES = 150


def _moderated(agenda: Agenda) -> Agenda:
    return agenda.model_copy(update={"questions": QuestionSettings(moderated=True, anonymous=True, max_length=280)})


SIZES = [
    pytest.param(PARTICIPANTS, QUESTIONS, VOTES, id="scaled-down"),
    # the large session's figures: pytest -m slow tests/server/test_server_questions.py
    pytest.param(200, 150, 1000, id="full", marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("participants", "questions", "votes"), SIZES)
async def test_questions_asked_voted_and_answered_agree_everywhere(
    start_server, connect, mayors_agenda, participants: int, questions: int, votes: int
) -> None:
    srv = await start_server(agenda=_moderated(mayors_agenda), registrations_per_minute=100_000)
    chair = await connect(srv.url, srv.tokens.moderator, label="chair")
    wall = await connect(srv.url, srv.tokens.display, label="wall")
    audience = []
    for first in range(0, participants, 25):  # a few at a time: the gate bounds the connections waiting for hello
        audience += await asyncio.gather(
            *(
                connect(srv.url, srv.tokens.participant, name=f"Person {i}", label=f"p{i}")
                for i in range(first, min(participants, first + 25))
            )
        )
    await asyncio.gather(
        *(audience[i].command(c.Ask(text=f"Question number {i}?", anonymous=i == 0)) for i in range(questions))
    )
    ids = [q.id for q in srv.state.questions.values()]
    assert len(ids) == questions and all(q.state == "pending" for q in srv.state.questions.values())
    # pending: the audience sees only its own; the display none
    await audience[0].wait_for(lambda s: "q1" in s.questions, timeout=3)
    for client in (wall, audience[questions + 1]):
        assert client.state is not None and not client.state.questions
    for qid in ids:
        await chair.command(c.QuestionApprove(question=qid))
        await asyncio.sleep(0.055)  # within a client's frame rate
    asker_of = {q.id: q.asker for q in srv.state.questions.values()}
    rng = random.Random(14)
    pairs: list[tuple[int, str]] = []
    while len(pairs) < votes:
        voter, qid = rng.randrange(participants), rng.choice(ids)
        person = audience[voter].welcome.person.id  # type: ignore[union-attr]
        if asker_of[qid] != person and (voter, qid) not in pairs:
            pairs.append((voter, qid))
    frames_before = sum(isinstance(f, QuestionVotes) for f in audience[-1].frames)
    loop = asyncio.get_running_loop()
    began = loop.time()

    async def votes_of(voter: int) -> list[object]:
        acks = []
        for v, q in pairs:
            if v == voter:
                acks.append(await audience[v].command(c.Vote(question=q)))
                await asyncio.sleep(0.06)  # within a client's frame rate
        return acks

    acks = [a for mine in await asyncio.gather(*(votes_of(v) for v in range(participants))) for a in mine]
    took = loop.time() - began
    assert len(acks) == votes
    durable = [e for e in srv.read_log() if e.event.type == "question_voted"]
    assert len(durable) == votes  # every acknowledged vote is in the file
    with pytest.raises(CommandRefused) as second:
        await audience[pairs[0][0]].command(c.Vote(question=pairs[0][1]))
    assert second.value.code == "invalid_state"
    for client in (chair, wall, *audience):
        await srv.settled(client)
    watcher = audience[-1]
    coalesced = [f for f in watcher.frames if isinstance(f, QuestionVotes)][frames_before:]
    assert coalesced and len(coalesced) <= int(took) + 2  # at most one a second, not one per vote
    # the order every client shows is the server's
    order = [q["id"] for q in question_views(srv.state, None, states=frozenset({"visible"}))]
    for client in (wall, *audience):
        assert client.state is not None
        assert [q["id"] for q in question_views(client.state, None, states=frozenset({"visible"}))] == order
    # the anonymous asker is nowhere in what the others hold
    anonymous = next(q for q in srv.state.questions.values() if q.anonymous)
    for client in (wall, *audience[1:]):
        assert client.state is not None
        assert client.state.questions[anonymous.id].asker is None
    # the moderator puts the most-voted live, then answers it
    await chair.command(c.QuestionGoLive())
    live = order[0]
    await wall.wait_for(lambda s: s.questions[live].state == "live", timeout=3)
    await chair.command(c.QuestionDismiss(question=order[-1]))  # its asker is not told
    await chair.command(c.QuestionAnswer(question=live))
    for client in (chair, wall, *audience):
        await srv.settled(client)
    assert srv.replayed() == srv.state


async def test_the_ctl_verbs_for_questions(start_server, connect, mayors_agenda) -> None:
    srv = await start_server(agenda=_moderated(mayors_agenda))
    speakers = srv.tokens.people

    def ctl(*args: str, token: str) -> object:
        return asyncio.to_thread(run_cli, "modconsole", "ctl", srv.url, *args, env={"MODCONSOLE_TOKEN": token})

    sala, breed = speakers["sala"], speakers["breed"]
    result = await ctl("ask", "How do we fund it?", token=sala)
    assert result.returncode == 0 and "q1 pending" in result.stdout, result.stderr  # type: ignore[attr-defined]
    result = await ctl("ask", "Who \x1b[31mdecides?", token=breed)
    assert result.returncode == 1 and "control characters" in result.stderr  # type: ignore[attr-defined]
    result = await ctl("ask", "Who decides?", "--anonymous", "--json", token=breed)
    asked = json.loads(result.stdout)["question"]  # type: ignore[attr-defined]
    assert asked["id"] == "q2" and asked["asker"] is None and asked["mine"] is True
    result = await ctl("ask", "", token=breed)
    assert result.returncode == 1 and "refused (invalid)" in result.stderr  # type: ignore[attr-defined]
    mod = srv.tokens.moderator
    for verb in ("question-approve q1", "question-approve q2", "question-edit q2 Who decides on the fund?"):
        result = await ctl(*verb.split(" ", 2), token=mod)
        assert result.returncode == 0, result.stderr  # type: ignore[attr-defined]
    assert (await ctl("vote", "q1", token=breed)).returncode == 0  # type: ignore[attr-defined]
    refused = await ctl("vote", "q1", token=breed)
    assert refused.returncode == 1 and "already" in refused.stderr  # type: ignore[attr-defined]
    refused = await ctl("vote", "q1", token=sala)
    assert refused.returncode == 1 and "your own" in refused.stderr  # type: ignore[attr-defined]
    listed = await ctl("questions", "--json", token=breed)
    rows = json.loads(listed.stdout)  # type: ignore[attr-defined]
    assert [(r["id"], r["state"], r["votes"], r["voted"]) for r in rows] == [
        ("q1", "visible", 1, True),
        ("q2", "visible", 0, False),
    ]
    assert {"id", "text", "state", "votes", "asked_at", "asker"} <= set(rows[0])
    assert rows[0]["asker"] == "sala" and rows[1]["asker"] is None
    assert (await ctl("unvote", "q1", token=breed)).returncode == 0  # type: ignore[attr-defined]
    result = await ctl("question-live", token=mod)
    assert result.returncode == 0 and "q1 live" in result.stdout  # type: ignore[attr-defined]
    assert (await ctl("question-answered", "q1", token=mod)).returncode == 0  # type: ignore[attr-defined]
    assert (await ctl("question-merge", "q2", "q1", token=mod)).returncode == 0  # type: ignore[attr-defined]
    words = (await ctl("questions", "--state", "answered", token=mod)).stdout  # type: ignore[attr-defined]
    assert "q1 answered" in words and "q2" not in words
    words = (await ctl("questions", token=mod)).stdout  # type: ignore[attr-defined]
    assert "anonymous" in words and "Breed" not in words
    assert (await ctl("question-dismiss", "q1", token=mod)).returncode == 0  # type: ignore[attr-defined]
    rows = json.loads((await ctl("questions", "--json", token=sala)).stdout)  # type: ignore[attr-defined]
    assert [(r["id"], r["state"]) for r in rows] == [("q1", "answered"), ("q2", "merged")]  # the asker is not told


async def test_votes_send_the_pages_no_view_each(start_server, connect, mayors_agenda) -> None:
    from support.pages import PageSocket

    srv = await start_server()
    asker = await connect(srv.url, srv.tokens.people["sala"], label="sala")
    await asker.command(c.Ask(text="A question for the page?"))
    page = await PageSocket.open(srv.url, srv.tokens.display)

    async def views_now() -> int:
        """The views the page is sent until it has been quiet for half a second."""
        count = len(page.views)
        with contextlib.suppress(TimeoutError):
            while True:
                await page.next_frame(timeout=0.5)
        return len(page.views) - count

    try:
        voters = await asyncio.gather(
            *(connect(srv.url, srv.tokens.participant, name=f"Voter {i}", label=f"v{i}") for i in range(10))
        )
        await views_now()
        await asyncio.gather(*(v.command(c.Vote(question="q1")) for v in voters))
        assert await views_now() == 0  # the votes moved no page's view
        assert srv.state.questions["q1"].votes == 10
        chair = await connect(srv.url, srv.tokens.moderator, label="chair")
        await chair.command(c.Start())
        assert await views_now() >= 1  # and the page is listening
    finally:
        await page.close()
