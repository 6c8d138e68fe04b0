"""How long a post-event report takes on a long log: the WHO seminar with 50,000 entries or more.

Times ``build_report`` and every rendering of it (Markdown, CSV for each table, JSON, HTML), each the
median of ``--runs`` runs, beside a baseline measured in the same run: reading the same entries
from a SQLite store and json-parsing their bodies (the least any report must do). Loading them
through ``SqliteStore.read`` (which validates every event) is timed too, as the command line does it.

    python -m bench.bench_report                  # 50,000+ entries, 7 runs
    python -m bench.bench_report --quick          # 10,000 entries, 3 runs, for CI
    python -m bench.bench_report --out FILE.json  # default bench/results/report.json

Target: build and all formats together under one second.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import figure, machine, row
from modconsole.server.reports import TABLES, Report, build_report, render
from modconsole.server.store import Entry, SqliteStore
from scenarios.logs import who_seminar, write_store

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "bench" / "results" / "report.json"
TARGET_S = 1.0


def median_time(action: Callable[[], object], runs: int) -> tuple[float, list[float]]:
    """Median wall time of ``runs`` calls (seconds), and every time, after one call not counted."""
    action()  # warm caches (the file's pages, lazily built validators) before timing
    times = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def read_and_parse(db: Path, event_id: str) -> list[tuple[int, int, str, str | None, str, dict[str, Any]]]:
    """The baseline: the log's rows from SQLite, bodies parsed as plain JSON."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT seq, ts, role, person, client, body FROM log WHERE event_id=? AND seq>? ORDER BY seq",
            (event_id, 0),
        ).fetchall()
    loads = json.loads
    return [(seq, ts, role, person, client, loads(body)) for seq, ts, role, person, client, body in rows]


def load_entries(db: Path, event_id: str) -> list[Entry]:
    store = SqliteStore(db)
    try:
        return list(store.read(event_id))
    finally:
        store.close()


def renders(report: Report) -> dict[str, Callable[[], str]]:
    out: dict[str, Callable[[], str]] = {"md": lambda: render(report, "md")}
    for table in TABLES:
        out[f"csv {table}"] = lambda table=table: render(report, "csv", table)  # type: ignore[misc]
    out["json"] = lambda: render(report, "json")
    out["html"] = lambda: render(report, "html")
    return out


def build_and_render_all(entries: list[Entry]) -> int:
    report = build_report(entries)
    return sum(len(make()) for make in renders(report).values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_report", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller log (10,000 entries) and 3 runs, for CI")
    parser.add_argument("--entries", type=int, help="at least this many log entries (default 50,000; quick 10,000)")
    parser.add_argument("--runs", type=int, help="runs per figure, the median is kept (default 7; quick 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"results as JSON (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    target_entries = args.entries or (10_000 if args.quick else 50_000)
    runs = args.runs or (3 if args.quick else 7)

    started = time.perf_counter()
    entries = who_seminar(seed=args.seed, target_entries=target_entries)
    generated_s = time.perf_counter() - started
    event_id = entries[0].event.event_id  # type: ignore[union-attr]
    print(
        f"WHO seminar log: {len(entries)} entries (generated in {generated_s:.1f} s); {runs} runs per figure",
        file=sys.stderr,
    )

    with tempfile.TemporaryDirectory(prefix="modconsole-bench-report-") as tmp:
        db = Path(tmp) / "who.db"
        write_store(entries, db)
        baseline, baseline_runs = median_time(lambda: read_and_parse(db, event_id), runs)
        loaded, _ = median_time(lambda: load_entries(db, event_id), runs)
        assert [e.event_json for e in load_entries(db, event_id)] == [e.event_json for e in entries]

    report = build_report(entries)
    cases: list[tuple[str, float]] = []
    build, _ = median_time(lambda: build_report(entries), runs)
    cases.append(("build_report", build))
    for name, make in renders(report).items():
        cases.append((f"render {name}", median_time(make, runs)[0]))
    formats_total = sum(seconds for name, seconds in cases if name.startswith("render "))
    together, together_runs = median_time(lambda: build_and_render_all(entries), runs)

    met = together < TARGET_S
    rows = [
        row(
            "read + json-parse (baseline)",
            {"median": figure(baseline, baseline, "s")},
            runs=[round(t, 4) for t in baseline_runs],
        ),
        row("SqliteStore.read (validated)", {"median": figure(loaded, baseline, "s")}),
    ]
    rows += [row(name, {"median": figure(seconds, baseline, "s")}) for name, seconds in cases]
    rows.append(row("all formats", {"median": figure(formats_total, baseline, "s")}))
    rows.append(
        row(
            "build + all formats",
            {"median": figure(together, baseline, "s")},
            target=f"< {TARGET_S:g} s",
            met=met,
            runs=[round(t, 4) for t in together_runs],
        )
    )

    print(f"{'case':<32} {'median ms':>10} {'ratio to baseline':>18}")
    for item in rows:
        fig = item["figures"]["median"]
        print(f"{item['case']:<32} {fig['value'] * 1000:>10.1f} {fig['ratio']:>18.2f}")
    print(
        f"baseline (read + json-parse of {len(entries)} entries): {baseline * 1000:.1f} ms; "
        f"target build + all formats < {TARGET_S:g} s: {'met' if met else 'MISSED'}"
    )

    result = {
        "benchmark": "report",
        "machine": machine(),
        "params": {
            "entries": len(entries),
            "target_entries": target_entries,
            "runs": runs,
            "seed": args.seed,
            "quick": args.quick,
            "sessions": len(report.sessions),
            "turns": len(report.turns),
            "people": len(report.people),
            "generated_s": round(generated_s, 2),
        },
        "rows": rows,
        "met": met,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
