"""Replay (3): the state rebuilt from a long log, as the server does when it loads an event.

The log is ``scenarios.logs.who_seminar`` (the three-day seminar with a dense audience), written to a
SQLite file with ``write_store``. Measured: ``EventRuntime.load``, what the server does for each event
it serves: ``SqliteStore.read`` (rows to validated entries) and ``replay`` of them, with the collector
paused and what was made frozen out of its sight. Baseline: the same SELECT over the same rows, and json.loads
of every body. Both are measured in a fresh process that holds only what a server starting up holds
(not the generator's objects), each side ``repeats`` times, alternately; the best and the median
are reported.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import ROOT, figure, row, within

SELECT = "SELECT seq, ts, role, person, client, body FROM log WHERE event_id=? AND seq>? ORDER BY seq"


def _ours(db: Path, event_id: str) -> dict[str, float]:
    from modconsole.server.runtime import EventRuntime
    from modconsole.server.store import SqliteStore

    store = SqliteStore(db)
    try:
        started, cpu = time.perf_counter(), time.thread_time()
        runtime = EventRuntime.load(store, event_id)  # what the server does for each event it serves
        done, cpu_done = time.perf_counter(), time.thread_time()
    finally:
        store.close()
    assert runtime.state.seq == runtime.entries[-1].seq
    return {"total": done - started, "cpu": cpu_done - cpu, "count": len(runtime.entries)}


def _baseline(db: Path, event_id: str) -> dict[str, float]:
    connection = sqlite3.connect(db)
    try:
        started, cpu = time.perf_counter(), time.thread_time()
        rows = connection.execute(SELECT, (event_id, 0)).fetchall()
        bodies = [json.loads(r[5]) for r in rows]
        done, cpu_done = time.perf_counter(), time.thread_time()
    finally:
        connection.close()
    return {"total": done - started, "cpu": cpu_done - cpu, "count": len(bodies)}


def run(entries_wanted: int, repeats: int) -> dict[str, list[dict[str, Any]]]:
    from scenarios.logs import who_seminar, write_store

    made = time.perf_counter()
    entries = who_seminar(target_entries=entries_wanted)
    made = time.perf_counter() - made
    with tempfile.TemporaryDirectory(prefix="modconsole-bench-") as tmp:
        db = Path(tmp) / "replay.db"
        created = write_store(entries, db)
        del entries
        argv = [sys.executable, "-m", "bench.bench_replay", str(db), created.event_id, str(repeats)]
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True)
        ours, base = json.loads(done.stdout)
    count = int(ours[0]["count"])

    def best(runs: list[dict[str, float]], key: str) -> float:
        return min(r[key] for r in runs)

    figures = {
        "best": figure(best(ours, "total"), best(base, "total"), "s"),
        "median": figure(statistics.median(r["total"] for r in ours), statistics.median(r["total"] for r in base), "s"),
        # CPU time of the measuring thread: what other work on a shared machine disturbs least.
        "best_cpu": figure(best(ours, "cpu"), best(base, "cpu"), "s"),
    }
    met = figures["best"]["value"] < 1.0 and within(figures["best"], 2.0)
    return {
        "replay": [
            row(
                f"{count:,} entries",
                figures,
                target="< 1 s and <= 2 x baseline",
                met=met,
                entries=count,
                repeats=repeats,
                log_generated_s=round(made, 1),
            )
        ]
    }


def measure(db: Path, event_id: str, repeats: int) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    ours: list[dict[str, float]] = []
    base: list[dict[str, float]] = []
    for _ in range(repeats):
        ours.append(_ours(db, event_id))
        base.append(_baseline(db, event_id))
        assert base[-1]["count"] == ours[-1]["count"]
    return ours, base


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]))))
