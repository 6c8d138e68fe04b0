"""A message carries the language it is written in: kept through the fold and a replay, shown to the
moderator beside the text; a language tag that is no tag is refused at the edge."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from support.harness import Harness, make_agenda

from modconsole.core import commands as c
from modconsole.core.fold import replay


def test_the_language_is_kept_in_the_event_the_state_and_a_replay() -> None:
    h = Harness(make_agenda([600]))
    h.ok(c.Start())
    (sent,) = h.ok(c.SendMessage(text="Merci de conclure", to="all", lang="fr"))
    (plain,) = h.ok(c.SendMessage(text="Thanks", to="all"))
    assert sent.lang == "fr" and plain.lang is None
    assert [m.lang for m in h.state.messages] == ["fr", None]
    again = replay([(e.seq, e.event) for e in h.entries])
    assert [m.lang for m in again.messages] == ["fr", None]


@pytest.mark.parametrize("tag", ["", "FR", "fr_FR", "x" * 40, "fr-", "<b>"])
def test_a_tag_that_is_no_language_tag_is_refused(tag: str) -> None:
    with pytest.raises(ValidationError):
        c.SendMessage(text="hi", to="all", lang=tag)


@pytest.mark.parametrize("tag", ["fr", "es-419", "zh-Hans", "ast"])
def test_language_tags_are_taken(tag: str) -> None:
    assert c.SendMessage(text="hi", to="all", lang=tag).lang == tag
