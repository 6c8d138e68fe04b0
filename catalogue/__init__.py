"""The message catalogue's upkeep, with Babel: extract the marked strings from the console's Python and the
pages' JavaScript, bring every language's ``.po`` up to date with them, and compile each ``.po`` into the
``.mo`` that Python's gettext reads and the ``.json`` the pages read (modconsole/i18n.py says where).

``python -m catalogue update`` (after marking new strings: then translate what it added),
``python -m catalogue compile`` (after translating), ``python -m catalogue check`` (what the test checks).
Not part of the installed package: Babel is a development dependency, the compiled files are committed.
"""

from __future__ import annotations

import gettext
import io
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, Any

from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from modconsole.i18n import DOMAIN, LANGUAGES, LOCALE_DIR, RIGHT_TO_LEFT

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "modconsole"


class _MarkedHtml(HTMLParser):
    """The strings of a page's HTML that its script translates (pages/i18n.js, translateDocument): an element
    marked ``data-i18n`` (its ``data-msgid``, else its text), and the values of ``data-i18n-label`` and
    ``data-i18n-placeholder``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._open: tuple[str, int, list[str]] | None = None  # tag, line, text of a marked element

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        line = self.getpos()[0]
        for key in ("data-i18n-label", "data-i18n-placeholder"):
            if named.get(key):
                self.found.append((line, str(named[key])))
        if "data-i18n" in named:
            if named.get("data-msgid"):
                self.found.append((line, str(named["data-msgid"])))
            else:
                self._open = (tag, line, [])

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open[2].append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open is not None and tag == self._open[0]:
            text = " ".join("".join(self._open[2]).split())
            if text:
                self.found.append((self._open[1], text))
            self._open = None


def extract_html(
    fileobj: IO[bytes], keywords: object, comment_tags: object, options: object
) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """A Babel extraction method for the pages' HTML."""
    parser = _MarkedHtml()
    parser.feed(fileobj.read().decode("utf-8"))
    parser.close()
    for line, text in parser.found:
        yield line, None, text, []


METHODS: list[tuple[str, Any]] = [
    ("**/locale/**", "ignore"),
    ("**.py", "python"),
    ("pages/**.js", "javascript"),
    ("pages/**.mjs", "javascript"),
    ("pages/**.html", extract_html),
]
KEYWORDS = {"_": None, "N_": None, "_n": (1, 2)}
# {name} for Python's str.format and the pages' own; %s and %(name)s for gettext's habit.
PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}|%\([A-Za-z_]+\)[sd]|%[sd]")


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract(sources: Path = SOURCES) -> Catalog:
    """Every marked string in the sources, as a template."""
    template = Catalog(project="modconsole", domain=DOMAIN, charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        sources, METHODS, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",), strip_comment_tags=True
    ):
        template.add(message, None, [(f"modconsole/{filename}", lineno)], auto_comments=comments, context=context)
    return template


def read(language: str) -> Catalog:
    with po_path(language).open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN)


def update() -> list[str]:
    """Bring every language's .po up to date with the sources; the ids of what now needs translating."""
    template = extract()
    untranslated: set[str] = set()
    for language in LANGUAGES:
        path = po_path(language)
        if path.exists():
            catalog = read(language)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=language, domain=DOMAIN, project="modconsole", charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
        catalog.obsolete.clear()
        catalog.fuzzy = False  # the header is kept by hand, not guessed
        for message in catalog:
            if message.id and not _translated(message):
                untranslated.add(str(message.id if isinstance(message.id, str) else message.id[0]))
        with path.open("wb") as handle:
            # File names without line numbers: the .po changes when a string does, not when code moves.
            write_po(handle, catalog, width=120, sort_output=True, include_lineno=False)
    return sorted(untranslated)


def _translated(message: Message) -> bool:
    strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
    return bool(strings) and all(strings) and not message.fuzzy


def plural_categories(catalog: Catalog) -> list[str]:
    """The CLDR plural category (what the browser's Intl.PluralRules names) of each gettext plural form."""
    rule = Locale.parse(str(catalog.locale)).plural_form
    index_of = gettext.c2py(catalog.plural_expr)
    names: list[str | None] = [None] * catalog.num_plurals
    for n in [*range(0, 300), 1_000_000, 2_000_000]:
        index = index_of(n)
        category = rule(n)
        if names[index] is None:
            names[index] = category
    return [name or "other" for name in names]


def as_json(catalog: Catalog) -> bytes:
    """The page's catalogue: ``{msgid: msgstr}``; a plural entry maps its singular id to ``{category: form}``
    (CLDR categories: zero, one, two, few, many, other; ``other`` always there); ``""`` holds the language,
    its direction and its categories."""
    categories = plural_categories(catalog)
    language = str(catalog.locale)
    out: dict[str, Any] = {
        "": {
            "language": language,
            "direction": "rtl" if language in RIGHT_TO_LEFT else "ltr",
            "plural_categories": sorted({*categories, "other"}, key=[*categories, "other"].index),
        }
    }
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            forms = dict(zip(categories, message.string, strict=True))
            forms.setdefault("other", message.string[-1])  # what a page falls back on (Russian's fractions)
            out[message.id[0]] = forms
        else:
            out[message.id] = message.string
    return (json.dumps(out, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode()


def as_mo(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def compiled(language: str) -> dict[Path, bytes]:
    catalog = read(language)
    folder = po_path(language).parent
    return {folder / f"{DOMAIN}.mo": as_mo(catalog), folder / f"{DOMAIN}.json": as_json(catalog)}


def compile_all() -> list[Path]:
    written = []
    for language in LANGUAGES:
        for path, data in compiled(language).items():
            path.write_bytes(data)
            written.append(path)
    return written


def problems() -> Iterator[str]:
    """What is wrong with the catalogue: strings of the sources missing from a language or untranslated,
    placeholders that differ from the English, compiled files out of step with their .po."""
    wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in extract() if m.id}
    for language in LANGUAGES:
        if not po_path(language).exists():
            yield f"{language}: no {po_path(language).relative_to(ROOT)}"
            continue
        catalog = read(language)
        have = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
        for msgid in sorted(wanted - set(have)):
            yield f"{language}: missing {msgid!r} (run python -m catalogue update, then translate)"
        for msgid in sorted(set(have) - wanted):
            yield f"{language}: {msgid!r} is no longer in the sources (run python -m catalogue update)"
        for msgid, message in have.items():
            if not _translated(message):
                yield f"{language}: {msgid!r} is not translated"
                continue
            ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
            strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
            expected = sorted(PLACEHOLDER.findall(ids[-1]))
            for string in strings:
                found = sorted(PLACEHOLDER.findall(string))
                # A plural form may spell its number out ("دقيقتين", two minutes): fewer placeholders, none new.
                if found != expected and not (len(ids) > 1 and set(found) <= set(expected)):
                    yield f"{language}: {msgid!r}: the placeholders of {string!r} differ from the English"
        for path, data in compiled(language).items():
            if not path.exists() or path.read_bytes() != data:
                yield f"{language}: {path.relative_to(ROOT)} is out of step with its .po (python -m catalogue compile)"
