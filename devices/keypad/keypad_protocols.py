"""RS-485 keypad bus protocols: name -> (wire codec, driver factory, simulated twin factory).

`hall-bus-v1` is the first entry: `SerialKeypadBus` over
`firmware_protocols/keypad/keypad_serial.py`, its twin `SimulatedKeypadLine`. Another protocol
adds one `KEYPAD_PROTOCOLS.register(...)` line; `[[keypads.serial.buses]] protocol = "..."`
picks it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Protocol

from controller.domain.alerts import Alert
from devices.keypad.keypad import KeypadHandler, KeypadPort
from devices.keypad.keypad_twin import KeypadTwin
from devices.rs485.protocols import HALL_BUS_V1, ProtocolRegistry
from firmware_protocols.keypad import keypad_serial

if TYPE_CHECKING:
    from devices.keypad.serial_config import KeypadBusConfig


class KeypadBusDriver(KeypadPort, Protocol):
    """The owner of one keypad bus: a `KeypadPort` that starts and reports floor alerts."""

    def start(self) -> object:
        """Open the port and start polling."""
        ...

    def alerts(self) -> list[Alert]:
        """Floor alerts: keypads not answering, a port that will not open."""
        ...


class SimulatedKeypads(Protocol):
    """A started simulated keypad line: its URL, its keypads by window, its stop."""

    @property
    def url(self) -> str:
        """The URL its driver opens."""
        ...

    def at_window(self, window: int) -> KeypadTwin | None:
        """The simulated keypad at `window`, or None."""
        ...

    def stop(self) -> None:
        """Stop the line; safe to call twice."""
        ...


@dataclass(frozen=True)
class KeypadProtocol:
    """What speaks one keypad protocol: its codec, the bus owner, and the simulated line."""

    codec: ModuleType  # the pure wire codec in firmware_protocols/
    driver: Callable[[KeypadBusConfig, KeypadHandler], KeypadBusDriver]  # not started
    # Started, at the symlink given; with the config pointed at the line.
    twin: Callable[[KeypadBusConfig, Path], tuple[SimulatedKeypads, KeypadBusConfig]]


def _hall_bus_driver(config: KeypadBusConfig, handler: KeypadHandler) -> KeypadBusDriver:
    from devices.keypad.keypad_serial import SerialKeypadBus

    return SerialKeypadBus(config, handler)


def _hall_bus_twin(config: KeypadBusConfig, link: Path) -> tuple[SimulatedKeypads, KeypadBusConfig]:
    from devices.keypad.sim_keypad_serial import simulated_keypad_line

    return simulated_keypad_line(config, link)


KEYPAD_PROTOCOLS: ProtocolRegistry[KeypadProtocol] = ProtocolRegistry("keypad bus")
KEYPAD_PROTOCOLS.register(
    HALL_BUS_V1, KeypadProtocol(keypad_serial, _hall_bus_driver, _hall_bus_twin)
)
