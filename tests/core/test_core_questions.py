"""Written questions in the core: asking, voting, the moderator's states, merges, refusals and who sees what."""

from __future__ import annotations

from dataclasses import asdict

from hypothesis import given, settings
from hypothesis import strategies as st
from support.harness import MOD, Harness, make_agenda, participant, speaker

from modconsole.core import commands as c
from modconsole.core.agenda import Agenda, QuestionSettings
from modconsole.core.fold import replay
from modconsole.core.read_model import question_views
from modconsole.core.visibility import view_for, viewer_key, visible_to


def _agenda(**questions: object) -> Agenda:
    agenda = make_agenda([600, 600])
    return agenda.model_copy(update={"questions": QuestionSettings.model_validate(questions)})


def _harness(**questions: object) -> Harness:
    return Harness(_agenda(**questions))


ANN, BOB, CHO = participant("ann"), participant("bob"), participant("cho")


def test_ask_vote_and_the_panel_order() -> None:
    h = _harness()
    h.ok(c.Ask(text="  What   about  the budget? "), ANN)
    h.ok(c.Ask(text="Who pays?"), BOB)
    assert h.state.questions["q1"].text == "What about the budget?"
    assert h.state.questions["q1"].state == "visible"
    h.ok(c.Vote(question="q2"), ANN)
    h.ok(c.Vote(question="q2"), CHO)
    h.ok(c.Vote(question="q1"), CHO)
    assert [q["id"] for q in question_views(h.state, None)] == ["q2", "q1"]
    assert [q["votes"] for q in question_views(h.state, None)] == [2, 1]
    h.ok(c.Unvote(question="q2"), ANN)
    h.ok(c.Unvote(question="q2"), CHO)
    assert [q["id"] for q in question_views(h.state, None)] == ["q1", "q2"]
    mine = question_views(h.state, "ann")
    assert [(q["id"], q["mine"]) for q in mine] == [("q1", True), ("q2", False)]


def test_refusals_change_nothing() -> None:
    h = _harness(max_length=20)
    h.ok(c.Ask(text="A question"), ANN)
    h.rejected(c.Ask(text="   "), BOB, "invalid")
    h.rejected(c.Ask(text="x" * 21), BOB, "invalid")
    h.rejected(c.Ask(text="bad\x07bell"), BOB, "invalid")
    h.rejected(c.Ask(text="hidden", anonymous=True), BOB, "invalid")  # the event forbids anonymous questions
    h.rejected(c.Vote(question="q1"), ANN, "invalid")  # one's own
    h.ok(c.Vote(question="q1"), BOB)
    h.rejected(c.Vote(question="q1"), BOB, "invalid_state")  # a second vote
    h.rejected(c.Unvote(question="q1"), CHO, "not_found")
    h.rejected(c.Vote(question="q9"), BOB, "not_found")
    h.ok(c.QuestionDismiss(question="q1"), MOD)
    h.rejected(c.Vote(question="q1"), CHO, "not_found")  # dismissed: gone for the audience
    h.rejected(c.QuestionGoLive(question="q1"), MOD, "invalid_state")
    h.rejected(c.QuestionApprove(question="q1"), participant("cho"), "forbidden")


def test_states_pending_visible_live_answered_and_dismissal_by_whom() -> None:
    h = _harness(moderated=True)
    h.ok(c.Ask(text="First?"), ANN)
    h.ok(c.Ask(text="Second?"), BOB)
    assert h.state.questions["q1"].state == "pending"
    h.rejected(c.Vote(question="q1"), BOB, "not_found")  # pending: only its asker and moderators know it
    h.rejected(c.QuestionGoLive(question="q1"), MOD, "invalid_state")
    h.ok(c.QuestionApprove(question="q1"), MOD)
    h.ok(c.QuestionApprove(question="q2"), MOD)
    h.ok(c.Vote(question="q2"), CHO)
    h.ok(c.QuestionGoLive(), MOD)  # the most-voted visible one
    assert h.state.questions["q2"].state == "live"
    h.ok(c.QuestionGoLive(), MOD)  # the next: the one live before counts as answered
    assert (h.state.questions["q1"].state, h.state.questions["q2"].state) == ("live", "answered")
    h.ok(c.QuestionAnswer(question="q1"), MOD)
    h.rejected(c.QuestionGoLive(), MOD, "not_found")
    h.ok(c.Ask(text="Third?"), CHO)
    h.ok(c.QuestionDismiss(question="q3"), MOD)
    assert h.state.questions["q3"].dismissed_by == "chair"
    assert h.entries[-1].actor == MOD


def test_a_pending_question_reaches_only_its_asker_and_moderators() -> None:
    h = _harness(moderated=True)
    h.ok(c.Ask(text="Mine?"), ANN)
    asked = h.entries[-1].event
    assert visible_to(h.state, asked, "participant", "ann")
    assert visible_to(h.state, asked, "moderator", None)
    assert not visible_to(h.state, asked, "participant", "bob")
    assert not visible_to(h.state, asked, "display", None)
    assert "q1" not in view_for(h.state, "participant", "bob").questions
    assert "q1" not in view_for(h.state, "display", None).questions
    assert view_for(h.state, "participant", "ann").questions["q1"].state == "pending"


def test_an_anonymous_asker_is_never_revealed_to_the_audience_or_the_display() -> None:
    h = _harness(anonymous=True, moderated=True)
    h.ok(c.Ask(text="Who is it?", anonymous=True), participant("zed", "Zed Secret"))
    h.ok(c.QuestionApprove(question="q1"), MOD)
    h.ok(c.Vote(question="q1"), BOB)
    h.ok(c.QuestionGoLive(question="q1"), MOD)
    assert h.state.questions["q1"].asker == "zed"  # the server and moderators know
    for role, person in (("participant", "bob"), ("display", None), ("speaker", "ann")):
        seen = [event for _seq, event in h.log if visible_to(h.state, event, role, person)]
        text = " ".join(event.model_dump_json() for event in seen)
        assert "zed" not in text and "Zed Secret" not in text
        view = view_for(h.state, role, person)
        dumped = repr(asdict(view))
        assert "zed" not in dumped and "Zed Secret" not in dumped
        assert question_views(view, person)[0]["asker"] is None
    # the asker sees it as their own; moderators see who, in the state (the view prints null: anonymous)
    assert question_views(view_for(h.state, "participant", "zed"), "zed")[0]["mine"] is True
    assert view_for(h.state, "moderator", None).questions["q1"].asker == "zed"
    assert "zed" in view_for(h.state, "moderator", None).participants
    assert question_views(h.state, None)[0]["asker"] is None
    h.rejected(c.Vote(question="q1"), participant("zed"), "invalid")  # still one's own


def test_the_asker_is_not_told_of_a_dismissal() -> None:
    h = _harness()
    h.ok(c.Ask(text="Off topic?"), ANN)
    h.ok(c.QuestionDismiss(question="q1"), MOD)
    dismissed = h.entries[-1].event
    assert not visible_to(h.state, dismissed, "participant", "ann")
    assert visible_to(h.state, dismissed, "participant", "bob")
    assert view_for(h.state, "participant", "ann").questions["q1"].state == "visible"
    assert view_for(h.state, "participant", "ann").questions["q1"].dismissed_by is None
    assert "q1" not in view_for(h.state, "participant", "bob").questions


def test_merge_adds_votes_counting_voters_once_and_edit() -> None:
    h = _harness()
    h.ok(c.Ask(text="Budget?"), ANN)
    h.ok(c.Ask(text="The budget?"), BOB)
    h.ok(c.Vote(question="q1"), CHO)
    h.ok(c.Vote(question="q2"), CHO)
    h.ok(c.Vote(question="q2"), participant("dan"))
    h.ok(c.Vote(question="q2"), ANN)  # ann asked q1: her vote does not count on her own question after the merge
    h.ok(c.QuestionMerge(question="q2", into="q1"), MOD)
    assert h.state.questions["q1"].votes == 2
    assert sorted(h.state.questions["q1"].voters) == ["cho", "dan"]
    assert h.state.questions["q2"].state == "merged"
    h.rejected(c.Vote(question="q2"), participant("eve"), "invalid_state")
    h.rejected(c.Vote(question="q1"), participant("dan"), "invalid_state")
    h.rejected(c.QuestionMerge(question="q1", into="q1"), MOD, "invalid")
    h.ok(c.QuestionEdit(question="q1", text="What is the budget?"), MOD)
    assert h.state.questions["q1"].text == "What is the budget?" and h.state.questions["q1"].edited
    h.rejected(c.QuestionEdit(question="q1", text=""), MOD, "invalid")


def test_viewer_keys_tell_apart_askers_and_voters() -> None:
    h = _harness()
    h.ok(c.Ask(text="One?"), ANN)
    h.ok(c.Vote(question="q1"), BOB)
    keys = {p: viewer_key(h.state, "participant", p) for p in ("ann", "bob", "cho", "dan")}
    assert keys["cho"] == keys["dan"] and keys["ann"] != keys["cho"] and keys["bob"] != keys["cho"]
    assert view_for(h.state, "participant", "cho") == view_for(h.state, "participant", "dan")


def test_a_speaker_asks_and_the_replay_agrees() -> None:
    h = _harness()
    h.ok(c.Ask(text="From the panel?"), speaker("ann"))
    h.ok(c.Vote(question="q1"), BOB)
    assert question_views(h.state, None)[0]["name"] == "Ann"
    assert replay(h.log).questions == h.state.questions


# --- votes are one per person per question through any sequence of vote, unvote and merge ---------------

PEOPLE = ["p0", "p1", "p2", "p3", "p4"]
QUESTIONS = ["q1", "q2", "q3", "q4"]
_step = st.one_of(
    st.tuples(st.just("vote"), st.sampled_from(PEOPLE), st.sampled_from(QUESTIONS)),
    st.tuples(st.just("unvote"), st.sampled_from(PEOPLE), st.sampled_from(QUESTIONS)),
    st.tuples(st.just("merge"), st.sampled_from(QUESTIONS), st.sampled_from(QUESTIONS)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_step, max_size=40))
def test_votes_are_one_per_person_per_question(steps: list[tuple[str, str, str]]) -> None:
    h = _harness()
    for index, question in enumerate(QUESTIONS):
        h.ok(c.Ask(text=f"Question {question}?"), participant(PEOPLE[index]))
    for kind, a, b in steps:
        if kind == "vote":
            h.do(c.Vote(question=b), participant(a))
        elif kind == "unvote":
            h.do(c.Unvote(question=b), participant(a))
        else:
            h.do(c.QuestionMerge(question=a, into=b), MOD)
        for question in h.state.questions.values():
            assert len(question.voters) == len(set(question.voters)) == question.votes
            assert question.asker not in question.voters
            if question.state == "merged":
                assert question.votes == 0
    assert replay(h.log).questions == h.state.questions


def test_the_toml_agenda_sets_the_questions() -> None:
    from modconsole.agenda_files import AgendaError
    from modconsole.agenda_files.toml_agenda import parse_toml_agenda

    base = """[event]
title = "Q&A"
timezone = "UTC"
{extra}
[[sessions]]
title = "One"
start = 2030-01-01T10:00:00
[[sessions.items]]
title = "Talk"
duration = "10m"
"""
    agenda = parse_toml_agenda(
        base.format(extra="questions = { moderated = true, anonymous = true, max_length = 140 }"), "a.toml"
    )
    assert agenda.questions == QuestionSettings(moderated=True, anonymous=True, max_length=140)
    assert parse_toml_agenda(base.format(extra=""), "a.toml").questions == QuestionSettings()
    for bad in ('questions = { moderated = "yes" }', "questions = { max_length = 0 }", "questions = { votes = 1 }"):
        try:
            parse_toml_agenda(base.format(extra=bad), "a.toml")
        except AgendaError as exc:
            assert "questions" in str(exc)
        else:
            raise AssertionError(bad)


def test_the_toml_export_keeps_the_question_settings() -> None:
    from modconsole.agenda_files.export import to_toml as export_toml
    from modconsole.agenda_files.toml_agenda import parse_toml_agenda

    agenda = _agenda(moderated=True, anonymous=True, max_length=99)
    assert parse_toml_agenda(export_toml(agenda), "x.toml").questions == agenda.questions
    assert "questions" not in export_toml(make_agenda([600]))
