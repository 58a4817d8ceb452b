"""Restart time: build HallRuntime on a journal holding a 20,000-ticket day.

The day is made with the pure Engine on the bench hall (26 services, open 00:00-23:59):
20,000 tickets issued, most of them called and finished, and the events written with
Journal.append in bulk (durable=False while building). Then the timed part:
`HallRuntime(config, Journal.at_path(path), clock)`, which replays the day. A bare sqlite3
read of every row is timed in the same run as a baseline. Target <= 1 s.

    .venv/bin/python -m benchmarks.bench_restart [--tickets 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import random
import sqlite3
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.common import MONDAY, OUTCOME, at, bench_config, sign_in_all
from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.runtime import HallRuntime
from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.domain.engine import Engine
from controller.settings.hall_config import HallConfig

TARGET_SECONDS = 1.0
BATCH = 2_000


def build_day(
    config: HallConfig, tickets: int, seed: int = 3
) -> tuple[list[ev.Event], Counter[str]]:
    """Events of one busy day: `tickets` issued, about 95% of them called and finished."""
    engine = Engine(config)
    rng = random.Random(seed)
    codes = [s.code for s in config.services]
    needs_outcome = {s.code for s in config.services if s.outcome_required}
    windows = [w.number for w in config.windows]
    # Spread the day's commands over 00:00-23:58: about 3 commands per ticket.
    step = dt.timedelta(seconds=86_000 / (tickets * 3 + 100))
    now = at(MONDAY, "00:00", config) + dt.timedelta(seconds=1)
    events: list[ev.Event] = []
    issued = 0

    def run(command: cmd.Command) -> None:
        nonlocal now
        now += step
        events.extend(engine.handle(command, now).events)

    for command in sign_in_all(config):
        run(command)
    while issued < tickets:
        code = rng.choice(codes)
        if engine.state.sequences[code] >= 999:
            continue
        run(cmd.IssueTicket(code, "priority" if rng.random() < 0.05 else "normal"))
        issued += 1
        if rng.random() < 0.95 or issued == tickets:
            number = rng.choice(windows)
            current = engine.state.windows[number].current
            if current is not None:
                service = engine.state.tickets[current].service
                run(cmd.Finish(number, OUTCOME if service in needs_outcome else None))
            run(cmd.CallNext(number))
    return events, Counter(e.kind for e in events)


def write_journal(path: Path, events: list[ev.Event]) -> None:
    """Append the events in batches, non-durably (speed of building only)."""
    journal = Journal.at_path(path, durable=False)
    try:
        for first in range(0, len(events), BATCH):
            journal.append(events[first : first + BATCH], day=MONDAY)
    finally:
        journal.close()


def time_restart(config: HallConfig, path: Path, clock: ManualClock) -> tuple[float, float, int]:
    """(wall seconds for the whole construction, runtime.restore_seconds, events replayed)."""
    started = time.perf_counter()
    journal = Journal.at_path(path)
    runtime = HallRuntime(config, journal, clock)
    wall = time.perf_counter() - started
    journal.close()
    return wall, runtime.restore_seconds, runtime.restored_events


def time_bare_read(path: Path) -> tuple[float, int]:
    """Seconds for sqlite3 to read every journal row in order, and the row count."""
    started = time.perf_counter()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT seq, day, at, kind, payload FROM journal_event ORDER BY seq")
        count = len(rows.fetchall())
    return time.perf_counter() - started, count


def main() -> None:
    """Build the journal in a temp dir, time the restarts and the baseline, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=20_000, help="tickets in the day")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed restarts; best and worst shown"
    )
    args = parser.parse_args()
    if args.tickets > 26 * 999:
        parser.error("the bench hall issues at most 25974 tickets a day")
    config = bench_config()
    events, kinds = build_day(config, args.tickets)
    with tempfile.TemporaryDirectory(prefix="hall-bench-") as name:
        path = Path(name) / "hall.db"
        write_journal(path, events)
        size = sum(p.stat().st_size for p in Path(name).iterdir())
        print(f"restart: {len(events)} events in the journal ({size / 1e6:.1f} MB), bench hall")
        print("  " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))
        clock = ManualClock(events[-1].at + dt.timedelta(seconds=1))
        bare_runs = [time_bare_read(path) for _ in range(args.repeat)]
        runs = [time_restart(config, path, clock) for _ in range(args.repeat)]
    bare = min(s for s, _ in bare_runs)
    wall, restore, replayed = min(runs)
    verdict = "met" if wall <= TARGET_SECONDS else "MISSED"
    print(f"\nrestart (Journal.at_path + HallRuntime)  {wall:7.3f} s   best of {args.repeat}")
    print(f"  of which journal read + replay         {restore:7.3f} s   (runtime.restore_seconds)")
    print(f"  events replayed                        {replayed:>7}")
    print(f"  slowest run                            {max(r[0] for r in runs):7.3f} s")
    print(f"bare sqlite3 read of {bare_runs[0][1]} rows       {bare:7.3f} s")
    print(f"restart / bare read = {wall / bare:.1f}x")
    print(f"ratio to target {TARGET_SECONDS:.0f} s: {wall / TARGET_SECONDS:.2f} ({verdict})")
    print(f"replay rate: {replayed / restore:,.0f} events/s")


if __name__ == "__main__":
    main()
