"""Helpers for LED tests: a running hall wired to LED buses and simulated strips on real ptys."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controller.app.clock import ManualClock
from controller.app.hub import SubscriberHealth
from controller.app.journal import Journal
from controller.app.runtime import HallRuntime
from controller.app.subscribers.latest_state import LatestState
from controller.app.subscribers.led_strips import LedStripSubscriber
from controller.domain import commands as cmd
from controller.settings.hall_config import HallConfig
from devices.led.led_bus import LedBus
from devices.led.led_config import LedBusConfig, LedStripConfig
from devices.led.sim_led_strip import SimulatedLedBus
from tests.conftest import hall_time

BAUD = 38_400  # paced like a real line, but quicker than 9600 so that tests stay short
PROBE_SECONDS = 0.2
PROBE_LINE_SHARE = 0.05  # displays that answer are probed at ~0.2 s at 38400 baud too
REPLY_TIMEOUT = 0.05
BOARD_ADDRESS = 20


def wait_until(check: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    """Poll `check` until it holds; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout} s: {what or check}")
        time.sleep(0.01)


def strip_config(window: int | str, address: int | None = None, **changes: Any) -> LedStripConfig:
    """A strip above `window` (address = window number unless given), or the board."""
    if window == "board":
        values: dict[str, Any] = {"address": address or BOARD_ADDRESS, "window": "board"}
        values |= {"lines": 4, "columns": 32}
    else:
        values = {"address": address or window, "window": window}
    return LedStripConfig(**(values | changes))


def bus_config(bus_id: str, url: str, strips: list[LedStripConfig], **changes: Any) -> LedBusConfig:
    """A bus with the tests' quick timings."""
    values: dict[str, Any] = {
        "id": bus_id,
        "url": url,
        "baudrate": BAUD,
        "reply_timeout_seconds": REPLY_TIMEOUT,
        "retries": 2,
        "probe_seconds": PROBE_SECONDS,
        "probe_line_share": PROBE_LINE_SHARE,
        "strips": strips,
    }
    return LedBusConfig(**(values | changes))


@dataclass
class LedHall:
    """A running hall (manual clock) with LED buses subscribed to its hub."""

    runtime: HallRuntime
    clock: ManualClock
    buses: dict[str, LedBus] = field(default_factory=dict)
    lines: dict[str, SimulatedLedBus] = field(default_factory=dict)
    subscriber: LedStripSubscriber | None = None
    health: SubscriberHealth | None = None

    def run(self, command: cmd.Command) -> dict[str, Any]:
        """Execute a command a few seconds later; its reply body (200 expected)."""
        self.clock.advance(5)
        reply = self.runtime.execute(command)
        assert reply.accepted, reply.result
        return reply.result

    def alerts(self, kind: str = "led_strip_offline") -> list[str]:
        """Messages of the snapshot's alerts of `kind`."""
        return [a["message"] for a in self.runtime.snapshot()["alerts"] if a["kind"] == kind]

    def sim(self, bus_id: str, address: int) -> Any:
        """The simulated display at `address` on line `bus_id`."""
        return self.lines[bus_id].strip(address)


@contextmanager
def led_hall(
    config: HallConfig,
    tmp_path: Path,
    layout: dict[str, list[LedStripConfig]],
    **bus_changes: Any,
) -> Iterator[LedHall]:
    """A hall at Monday 09:00 whose buses (one simulated line each, behind a symlink) all run."""
    clock = ManualClock(hall_time("09:00"))
    runtime = HallRuntime(config, Journal.at_path(tmp_path / "hall.db", durable=False), clock)
    hall = LedHall(runtime, clock)
    latest = LatestState(runtime.state_snapshot())
    with ExitStack() as stack:
        for bus_id, strips in layout.items():
            line = SimulatedLedBus(baudrate=BAUD, link=tmp_path / f"led-{bus_id}")
            stack.enter_context(line)
            for strip in strips:
                board = strip.window == "board"
                line.add_strip(strip.address, board=board, lines=strip.lines, columns=strip.columns)
            hall.lines[bus_id] = line
            bus = LedBus(bus_config(bus_id, line.url, strips, **bus_changes), latest)
            hall.buses[bus_id] = stack.enter_context(bus)
            runtime.add_alert_source(bus.alerts)
        displays = [d for bus in hall.buses.values() for d in bus.displays]
        hall.subscriber = LedStripSubscriber(displays, latest, blink_seconds=5)
        hall.health = runtime.hub.subscribe_with_state("led", hall.subscriber.handle)
        hall.subscriber.watch(hall.health)
        stack.callback(runtime.hub.stop)
        stack.callback(runtime.journal.close)
        yield hall
