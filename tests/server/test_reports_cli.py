"""``modconsole-server report`` as a subprocess, on the mayors' call written to a SQLite store."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modconsole.server.reports import build_report, render
from modconsole.server.store import SqliteStore
from scenarios.logs import mayors_call, who_seminar, write_store

ROOT = Path(__file__).resolve().parents[2]


def _server_cli() -> str:
    beside = Path(sys.executable).parent / "modconsole-server"
    return str(beside) if beside.exists() else shutil.which("modconsole-server") or "modconsole-server"


def report(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_server_cli(), "report", *map(str, args)], capture_output=True, text=True, timeout=60, cwd=ROOT
    )


@pytest.fixture(scope="module")
def mayors_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("report-cli") / "mayors.db"
    created = write_store(mayors_call(seed=0), db)
    assert created.moderator.startswith("mc_") and len(created.people) == 45
    return db


def test_store_holds_the_log(mayors_db: Path) -> None:
    entries = mayors_call(seed=0)
    store = SqliteStore(mayors_db)
    try:
        [event_id] = store.event_ids()
        back = list(store.read(event_id))
    finally:
        store.close()
    assert event_id == entries[0].event.event_id  # type: ignore[union-attr]
    rows = [(e.seq, e.ts, e.actor, e.event_json) for e in entries]
    assert [(e.seq, e.ts, e.actor, e.event_json) for e in back] == rows


def test_html_is_one_self_contained_file(mayors_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "report.html"
    out.parent.mkdir()
    done = report("--db", mayors_db, "--format", "html", "-o", out)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert f"wrote {out}" in done.stderr
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<svg" in page and "</svg>" in page
    assert not re.search(r"https?://", page)  # no external reference of any kind
    assert not re.search(r"<(link|script|img|iframe)\b", page, re.IGNORECASE)
    assert not re.search(r"\b(src|href)\s*=", page, re.IGNORECASE)
    assert "url(" not in page
    assert "ran 70:00" in page
    # The same bytes as rendering in process.
    entries = mayors_call(seed=0)
    assert page == render(build_report(entries), "html")


def test_csv_turns_parse(mayors_db: Path) -> None:
    done = report("--db", mayors_db, "--format", "csv", "--table", "turns")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    expected = build_report(mayors_call(seed=0)).turns
    assert len(rows) == len(expected) == 30
    assert list(rows[0]) == [
        "session",
        "item",
        "person",
        "name",
        "kind",
        "start",
        "speaking_s",
        "limit_s",
        "over_limit_s",
        "waited_s",
    ]
    assert [r["person"] for r in rows] == [t.person for t in expected]
    assert sum(float(r["speaking_s"]) for r in rows) == pytest.approx(sum(t.speaking_s for t in expected))
    assert {r["session"] for r in rows} == {"call"}


def test_json_session_and_day(mayors_db: Path) -> None:
    done = report("--db", mayors_db, "--format", "json", "--session", "call")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["scope"] == "session call"
    assert data["sessions"][0]["actual_duration_s"] == 4200
    done = report("--db", mayors_db, "--format", "md", "--day", "2020-03-27")
    assert done.returncode == 0, done.stderr
    assert "Planned 45:00, ran 70:00" in done.stdout


def test_unknown_session_is_refused_clearly(mayors_db: Path) -> None:
    done = report("--db", mayors_db, "--session", "nope")
    assert done.returncode != 0
    assert done.stdout == ""
    assert "no session 'nope'" in done.stderr
    assert "Traceback" not in done.stderr


def test_day_without_sessions_is_refused_clearly(mayors_db: Path) -> None:
    done = report("--db", mayors_db, "--day", "2020-03-28")
    assert done.returncode != 0
    assert "no session on 2020-03-28" in done.stderr
    assert "Traceback" not in done.stderr


def test_who_seminar_day_report_from_the_store(tmp_path: Path) -> None:
    db = tmp_path / "who.db"
    write_store(who_seminar(seed=0, target_entries=3_000), db)
    done = report("--db", db, "--format", "csv", "--table", "sessions", "--day", "2018-11-21")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [r["id"] for r in rows] == ["day2-within-city", "day2-bilateral", "day2-multilateral", "day2-multilevel"]
    assert {r["day"] for r in rows} == {"2018-11-21"}
