"""The message catalogue (modconsole/locale, kept with ``python -m catalogue``): every string marked in the
sources is in every language's .po and translated, with the English's placeholders; the compiled .mo and
.json are in step with their .po; the pages' JSON has the documented shape."""

from __future__ import annotations

import json
from pathlib import Path

import catalogue
from modconsole import i18n
from modconsole.core.commands import PRESET_MESSAGES


def test_every_string_has_every_translation_and_the_compiled_files_are_current() -> None:
    problems = list(catalogue.problems())
    assert problems == [], "\n".join(problems)


def test_the_catalogue_holds_the_six_un_languages() -> None:
    assert set(i18n.LANGUAGES) == {"ar", "zh", "en", "fr", "ru", "es"}
    assert len(catalogue.extract()) > 50


def test_the_pages_json_names_its_language_direction_and_plural_categories() -> None:
    for language in i18n.LANGUAGES:
        data = i18n.catalogue_json(language)
        assert data is not None
        doc = json.loads(data)
        meta = doc[""]
        assert meta["language"] == language
        assert meta["direction"] == ("rtl" if language == "ar" else "ltr")
        categories = set(meta["plural_categories"])
        assert "other" in categories  # what a page falls back on
        for msgid, value in doc.items():
            if msgid and isinstance(value, dict):
                assert set(value) == categories, (language, msgid)
            elif msgid:
                assert isinstance(value, str) and value
    arabic = json.loads(i18n.catalogue_json("ar") or b"{}")
    assert arabic[""]["plural_categories"] == ["zero", "one", "two", "few", "many", "other"]
    assert arabic["{count} waiting"]["two"] == "شخصان ينتظران"


def test_python_reads_the_compiled_catalogue_with_its_plurals() -> None:
    ru = i18n.translations("ru")
    forms = [ru.ngettext("{count} in the queue", "{count} in the queue", n).format(count=n) for n in (1, 3, 5, 21)]
    assert forms == ["1 человек в очереди", "3 человека в очереди", "5 человек в очереди", "21 человек в очереди"]
    assert i18n.translations("es").gettext("Time is up") == "Se acabó el tiempo"


def test_the_presets_are_the_cores() -> None:
    assert i18n.PRESETS == PRESET_MESSAGES
    assert i18n.message_text("Please wrap up", "en") == "Please wrap up"  # English in use
    assert i18n.message_text("Please wrap up", "fr") == "Please wrap up"  # written in French: kept as it is


def test_the_pages_strings_are_extracted_from_their_javascript(tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "join.js").write_text(
        "import { _, _n } from './i18n.js';\n"
        "const who = _('You are #{position} of {total}');\n"
        "// TRANSLATORS: the people waiting for the floor\n"
        "const n = _n('{count} hand', '{count} hands', hands.length);\n"
        "const notMarked = 'plain text';\n",
        encoding="utf-8",
    )
    (pages / "join.html").write_text(
        '<title data-i18n data-msgid="Join the meeting">Join the meeting</title>\n'
        "<h2 data-i18n>Sign   in</h2>\n"
        '<input data-i18n-placeholder="Your name" data-i18n-label="Your name, as others see it">\n'
        "<p>Not marked</p>\n",
        encoding="utf-8",
    )
    (tmp_path / "tool.py").write_text("from modconsole.i18n import _\nprint(_('From Python'))\n", encoding="utf-8")
    found = {(m.id if isinstance(m.id, str) else tuple(m.id)): m for m in catalogue.extract(tmp_path) if m.id}
    assert set(found) == {
        "You are #{position} of {total}",
        ("{count} hand", "{count} hands"),
        "From Python",
        "Join the meeting",
        "Sign in",
        "Your name",
        "Your name, as others see it",
    }
    assert found["You are #{position} of {total}"].locations == [("modconsole/pages/join.js", 2)]
    assert found["{count} hand", "{count} hands"].auto_comments == ["the people waiting for the floor"]
