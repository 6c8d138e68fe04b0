"""The benchmarks keep working: ``python -m bench --quick`` runs every one of them end to end.

It asserts the shape of what they report (every benchmark, its figures, their baselines and ratios),
never a timing: CI machines are too varied for that; docs/performance.md holds the figures.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = {
    "fanout",
    "roundtrip",
    "replay",
    "report",
    "memory",
    "tui",
    "timer",
    "shared",
    "page",
    "views",
    "burst",
    "votes",
}


def _postgres_missing() -> str | None:
    from bench.pgcluster import PgCluster, PgUnavailable

    try:
        PgCluster().remove()
    except PgUnavailable as exc:
        return str(exc)
    return None


@pytest.mark.timeout(300)
def test_quick_benchmarks_report_every_figure_with_its_baseline(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())

    assert results["command"].startswith("python -m bench --quick")
    assert {"nproc", "cpu", "memory_gib", "python"} <= set(results["machine"])
    assert set(results["benchmarks"]) == BENCHMARKS
    missing = _postgres_missing()
    for name, bench in results["benchmarks"].items():
        if name == "shared" and missing:
            continue  # servers sharing a log need PostgreSQL; it says it skipped, and why
        assert bench["rows"], f"{name} reported no rows"
        for row in bench["rows"]:
            if row["details"].get("skipped"):  # the page benchmark, where Chromium is missing
                continue
            assert row["figures"], f"{name}: {row['case']} has no figures"
            for figure_name, figure in row["figures"].items():
                where = f"{name}: {row['case']}: {figure_name}"
                assert isinstance(figure["value"], (int, float)), where
                assert isinstance(figure["baseline"], (int, float)), where
                assert "ratio" in figure, where
                if figure["baseline"]:
                    assert figure["ratio"] is not None, where
                assert figure["unit"], where
    # The printed table names every benchmark too.
    for name in BENCHMARKS - ({"shared"} if missing else set()):
        assert name in done.stdout
