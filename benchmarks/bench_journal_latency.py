"""Durable command latency through HallRuntime.execute, beside a bare SQLite WAL commit.

Each command goes through the real runtime on a file journal (WAL, synchronous=FULL), so
its events are on disk before `execute` returns. After every command one bare sqlite3
commit (WAL, synchronous=FULL, one small INSERT) runs in the same directory, so both see
the same disk at the same moment. Target: p99 of a durable command <= 3x the bare p99.

    .venv/bin/python -m benchmarks.bench_journal_latency [--commands 10000]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from benchmarks.common import (
    MONDAY,
    CommandMix,
    at,
    bench_config,
    ms,
    percentile,
    sign_in_all,
)
from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.runtime import HallRuntime
from controller.domain import commands as cmd
from controller.domain.engine import Decision

TARGET_RATIO = 3.0
STEP_SECONDS = 2.0
# About the size of a journaled TicketIssued row.
BARE_PAYLOAD = "x" * 300


class BareCommit:
    """One small INSERT + COMMIT per call on its own WAL, synchronous=FULL database."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")

    def commit_one(self) -> float:
        """Seconds for one durable transaction."""
        started = time.perf_counter()
        self.conn.execute("BEGIN")
        self.conn.execute("INSERT INTO t (payload) VALUES (?)", (BARE_PAYLOAD,))
        self.conn.execute("COMMIT")
        return time.perf_counter() - started

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


def _label(command: cmd.Command, decision: Decision | None) -> str:
    if decision is None or not decision.events:
        return "no-write"  # refused or no-op: nothing journaled
    if isinstance(command, cmd.IssueTicket):
        return "issue"
    if isinstance(command, cmd.CallNext | cmd.Recall):
        return "call"
    return "finish"


def run(commands: int, directory: Path) -> dict[str, list[float]]:
    """Run the mixed workload; returns sorted latencies per label (and "bare")."""
    config = bench_config()
    start = at(MONDAY, "08:00", config)
    clock = ManualClock(start)
    journal = Journal.at_path(directory / "hall.db", durable=True)
    runtime = HallRuntime(config, journal, clock)
    bare = BareCommit(directory / "bare.db")
    for command in sign_in_all(config):
        runtime.execute(command)
    for _ in range(50):  # warm up both paths (connections, page cache)
        bare.commit_one()
    mix = CommandMix(config, seed=11)
    samples: dict[str, list[float]] = defaultdict(list)
    try:
        for _ in range(commands):
            clock.advance(STEP_SECONDS)
            command = mix.next(runtime.engine.state)
            started = time.perf_counter()
            reply = runtime.execute(command)
            elapsed = time.perf_counter() - started
            samples[_label(command, reply.decision)].append(elapsed)
            samples["bare"].append(bare.commit_one())
    finally:
        bare.close()
        journal.close()
    samples["durable"] = samples["issue"] + samples["call"] + samples["finish"]
    return {k: sorted(v) for k, v in samples.items()}


def report(samples: dict[str, list[float]]) -> None:
    """Print p50/p99 per kind and the p99 ratios to the bare commit."""
    bare_p50, bare_p99 = percentile(samples["bare"], 0.5), percentile(samples["bare"], 0.99)
    head = f"{'':<10} {'count':>6} {'p50':>11} {'p99':>11} {'max':>11}"
    print(f"{head} {'p50/bare':>9} {'p99/bare':>9}")
    for label in ("bare", "issue", "call", "finish", "durable", "no-write"):
        values = samples.get(label, [])
        if not values:
            continue
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        print(
            f"{label:<10} {len(values):>6} {ms(p50)} {ms(p99)} {ms(values[-1])} "
            f"{p50 / bare_p50:>8.2f}x {p99 / bare_p99:>8.2f}x"
        )
    ratio = percentile(samples["durable"], 0.99) / bare_p99
    worst = max(percentile(samples[k], 0.99) for k in ("issue", "call") if samples.get(k))
    verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
    print(
        f"\ndurable p99 / bare p99 = {ratio:.2f}x (target <= {TARGET_RATIO:.0f}x: {verdict}); "
        f"worst of issue/call p99 = {worst / bare_p99:.2f}x"
    )


def main() -> None:
    """Parse options, run in a temporary directory, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=10_000, help="commands (default 10000)")
    parser.add_argument("--dir", type=Path, help="where to make the temp dir (default: $TMPDIR)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hall-bench-", dir=args.dir) as name:
        directory = Path(name)
        print(f"journal latency: {args.commands} commands in {directory} (bench hall, 26 windows)")
        started = time.perf_counter()
        samples = run(args.commands, directory)
        print(f"(ran in {time.perf_counter() - started:.1f} s)\n")
        report(samples)


if __name__ == "__main__":
    main()
