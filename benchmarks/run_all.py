"""Run every benchmark one after the other, small sizes by default (a quick look, ~6 minutes).

Quick sizes:        .venv/bin/python -m benchmarks.run_all
Full default sizes: .venv/bin/python -m benchmarks.run_all --full   (a few minutes)
One of them:        .venv/bin/python -m benchmarks.run_all bench_restart
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from benchmarks.common import ROOT

QUICK: list[tuple[str, list[str]]] = [
    ("bench_journal_latency", ["--commands", "2000"]),
    ("bench_engine_throughput", ["--commands", "20000", "--repeat", "2"]),
    ("bench_restart", ["--tickets", "5000", "--repeat", "2"]),
    ("bench_rss", ["--seconds", "15"]),
    ("bench_kiosk_print", ["--tickets", "100"]),
    ("bench_led_strip_latency", ["--calls", "100"]),
    ("bench_voice_latency", ["--calls", "100"]),
    ("bench_screen_latency", ["--calls", "60"]),
    ("bench_keypad_mqtt", ["--presses", "200"]),
    ("bench_keypad_serial", ["--presses", "60"]),
    ("bench_satisfaction_ingest", ["--ratings", "5000"]),
    ("bench_dashboard_latency", ["--events", "20", "--browsers", "0"]),
    ("bench_hostile_load", ["--tickets", "100"]),
    ("bench_http_api", ["--requests", "200", "--seconds", "2", "--rounds", "2"]),
    ("bench_request_path", ["--waiting", "1000", "--issue", "500", "--calls", "500"]),
]


def main() -> int:
    """Run each benchmark as its own process; returns non-zero if any of them failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="use each benchmark's full defaults")
    parser.add_argument("only", nargs="*", help="run only these (e.g. bench_restart)")
    args = parser.parse_args()
    failed: list[str] = []
    for name, quick_args in QUICK:
        if args.only and name not in args.only:
            continue
        extra = [] if args.full else quick_args
        print(f"\n=== {name} {' '.join(extra)}".rstrip(), flush=True)
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", f"benchmarks.{name}", *extra], cwd=ROOT, check=False
        )
        print(f"=== {name}: exit {result.returncode}, {time.perf_counter() - started:.1f} s")
        if result.returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
