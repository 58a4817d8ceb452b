"""Each keypad spec's answer-code table lists exactly the codes its own transport sends.

The same seeded walk of key presses as tests/unit/test_keypad_answer_codes.py, but each press goes
the way it would on its wire: as an MQTT `event` payload through the JSON codec, or as an
RS-485 EVENT payload through the byte codec; what a codec refuses is answered with the code the
driver gives it (devices/keypad/keypad_mqtt.py: the codec's `code`; devices/keypad/keypad_serial.py:
`refusal_code(field)`), the rest goes to the engine. On top: the codes the dispatcher answers
(`seq_reused`, `press_rate_limited`) and each driver's own (`unknown_device`, `wrong_window`:
an MQTT topic only), and `error`.
"""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest

from controller.app.keypad_intake import PRESS_RATE_LIMITED, SEQ_REUSED
from controller.domain import commands as cmd
from controller.domain.engine import Engine
from controller.settings.hall_config import HallConfig
from devices.keypad.keypad import refusal_code
from firmware_protocols.hall_bus.hall_bus_fields import HallBusError
from firmware_protocols.keypad.keypad_codes import KEYS, RATINGS
from firmware_protocols.keypad.keypad_mqtt import KeypadEvent
from firmware_protocols.keypad.keypad_mqtt_fields import KeypadMqttError
from firmware_protocols.keypad.keypad_serial import EventReply
from firmware_protocols.keypad.keypad_serial_fields import KEY_CODES, RATING_CODES, KeypadEventError
from tests.conftest import hall_time
from tests.unit.test_keypad_answer_codes import (
    ARGUMENTS,
    REASONS,
    UNSENDABLE,
    WINDOWS,
    documented_codes,
)

STEPS = 60_000
TAKE_ARGUMENTS = ("pause", "finish", "transfer")
BOTH = {"ok", UNSENDABLE, SEQ_REUSED, PRESS_RATE_LIMITED}
DRIVER_ONLY = {"keypad-mqtt.md": {"unknown_device", "wrong_window"}, "keypad-serial.md": set()}


def mqtt_payload(press: cmd.PressKey) -> bytes:
    """The press as a Wi-Fi keypad would publish it (whatever its values)."""
    event: dict[str, object] = {"v": 1, "device_id": "kp", "boot_id": "b00t", "seq": press.seq}
    event["key"] = press.key
    if press.rating is not None:
        event["rating"] = press.rating
    if press.reasons:
        event["reasons"] = list(press.reasons)
    if press.reasons_table is not None:
        event["reasons_table"] = press.reasons_table
    if press.argument is not None:
        event["argument"] = press.argument
    return json.dumps(event, ensure_ascii=False).encode()


def serial_payload(press: cmd.PressKey) -> bytes:
    """The press as a wired keypad would offer it in an EVENT (bytes outside the tables kept)."""
    data = bytearray(b"\x00\x00\x00\x01\x00\x00\x00\x00\x00\x01")  # status, queued, boot id
    data += press.seq.to_bytes(4, "big")
    data.append(KEY_CODES.get(press.key, 0x7F))
    data.append(RATING_CODES.get(press.rating, 0x01) if press.rating is not None else 0)
    data.append((press.reasons_table or 1) if press.reasons else 0)
    data.append(len(press.reasons))
    data += bytes(int(code[1:]) for code in press.reasons)
    argument = (press.argument or "").encode("gb18030")[:255]
    return bytes(data + bytes((len(argument),)) + argument)


def through_mqtt(press: cmd.PressKey) -> str | cmd.PressKey:
    """The code the MQTT driver answers a press its codec refuses, or the press for the engine."""
    try:
        event = KeypadEvent.decode(mqtt_payload(press))
    except KeypadMqttError as err:
        return err.code
    return cmd.PressKey(
        "kp",
        "b00t",
        event.seq,
        press.window,
        event.key,
        event.rating,
        event.reasons,
        event.argument,
        reasons_table=event.reasons_table,
    )


def through_serial(press: cmd.PressKey) -> str | cmd.PressKey:
    """The code the RS-485 driver answers a press its codec refuses, or the press for the engine."""
    try:
        found = EventReply.decode(serial_payload(press)).press
    except KeypadEventError as err:
        return refusal_code(err.field)
    except HallBusError:  # unreadable ids: no answer at all (counts as no reply)
        return "no_answer"
    return cmd.PressKey(
        "kp",
        "00000001",
        found.seq,
        press.window,
        found.key,
        found.rating,
        found.reasons,
        found.argument,
        reasons_table=found.reasons_table,
    )


def walk_codes(config: HallConfig, doc: str, seed: int = 5) -> set[str]:
    """Every code a seeded walk of presses got over `doc`'s transport."""
    through = through_mqtt if doc == "keypad-mqtt.md" else through_serial
    rng, engine, now = random.Random(seed), Engine(config), hall_time("08:31")
    found: set[str] = set()
    for step in range(1, STEPS):
        now += dt.timedelta(seconds=rng.choice((0, 1, 5, 30, 90, 200)))
        if now.hour >= 16:
            now = hall_time("08:31", now.date() + dt.timedelta(days=1 if now.weekday() < 5 else 2))
        window, roll = rng.choice(WINDOWS), rng.random()
        command: cmd.Command
        if roll < 0.05:
            command = cmd.SignIn(window, rng.choice(("S0101", "S0201", "S0301")), "A")
        elif roll < 0.07:
            command = cmd.SignOut(window)
        elif roll < 0.08:
            command = cmd.CloseWindow(window)
        elif roll < 0.10:
            command = cmd.OpenWindow(window)
        elif roll < 0.20:
            command = cmd.IssueTicket(rng.choice(("SB", "YB", "BDC")))
        else:
            key = rng.choice((*KEYS, "dance", "rate", "rate", "invite_rating"))
            rating = rng.choice((*RATINGS, *RATINGS, "great")) if key == "rate" else None
            reasons = tuple(rng.sample(REASONS, rng.choice((0, 0, 0, 0, 1, 2, 6))))
            # What a keypad mostly sends: a table with reasons, an argument with the keys that
            # take one; now and then not (the codecs refuse those).
            table = rng.choice((1, 1, 1, 2)) if reasons else None
            if rng.random() < 0.05:
                table = 1 if table is None else None
            argument = None
            if key in TAKE_ARGUMENTS or rng.random() < 0.05:
                argument = rng.choice(ARGUMENTS)
            sent = through(
                cmd.PressKey(
                    "kp",
                    "b00t",
                    step,
                    window,
                    key,
                    rating,
                    reasons,
                    argument,
                    reasons_table=table,
                )
            )
            if isinstance(sent, str):
                found.add(sent)
                continue
            command = sent
        decision = engine.handle(command, now)
        if isinstance(command, cmd.PressKey):
            found.add(decision.rejection.reason if decision.rejection is not None else "ok")
    return found


@pytest.mark.parametrize("doc", ["keypad-mqtt.md", "keypad-serial.md"])
def test_each_spec_lists_exactly_its_transports_codes(doc: str, hall_config: HallConfig) -> None:
    sent = BOTH | DRIVER_ONLY[doc] | (walk_codes(hall_config, doc) - {"no_answer"})
    listed = documented_codes(doc)
    assert len(listed) == len(set(listed))
    assert sorted(sent - set(listed)) == []  # sent but not documented
    assert sorted(set(listed) - sent) == []  # documented but never sent on this wire
