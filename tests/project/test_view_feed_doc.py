"""docs/view-feed.md is generated from the view feed's declarations, and lists every field a view has."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_view_feed_doc_is_generated_from_the_page_views() -> None:
    from modconsole.server.view_feed_doc import render

    assert (ROOT / "docs" / "view-feed.md").read_text(encoding="utf-8") == render(), (
        "docs/view-feed.md is stale: run `python -m modconsole.server.view_feed_doc > docs/view-feed.md`"
    )


def test_view_feed_doc_lists_every_field_of_every_page_view() -> None:
    from typing import get_type_hints

    from modconsole.core import page_view
    from modconsole.server.read_model_doc import views

    documented = {view.name: [f.name for f in view.fields] for view in views(page_view)}
    assert "PageView" in documented
    for name, fields in documented.items():
        assert fields == list(get_type_hints(getattr(page_view, name))), name
        text = (ROOT / "docs" / "view-feed.md").read_text(encoding="utf-8")
        assert f"## {name}" in text
        assert all(f"`{field}`" in text for field in fields)
