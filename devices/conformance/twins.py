"""Our simulated twins as devices under test: hands that press their keys and cycle their power.

`hallctl conformance ... --simulated` runs a kit against these, which is also how the tests
show that the twins keep the spec (and that broken twins in tests/ do not).
"""

from __future__ import annotations

from devices.sim_keypad_model import SimKeypad
from devices.sim_keypad_mqtt import SimulatedMqttKeypad
from devices.sim_led_model import SimLedStrip


class SimLedHands:
    """Power-cycles a simulated LED display (it has no keys)."""

    def __init__(self, strip: SimLedStrip) -> None:
        self.strip = strip

    def press(self, key: str, *, rating: str | None = None) -> None:
        """An LED display has no keys."""
        raise NotImplementedError("an LED display has no keys")

    def power_cycle(self) -> None:
        """Off and on at once."""
        self.strip.power_cycle()


class SimSerialKeypadHands:
    """Presses the keys of a simulated RS-485 keypad and cycles its power (its queue kept)."""

    def __init__(self, keypad: SimKeypad) -> None:
        self.keypad = keypad

    def press(self, key: str, *, rating: str | None = None) -> None:
        """One press, queued until answered."""
        self.keypad.press(key, rating=rating)

    def power_cycle(self) -> None:
        """A new boot; presses in flash survive."""
        self.keypad.reboot()


class SimMqttKeypadHands:
    """Presses the keys of a simulated Wi-Fi keypad and cycles its power (unacked events kept)."""

    def __init__(self, keypad: SimulatedMqttKeypad) -> None:
        self.keypad = keypad

    def press(self, key: str, *, rating: str | None = None) -> None:
        """One press, published at once and kept until acked."""
        self.keypad.press(key, rating=rating)

    def power_cycle(self) -> None:
        """The link drops without DISCONNECT (the will fires), then a new boot connects."""
        self.keypad.reboot()
