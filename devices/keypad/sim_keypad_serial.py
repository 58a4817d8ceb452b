"""Simulated RS-485 window keypads on one line: the shared multi-drop line with keypad helpers.

The line (a real pseudo-terminal, many addresses, paced at the baud rate, fault switches) is
devices/rs485/sim_line.py; a keypad's firmware is devices/keypad/sim_keypad_model.py.
"""

from __future__ import annotations

from pathlib import Path

from devices.keypad.serial_config import KeypadBusConfig
from devices.keypad.sim_keypad_model import REPLY_SECONDS, KeypadFaults, KeypadQueueFull, SimKeypad
from devices.rs485.sim_line import SimulatedMultidropLine
from firmware_protocols.keypad.keypad_serial_fields import KEYPAD_VERSION

__all__ = [
    "REPLY_SECONDS",
    "KeypadFaults",
    "KeypadQueueFull",
    "SimKeypad",
    "SimulatedKeypadLine",
    "simulated_keypad_line",
]


class SimulatedKeypadLine(SimulatedMultidropLine):
    """A line of simulated keypads behind one pty, served by its own thread."""

    default_baudrate = 38_400
    name = "sim-keypad-line"

    def add_keypad(
        self,
        address: int,
        *,
        window: int | None = None,
        firmware: str = "sim-kp 1.0",
        version: int = KEYPAD_VERSION,
    ) -> SimKeypad:
        """Hang a keypad at `address` on the line (before or after start), speaking up to `version`."""
        keypad = SimKeypad(
            address, window=window, firmware=firmware, seed=self._seed, version=version
        )
        self.add_device(keypad)
        return keypad

    def attach(self, keypad: SimKeypad) -> SimKeypad:  # type: ignore[override]
        """Hang an already built keypad (a subclass, say) at its address on the line."""
        super().attach(keypad)
        return keypad

    def keypad(self, address: int) -> SimKeypad:
        """The keypad at `address`; KeyError if no keypad is there."""
        found = self.device(address)
        if not isinstance(found, SimKeypad):
            raise KeyError(address)
        return found

    @property
    def keypads(self) -> list[SimKeypad]:
        """Every keypad on the line, by address."""
        return [d for d in self.devices if isinstance(d, SimKeypad)]

    def at_window(self, window: int) -> SimKeypad | None:
        """The first keypad (by address) whose `window` is `window`, or None."""
        return next((k for k in self.keypads if k.window == window), None)

    def inject_to_keypads(self, noise: bytes) -> None:
        """Noise the keypads hear on the line, as if it came before the controller's next frame."""
        self.inject_to_devices(noise)


def simulated_keypad_line(
    config: KeypadBusConfig, link: str | Path, *, seed: int = 0
) -> tuple[SimulatedKeypadLine, KeypadBusConfig]:
    """A started line at `config`'s baud rate with a keypad per configured address (its window
    set), and `config` pointed at the line's URL: what `hallctl up --simulate` needs."""
    line = SimulatedKeypadLine(baudrate=config.baudrate, link=link, seed=seed)
    for address, window in sorted(config.keypads.items()):
        line.add_keypad(address, window=window)
    line.start()
    return line, config.model_copy(update={"url": line.url})
