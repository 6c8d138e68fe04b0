"""Written questions in the pages' view feed, on a real server: a page sees the visible and live questions with
their counts, whether its viewer voted, and its viewer's own in any state; never another's pending question
nor an anonymous asker; and the coalesced ``question_votes`` frames reach the pages."""

from __future__ import annotations

from typing import Any

from support.pages import PageSocket, session0

from modconsole.core.agenda import Agenda, QuestionSettings


def _moderated(agenda: Agenda) -> Agenda:
    return agenda.model_copy(update={"questions": QuestionSettings(moderated=True, anonymous=True, max_length=120)})


def _questions(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {q["id"]: q for q in session0(view)["questions"]}


async def test_pages_see_questions_by_the_visibility_rules_and_get_the_counts(
    start_server: Any, mayors_agenda: Agenda
) -> None:
    srv = await start_server(agenda=_moderated(mayors_agenda))
    desk = await PageSocket.open(srv.url, srv.tokens.moderator)
    ada = await PageSocket.open(srv.url, srv.tokens.participant, name="Ada Lovelace")
    bob = await PageSocket.open(srv.url, srv.tokens.participant, name="Bob Marley")
    wall = await PageSocket.open(srv.url, srv.tokens.display)
    try:
        settings = ada.views[-1]["question_settings"]
        assert settings == {"max_length": 120, "anonymous": True, "moderated": True}
        assert (await ada.command({"type": "ask", "id": "a1", "text": "Who pays  for it?"}))["type"] == "ack"
        assert (await ada.command({"type": "ask", "id": "a2", "text": "And when?", "anonymous": True}))["type"] == "ack"
        mine = _questions(await ada.view_where(lambda v: len(_questions(v)) == 2))
        assert [(q["text"], q["state"], q["mine"], q["anonymous"]) for q in mine.values()] == [
            ("Who pays for it?", "pending", True, False),
            ("And when?", "pending", True, True),
        ]
        assert mine["q2"]["name"] is None and mine["q1"]["name"] == "Ada Lovelace"
        # Pending: nobody else's page has them, not even a moderator's page (it lists what the audience does).
        for page in (bob, wall, desk):
            assert _questions(page.views[-1]) == {}
        for q in ("q1", "q2"):
            assert (await desk.command({"type": "question_approve", "id": f"ok{q}", "question": q}))["type"] == "ack"
        seen = _questions(await bob.view_where(lambda v: len(_questions(v)) == 2))
        assert seen["q2"]["name"] is None and seen["q2"]["anonymous"] is True  # never the anonymous asker
        assert "Ada" not in str(seen["q2"])
        assert all(not q["mine"] and not q["voted"] and q["votes"] == 0 for q in seen.values())
        # Bob votes: his own view says so at once; the others' pages get the count in a question_votes frame.
        assert (await bob.command({"type": "vote", "id": "v1", "question": "q2"}))["type"] == "ack"
        voted = _questions(await bob.view_where(lambda v: _questions(v).get("q2", {}).get("voted")))
        assert voted["q2"]["votes"] == 1
        frame = await _votes_frame(ada)
        assert frame["votes"] == {"q2": 1}
        assert (await _votes_frame(wall))["votes"] == {"q2": 1}
        refused = await ada.command({"type": "vote", "id": "v2", "question": "q1"})
        assert refused["type"] == "error"  # one's own question
    finally:
        for page in (desk, ada, bob, wall):
            await page.close()


async def _votes_frame(page: PageSocket) -> dict[str, Any]:
    for frame in page.frames:
        if frame["type"] == "question_votes":
            return frame
    while True:
        frame = await page.next_frame(timeout=5)
        if frame["type"] == "question_votes":
            return frame
