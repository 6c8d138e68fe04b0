"""Renders docs/protocol.md from the protocol's JSON Schema, so the document never drifts.

Regenerate with ``python -m modconsole.server.protocol_doc > docs/protocol.md``; a test checks it is current.
"""

from __future__ import annotations

import json
from typing import Any

from modconsole.core.events import EVENT_ADAPTER
from modconsole.protocol import CLIENT_ADAPTER, MAX_FRAME_BYTES, PROTOCOL_VERSION, SERVER_ADAPTER
from modconsole.protocol import __doc__ as protocol_intro

_HEADER = """# modconsole wire protocol (version {version})

Generated from `modconsole/protocol.py` by `python -m modconsole.server.protocol_doc`; do not edit by hand.
`modconsole-server schema` prints the full JSON Schema.

{intro}

- Transport: websocket text frames holding one JSON object each, at most {max_kib} KiB
  (larger frames close the connection with 1009).
- Authentication: `Authorization: Bearer TOKEN` on the upgrade request, or `token` in `hello`.
- Close codes: 1008 refused token or flooding, 1009 frame too big, 1013 client too slow to keep up
  (reconnect and resume), 1001 server shutting down.
- Every command carries an `id` echoed in its `ack` or `error`; `expected_seq` makes it conditional on
  the session's revision, so two moderators pressing "next" together move one item, not two.
- Times are milliseconds since the Unix epoch on the event clock (faster than the wall clock on a
  rehearsal: see `time_scale`); `ts` in log entries is the server's wall clock.
"""


def _type_of(prop: dict[str, Any] | bool) -> str:
    if isinstance(prop, bool):  # a map's values left open (``additionalProperties: true``)
        return "any"
    if "const" in prop:
        return json.dumps(prop["const"])
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1]
    if "enum" in prop:
        return " \\| ".join(json.dumps(v) for v in prop["enum"])
    if "anyOf" in prop:
        return " \\| ".join(_type_of(p) for p in prop["anyOf"])
    if prop.get("type") == "array":
        return f"list of {_type_of(prop.get('items', {}))}"
    if prop.get("type") == "object" and "additionalProperties" in prop:
        return f"map to {_type_of(prop['additionalProperties'])}"
    return str(prop.get("type", "any"))


def _model_table(name: str, model: dict[str, Any]) -> list[str]:
    lines = [f"### `{name}`", ""]
    if model.get("description"):
        lines += [" ".join(model["description"].split()), ""]
    props = model.get("properties", {})
    if not props:
        return lines
    required = set(model.get("required", []))
    lines += ["| field | type | required | notes |", "| --- | --- | --- | --- |"]
    for field, prop in props.items():
        notes = " ".join(str(prop.get("description", "")).split())
        if "default" in prop and field != "type":
            notes = (notes + f" (default {json.dumps(prop['default'], ensure_ascii=False)})").strip()
        lines.append(f"| `{field}` | {_type_of(prop)} | {'yes' if field in required else ''} | {notes} |")
    return [*lines, ""]


def _section(title: str, schema: dict[str, Any], what: str = "Frames") -> list[str]:
    defs = schema.get("$defs", {})
    frames = [ref["$ref"].rsplit("/", 1)[-1] for ref in schema.get("oneOf", [])]
    lines = [f"## {title}", "", f"{what}, told apart by `type`: " + ", ".join(f"`{f}`" for f in frames) + ".", ""]
    for name in frames:
        lines += _model_table(name, defs[name])
    return lines


def render() -> str:
    intro = " ".join((protocol_intro or "").split("\n\n", 1)[-1].split())
    out = [_HEADER.format(version=PROTOCOL_VERSION, intro=intro, max_kib=MAX_FRAME_BYTES // 1024)]
    out += _section("Client to server", CLIENT_ADAPTER.json_schema())
    out += _section("Server to client", SERVER_ADAPTER.json_schema())
    out += _section("Events (in `events` frames and in the timing log)", EVENT_ADAPTER.json_schema(), "Events")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
