"""``python -m bench``: run the benchmarks, print a table, write the figures as JSON.

Every figure stands beside a baseline measured in the same run, and their ratio (value / baseline).

    python -m bench                                   # everything, full size (about 6 minutes on 2 cores)
    python -m bench --quick --out /tmp/b.json         # small counts: keeps the benchmarks working (CI)
    python -m bench --only fanout,memory --clients 100,1000,5000
    python -m bench --only roundtrip,timer --duration 20
    python -m bench --markdown bench/results/latest.json   # a results file as a Markdown table

    python -m bench --only shared --shared-clients 2000 --processes 4   # servers sharing a PostgreSQL log
    python -m bench --only burst --participants 1800 --raises 300       # a burst of raised hands
    python -m bench --only votes --out /tmp/votes.json  # 1,000 votes in 5 s: until every client shows the order

Benchmarks: fanout (1), roundtrip (2), replay (3), report (4), memory (5), tui (6), timer (7), shared (8),
page (9), views (10), burst (11), votes (12: 1,000 votes in 5 s, until every client shows the final order);
docs/performance.md says what each measures, against what, and the figures of a full run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import shlex
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from .common import ROOT, loadavg, machine, raise_nofile

BENCHMARKS = (
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
)
DEFAULT_OUT = ROOT / "bench" / "results" / "latest.json"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, a few seconds each (for CI)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON results (default {DEFAULT_OUT})")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    parser.add_argument("--clients", help="client counts for fanout and memory (default 100,1000,5000; quick 20)")
    parser.add_argument("--duration", type=float, help="seconds of sampling for roundtrip and timer (default 10)")
    parser.add_argument("--rounds", type=int, help="fan-out commands per client count (default 30; quick 3)")
    parser.add_argument("--workers", type=int, default=2, help="processes holding the fan-out clients (default 2)")
    parser.add_argument("--trials", type=int, help="TUI launches of each kind (default 7; quick 1)")
    parser.add_argument("--replay-entries", type=int, help="log entries for replay (default 100,000; quick 3,000)")
    parser.add_argument(
        "--shared-clients", type=int, help="shared: displays over all the processes (default 20,000; quick 40)"
    )
    parser.add_argument("--processes", type=int, default=4, help="shared: server processes on PostgreSQL (default 4)")
    parser.add_argument("--consoles", type=int, help="shared: consoles moved by the failover (default 500; quick 20)")
    parser.add_argument("--page-clients", help="page connections for views (default 2000; quick 20)")
    parser.add_argument("--participants", type=int, help="connected participants for burst (default 1,800; quick 60)")
    parser.add_argument("--raises", type=int, help="hands raised within one second for burst (default 300; quick 20)")
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",")] if args.only else list(BENCHMARKS)
    unknown = sorted(set(only) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    args.only = only
    q = args.quick
    args.clients = [int(n) for n in args.clients.split(",")] if args.clients else ([20] if q else [100, 1000, 5000])
    args.duration = args.duration or (1.0 if q else 10.0)
    args.rounds = args.rounds or (3 if q else 30)
    args.trials = args.trials or (1 if q else 7)
    args.replay_entries = args.replay_entries or (3_000 if q else 100_000)
    args.shared_clients = args.shared_clients or (40 if q else 20_000)
    args.consoles = args.consoles or (20 if q else 500)
    args.page_clients = [int(n) for n in args.page_clients.split(",")] if args.page_clients else None
    args.participants = args.participants or (60 if q else 1_800)
    args.raises = args.raises or (20 if q else 300)
    return args


def run_report(quick: bool) -> list[dict[str, Any]]:
    """Item 4 is bench/bench_report.py, run as it is; its rows are taken from the JSON it writes."""
    from . import bench_report

    with tempfile.TemporaryDirectory(prefix="modconsole-bench-") as tmp:
        out = Path(tmp) / "report.json"
        argv = ["--out", str(out)] + (["--quick", "--entries", "3000", "--runs", "1"] if quick else [])
        with contextlib.redirect_stdout(sys.stderr):  # its own table: the rows come into this one
            bench_report.main(argv)  # its exit status says whether its target was met; the rows say so too
        rows: list[dict[str, Any]] = json.loads(out.read_text())["rows"]
    return rows


def run_one(name: str, args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    if name in ("fanout", "memory"):
        from . import bench_fanout

        return asyncio.run(
            bench_fanout.run(
                args.clients,
                workers=args.workers,
                rounds=args.rounds,
                warmup_rounds=1 if args.quick else 2,
                fanout="fanout" in args.only,
                memory="memory" in args.only,
            )
        )
    if name == "roundtrip":
        from . import bench_roundtrip

        return asyncio.run(bench_roundtrip.run(args.duration, warmup=5 if args.quick else 20))
    if name == "replay":
        from . import bench_replay

        return bench_replay.run(args.replay_entries, repeats=1 if args.quick else 5)
    if name == "report":
        return {"report": run_report(args.quick)}
    if name == "tui":
        from . import bench_tui

        return bench_tui.run(args.trials)
    if name == "shared":
        from . import bench_shared

        return asyncio.run(
            bench_shared.run(
                clients=args.shared_clients,
                processes=max(2, args.processes),
                rounds=args.rounds,
                consoles=args.consoles,
                duration_rounds=20 if args.quick else 200,
            )
        )
    if name == "votes":
        from . import bench_votes

        if args.quick:
            return asyncio.run(bench_votes.run(votes=100, questions=20, voters=25, watchers=10))
        return asyncio.run(bench_votes.run())
    if name == "timer":
        from . import bench_timer

        return asyncio.run(bench_timer.run(args.duration))
    if name in ("page", "views"):
        from . import bench_pages

        return bench_pages.run(args, name)
    if name == "burst":
        from . import bench_burst

        return asyncio.run(bench_burst.run(args.participants, args.raises, args.workers))
    raise ValueError(name)


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.1f}"


def table(results: dict[str, Any]) -> str:
    lines = [
        f"{'benchmark':<10} {'case':<46} {'figure':<13} {'value':>10} {'baseline':>10} {'ratio':>7} {'unit':<4} target"
    ]
    for name, bench in results.items():
        for item in bench["rows"]:
            first = True
            for figure_name, fig in item["figures"].items():
                target = ""
                if first and item.get("target"):
                    verdict = {True: "met", False: "MISSED", None: ""}[item.get("met")]
                    target = f"{item['target']}: {verdict}"
                lines.append(
                    f"{name if first else '':<10} {item['case'][:46] if first else '':<46} {figure_name:<13} "
                    f"{_number(fig['value']):>10} {_number(fig['baseline']):>10} "
                    f"{_number(fig['ratio']):>7} {fig['unit']:<4} {target}"
                )
                first = False
    return "\n".join(lines)


def markdown(document: dict[str, Any]) -> str:
    """The figures of a results file as a Markdown table (docs/performance.md quotes one)."""
    lines = ["| benchmark | case | figure | value | baseline | ratio | target |", "|---|---|---|---:|---:|---:|---|"]
    for name, bench in document["benchmarks"].items():
        for item in bench["rows"]:
            for index, (figure_name, fig) in enumerate(item["figures"].items()):
                target = ""
                if index == 0 and item.get("target"):
                    target = f"{item['target']}: **{ {True: 'met', False: 'missed', None: ''}[item.get('met')] }**"
                unit = fig["unit"]
                lines.append(
                    f"| {name if index == 0 else ''} | {item['case'] if index == 0 else ''} | {figure_name} "
                    f"| {_number(fig['value'])} {unit} | {_number(fig['baseline'])} {unit} "
                    f"| {_number(fig['ratio'])} | {target} |"
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--markdown"]:  # python -m bench --markdown FILE: print a results file as Markdown
        print(markdown(json.loads(Path(argv[1]).read_text())))
        return 0
    args = parse_args(argv)
    raise_nofile(65536)
    started = time.monotonic()
    results: dict[str, Any] = {}
    failed: list[str] = []
    document: dict[str, Any] = {
        "command": "python -m bench " + shlex.join(argv),
        "machine": machine(),
        "options": {
            "quick": args.quick,
            "clients": args.clients,
            "duration": args.duration,
            "rounds": args.rounds,
            "workers": args.workers,
            "trials": args.trials,
            "replay_entries": args.replay_entries,
            "shared_clients": args.shared_clients,
            "processes": args.processes,
            "consoles": args.consoles,
            "participants": args.participants,
            "raises": args.raises,
        },
    }
    for name in BENCHMARKS:
        if name not in args.only or name in results:
            continue
        before = loadavg()
        t0 = time.monotonic()
        print(f"running {name}…", file=sys.stderr, flush=True)
        error = ""
        try:
            measured = run_one(name, args)
        except Exception:  # one benchmark failing does not lose the others' figures
            failed.append(name)
            error = traceback.format_exc()
            print(error, file=sys.stderr)
            measured = {n: [] for n in (("fanout", "memory") if name in ("fanout", "memory") else (name,))}
        for got_name, rows in measured.items():
            if got_name in args.only:
                results[got_name] = {
                    "rows": rows,
                    "loadavg_before": before,
                    "loadavg_after": loadavg(),
                    "seconds": round(time.monotonic() - t0, 1),
                }
                if error:
                    results[got_name]["error"] = error.strip().splitlines()[-1]
        document |= {
            "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "seconds": round(time.monotonic() - started, 1),
            "benchmarks": {n: results[n] for n in BENCHMARKS if n in results},
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)  # written after each one: a late failure loses nothing
        args.out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table(document["benchmarks"]))
    print(f"\n{document['command']}: {document['seconds']} s; wrote {args.out}", file=sys.stderr)
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
