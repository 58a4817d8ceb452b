"""The ack and DISPLAY examples of both keypad specs say what the real controller sends."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.app.clock import ManualClock
from controller.app.journal import Journal
from controller.app.keypad_intake import KeypadDispatcher
from controller.app.runtime import HallRuntime
from controller.domain import commands as cmd
from controller.settings.hall_config import HallConfig
from devices.keypad.keypad import KeypadAnswer, KeypadKey, KeypadPress, RatingKey
from devices.keypad.sim_keypad_model import QUEUE_CAPACITY
from display.keypad_text import keypad_display
from firmware_protocols.hall_bus.hall_bus import Frame
from firmware_protocols.keypad.keypad_mqtt import KeypadAck, KeypadScreen
from firmware_protocols.keypad.keypad_serial import (
    DisplayState,
    EventReply,
    Poll,
    PollAnswer,
    decode_reply,
    decode_request,
)
from tests.conftest import hall_time

DOCS = Path(__file__).resolve().parents[2] / "docs" / "protocols"
MQTT = (DOCS / "keypad-mqtt.md").read_text(encoding="utf-8")
SERIAL = (DOCS / "keypad-serial.md").read_text(encoding="utf-8")


def mqtt_acks() -> dict[str, KeypadAck]:
    """The spec's ack examples by code."""
    found = [KeypadAck.decode(b.encode()) for b in re.findall(r"```json ack\n(.*?)\n```", MQTT)]
    return {ack.code: ack for ack in found}


def serial_answers() -> dict[str, PollAnswer]:
    """The spec's POLL examples that carry an answer, by code."""
    found: dict[str, PollAnswer] = {}
    for block in re.findall(r"```hex\n([0-9A-F ]+)\n```", SERIAL):
        frame = Frame.decode(bytes.fromhex(block))
        if not frame.reply:
            request = decode_request(frame)
            if isinstance(request, Poll) and request.answer is not None:
                found[request.answer.code] = request.answer
    return found


@pytest.fixture
def hall(hall_config: HallConfig, tmp_path: Path) -> Iterator[HallRuntime]:
    """The example hall, window 3 signed in with a ticket waiting."""
    runtime = HallRuntime(
        hall_config,
        Journal.at_path(tmp_path / "h.db", durable=False),
        ManualClock(hall_time("09:00")),
    )
    runtime.execute(cmd.SignIn(3, "S0301", "A"))
    runtime.execute(cmd.IssueTicket("YB"))
    try:
        yield runtime
    finally:
        runtime.hub.stop()
        runtime.journal.close()


def real_answers(runtime: HallRuntime) -> dict[str, KeypadAnswer]:
    """What the controller answers a `next` and a rating nobody invited."""
    dispatch = KeypadDispatcher(runtime)
    called = dispatch(KeypadPress("kp", "b", 1, 3, KeypadKey.NEXT))
    uninvited = dispatch(KeypadPress("kp", "b", 2, 3, KeypadKey.RATE, RatingKey.VERY_SATISFIED))
    return {"ok": called, "not_invited": uninvited}


def test_the_ack_examples_are_what_the_controller_answers(hall: HallRuntime) -> None:
    real = real_answers(hall)
    acks, answers = mqtt_acks(), serial_answers()
    assert set(acks) == set(answers) == set(real)
    for code, answer in real.items():
        for example in (acks[code], answers[code]):
            shown = (example.accepted, example.code, example.message, example.ticket is not None)
            assert shown == (answer.accepted, code, answer.message, answer.ticket is not None)
        assert answer.time is not None and acks[code].time is not None  # the keypads' clock


def test_the_display_examples_carry_the_photo_id_the_controller_sends(hall: HallRuntime) -> None:
    window = next(w for w in hall.snapshot()["windows"] if w["number"] == 3)
    sent = keypad_display(window).staff_photo_id
    assert sent == "S0301"  # the roster id of the staff member signed in
    screens = [
        KeypadScreen.decode(b.encode()) for b in re.findall(r"```json display\n(.*?)\n```", MQTT)
    ]
    photos = {s.staff_photo_id for s in screens if s.staff_photo_id}
    serial = [
        decode_request(Frame.decode(bytes.fromhex(b)))
        for b in re.findall(r"```hex\n([0-9A-F ]+)\n```", SERIAL)
        if not Frame.decode(bytes.fromhex(b)).reply
    ]
    photos |= {d.staff_photo_id for d in serial if isinstance(d, DisplayState) and d.staff_photo_id}
    roster = {s.id for w in hall.config.windows for s in w.staff}
    assert photos and photos <= roster
    assert photos == {"S0301"}


def test_a_queue_full_example_has_a_full_queue_at_the_minimum_capacity() -> None:
    replies = [
        decode_reply(Frame.decode(bytes.fromhex(b)))
        for b in re.findall(r"```hex\n([0-9A-F ]+)\n```", SERIAL)
        if Frame.decode(bytes.fromhex(b)).reply
    ]
    full = [r for r in replies if isinstance(r, EventReply) and r.status.queue_full]
    assert full and all(r.queued + 1 >= QUEUE_CAPACITY for r in full)
    assert "Capacity at\n   least **32**" in SERIAL and QUEUE_CAPACITY == 32
