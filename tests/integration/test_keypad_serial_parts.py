"""RS-485 keypad parts: the simulated keypad against the spec, config, fitting, handler failures."""

from __future__ import annotations

import threading
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import ValidationError

from controller.domain.alerts import AlertKind
from devices.keypad.keypad import KeypadAnswer, KeypadPress
from devices.keypad.keypad_serial import SerialKeypadBus, open_keypad_buses
from devices.keypad.keypad_serial_fit import answer_for, display_state
from devices.keypad.serial_config import KeypadBusConfig, KeypadBusError, SerialKeypadsConfig
from devices.keypad.sim_keypad_model import KeypadQueueFull, SimKeypad
from devices.keypad.sim_keypad_serial import SimulatedKeypadLine, simulated_keypad_line
from display.keypad_text import KeypadDisplay
from firmware_protocols.hall_bus.hall_bus import Ack, Frame, Identity, Nak, NakReason
from firmware_protocols.keypad.keypad_serial import (
    DisplayState,
    EventReply,
    KeypadStatus,
    NoEventReply,
    Poll,
    PollAnswer,
    decode_reply,
    request_frame,
)
from tests.led_helpers import wait_until

QUICK = {"reply_timeout_seconds": 0.15, "offline_probe_seconds": 0.2, "poll_interval_seconds": 0.02}


def _ask(keypad: SimKeypad, request: Poll | DisplayState, seq: int) -> object:
    return decode_reply(Frame.decode(keypad.handle(request_frame(request, 4, seq))))


def test_the_simulated_keypad_answers_as_the_spec_says() -> None:
    keypad = SimKeypad(4, capacity=2)
    boot = keypad.boot_id
    assert _ask(keypad, Poll(), 1) == NoEventReply(KeypadStatus(boot, needs_display=True))
    assert keypad.handle(request_frame(Poll(), 5, 2)) == b""  # another keypad's frame
    assert keypad.handle(Frame(0, 0x60, 3, b"\x00")) == b""  # keypads ignore broadcasts
    assert keypad.handle(Frame(4, 0x01, 3, b"\x60", reply=True)) == b""  # another's reply
    cases = [
        (Frame(4, 0x60, 4, b"\x00", version=3), NakReason.UNSUPPORTED_VERSION, 2),
        (Frame(4, 0x7E, 5), NakReason.UNKNOWN_FUNCTION, 0),
        (Frame(4, 0x63, 6, b"\x00"), NakReason.BAD_PAYLOAD, 0),
    ]
    for frame, reason, detail in cases:
        answer = Frame.decode(keypad.handle(frame))
        assert answer.version == 1 and answer.seq == frame.seq
        assert decode_reply(answer) == Nak(frame.function, reason, detail)
    first = keypad.press("next")
    second = keypad.press("pause", argument="午休")
    with pytest.raises(KeypadQueueFull):
        keypad.press("resume")
    full = KeypadStatus(boot, needs_display=True, queue_full=True)
    assert _ask(keypad, Poll(), 7) == EventReply(full, first, 1)
    display = DisplayState(4, "idle", staff_name="周文")
    assert _ask(keypad, display, 8) == Ack(0x63)
    assert _ask(keypad, display, 8) == Ack(0x63)  # resent: a repeat, not shown twice
    assert keypad.repeats == 1 and keypad.displays == [display] and keypad.shown == display
    ok = PollAnswer(boot, first.seq, True, "ok", "A001")
    assert _ask(keypad, Poll(ok), 9) == EventReply(KeypadStatus(boot), second, 0)
    assert _ask(keypad, Poll(ok), 9) == EventReply(KeypadStatus(boot), second, 0)  # stray now
    assert keypad.answers == [ok] and keypad.stray_answers == [ok]
    identity = decode_reply(Frame.decode(keypad.handle(Frame(4, 0x03, 10))))
    assert identity == Identity(3, 2, "sim-kp 1.0")  # keypad-serial version 2: press ages
    keypad.reboot(keep_queue=True)
    assert keypad.boot_id != boot and keypad.shown is None and keypad.queued == [second]
    assert keypad.press("next").seq == 1


def test_a_broken_press_is_answered_bad_payload_and_a_failing_handler_gets_another_chance(
    tmp_path: Path,
) -> None:
    calls: list[KeypadPress] = []
    failing = threading.Event()
    failing.set()

    def handler(press: KeypadPress) -> KeypadAnswer:
        calls.append(press)
        if failing.is_set():
            failing.clear()
            raise RuntimeError("journal locked")
        return KeypadAnswer(True, "ok", "已叫号", "A001")

    with SimulatedKeypadLine(link=tmp_path / "kp") as line:
        keypad = line.add_keypad(7)
        config = KeypadBusConfig(id="t", url=line.url, keypads={7: 2}, **QUICK)
        with SerialKeypadBus(config, handler) as bus:
            keypad.faults.broken_presses = 1
            broken = keypad.press("next")
            refused = keypad.wait_acked(broken)
            assert (refused.accepted, refused.code) == (False, "bad_payload") and not calls
            pressed = keypad.press("next")
            answer = keypad.wait_acked(pressed)  # the first try raised: no answer, offered again
            assert answer == PollAnswer(keypad.boot_id, pressed.seq, True, "ok", "A001", "已叫号")
            counters = bus.counters(7)
        # Offered again, the same press; only its frame and its age (a later poll) differ.
        same = [replace(call, raw="", pressed_ago=None) for call in calls]
        assert len(calls) == 2 and same[0] == same[1]
        assert calls[0].pressed_ago is not None and calls[1].pressed_ago is not None
        assert calls[1].pressed_ago > calls[0].pressed_ago
        assert (calls[0].device_id, calls[0].window, calls[0].boot_id) == (
            "t-7",
            2,
            f"{keypad.boot_id:08x}",
        )
        assert bytes.fromhex(calls[0].raw)[6] == 0x61  # the EVENT frame, in hex
        assert counters["handler_errors"] == 1 and counters["bad_presses"] == 1


def test_a_display_or_an_answer_too_long_is_cut_not_dropped() -> None:
    display = KeypadDisplay(
        3,
        "rating_invited",
        ticket="A001",
        staff_name="阿卜杜热合曼·买买提明·艾合买提江",
        staff_photo_id="照片 1",
        message="请您对本次服务进行评价" * 10 + "\x07",
        rating_seconds=7200,
    )
    state = display_state(display)
    assert state is not None and state.staff_photo_id is None and state.rating_seconds == 3600
    assert state.staff_name is not None and len(state.staff_name) == 16
    assert state.staff_name.endswith("…") and len(state.message) == 64
    assert display_state(KeypadDisplay(3, "dancing")) is None
    answer = answer_for(9, 1, KeypadAnswer(False, "Refused!", "窗口" * 30, ""))
    assert (answer.code, answer.ticket, len(answer.message)) == ("error", None, 40)


def test_config_reads_toml_addresses_and_refuses_a_shared_port() -> None:
    text = """
    [[buses]]
    id = "hall-a"
    url = "/dev/ttyUSB1"
    keypads = { 1 = 1, 2 = 2, 12 = 12 }
    """
    config = SerialKeypadsConfig.model_validate(tomllib.loads(text))
    bus = config.buses[0]
    assert bus.keypads == {1: 1, 2: 2, 12: 12} and bus.baudrate == 38_400
    assert bus.device_id(12) == "hall-a-12"
    twice = {"buses": [tomllib.loads(text)["buses"][0] | {"id": i} for i in ("a", "b")]}
    with pytest.raises(ValidationError, match="one bus owner per port"):
        SerialKeypadsConfig.model_validate(twice)
    with pytest.raises(ValidationError):
        KeypadBusConfig(id="x", url="loop://", keypads={248: 1})
    with pytest.raises(ValidationError):
        KeypadBusConfig(id="x", url="loop://", keypads={})


def test_unusable_port_url_is_refused_by_name_and_nothing_starts() -> None:
    good = KeypadBusConfig(id="good", url="loop://", keypads={1: 1})
    bad = KeypadBusConfig(id="x", url="nosuch://port", keypads={1: 1})
    with pytest.raises(KeypadBusError, match="nosuch"):
        open_keypad_buses([good, bad], lambda press: KeypadAnswer(True, "ok"))


def test_simulated_line_for_a_config_and_an_unopenable_port(tmp_path: Path) -> None:
    config = KeypadBusConfig(id="sim", url="/dev/null-keypads", keypads={3: 5, 4: 6}, **QUICK)
    line, pointed = simulated_keypad_line(config, tmp_path / "kp-sim")
    try:
        assert pointed.url == line.url != config.url
        assert [(k.address, k.window) for k in line.keypads] == [(3, 5), (4, 6)]
        assert line.at_window(6) is line.keypad(4)
        (bus,) = open_keypad_buses([pointed], lambda press: KeypadAnswer(True, "ok"))
        try:
            wait_until(lambda: line.keypad(4).connected and line.keypad(3).connected)
        finally:
            bus.close()
    finally:
        line.stop()
    missing = SerialKeypadBus(config, lambda press: KeypadAnswer(True, "ok")).start()
    try:
        wait_until(lambda: [a.kind for a in missing.alerts()].count(AlertKind.KEYPAD_OFFLINE) == 2)
        assert missing.alerts()[0].kind == "keypad_bus_offline"
        assert "无法打开" in missing.alerts()[0].message
    finally:
        missing.close()
