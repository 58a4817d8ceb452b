"""Call -> LED strip frame fully received by a simulated strip over a real pty at 9600 baud.

A HallRuntime (example hall, non-durable journal) with one LED bus: 12 window strips on one
simulated line (a pty paced at 9600 baud, 10 bits a byte). Windows 1-3 call in turn; each
sample runs from just before `runtime.execute(CallNext)` to the moment the SHOW_CALL frame's
last byte reached the strip. The frame's own wire time (25-26 bytes = 26-27 ms) is the in-run
baseline and is subtracted: what is left is the controller's share (engine, journal, hub,
subscriber, bus queue, pty). Two phases: probes off (a quiet line) and the default probe
settings (5 s period, probes of answering strips within 0.5 % of the line's time: a call may
wait behind a STATUS exchange in flight). Target: p99 <= 10 ms.

    .venv/bin/python -m benchmarks.bench_led_strip_latency [--calls 300] [--probe-seconds 5]
        [--probe-line-share 0.005]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from benchmarks.common import MONDAY, at, example_config, ms, percentile
from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.runtime import HallRuntime
from controller.app.subscribers.latest_state import LatestState
from controller.app.subscribers.led_strips import LedStripSubscriber
from controller.domain import commands as cmd
from devices.led.led_bus import LedBus
from devices.led.led_config import LedBusConfig, LedStripConfig
from devices.led.sim_led_strip import SimLedStrip, SimulatedLedBus
from devices.rs485.master_line import QUIET_CHARS
from firmware_protocols.hall_bus.hall_bus import wire_seconds
from firmware_protocols.led.led_strip import ShowCall, request_frame

TARGET_SECONDS = 0.010
BAUD = 9600
CALLING = {1: ("S0101", "SB"), 2: ("S0201", "SB"), 3: ("S0301", "YB")}
STRIPS = 12
STAFF_NAMES = {1: "周文", 2: "郑海", 3: "冯晨"}  # the A staff of windows 1-3 in the example hall
PROBE_BYTES = 11 + 17  # STATUS query and its 6-byte reply
DEFAULT_LINE_SHARE = LedBusConfig.model_fields["probe_line_share"].default


@dataclass
class Phase:
    """Samples of one phase, in seconds."""

    name: str
    received: list[float] = field(default_factory=list)  # last byte on the wire, minus wire time
    handled: list[float] = field(default_factory=list)  # the strip's thread had it decoded
    execute: list[float] = field(default_factory=list)  # runtime.execute alone
    probes: int = 0  # STATUS probes sent while the calls ran
    retries: int = 0  # resent frames while the calls ran
    seconds: float = 0.0  # how long the calls ran


def _shows(strip: SimLedStrip, text: str) -> bool:
    return text in strip.text


def _is_call(request: object, number: str) -> bool:
    return isinstance(request, ShowCall) and request.number == number


def _has_call(strip: SimLedStrip, number: str, after: int) -> bool:
    return any(_is_call(e.request, number) for e in strip.executed[after:])


def _counts(bus: LedBus) -> tuple[int, int]:
    healths = [display.health() for display in bus.displays]
    return sum(h.probes for h in healths), sum(h.retries for h in healths)


def run_phase(
    name: str, calls: int, gap: float, *, probe_seconds: float, share: float, directory: Path
) -> Phase:
    """Run `calls` calls through a fresh hall and LED bus; returns the samples."""
    config = example_config()
    clock = ManualClock(at(MONDAY, "09:00", config))
    journal = Journal.at_path(directory / f"{name}.db", durable=False)
    runtime = HallRuntime(config, journal, clock)
    phase = Phase(name)
    rng = random.Random(7)
    with SimulatedLedBus(baudrate=BAUD, link=directory / f"led-{name}") as line:
        sims = {n: line.add_strip(n) for n in range(1, STRIPS + 1)}
        strips = [LedStripConfig(address=n, window=n) for n in sims]
        bus_config = LedBusConfig(
            id="bench",
            url=line.url,
            baudrate=BAUD,
            probe_seconds=probe_seconds,
            probe_line_share=share,
            strips=strips,
        )
        latest = LatestState(runtime.state_snapshot())
        with LedBus(bus_config, latest) as bus:
            subscriber = LedStripSubscriber(bus.displays, latest)
            runtime.hub.subscribe_with_state("led", subscriber.handle)
            for window, (staff, _) in CALLING.items():
                runtime.execute(cmd.SignIn(window, staff, "A"))
            for service, count in (("SB", 295), ("YB", 195)):  # within the daily quotas
                for _ in range(count):
                    runtime.execute(cmd.IssueTicket(service))
            # Start once every strip shows the signed-in hall: no resync left in the queue.
            for window, strip in sims.items():
                name = STAFF_NAMES.get(window, "暂停服务")
                strip.wait_until(partial(_shows, text=name), timeout=30)
            probes, retries = _counts(bus)
            began = time.monotonic()
            for i in range(calls):
                window = 1 + i % 3
                sim = sims[window]
                before = len(sim.executed)
                clock.advance(30)
                started = time.monotonic()
                reply = runtime.execute(cmd.CallNext(window))
                phase.execute.append(time.monotonic() - started)
                if not reply.accepted:
                    raise SystemExit(f"call at window {window} refused: {reply.result}")
                number = reply.result["number"]
                sim.wait_until(partial(_has_call, number=number, after=before), timeout=5)
                done = next(e for e in sim.executed[before:] if _is_call(e.request, number))
                wire = wire_seconds(len(request_frame(done.request, window, 0).encode()), BAUD)
                phase.received.append(done.at - started - wire)
                phase.handled.append(done.handled - started - wire)
                time.sleep(gap * rng.uniform(0.5, 1.5))  # let the ACK come back; calls apart
            phase.seconds = time.monotonic() - began
            probes_after, retries_after = _counts(bus)
            phase.probes, phase.retries = probes_after - probes, retries_after - retries
    runtime.hub.stop()
    journal.close()
    return phase


def report(phases: list[Phase], frame_bytes: int) -> None:
    """Print p50/p99/max per phase and the verdict on the quiet and default phases."""
    wire = wire_seconds(frame_bytes, BAUD)
    print(f"SHOW_CALL frame: {frame_bytes} bytes = {ms(wire).strip()} on the wire at {BAUD} baud")
    probe = wire_seconds(PROBE_BYTES + QUIET_CHARS, BAUD)
    print(
        f"one STATUS probe exchange: {PROBE_BYTES} bytes = {ms(probe).strip()} (a call may wait that)"
    )
    print(f"{'':<34} {'count':>6} {'p50':>11} {'p99':>11} {'max':>11}")
    for phase in phases:
        for label, values in (
            ("received - wire", phase.received),
            ("decoded by strip - wire", phase.handled),
            ("runtime.execute alone", phase.execute),
        ):
            ordered = sorted(values)
            print(
                f"{phase.name + ': ' + label:<34} {len(ordered):>6} {ms(percentile(ordered, 0.5))} "
                f"{ms(percentile(ordered, 0.99))} {ms(ordered[-1])}"
            )
    for phase in phases:
        share = phase.probes * probe / phase.seconds
        print(
            f"{phase.name}: {phase.probes} probes in {phase.seconds:.1f} s "
            f"(~{share:.1%} of the line), {phase.retries} resent frames"
        )
    for phase in phases:
        p99 = percentile(sorted(phase.received), 0.99)
        verdict = "met" if p99 <= TARGET_SECONDS else "MISSED"
        print(
            f"{phase.name}: p99 (received - wire) = {ms(p99).strip()} (target <= 10 ms: {verdict})"
        )


def main() -> None:
    """Parse options, run both phases in a temporary directory, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--calls", type=int, default=300, help="calls per phase, at most 300 (default 300)"
    )
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between calls (±50 %%)")
    parser.add_argument(
        "--probe-seconds", type=float, default=5.0, help="probe period of the second phase (5)"
    )
    parser.add_argument(
        "--probe-line-share",
        type=float,
        default=DEFAULT_LINE_SHARE,
        help=f"share of the line for probes of answering displays ({DEFAULT_LINE_SHARE})",
    )
    args = parser.parse_args()
    if not 1 <= args.calls <= 300:
        parser.error("--calls must be 1-300 (the example hall's daily quotas)")
    frame_bytes = len(request_frame(ShowCall("A001", "1号窗口", 5), 1, 0).encode())
    with tempfile.TemporaryDirectory(prefix="hall-bench-") as name:
        directory = Path(name)
        print(f"LED strip latency: {args.calls} calls per phase, {STRIPS} strips on one line")
        started = time.perf_counter()
        phases = [
            run_phase(
                "quiet", args.calls, args.gap, probe_seconds=600.0, share=1.0, directory=directory
            ),
            run_phase(
                "probing",
                args.calls,
                args.gap,
                probe_seconds=args.probe_seconds,
                share=args.probe_line_share,
                directory=directory,
            ),
        ]
        print(f"(ran in {time.perf_counter() - started:.1f} s)\n")
        report(phases, frame_bytes)


if __name__ == "__main__":
    main()
