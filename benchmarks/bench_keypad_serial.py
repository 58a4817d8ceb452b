"""RS-485 keypad press -> recognised by the controller's handler, 32 keypads on one pty at 38,400 baud.

A `SerialKeypadBus` (default timings: poll interval 50 ms, reply timeout 100 ms) polls 32
simulated keypads (`SimulatedKeypadLine`, a pty paced at the baud rate, 10 bits a byte, keypads
answering 1 ms after a request). Presses go to random keypads at random moments (exponential
gaps, mean `--gap`); each sample runs from `press()` to the handler being called with it (the
handler answers at once, so the figure is the bus's, not the engine's). A press waits for its
keypad's turn, so the expected latency is U(0, cycle) + the EVENT's wire time. Baselines from
the same run: the idle poll cycle's wire time (computed from the frame sizes), the cycle
measured from the bus's own poll count (idle, and while pressing: each press adds an EVENT and
an answering POLL), the EVENT's wire time, and a bare unpaced pty write -> read of the EVENT's
bytes. Ratios are printed against the measured cycle; nothing is asserted.

    .venv/bin/python -m benchmarks.bench_keypad_serial [--presses 200] [--gap 0.12] [--baud 38400]
"""

from __future__ import annotations

import argparse
import os
import random
import select
import tempfile
import threading
import time
import tty
from pathlib import Path

from benchmarks.common import ms, percentile
from devices.keypad.keypad import KeypadAnswer, KeypadPress
from devices.keypad.keypad_serial import SerialKeypadBus
from devices.keypad.serial_config import KeypadBusConfig
from devices.keypad.sim_keypad_serial import REPLY_SECONDS, SimulatedKeypadLine
from devices.rs485.master_line import QUIET_CHARS
from firmware_protocols.hall_bus.hall_bus import Frame, wire_seconds
from firmware_protocols.keypad.keypad_serial import (
    FN_EVENT,
    EventReply,
    KeypadStatus,
    NoEventReply,
    Poll,
    Press,
    request_frame,
)

KEYPADS = 32
WARMUP_SECONDS = 1.0
IDLE_SECONDS = 3.0  # the cycle measured with nobody pressing


class _Recorder:
    """The handler: notes when each press arrives, answers at once."""

    def __init__(self) -> None:
        self.arrived: dict[tuple[str, int], float] = {}
        self.changed = threading.Condition()

    def __call__(self, press: KeypadPress) -> KeypadAnswer:
        now = time.monotonic()
        with self.changed:
            self.arrived.setdefault((press.device_id, press.seq), now)
            self.changed.notify_all()
        return KeypadAnswer(True, "ok", "请A001号到3号窗口", "A001")

    def wait(self, key: tuple[str, int], timeout: float = 10.0) -> float:
        """When press `key` reached the handler."""
        with self.changed:
            if not self.changed.wait_for(lambda: key in self.arrived, timeout):
                raise SystemExit(f"press {key} never reached the handler")
            return self.arrived[key]


def measure(presses: int, gap: float, baud: int, directory: Path) -> dict[str, object]:
    """Press `presses` times; latencies, the measured cycle and the poll count."""
    recorder = _Recorder()
    rng = random.Random(32)
    with SimulatedKeypadLine(baudrate=baud, link=directory / "keypads") as line:
        sims = [line.add_keypad(a, window=a) for a in range(1, KEYPADS + 1)]
        config = KeypadBusConfig(
            id="bench", url=line.url, baudrate=baud, keypads={a: a for a in range(1, KEYPADS + 1)}
        )
        with SerialKeypadBus(config, recorder) as bus:
            time.sleep(WARMUP_SECONDS)  # every keypad found and identified
            idle_polls = _polls(bus)
            time.sleep(IDLE_SECONDS)
            idle_cycle = IDLE_SECONDS / ((_polls(bus) - idle_polls) / KEYPADS)
            polls_before = _polls(bus)
            started = time.monotonic()
            pending: list[tuple[tuple[str, int], float]] = []
            for _ in range(presses):
                time.sleep(rng.expovariate(1 / gap))
                sim = rng.choice(sims)
                at = time.monotonic()
                press = sim.press("next")
                pending.append(((config.device_id(sim.address), press.seq), at))
            latencies = [recorder.wait(key) - at for key, at in pending]
            elapsed = time.monotonic() - started
            polls = _polls(bus) - polls_before
            presses_seen = sum(bus.counters(a)["presses"] for a in range(1, KEYPADS + 1))
    # Each press costs its keypad one extra poll (the answer), which is not a cycle's.
    cycle = elapsed / max(1.0, (polls - presses_seen) / KEYPADS)
    return {"latencies": latencies, "cycle": cycle, "idle_cycle": idle_cycle, "polls": polls}


def _polls(bus: SerialKeypadBus) -> int:
    return sum(bus.counters(a)["polls"] for a in range(1, KEYPADS + 1))


def bare_pty(data: bytes, repeat: int = 200) -> list[float]:
    """Seconds for `data` written to a raw pty's master end to be read whole at the slave end."""
    master, slave = os.openpty()
    tty.setraw(slave)
    found = []
    try:
        for _ in range(repeat):
            started = time.monotonic()
            os.write(master, data)
            got = b""
            while len(got) < len(data):
                select.select([slave], [], [], 1.0)
                got += os.read(slave, 4096)
            found.append(time.monotonic() - started)
    finally:
        os.close(master)
        os.close(slave)
    return found


def report(result: dict[str, object], baud: int, bare: list[float]) -> None:
    """Print the figures, the baselines and the ratios."""
    latencies = sorted(result["latencies"])  # type: ignore[call-overload]
    cycle = float(result["cycle"])  # type: ignore[arg-type]
    idle_cycle = float(result["idle_cycle"])  # type: ignore[arg-type]
    status = KeypadStatus(0x5F1C9A20)
    poll_bytes = len(request_frame(Poll(), 1, 0).encode())
    idle_bytes = len(Frame(1, 0x62, 0, NoEventReply(status).encode(), reply=True).encode())
    event = EventReply(status, Press(0x5F1C9A20, 1, "next"))
    event_data = Frame(1, FN_EVENT, 0, event.encode(), reply=True).encode()
    per_keypad = wire_seconds(poll_bytes + idle_bytes + QUIET_CHARS, baud) + REPLY_SECONDS
    wire_cycle = KEYPADS * per_keypad
    event_wire = wire_seconds(len(event_data), baud)
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    bare_sorted = sorted(bare)
    print(f"RS-485 keypads: {KEYPADS} on one pty line at {baud} baud, {len(latencies)} presses")
    print(f"  press -> handler          p50 {ms(p50)}  p99 {ms(p99)}  max {ms(latencies[-1])}")
    print(
        f"  baseline: idle poll cycle on the wire {ms(wire_cycle)}"
        f" ({poll_bytes} + {idle_bytes} bytes + {QUIET_CHARS} chars + 1 ms a keypad)"
    )
    print(f"  baseline: idle poll cycle measured   {ms(idle_cycle)} (nobody pressing)")
    print(f"  baseline: poll cycle while pressing  {ms(cycle)} ({result['polls']} polls)")
    print(f"  baseline: EVENT wire time            {ms(event_wire)} ({len(event_data)} bytes)")
    print(
        f"  baseline: bare pty write -> read     p50 {ms(percentile(bare_sorted, 0.5))}"
        f"  p99 {ms(percentile(bare_sorted, 0.99))} (same {len(event_data)} bytes, unpaced)"
    )
    expect50, expect99 = cycle / 2 + event_wire, 0.99 * cycle + event_wire
    print(
        f"  p50 / (cycle/2 + EVENT) = {p50 / expect50:.2f}x;"
        f"  p99 / (0.99 cycle + EVENT) = {p99 / expect99:.2f}x;"
        f"  idle measured / wire cycle = {idle_cycle / wire_cycle:.2f}x"
    )


def main() -> None:
    """Command line: --presses N --gap SECONDS --baud B."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.12, help="mean seconds between presses")
    parser.add_argument("--baud", type=int, default=38_400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hall-bench-") as name:
        started = time.perf_counter()
        result = measure(args.presses, args.gap, args.baud, Path(name))
        event = EventReply(KeypadStatus(1), Press(1, 1, "next"))
        bare = bare_pty(Frame(1, FN_EVENT, 0, event.encode(), reply=True).encode())
        print(f"(ran in {time.perf_counter() - started:.1f} s)\n")
    report(result, args.baud, bare)


if __name__ == "__main__":
    main()
