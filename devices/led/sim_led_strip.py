"""Simulated LED strips and boards on one RS-485 line: the shared multi-drop line with display helpers.

The line (a real pseudo-terminal, many addresses, paced at the baud rate, fault switches) is
devices/rs485/sim_line.py; a display's firmware is devices/led/sim_led_model.py.
"""

from __future__ import annotations

from devices.led.sim_led_model import Executed, SimLedStrip, StripFaults
from devices.rs485.sim_line import SimulatedMultidropLine

__all__ = ["Executed", "SimLedStrip", "SimulatedLedBus", "StripFaults"]


class SimulatedLedBus(SimulatedMultidropLine):
    """A line of simulated displays behind one pty, served by its own thread."""

    default_baudrate = 9600
    name = "sim-led-bus"

    def add_strip(
        self, address: int, *, board: bool = False, lines: int = 1, columns: int = 16
    ) -> SimLedStrip:
        """Hang a display at `address` on the line (before or after start)."""
        strip = SimLedStrip(
            address, board=board, lines=lines, columns=columns, seed=self._seed + address
        )
        self.add_device(strip)
        return strip

    def attach(self, strip: SimLedStrip) -> SimLedStrip:  # type: ignore[override]
        """Hang an already built display (a subclass, say) at its address on the line."""
        super().attach(strip)
        return strip

    def strip(self, address: int) -> SimLedStrip:
        """The display at `address`; KeyError if no display is there."""
        found = self.device(address)
        if not isinstance(found, SimLedStrip):
            raise KeyError(address)
        return found

    @property
    def strips(self) -> list[SimLedStrip]:
        """Every display on the line, by address."""
        return [d for d in self.devices if isinstance(d, SimLedStrip)]

    def inject_to_displays(self, noise: bytes) -> None:
        """Noise the displays hear on the line, as if it came before the controller's next frame."""
        self.inject_to_devices(noise)
