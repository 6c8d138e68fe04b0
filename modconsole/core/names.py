"""People's names as people read them: what a self-declared name may be, when two names read alike, and
how a participant is told apart from a listed person wherever a name is shown.

A participant types their own name, so a name is checked as hostile text: control characters, invisible
fillers (U+3164 HANGUL FILLER and the other default-ignorable code points) and floods of combining marks
are refused; runs of spaces collapse to one. Two names "read alike" when they are equal after case,
whitespace, punctuation and confusable folding (Cyrillic і for Latin i, full-width letters, accents): a
participant may not take a name that reads like a listed person's, or like a role.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

MAX_NAME = 80  # a participant's self-declared name
MAX_MARKS = 3  # combining marks on one letter: enough for Vietnamese, Arabic harakat, Indic scripts
NAME_NEEDED = "a name is needed with the participant token (--name)"  # clients recognise this refusal

# Shown before a participant's name wherever names are shown: first, so no ellipsis can cut it off.
PARTICIPANT_MARK = "◇"

# Names no participant may take, whatever the roster: they read as a role, not a person.
RESERVED_NAMES = (
    "moderator",
    "chair",
    "host",
    "cohost",
    "organiser",
    "organizer",
    "admin",
    "administrator",
    "system",
    "display",
    "speaker",
    "modconsole",
)

# Runs of spaces of any width (category Zs) collapse to one; tabs and line breaks are control characters.
_SPACES = re.compile("[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")

# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties) outside the format characters already
# refused by category, and blanks that render as nothing: a name made of them looks empty or like another.
_INVISIBLE = frozenset(
    [
        0x00AD,
        0x034F,
        0x061C,
        0x115F,
        0x1160,
        0x17B4,
        0x17B5,
        0x180B,
        0x180C,
        0x180D,
        0x180E,
        0x180F,
        0x2800,
        0x3164,
        0xFFA0,
        0xFEFF,
        *range(0xFE00, 0xFE10),
        *range(0x1D173, 0x1D17B),
        *range(0xE0000, 0xE1000),
        *range(0x2060, 0x2070),
        *range(0x200B, 0x2010),
        *range(0x202A, 0x202F),
    ]
)


def clean_name(raw: str | None) -> str:
    """A self-declared name as the server takes it, or ValueError saying why not: required, at most 80
    characters, no control or invisible characters, no more than three marks on a letter, at least one
    letter or digit; NFC, trimmed, runs of spaces collapsed. Clients check it first so a bad name is
    refused before connecting; the server checks it again."""
    name = _SPACES.sub(" ", unicodedata.normalize("NFC", raw or "")).strip()
    if not name:
        raise ValueError(NAME_NEEDED)
    if len(name) > MAX_NAME:
        raise ValueError(f"a name has at most {MAX_NAME} characters (this one has {len(name)})")
    marks = 0
    letters = False
    for ch in name:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"):
            raise ValueError("a name cannot contain control characters")
        if ord(ch) in _INVISIBLE:
            raise ValueError(f"a name cannot contain invisible characters (U+{ord(ch):04X})")
        if category[0] == "M":
            marks += 1
            if marks > MAX_MARKS:
                raise ValueError(f"a name cannot stack more than {MAX_MARKS} combining marks on a letter")
        else:
            marks = 0
            letters = letters or category[0] in "LN"
    if not letters:
        raise ValueError("a name needs at least one letter or digit")
    return name


@lru_cache(maxsize=1)
def _homoglyphs() -> dict[str, str]:
    """Unicode's confusables (UTS #39) as far as they map one character to ASCII: loaded on first use."""
    from confusable_homoglyphs.confusables import confusables_data

    table: dict[str, str] = {}
    for char, glyphs in confusables_data.items():
        for glyph in glyphs:
            ascii_form = glyph["c"]
            if len(char) == 1 and ascii_form.isascii() and ascii_form.isalnum():
                table[char] = ascii_form.lower()
                break
    return table


@lru_cache(maxsize=65_536)
def fold_name(name: str) -> str:
    """The key under which two names read alike: confusables to their Latin look-alikes, every other
    script transliterated (anyascii), case, accents, spaces and punctuation dropped. "Eric  GARCETTI",
    "Еric Garcetti" (Cyrillic Е) and "Éric Garcetti" all fold to "ericgarcetti"."""
    from anyascii import anyascii

    homoglyphs = _homoglyphs()
    out = []
    for ch in unicodedata.normalize("NFKC", name).casefold():
        if ch.isascii():
            out.append(ch)
        elif ch in homoglyphs:
            out.append(homoglyphs[ch])
        else:
            out.append(anyascii(ch).lower())
    return "".join(ch for ch in "".join(out) if ch.isalnum())


def reserved(name: str) -> bool:
    """Whether a name reads like a role (``Moderator``, ``the chair`` is fine, ``CHAIR`` is not)."""
    return fold_name(name) in {fold_name(r) for r in RESERVED_NAMES}


def numbered(name: str, taken: set[str]) -> str:
    """``name``, or ``name (2)``, ``name (3)``… the first that reads like none of ``taken`` (folded keys):
    two people who give the same name are two participants, shown apart."""
    if fold_name(name) not in taken:
        return name
    n = 2
    while fold_name(f"{name} ({n})") in taken:
        n += 1
    return f"{name} ({n})"


def shown_name(name: str, participant: bool) -> str:
    """A name as it is shown: a participant's behind the participant mark."""
    return f"{PARTICIPANT_MARK} {name}" if participant else name
