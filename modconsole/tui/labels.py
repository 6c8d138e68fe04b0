"""Text from outside shown as text: names, titles, messages and reasons reach the widgets as ``rich.text.Text``
(never parsed as markup), and a person is named in one place, ``person_label``.

Textual parses a ``str`` as content markup almost everywhere (``Static``/``Label.update``, ``OptionList``
prompts, ``DataTable`` cells, ``notify``, command palette hits, border titles): ``[/]`` in a name raises
``MarkupError`` and ``[@click=app.quit]`` makes a clickable action. A ``Text`` is drawn as it is written.

It owns that conversion and the report's Markdown rules; it must never draw a widget or know a screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from ..core.agenda import Person
from ..core.names import shown_name
from ..core.state import State

if TYPE_CHECKING:
    from markdown_it import MarkdownIt


def person_label(state: State | None, person: str | Person) -> str:
    """How the console names a person, in every screen, dialog and table: their name (from the agenda or
    as the participant gave it), else their id; a participant's (or an unknown id) behind the participant
    mark, first, where no ellipsis cuts it off. Give a ``Person`` when it is known (the viewer's own, from
    the welcome) and an id otherwise. A string to be shown only as ``Text`` (see ``plain``)."""
    found = person if isinstance(person, Person) else state.person(person) if state is not None else None
    if found is None:
        return shown_name(str(person), True)  # not on the roster: nobody listed, whoever it claims to be
    return shown_name(found.name, found.participant)


def plain(text: str, *, style: str = "") -> Text:
    """``text`` as it is written, whatever brackets it holds."""
    return Text(text, style=style)


# Markdown rules that make a report line more than text: links and images (a click would open them), autolinks
# and linkified addresses, raw HTML (dropped unseen), reference definitions (a line taken out of sight) and
# entities (``&lt;`` would not read as written).
REPORT_RULES_OFF = ("link", "image", "autolink", "linkify", "html_inline", "html_block", "reference", "entity")


def report_parser() -> MarkdownIt:
    """The Markdown of a report as data: headings, lists, tables and emphasis, but nothing to click."""
    from markdown_it import MarkdownIt  # only the report screen reads Markdown: not loaded at the start

    parser = MarkdownIt("gfm-like", {"linkify": False})
    parser.disable(list(REPORT_RULES_OFF), ignoreInvalid=True)
    return parser
