"""A stuck keypad key: what a burst costs the journal with the press limit, and without it.

A key stuck down at 220 presses a second (the rate seen on a faulty keypad) through the real
`KeypadDispatcher` into a `HallRuntime` on a durable file journal (WAL, synchronous=FULL). The
presses come on a virtual clock (so `--seconds` of stuck key run as fast as the hall takes
them); the journal writes are real. Printed for the default `[keypads.press_limit]` and with
the limit lifted: presses journaled, journal growth in bytes, wall time per press, and the
growth an hour of stuck key would cause without the limit (with it, a key stuck for good is
one burst: one row, whatever the duration).

    .venv/bin/python -m benchmarks.bench_stuck_keypad [--seconds 5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.common import MONDAY, at, example_config
from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.keypad_intake import PRESS_RATE_LIMITED, KeypadDispatcher
from controller.app.runtime import HallRuntime
from controller.settings.config_sections import PressLimitConfig
from devices.keypad.keypad import KeypadKey, KeypadPress

RATE = 220  # presses a second from a stuck key


def stuck(seconds: float, limit: PressLimitConfig | None, tmp: Path) -> dict[str, float]:
    """Run `seconds` of stuck key; the figures of the run."""
    config = example_config()
    if limit is not None:
        keypads = config.keypads.model_copy(update={"press_limit": limit})
        config = config.model_copy(update={"keypads": keypads})
    path = tmp / "hall.db"
    clock = ManualClock(at(MONDAY, "09:00", config))
    opened = HallRuntime(config, Journal.at_path(path, durable=True), clock)
    opened.hub.stop()
    opened.journal.close()
    before = _size(path)  # the day opened, checkpointed: the baseline
    runtime = HallRuntime(config, Journal.at_path(path, durable=True), clock)
    virtual = [0.0]
    dispatch = KeypadDispatcher(runtime, clock=lambda: virtual[0])
    presses = int(seconds * RATE)
    dropped = 0
    started = time.perf_counter()
    try:
        for seq in range(1, presses + 1):
            answer = dispatch(KeypadPress("kp-03", "boot", seq, 3, KeypadKey.RECALL, raw="recall"))
            dropped += answer.code == PRESS_RATE_LIMITED
            virtual[0] += 1 / RATE
        wall = time.perf_counter() - started
        journaled = runtime.journal.count()
    finally:
        runtime.hub.stop()
        runtime.journal.close()
    grown = _size(path) - before
    return {
        "presses": presses,
        "dropped": dropped,
        "journaled": journaled,
        "grown": grown,
        "per_press": wall / presses,
        "per_hour": grown / seconds * 3600,
    }


def _size(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))


def main() -> None:
    """Command line: --seconds N of stuck key without the limit (twelve times that with it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    lifted = PressLimitConfig(max_presses=1000, per_seconds=0.001)
    runs = (
        ("default press limit (20 in 10 s)", None, args.seconds * 12),
        ("limit lifted", lifted, args.seconds),
    )
    for title, limit, seconds in runs:
        with tempfile.TemporaryDirectory() as tmp:
            found = stuck(seconds, limit, Path(tmp))
        print(f"{title}: {found['presses']:.0f} presses in {seconds:g} s of stuck key")
        print(
            f"  journaled rows {found['journaled']:.0f}, dropped {found['dropped']:.0f}, "
            f"journal +{found['grown'] / 1024:.0f} KiB, {found['per_press'] * 1e3:.3f} ms a press"
        )
        if limit is not None:
            print(f"  an hour at this rate: +{found['per_hour'] / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
