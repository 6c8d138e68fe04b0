"""Renders docs/read-model.md from the read model's declarations, so the document never drifts.

The views are the ``TypedDict`` classes of ``modconsole/core/read_model.py``; each field's description is
the string under it there. Regenerate with ``python -m modconsole.server.read_model_doc >
docs/read-model.md``; a test checks it is current. This module only reads the source: it never computes
a view.
"""

from __future__ import annotations

import ast
import inspect
import re
from dataclasses import dataclass
from types import ModuleType
from typing import Literal, get_args, get_origin, is_typeddict

from modconsole.core import read_model

_HEADER = """# modconsole read model

Generated from `modconsole/core/read_model.py` by `python -m modconsole.server.read_model_doc`; do not edit
by hand.

The read model is what a client reads of the live state: the figures of each session at a time, computed by
`session_view` and `state_view` from the state every client holds. The consoles show them, and
`modconsole ctl` prints them:

- `modconsole ctl state --json` prints a `StateView`; a command run with `--json` prints
  `{"ok": true, "seq": ..., "session": SessionView}` (with `"undone"` after an undo, `"redone"` after a redo).
- Keys come in the order listed, and every key is always present: a value that does not apply is `null`
  (None, below), never left out.
- Times are ISO 8601 strings in the event's time zone, to the second; durations are in seconds (`_s`).
"""


@dataclass(frozen=True)
class Field:
    name: str
    annotation: str
    doc: str


@dataclass(frozen=True)
class View:
    name: str
    doc: str
    fields: tuple[Field, ...]


def _words(text: str) -> str:
    """A docstring on one line, with reStructuredText's double backquotes made Markdown's single ones."""
    return " ".join(text.split()).replace("``", "`")


def views(module: ModuleType = read_model) -> list[View]:
    """Every ``TypedDict`` of the read model, in the order of the source, with its fields' descriptions."""
    tree = ast.parse(inspect.getsource(module))  # the read model's, or another module's (page_view.py)
    # Keys a class body cannot declare (a keyword such as "for") come from a base made with TypedDict's
    # functional form, ``X = TypedDict("X", {"key": type})``, described by the string under it. A private
    # class (``_Name``) is a base too, not a view: a view lists its bases' fields in order, then its own.
    bases: dict[str, list[Field]] = {}
    for index, node in enumerate(tree.body):
        if not isinstance(node, ast.Assign):
            continue
        value = node.value
        if not (isinstance(value, ast.Call) and ast.unparse(value.func) == "TypedDict" and len(value.args) == 2):
            continue
        keys = value.args[1]
        after = tree.body[index + 1] if index + 1 < len(tree.body) else None
        if not isinstance(keys, ast.Dict) or not (
            isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str)
        ):
            raise ValueError(f"{ast.unparse(node)[:40]}: a functional TypedDict needs a description under it")
        bases[ast.unparse(node.targets[0])] = [
            Field(ast.literal_eval(key), ast.unparse(annotation), _words(after.value.value))
            for key, annotation in zip(keys.keys, keys.values, strict=True)
            if key is not None
        ]
    found = []
    for node in tree.body:
        if not isinstance(node, ast.ClassDef) or not is_typeddict(getattr(module, node.name, None)):
            continue
        fields = []
        body = node.body
        for index, statement in enumerate(body):
            if not isinstance(statement, ast.AnnAssign) or not isinstance(statement.target, ast.Name):
                continue
            after = body[index + 1] if index + 1 < len(body) else None
            if not (
                isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                raise ValueError(f"{node.name}.{statement.target.id} has no description (a string under it)")
            fields.append(Field(statement.target.id, ast.unparse(statement.annotation), _words(after.value.value)))
        inherited = [field for base in node.bases for field in bases.get(ast.unparse(base), [])]
        fields = inherited + fields
        if node.name.startswith("_"):
            bases[node.name] = fields
            continue
        found.append(View(node.name, _words(ast.get_docstring(node) or ""), tuple(fields)))
    return found


def _names_in(annotation: str) -> list[str]:
    return [node.id for node in ast.walk(ast.parse(annotation, mode="eval")) if isinstance(node, ast.Name)]


def _ordered(found: list[View], root: str = "StateView") -> list[View]:
    """From the whole (``root``) down: each view after the first that holds it, the rest after."""
    by_name = {view.name: view for view in found}
    out: list[str] = []
    pending = [root] if root in by_name else []
    while pending:
        name = pending.pop(0)
        if name in out:
            continue
        out.append(name)
        pending += [n for f in by_name[name].fields for n in _names_in(f.annotation) if n in by_name]
    out += [view.name for view in found if view.name not in out]
    return [by_name[name] for name in out]


def _type_text(annotation: str, views_named: set[str], choices: set[str]) -> str:
    """The annotation as written, with a link to each view and choice it names (and the table's pipes escaped)."""

    def link(match: re.Match[str]) -> str:
        name = match.group(0)
        if name in views_named:
            return f"[{name}](#{name.lower()})"
        return f"[{name}](#choices)" if name in choices else name

    return re.sub(r"\b\w+\b", link, annotation).replace(" | ", " \\| ")


def _aliases(found: list[View], module: ModuleType = read_model) -> list[str]:
    """The named choices (``Literal`` aliases) the fields use, with their values."""
    lines = []
    seen: set[str] = set()
    for view in found:
        for field in view.fields:
            for name in _names_in(field.annotation):
                value = getattr(module, name, None)
                if name in seen or get_origin(value) is not Literal:
                    continue
                seen.add(name)
                lines.append(f"- `{name}`: " + ", ".join(f'`"{choice}"`' for choice in get_args(value)))
    return lines


def render(module: ModuleType = read_model, header: str = _HEADER, root: str = "StateView") -> str:
    found = _ordered(views(module), root)
    out = [header]
    named = {view.name for view in found}
    choices = {line.split("`")[1] for line in _aliases(found, module)}
    for view in found:
        out += [f"## {view.name}", "", view.doc, "", "| field | type | notes |", "| --- | --- | --- |"]
        for field in view.fields:
            notes = field.doc.replace("|", "\\|")
            out.append(f"| `{field.name}` | {_type_text(field.annotation, named, choices)} | {notes} |")
        out.append("")
    aliases = _aliases(found, module)
    if aliases:
        out += ["## Choices", "", "The values a field of these types takes:", "", *aliases, ""]
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
