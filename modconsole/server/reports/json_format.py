"""The report as JSON: the full model, keys sorted, plain seconds, text as it is.

This module owns only the serialisation: the JSON's shape is ``model``'s, and nothing here ever drops,
renames or adds a field.
"""

from __future__ import annotations

import json

from .model import Report


def render_json(report: Report) -> str:
    return json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
