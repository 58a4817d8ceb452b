"""The shared RS-485 parts: one master line and one simulated multi-drop line for every device kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices.keypad.sim_keypad_model import SimKeypad
from devices.keypad.sim_keypad_serial import SimulatedKeypadLine
from devices.led.sim_led_model import SimLedStrip
from devices.led.sim_led_strip import SimulatedLedBus
from devices.rs485.master_line import LineSettings, MasterLine
from devices.rs485.sim_line import SimulatedMultidropLine
from firmware_protocols.hall_bus.hall_bus import (
    FN_NAK,
    Ack,
    DeviceClass,
    IdentifyQuery,
    Identity,
    Nak,
    NakReason,
)
from firmware_protocols.keypad import keypad_serial as kp
from firmware_protocols.led import led_strip as led

BAUD = 38_400


def _master(url: str) -> MasterLine:
    return MasterLine(LineSettings("mixed bus", url, BAUD, 0.2, 64))


def test_strips_and_keypads_on_one_line_each_answer_at_their_own_address(tmp_path: Path) -> None:
    with SimulatedMultidropLine(baudrate=BAUD, link=tmp_path / "mixed") as line:
        strip = SimLedStrip(3)
        keypad = SimKeypad(5, window=2)
        line.add_device(strip)
        line.add_device(keypad)
        assert line.devices == [strip, keypad]
        press = keypad.press("next")
        master = _master(line.url)
        try:
            call = led.request_frame(led.ShowCall("A001", "1号窗口", 0), 3, 1).encode()
            assert master.exchange_decoded(call, 3, 1, led.decode_reply) == Ack(led.FN_SHOW_CALL)
            poll = kp.request_frame(kp.Poll(), 5, 1).encode()
            event = master.exchange_decoded(poll, 5, 1, kp.decode_reply)
            assert isinstance(event, kp.EventReply) and event.press == press
            # Identify at each address: each kind names itself, nobody else answers.
            for address, kind in ((3, DeviceClass.LED_STRIP), (5, DeviceClass.KEYPAD)):
                ask = led.request_frame(IdentifyQuery(), address, 2).encode()
                identity = master.exchange_decoded(ask, address, 2, led.decode_reply)
                assert isinstance(identity, Identity) and identity.device_class == kind
            # A keypad's poll sent to the strip's address: the strip refuses it, no keypad answers.
            wrong = master.exchange(kp.request_frame(kp.Poll(), 3, 3).encode(), 3, 3)
            assert wrong is not None and wrong.function == FN_NAK
            assert Nak.decode(wrong.payload).reason is NakReason.UNKNOWN_FUNCTION
            assert master.exchange(kp.request_frame(kp.Poll(), 9, 4).encode(), 9, 4) is None
            assert master.stray_frames == 0
        finally:
            master.close()
        assert strip.text == "请A001号到1号窗口"
        assert keypad.queued == [press]  # offered until answered; this test never answered it


def test_two_kinds_cannot_share_an_address_but_a_unit_can_be_swapped() -> None:
    line = SimulatedMultidropLine()
    try:
        line.add_device(SimLedStrip(4))
        with pytest.raises(ValueError, match="address 4 is held by a SimLedStrip"):
            line.add_device(SimKeypad(4))
        replacement = SimLedStrip(4, board=True)
        line.add_device(replacement)
        assert line.device(4) is replacement
    finally:
        line.stop()


def test_the_kind_lines_find_only_their_own_kind(tmp_path: Path) -> None:
    with SimulatedLedBus(link=tmp_path / "led") as leds, SimulatedKeypadLine() as keypads:
        strip = leds.add_strip(1)
        leds.add_device(SimKeypad(2, window=7))
        keypad = keypads.add_keypad(2, window=7)
        keypads.add_device(SimLedStrip(1))
        assert leds.strips == [strip] and leds.strip(1) is strip
        assert keypads.keypads == [keypad] and keypads.at_window(7) is keypad
        with pytest.raises(KeyError):
            leds.strip(2)
        with pytest.raises(KeyError):
            keypads.keypad(1)
        assert leds.url == str(tmp_path / "led") and Path(keypads.url).exists()
