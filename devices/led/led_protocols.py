"""LED bus protocols: name -> (wire codec, driver factory, simulated twin factory).

`hall-bus-v1` is the first entry: `LedBus` over `firmware_protocols/led/led_strip.py`, its twin
`SimulatedLedBus`. A vendor's protocol adds one `LED_PROTOCOLS.register(...)` line
(docs/led-strip-driver.md, "A second protocol"); `[[led.buses]] protocol = "..."` picks it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from devices.rs485.protocols import HALL_BUS_V1, ProtocolRegistry
from firmware_protocols.led import led_strip

if TYPE_CHECKING:
    from devices.led.led_config import LedBusConfig
    from devices.led.led_display import LedDriver

SnapshotSource = Callable[[], Mapping[str, Any]]


class ShownText(Protocol):
    """A simulated display as a person under it reads it."""

    @property
    def text(self) -> str:
        """What it shows: its lines joined by newlines."""
        ...


@dataclass(frozen=True)
class SimulatedLedLine:
    """A started simulated line for one bus: the URL its driver opens, its displays, its stop."""

    url: str
    displays: Mapping[int, ShownText]  # bus address -> the simulated display there
    stop: Callable[[], None]


@dataclass(frozen=True)
class LedProtocol:
    """What speaks one LED protocol: its codec, the bus owner, and the simulated line."""

    codec: ModuleType  # the pure wire codec in firmware_protocols/
    driver: Callable[[LedBusConfig, SnapshotSource], LedDriver]  # not started
    twin: Callable[[LedBusConfig, Path], SimulatedLedLine]  # started, at the symlink given


def _hall_bus_driver(config: LedBusConfig, snapshot: SnapshotSource) -> LedDriver:
    from devices.led.led_bus import LedBus

    return LedBus(config, snapshot)


def _hall_bus_twin(config: LedBusConfig, link: Path) -> SimulatedLedLine:
    from devices.led.led_config import BOARD
    from devices.led.sim_led_strip import SimulatedLedBus

    line = SimulatedLedBus(baudrate=config.baudrate, link=link)
    displays = {
        strip.address: line.add_strip(
            strip.address, board=strip.window == BOARD, lines=strip.lines, columns=strip.columns
        )
        for strip in config.strips
    }
    line.start()
    return SimulatedLedLine(line.url, displays, line.stop)


LED_PROTOCOLS: ProtocolRegistry[LedProtocol] = ProtocolRegistry("LED bus")
LED_PROTOCOLS.register(HALL_BUS_V1, LedProtocol(led_strip, _hall_bus_driver, _hall_bus_twin))
