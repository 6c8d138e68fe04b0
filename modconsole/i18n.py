"""The languages modconsole speaks: one message catalogue for the console and the browser pages.

The source is one gettext catalogue per language, ``modconsole/locale/LANG/LC_MESSAGES/modconsole.po``
(kept with Babel: ``python tools/catalogue.py``, see docs/translating.md). Beside each ``.po`` are the two
compiled forms, committed so that nothing is built at install: ``modconsole.mo`` for Python's gettext and
``modconsole.json`` for the pages (served as ``/i18n/LANG.json``). A test keeps both in step with the
``.po`` and checks that every string has every translation.

In Python a string is marked ``_("English text")``; ``_n(singular, plural, n)`` chooses a plural form; a
constant translated later is marked ``N_("...")``. The English text is the message id. The language is
chosen once per process (``use``): ``modconsole join --lang``, else the locale's environment variables;
until then, and for a language the catalogue lacks, the text stays English.

This module owns choosing the language and reading the compiled catalogue. It must never do other I/O.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Mapping
from pathlib import Path

DOMAIN = "modconsole"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("ar", "zh", "en", "fr", "ru", "es")  # the six official languages of the United Nations
RIGHT_TO_LEFT = frozenset({"ar"})
DEFAULT = "en"

_current: gettext.NullTranslations = gettext.NullTranslations()
_language = DEFAULT


def N_(text: str) -> str:
    """gettext's name for a string marked now and translated where it is shown."""
    return text


# The moderator's preset messages (core.commands.PRESET_MESSAGES, which a test keeps equal): sent in English,
# each viewer reads a preset in their own language.
PRESETS = (N_("Please wrap up"), N_("One minute"), N_("Time is up"))


def message_text(text: str, lang: str | None) -> str:
    """A moderator's message as this viewer reads it: a preset sent in English in the viewer's language, any
    other text as it was written."""
    return _(text) if text in PRESETS and lang in (None, "en") else text


def _(text: str) -> str:
    """``text`` in the language in use."""
    return _current.gettext(text)


def _n(singular: str, plural: str, n: int) -> str:
    """The plural form for ``n`` in the language in use."""
    return _current.ngettext(singular, plural, n)


def normalise(tag: str | None) -> str | None:
    """The catalogue's language for a tag such as ``fr_CH.UTF-8``, ``zh-Hans`` or ``es-419``; None when it
    has none (``C`` and ``POSIX`` are no language)."""
    if not tag:
        return None
    base = tag.split(".", 1)[0].split("@", 1)[0].replace("_", "-").split("-", 1)[0].casefold()
    return base if base in LANGUAGES else None


def choose(asked: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The language to speak: the one asked for (``--lang``) when the catalogue has it, else the first the
    locale names (``LANGUAGE``'s list, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``, as gettext reads them), else
    English."""
    chosen = normalise(asked)
    if chosen:
        return chosen
    env = os.environ if environ is None else environ
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        for tag in value.split(":"):
            chosen = normalise(tag)
            if chosen:
                return chosen
        if value and name != "LANGUAGE":
            break  # gettext stops at the first of these that is set, even to C
    return DEFAULT


def translations(language: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


def use(language: str) -> None:
    """Speak ``language`` from now on (one of ``LANGUAGES``; another leaves the text English)."""
    global _current, _language
    _language = language if language in LANGUAGES else DEFAULT
    _current = translations(_language)


def language() -> str:
    """The language in use."""
    return _language


def catalogue_json(language: str) -> bytes | None:
    """The compiled catalogue for the pages (``/i18n/LANG.json``), or None for a language it lacks."""
    if language not in LANGUAGES:
        return None
    return (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.json").read_bytes()
