"""The audience's screens in the viewer's language (Textual's Pilot against a real server on port 0): a
French speaker's screen, its footer, a preset message read in French, and a message's language shown."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.servers import run_cli
from support.tui import UTC, Served, screen_text, until

from modconsole import i18n
from modconsole.client import MeetingClient
from modconsole.core import commands as c
from modconsole.tui import LiveLink, create_app
from modconsole.tui.audience import ViewerScreen


@pytest.fixture(autouse=True)
def english_afterwards() -> Iterator[None]:
    """The language is the process's: the other tests read English."""
    yield
    i18n.use("en")


async def test_a_french_speaker_reads_their_screen_in_french(served: Served) -> None:
    desk = await served.client(served.tokens.moderator, label="desk")
    await desk.command(c.Start())
    await desk.command(c.Goto(item="discussion"))
    link = LiveLink(MeetingClient(served.url, served.tokens.people["paris"], client="tui-test"))
    app = create_app(link, local_zone=UTC, language="fr")
    try:
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await until(pilot, lambda: isinstance(app.screen, ViewerScreen) and app.screen.ready, "the screen")
            await until(pilot, lambda: "Vous voulez la parole ? Levez la main." in screen_text(app), "French")
            text = screen_text(app)
            assert "À la parole : personne" in text
            assert "DANS LES TEMPS" in text
            assert "Want the floor" not in text
            # The keys' words, in the footer.
            words = {b.binding.key: b.binding.description for b in app.active_bindings.values()}
            assert words["r"] == "Parler" and words["o"] == "Motion d'ordre"
            await until(pilot, lambda: "Parler" in screen_text(app), "the footer")

            await pilot.press("w")
            await until(pilot, lambda: "Vous êtes n° 1 sur 1" in screen_text(app), "the place, in French")
            assert "Main levée pour une question · l pour retirer" in screen_text(app)

            # A preset goes in English; the French viewer reads it in French.
            await desk.command(c.SendMessage(text="Please wrap up", to="paris", lang="en"))
            await until(pilot, lambda: "Merci de conclure" in screen_text(app), "the preset in French")
            assert "Message du modérateur" in screen_text(app)
            # Free text stays as written, with its language beside it.
            await pilot.press("a")
            await desk.command(c.SendMessage(text="Bitte kurz halten", to="paris", lang="de"))
            await until(pilot, lambda: "Bitte kurz halten [de]" in screen_text(app), "the text and its language")
    finally:
        await link.close()


def test_join_refuses_a_language_it_does_not_speak() -> None:
    result = run_cli("modconsole", "join", "ws://127.0.0.1:9", "--token", "x", "--lang", "tlh")
    assert result.returncode == 2
    assert "--lang: no 'tlh'; choose one of ar, zh, en, fr, ru, es" in result.stderr


@pytest.mark.parametrize(
    ("asked", "env", "chosen"),
    [
        ("fr", {"LANG": "ru_RU.UTF-8"}, "fr"),
        (None, {"LANG": "ru_RU.UTF-8"}, "ru"),
        (None, {"LC_ALL": "es_MX.UTF-8", "LANG": "ru_RU.UTF-8"}, "es"),
        (None, {"LANGUAGE": "de:fr", "LANG": "en_GB.UTF-8"}, "fr"),
        (None, {"LC_ALL": "C", "LANG": "fr_FR.UTF-8"}, "en"),
        ("zh-Hans", {}, "zh"),
        (None, {}, "en"),
    ],
)
def test_the_language_is_asked_for_else_the_locales(asked: str | None, env: dict[str, str], chosen: str) -> None:
    assert i18n.choose(asked, env) == chosen


def test_the_moderator_sees_each_messages_language() -> None:
    from support.harness import Harness, make_agenda

    from modconsole.tui.figures import message_lines

    h = Harness(make_agenda([600]))
    h.ok(c.Start())
    h.ok(c.SendMessage(text="Merci de conclure", to="all", lang="fr"))
    h.ok(c.SendMessage(text="Thanks", to="all"))
    lines = message_lines(h.state, h.session)
    assert lines[0].startswith("✉ “Merci de conclure” [fr] to all")
    assert lines[1].startswith("✉ “Thanks” to all")


async def test_the_moderators_typed_message_carries_the_locales_language_and_a_preset_english(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    from support.tui import console

    from modconsole.tui.dialogs import MessageScreen
    from modconsole.tui.moderator import ModeratorScreen

    monkeypatch.setenv("LANG", "es_ES.UTF-8")
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    desk = await served.client(served.tokens.moderator, label="desk")
    await desk.command(c.Start())
    async with console(served, served.tokens.moderator) as (app, pilot):
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, MessageScreen), "the message dialog")
        await pilot.press("down", "enter", "tab", *"Un momento", "enter")
        await until(pilot, lambda: isinstance(app.screen, ModeratorScreen), "the dialog to close")
        await until(pilot, lambda: len(served.state.messages) == 1, "the typed message")
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, MessageScreen), "the message dialog")
        await pilot.press("down", "enter", "1")
        await until(pilot, lambda: len(served.state.messages) == 2, "the preset")
        assert [(m.text, m.lang) for m in served.state.messages] == [("Un momento", "es"), ("Please wrap up", "en")]
        await until(pilot, lambda: "“Please wrap up” [en] to all" in screen_text(app), "the language shown")
