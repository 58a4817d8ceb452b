"""Engine-only throughput: commands/s of the pure Engine (no journal, no runtime, no I/O).

A seeded mix of issue / call-next / finish / recall at 26 staffed windows is recorded once
(the mix reads the engine's state to stay realistic), then replayed on a fresh Engine
with the same manual times, and only that replay is timed. Target >= 20,000 commands/s.
A trivial dict-update loop of the same length runs in the same process as a baseline.

    .venv/bin/python -m benchmarks.bench_engine_throughput [--commands 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import time
from collections import Counter

from benchmarks.common import MONDAY, CommandMix, at, bench_config, drive, sign_in_all
from controller.domain import commands as cmd
from controller.domain.engine import Engine
from controller.settings.hall_config import HallConfig

TARGET = 20_000.0
STEP_SECONDS = 2.0

Script = list[tuple[cmd.Command, dt.datetime]]


def record(config: HallConfig, commands: int) -> tuple[Script, Counter[str]]:
    """The command script: sign-ins, then `commands` mixed commands; and what each did."""
    engine = Engine(config)
    start = at(MONDAY, "07:59", config)
    script: Script = [(c, start) for c in sign_in_all(config)]
    for command, now in script:
        engine.handle(command, now)
    outcomes: Counter[str] = Counter()
    mix = CommandMix(config, seed=5)
    begin = start + dt.timedelta(minutes=1)
    for command, now, decision in drive(
        mix,
        lambda: engine.state,
        engine.handle,
        start=begin,
        commands=commands,
        step_seconds=STEP_SECONDS,
    ):
        script.append((command, now))
        assert decision is not None
        name = type(command).__name__
        outcomes[name if decision.rejection is None else f"{name}:{decision.rejection.reason}"] += 1
    return script, outcomes


def time_engine(config: HallConfig, script: Script) -> float:
    """Seconds to replay the script on a fresh engine."""
    engine = Engine(config)
    handle = engine.handle
    gc.collect()
    started = time.perf_counter()
    for command, now in script:
        handle(command, now)
    return time.perf_counter() - started


def time_baseline(iterations: int) -> float:
    """Seconds for a trivial loop of dict updates, one per iteration."""
    counts: dict[int, int] = {}
    started = time.perf_counter()
    for i in range(iterations):
        key = i & 63
        counts[key] = counts.get(key, 0) + i
    return time.perf_counter() - started


def main() -> None:
    """Record the script, time the engine and the baseline, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=100_000, help="default 100000")
    parser.add_argument("--repeat", type=int, default=3, help="timed replays; best kept")
    args = parser.parse_args()
    config = bench_config()
    script, outcomes = record(config, args.commands)
    days = (script[-1][1].date() - MONDAY).days + 1
    print(f"engine throughput: {len(script)} commands over {days} hall day(s), bench hall")
    print("  mix: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    engine_runs = [time_engine(config, script) for _ in range(args.repeat)]
    base_runs = [time_baseline(len(script)) for _ in range(args.repeat)]
    engine_s, base_s = min(engine_runs), min(base_runs)
    rate = len(script) / engine_s
    base_rate = len(script) / base_s
    print(f"\nengine    {rate:>12,.0f} commands/s  ({engine_s * 1e6 / len(script):.1f} us each)")
    print(
        f"baseline  {base_rate:>12,.0f} dict updates/s  ({base_s * 1e9 / len(script):.0f} ns each)"
    )
    print(f"engine command = {base_rate / rate:,.0f} baseline iterations")
    verdict = "met" if rate >= TARGET else "MISSED"
    print(f"ratio to target {TARGET:,.0f}/s: {rate / TARGET:.2f}x ({verdict})")
    print("  all runs (commands/s): " + ", ".join(f"{len(script) / s:,.0f}" for s in engine_runs))


if __name__ == "__main__":
    main()
