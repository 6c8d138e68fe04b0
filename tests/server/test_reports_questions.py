"""The report's questions: per session asked, answered, dismissed; the questions table in every format."""

from __future__ import annotations

import json

from support.harness import MOD, Harness, make_agenda, participant

from modconsole.core import commands as c
from modconsole.core.agenda import QuestionSettings
from modconsole.server.reports import build_report
from modconsole.server.reports.csv_format import render_csv
from modconsole.server.reports.html import render_html
from modconsole.server.reports.json_format import render_json
from modconsole.server.reports.markdown import render_markdown


def _log() -> Harness:
    agenda = make_agenda([600, 600]).model_copy(update={"questions": QuestionSettings(moderated=True, anonymous=True)})
    h = Harness(agenda)
    h.ok(c.Ask(text="Who pays? =1+1"), participant("pat", "Ann Lee"))
    h.ok(c.Ask(text="Secret one", anonymous=True), participant("zed", "Bob Hidden"))
    h.ok(c.Ask(text="Off topic"), participant("kim"))
    for question in ("q1", "q2"):
        h.ok(c.QuestionApprove(question=question))
    h.ok(c.Vote(question="q1"), participant("zed"))
    h.ok(c.Vote(question="q1"), participant("kim"))
    h.advance(60)
    h.ok(c.QuestionGoLive(), MOD)
    h.advance(60)
    h.ok(c.QuestionAnswer(question="q1"))
    h.ok(c.QuestionDismiss(question="q3"))
    return h


def test_questions_in_every_format() -> None:
    report = build_report(_log().entries)
    assert [(n.session, n.asked, n.answered, n.dismissed, n.open) for n in report.question_counts] == [
        ("s", 3, 1, 1, 1)
    ]
    first, second, third = report.questions
    assert (first.asker, first.votes, first.state) == ("Ann Lee", 2, "answered")
    assert first.live_at is not None and first.answered_at is not None and "chair" in first.moderated_by
    assert second.asker == "anonymous" and third.state == "dismissed"
    data = json.loads(render_json(report))
    assert data["question_counts"][0]["asked"] == 3 and len(data["questions"]) == 3
    for text in (render_markdown(report), render_html(report), render_csv(report, "questions")):
        assert "Bob Hidden" not in text  # an anonymous asker stays so in the report
        assert "Ann Lee" in text
    assert "## Questions" in render_markdown(report) and "<h2>Questions</h2>" in render_html(report)
    csv_text = render_csv(report, "questions")
    assert csv_text.splitlines()[0].startswith("id,session,asked_at,asker")
    assert "'=1+1" not in csv_text  # not at the start of a cell: left as is
